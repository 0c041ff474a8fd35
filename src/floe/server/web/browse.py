"""Browse pages: an org's repos, a repo, its history, its tree of groups and arrays, diffs, previews.

URLs a person can share: ``/{org}``, ``/{org}/{repo}``, ``/{org}/{repo}/history?ref=main``,
``/{org}/{repo}/tree/{path}?ref=main``, ``/{org}/{repo}/diff?from=A&to=B``. The contents come from
:mod:`floe.inspection`, run by the server on a repository it opens read-only
(:func:`floe.server.catalog.contents.open_repository`); the catalog's permission checks decide
what each person sees. These routes are registered last: they catch two-segment paths.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from floe import inspection
from floe.errors import FloeError, ValidationError
from floe.models import Repo
from floe.server.auth import Action, Caller
from floe.server.catalog import repos
from floe.server.catalog.base import may, org_and_repo, org_row, repo_as_seen_by
from floe.server.catalog.contents import open_repository
from floe.server.web.pages import SignInRequired, base_url, html_page, org_abilities, render, signed_in
from floe.server.web.plots import render_png

router = APIRouter(include_in_schema=False)
log = logging.getLogger("floe.web")

PAGE_SIZE = 25
HISTORY_PAGE = 30
MAX_QUERY = 200


def org_href(org: str) -> str:
    return "/" + quote(org, safe="")


def repo_href(org: str, repo: str, *parts: str, **query: Any) -> str:
    path = f"/{quote(org, safe='')}/{quote(repo, safe='')}" + "".join(
        "/" + quote(p.strip("/"), safe="/") for p in parts if p.strip("/")
    )
    kept = {k: v for k, v in query.items() if v not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "")


def org_tabs(principal: Caller, org: str, org_id: str, active: str) -> list[tuple[str, str, bool]]:
    """The org's sections, those this person may use."""
    can = org_abilities(principal, org_id)
    base = org_href(org)
    tabs = [
        ("Repos", base, active == "repos"),
        ("Bucket configs", f"{base}/-/buckets", active == "buckets"),
        ("Members", f"{base}/-/members", active == "members"),
    ]
    if can["write"]:
        tabs.append(("Trash", f"{base}/-/trash", active == "trash"))
    if can["admin"]:
        tabs.append(("API clients", f"{base}/-/api-clients", active == "api-clients"))
    if can["audit"]:
        tabs.append(("Audit trail", f"{base}/-/audit", active == "audit"))
    return tabs


def repo_tabs(org: str, repo: str, active: str, *, settings: bool) -> list[tuple[str, str, bool]]:
    tabs = [
        ("Overview", repo_href(org, repo), active == "overview"),
        ("History", repo_href(org, repo, "history"), active == "history"),
        ("Tree", repo_href(org, repo, "tree"), active == "tree"),
        ("Compare", repo_href(org, repo, "diff"), active == "diff"),
    ]
    if settings:
        tabs.append(("Settings", repo_href(org, repo, "-", "settings"), active == "settings"))
    return tabs


def repo_crumbs(org: str, repo: str, *more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [("Orgs", "/"), (org, org_href(org)), (repo, repo_href(org, repo)), *more]


def _abilities_on_repo(request: Request, principal: Caller, org: str, name: str) -> dict[str, bool]:
    cat = request.app.state.catalog
    with cat.read() as conn:
        org_entry, row = org_and_repo(conn, principal, org, name, Action.REPO_READ)
        return {
            "write": may(conn, principal, Action.REPO_WRITE, org_entry.id, row.id),
            "admin": may(conn, principal, Action.REPO_ADMIN, org_entry.id, row.id),
        }


def _metadata_filter(text: str) -> dict[str, Any] | None:
    """``key=value`` pairs, separated by commas or new lines, as the API's ``filter_metadata``."""
    found: dict[str, Any] = {}
    for part in text.replace("\n", ",").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"metadata filter {part.strip()!r}: write key=value, e.g. project=era5")
        raw = value.strip()
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = raw
        found[key.strip()] = parsed if isinstance(parsed, str | int | float | bool) else raw
    return found or None


def _int(value: str | None, default: int, *, name: str, low: int = 1, high: int = 10**6) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number, not {value[:20]!r}") from None
    if not low <= number <= high:
        raise ValidationError(f"{name} must be between {low} and {high}")
    return number


# --- an org -----------------------------------------------------------------------------------------


