"""The server's browser pages: sign-in (password or OpenID Connect), device approval, the account page."""

from fastapi import APIRouter

from floe.server.web import oidc, routes

router = APIRouter(include_in_schema=False)
router.include_router(routes.router)
router.include_router(oidc.router)

__all__ = ["router"]
