"""The server's browser pages: sign-in (password or OpenID Connect), device approval, the home page,
the manage pages of orgs and repos (under ``/-/``), and the browse pages (``browse_router``: include
it last, after every other route and mount, because it catches ``/{org}`` and ``/{org}/{repo}``)."""

from fastapi import APIRouter

from floe.server.web import browse, manage, manage_buckets, manage_people, manage_trash, oidc, routes

router = APIRouter(include_in_schema=False)
router.include_router(routes.router)
router.include_router(oidc.router)
# Manage pages (``/{org}/-/...``, ``/{org}/{repo}/-/...``) come before the browse pages' catch-alls.
router.include_router(manage.router)
router.include_router(manage_buckets.router)
router.include_router(manage_people.router)
router.include_router(manage_trash.router)

browse_router = browse.router

__all__ = ["browse_router", "router"]