@router.get("/{org}")
@html_page
def org_page(request: Request, org: str, q: str = "", metadata: str = "", page: str = "1") -> Response:
    principal = signed_in(request)
    cat = request.app.state.catalog
    q, metadata = q[:MAX_QUERY].strip(), metadata[:1000]
    with cat.read() as conn:
        org_entry = org_row(conn, principal, org, Action.ORG_READ)
    error = None
    try:
        found = repos.list_repos(
            cat,
            principal,
            org,
            page=_int(page, 1, name="page"),
            size=PAGE_SIZE,
            filter_metadata=_metadata_filter(metadata),
            name_contains=q or None,
        )
    except ValidationError as exc:
        error, found = exc.message, None
    can = org_abilities(principal, org_entry.id)

    def page_href(number: int) -> str:
        return org_href(org) + "?" + urlencode({"q": q, "metadata": metadata, "page": number})

    return render(
        request,
        "org.html",
        422 if error else 200,
        principal=principal,
        org=org_entry,
        found=found,
        repos=[repo_as_seen_by(principal, r) for r in found.items] if found else [],
        q=q,
        metadata=metadata,
        error=error,
        can=can,
        page_href=page_href,
        repo_href=repo_href,
        crumbs=[("Orgs", "/"), (org, None)],
        tabs=org_tabs(principal, org, org_entry.id, "repos"),
    )


# --- a repo -------------------------------------------------------------------------------------


def _snippets(request: Request, repo: Repo) -> dict[str, str]:
    name = f"{repo.org}/{repo.name}"
    server = base_url(request)
    return {
        "floe": (
            "import floe\n"
            "import zarr\n\n"
            f'client = floe.Client("{server}")  # or floe.Client() after `floe auth login`\n'
            f'repo = client.get_repo("{name}")\n'
            'session = repo.readonly_session("main")\n'
            'group = zarr.open_group(session.store, mode="r")\n'
        ),
        "xarray": (
            "import floe\n"
            "import xarray as xr\n\n"
            f'repo = floe.Client("{server}").get_repo("{name}")\n'
            'ds = xr.open_zarr(repo.readonly_session("main").store, consolidated=False)\n'
        ),
        "arraylake": (
            "from arraylake import Client\n\n"
            f'client = Client(service_uri="{server}", token="YOUR_TOKEN")\n'
            f'repo = client.get_repo("{name}")\n'
            'session = repo.readonly_session("main")\n'
        ),
        "cli": f"floe repo get {name}\nfloe repo log {name}\nfloe repo tree {name}",
    }


def _contents(request: Request, principal: Caller, org: str, name: str) -> tuple[Repo, Any]:
    return open_repository(request.app.state.catalog, principal, org, name)


@router.get("/{org}/{repo}")
@html_page
def repo_page(request: Request, org: str, repo: str) -> Response:
    principal = signed_in(request)
    cat = request.app.state.catalog
    entry = repo_as_seen_by(principal, repos.get_repo(cat, principal, org, repo))
    can = _abilities_on_repo(request, principal, org, repo)
    branches, tags, storage_error = [], [], None
    try:
        _, repository = _contents(request, principal, org, repo)
        branches = inspection.list_branches(repository)
        tags = inspection.list_tags(repository)
    except FloeError as exc:
        storage_error = exc.message
    return render(
        request,
        "repo.html",
        principal=principal,
        repo=entry,
        can=can,
        branches=branches,
        tags=tags,
        storage_error=storage_error,
        snippets=_snippets(request, entry),
        repo_href=repo_href,
        crumbs=repo_crumbs(org, repo),
        tabs=repo_tabs(org, repo, "overview", settings=can["write"] or can["admin"]),
    )


@router.get("/{org}/{repo}/history")
@html_page
def history_page(request: Request, org: str, repo: str, ref: str = "main", page: str = "1") -> Response:
    principal = signed_in(request)
    number = _int(page, 1, name="page")
    entry, repository = _contents(request, principal, org, repo)
    can = _abilities_on_repo(request, principal, org, repo)
    found = inspection.history(repository, ref[:256], limit=HISTORY_PAGE, skip=(number - 1) * HISTORY_PAGE)
    return render(
        request,
        "history.html",
        principal=principal,
        repo=entry,
        ref=ref,
        found=found,
        page=number,
        # names only, for the ref picker: no snapshot lookup per ref
        branches=sorted(repository.list_branches(), key=lambda name: (name != "main", name)),
        tags=sorted(repository.list_tags()),
        repo_href=repo_href,
        crumbs=repo_crumbs(org, repo, ("History", None)),
        tabs=repo_tabs(org, repo, "history", settings=can["write"] or can["admin"]),
    )


