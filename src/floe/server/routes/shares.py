"""Share links: manage them (repo admins, API and the ``/{org}/{repo}/-/shares`` page), and use them
(anyone holding one, no account).

``/shared/{token}`` is a small landing page for browsers; ``/shared/{token}/open`` is what
``floe.open_shared`` calls. Neither reads the ``Authorization`` header: the link is the credential.
Both come before the browse pages' ``/{org}/{repo}`` catch-all (``shared`` is a reserved org name).
"""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError as PydanticValidationError

from floe.errors import FloeError, GoneError, ValidationError
from floe.models.sharing import (
    SHARE_TOKEN_PREFIX,
    SharedRepoOpen,
    ShareLink,
    ShareLinkCreate,
    ShareLinkWithToken,
)
from floe.server.catalog import shares
from floe.server.deps import CallerDep, CatalogDep
from floe.server.web import browse
from floe.server.web.manage_kit import catalog_of, problem
from floe.server.web.pages import (
    address_of,
    base_url,
    check_csrf,
    error_page,
    html_page,
    message,
    redirect,
    render,
    signed_in,
)

router = APIRouter(tags=["share links"])

_NO_STORE = {"Cache-Control": "no-store"}


@router.post("/repos/{org}/{repo}/shares", response_model=ShareLinkWithToken, status_code=201)
def create_share(
    org: str, repo: str, body: ShareLinkCreate, request: Request, cat: CatalogDep, principal: CallerDep
) -> Response:
    """Create a read-only, expiring link to the repo (repo admins). ``expires_in``: seconds or ``7d``,
    ``12h``, ``30m``; at most 90 days. The answer is the only place the token and URL appear."""
    made = shares.create_share(cat, principal, org, repo, body, base_url(request))
    return Response(made.model_dump_json(), status_code=201, media_type="application/json", headers=_NO_STORE)


@router.get("/repos/{org}/{repo}/shares", response_model=list[ShareLink])
def list_shares(
    org: str, repo: str, cat: CatalogDep, principal: CallerDep, include_revoked: bool = False
) -> list[ShareLink]:
    """The repo's share links (repo admins), oldest first, never their tokens; revoked ones with
    ``include_revoked``."""
    return shares.list_shares(cat, principal, org, repo, include_revoked=include_revoked)


@router.delete("/repos/{org}/{repo}/shares/{share_id}", response_model=ShareLink)
def revoke_share(org: str, repo: str, share_id: str, cat: CatalogDep, principal: CallerDep) -> ShareLink:
    """Revoke a share link (repo admins): it stops working at once."""
    return shares.revoke_share(cat, principal, org, repo, share_id)


@router.get("/shared/{token}/open", response_model=SharedRepoOpen)
def open_shared(token: str, request: Request, cat: CatalogDep) -> Response:
    """What a share link gives (no token needed): the repo's location, read-only credentials, the link's
    ref and expiry. ``404`` for an unknown link, ``410`` for an expired or revoked one."""
    opened = shares.open_share(cat, token, address=address_of(request))
    return Response(opened.model_dump_json(), media_type="application/json", headers=_NO_STORE)


@router.get("/shared/{token}", include_in_schema=False, response_class=HTMLResponse)
def shared_page(token: str, request: Request, cat: CatalogDep) -> Response:
    """The landing page of a share link: what it opens, until when, and how."""
    try:
        link = shares.describe_share(cat, token)
    except GoneError as exc:
        return message(request, "This link no longer works", exc.message, exc.status_code)
    except FloeError as exc:
        return error_page(request, exc)
    url = f"{base_url(request)}/shared/{token}"
    return render(request, "shared.html", link=link, url=url, title=f"Shared: {link.repo}")


# --- browser pages for repo admins: /{org}/{repo}/-/shares --------------------------------------


def _manage_page(
    request: Request,
    org: str,
    repo: str,
    *,
    status: int = 200,
    made: ShareLinkWithToken | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    principal = signed_in(request)
    links = shares.list_shares(catalog_of(request), principal, org, repo, include_revoked=True)
    return render(
        request,
        "shared_manage.html",
        status,
        principal=principal,
        crumbs=browse.repo_crumbs(org, repo, ("Share links", None)),
        tabs=browse.repo_tabs(org, repo, "settings", settings=True),
        full_name=f"{org}/{repo}",
        base=f"/{org}/{repo}/-/shares",
        links=list(reversed(links)),
        made=made,
        error=error,
        values={"expires_in": "7d", "ref": "", "note": "", **(values or {})},
        notice=notice,
    )


@router.get("/{org}/{repo}/-/shares", include_in_schema=False)
@html_page
def manage_shares(request: Request, org: str, repo: str, done: str = "") -> Response:
    return _manage_page(request, org, repo, notice="Share link revoked." if done == "revoked" else None)


@router.post("/{org}/{repo}/-/shares", include_in_schema=False)
@html_page
def create_share_page(
    request: Request,
    org: str,
    repo: str,
    csrf: str = Form(""),
    expires_in: str = Form(""),
    ref: str = Form(""),
    note: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    principal = signed_in(request)
    typed = {"expires_in": expires_in, "ref": ref, "note": note}
    try:
        body = ShareLinkCreate(expires_in=expires_in, ref=ref.strip() or None, note=note.strip() or None)
        made = shares.create_share(catalog_of(request), principal, org, repo, body, base_url(request))
    except PydanticValidationError as exc:
        return _manage_page(request, org, repo, status=422, error=problem(exc), values=typed)
    except ValidationError as exc:  # refusals (what the link could not honour): shown by the form
        return _manage_page(request, org, repo, status=exc.status_code, error=exc.message, values=typed)
    return _manage_page(request, org, repo, status=201, made=made)


@router.post("/{org}/{repo}/-/shares/{share_id}/revoke", include_in_schema=False)
@html_page
def revoke_share_page(request: Request, org: str, repo: str, share_id: str, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    shares.revoke_share(catalog_of(request), signed_in(request), org, repo, share_id)
    return redirect(f"/{org}/{repo}/-/shares?done=revoked")


# --- keep link tokens out of the logs ---------------------------------------------------------

_TOKEN = re.compile(re.escape(SHARE_TOKEN_PREFIX) + r"[A-Za-z0-9_\-]+")


def redact_share_tokens(text: str) -> str:
    return _TOKEN.sub(SHARE_TOKEN_PREFIX + "[redacted]", text)


class RedactShareTokens(logging.Filter):
    """uvicorn's access log prints paths, and a share link's token is in its path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(redact_share_tokens(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact_share_tokens(record.msg)
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "floe"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactShareTokens) for f in logger.filters):
            logger.addFilter(RedactShareTokens())