@router.get("/{org}/{repo}/tree")
@router.get("/{org}/{repo}/tree/{path:path}")
@html_page
def tree_page(
    request: Request, org: str, repo: str, path: str = "", ref: str = "main", sel: str = ""
) -> Response:
    principal = signed_in(request)
    entry, repository = _contents(request, principal, org, repo)
    can = _abilities_on_repo(request, principal, org, repo)
    listing = inspection.tree(repository, ref[:256], path, depth=1)
    node = listing.node
    parts = [p for p in node.path.split("/") if p]
    crumbs = repo_crumbs(org, repo, ("Tree", repo_href(org, repo, "tree", ref=ref)))
    for i, part in enumerate(parts):
        crumbs.append((part, repo_href(org, repo, "tree", "/".join(parts[: i + 1]), ref=ref)))
    preview: dict[str, Any] | None = None
    if node.kind == "array":
        preview = _preview_plan(node, sel[:500], org, repo, ref)
    return render(
        request,
        "tree.html",
        422 if preview and preview.get("error") else 200,
        principal=principal,
        repo=entry,
        ref=ref,
        listing=listing,
        node=node,
        preview=preview,
        attributes_json=json.dumps(node.attributes, indent=2, default=str, ensure_ascii=False),
        repo_href=repo_href,
        crumbs=crumbs,
        tabs=repo_tabs(org, repo, "tree", settings=can["write"] or can["admin"]),
    )


def _preview_plan(node: Any, sel: str, org: str, repo: str, ref: str) -> dict[str, Any]:
    """What the array page's preview shows, checked without reading data; errors go on the page."""
    if not node.shape or node.dtype is None or not any(k in node.dtype for k in ("int", "float", "bool")):
        return {"error": None, "drawable": False}
    import numpy as np

    try:
        fitted, clipped = inspection.plan_selection(
            tuple(node.shape), tuple(node.chunk_shape), np.dtype(node.dtype).itemsize, sel or None
        )
    except ValidationError as exc:
        return {"error": exc.message, "drawable": True, "selection": sel}
    text = inspection.selection_text(fitted)
    return {
        "error": None,
        "drawable": True,
        "selection": text,
        "clipped": clipped,
        "src": repo_href(org, repo, "preview", node.path, ref=ref, sel=text),
        "limit_mib": inspection.PREVIEW_BYTES // 2**20,
    }


@router.get("/{org}/{repo}/preview/{path:path}")
async def preview_image(
    request: Request, org: str, repo: str, path: str, ref: str = "main", sel: str = ""
) -> Response:
    """The preview of an array as a PNG (read and drawn off the event loop)."""

    def draw() -> Response:
        try:
            principal = signed_in(request)
            _, repository = _contents(request, principal, org, repo)
            preview = inspection.read_preview(repository, ref[:256], path, sel[:500] or None)
            png = render_png(preview)
        except SignInRequired:
            return Response("sign in to see previews", status_code=401, media_type="text/plain")
        except FloeError as exc:
            return Response(exc.message, status_code=exc.status_code, media_type="text/plain")
        except Exception:  # a fault of ours, not of the request: logged, and a short answer
            log.exception("drawing the preview of %s/%s %s failed", org, repo, path)
            return Response("the preview could not be drawn", status_code=500, media_type="text/plain")
        headers = {"Cache-Control": "private, max-age=60", "X-Floe-Selection": preview.selection}
        return Response(png, media_type="image/png", headers=headers)

    return await run_in_threadpool(draw)


@router.get("/{org}/{repo}/diff")
@html_page
def diff_page(request: Request, org: str, repo: str) -> Response:
    principal = signed_in(request)
    start = request.query_params.get("from", "")[:256]
    end = request.query_params.get("to", "")[:256]
    entry, repository = _contents(request, principal, org, repo)
    can = _abilities_on_repo(request, principal, org, repo)
    found, error, recent = None, None, None
    if start and end:
        try:
            found = inspection.diff(repository, start, end)
        except ValidationError as exc:
            error = exc.message
    else:
        recent = inspection.history(repository, end or "main", limit=10)
    return render(
        request,
        "diff.html",
        422 if error else 200,
        principal=principal,
        repo=entry,
        start=start,
        end=end,
        found=found,
        error=error,
        recent=recent,
        repo_href=repo_href,
        crumbs=repo_crumbs(org, repo, ("Compare", None)),
        tabs=repo_tabs(org, repo, "diff", settings=can["write"] or can["admin"]),
    )
