"""Bucket config pages: the list, one form per platform (the server's probe runs on submit), a config's
settings and probe findings, check again, make default, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError as PydanticValidationError

from floe.errors import AuthenticationError, FloeError, PermissionDeniedError, ValidationError
from floe.models import Bucket, Capabilities
from floe.server.catalog import buckets
from floe.server.redaction import SECRET_FIELDS
from floe.server.web.manage_bucket_forms import (
    AUTH_FIELDS,
    METHOD_LABELS,
    PLATFORMS,
    SECRET_INPUTS,
    BucketForm,
    PlatformForm,
    request_body,
)
from floe.server.web.manage_kit import OrgPage, catalog_of, deny, org_crumbs, org_page, org_tabs, problem
from floe.server.web.pages import check_csrf, html_page, redirect, render

router = APIRouter(include_in_schema=False)


def _choose(platform: str, method: str) -> tuple[PlatformForm | None, str]:
    spec = PLATFORMS.get(platform)
    if spec is None:
        return None, ""
    return spec, method if method in spec.methods else spec.methods[0]


def _new_form(
    request: Request,
    page: OrgPage,
    spec: PlatformForm | None,
    method: str,
    values: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "manage_bucket_new.html",
        status,
        principal=page.principal,
        crumbs=org_crumbs(page.name, ("Bucket configs", f"/{page.name}/-/buckets"), ("New", None)),
        tabs=org_tabs(page, "buckets"),
        org=page.name,
        platforms=PLATFORMS.values(),
        spec=spec,
        method=method,
        method_labels=METHOD_LABELS,
        auth_fields=AUTH_FIELDS.get(method, ()),
        values={k: v for k, v in values.items() if k not in SECRET_INPUTS and k != "csrf"},
        error=error,
    )


@router.get("/{org}/-/buckets")
@html_page
def bucket_list(request: Request, org: str, done: str = "") -> Response:
    page = org_page(request, org)
    found = buckets.list_buckets(catalog_of(request), page.principal, org)
    return render(
        request,
        "manage_buckets.html",
        principal=page.principal,
        crumbs=org_crumbs(org, ("Bucket configs", None)),
        tabs=org_tabs(page, "buckets"),
        org=org,
        can=page.can,
        buckets=[(b, summary(b.capabilities)) for b in found],
        notice="Bucket config deleted." if done == "deleted" else None,
    )


@router.get("/{org}/-/buckets/new")
@html_page
def new_bucket_page(request: Request, org: str, platform: str = "", method: str = "") -> Response:
    page = org_page(request, org)
    if not page.can["buckets"]:
        raise deny(page, "add bucket configs")
    spec, method = _choose(platform, method)
    return _new_form(request, page, spec, method, {})


@router.post("/{org}/-/buckets/new")
@html_page
def new_bucket(request: Request, org: str, form: Annotated[BucketForm, Form()]) -> Response:
    check_csrf(request, form.csrf)
    page = org_page(request, org)
    if not page.can["buckets"]:
        raise deny(page, "add bucket configs")
    spec, method = _choose(form.platform, form.method)
    if spec is None:
        raise ValidationError(f"unknown platform {form.platform!r}: use one of {', '.join(PLATFORMS)}")
    values = form.model_dump()
    try:
        created = buckets.create_bucket(
            catalog_of(request), page.principal, org, request_body(form, spec, method)
        )
    except PydanticValidationError as exc:
        return _new_form(request, page, spec, method, values, error=problem(exc), status=422)
    except FloeError as exc:
        if isinstance(exc, PermissionDeniedError | AuthenticationError):
            raise
        return _new_form(request, page, spec, method, values, error=exc.message, status=exc.status_code)
    return redirect(f"/{org}/-/buckets/{created.nickname}?done=created")


# --- one bucket config -------------------------------------------------------------------------------

_FINDINGS = (
    ("reachable", "Store answers"),
    ("can_list", "Can list"),
    ("can_read", "Can read"),
    ("can_write", "Can write and delete"),
    ("conditional_create", "Conditional create (If-None-Match)"),
    ("conditional_update", "Conditional update (If-Match)"),
    ("read_keys_can_read", "Read-only key pair reads"),
    ("read_keys_can_write", "Read-only key pair can write (it should not)"),
)

_BUCKET_NOTICES = {
    "created": "Bucket config created: the server checked the storage.",
    "checked": "Checked again.",
    "default": "This is now the org's default bucket config.",
}


def summary(caps: Capabilities | None) -> tuple[str, str]:
    """A few words on what the last probe found, and a CSS class (ok, bad, muted)."""
    if caps is None:
        return "not checked", "muted"
    if caps.skipped:
        return "not checked by the server", "muted"
    if caps.error:
        return "unusable: " + str(caps.error_kind or "error").replace("_", " "), "bad"
    if caps.lacks_conditional_writes:
        return "works; no conditional writes (commit leases)", "ok"
    if caps.can_write is None:
        return "reads (read-only)", "ok"
    return "works; conditional writes", "ok"


def _findings(caps: Capabilities | None) -> list[tuple[str, str, str]]:
    """(what, yes / no / not tested, CSS class) of each probe step; the read-only pair's only when tested."""
    if not caps:
        return []
    words = {True: ("yes", "ok"), False: ("no", "bad"), None: ("not tested", "muted")}
    shown = []
    for key, label in _FINDINGS:
        value = getattr(caps, key)
        if key.startswith("read_keys_") and value is None:
            continue
        word, cls = words[value]
        if key == "read_keys_can_write" and value is not None:
            cls = "bad" if value else "ok"  # a read-only pair that can write is the problem
        shown.append((label, word, cls))
    return shown


def _auth_shown(bucket: Bucket) -> list[tuple[str, str]]:
    auth = dict(bucket.auth_config or {})
    auth.pop("method", None)
    return [
        (k, "stored, never shown" if k in SECRET_FIELDS else str(v))
        for k, v in auth.items()
        if v not in (None, "")
    ]


def _detail(
    request: Request,
    page: OrgPage,
    nickname: str,
    *,
    status: int = 200,
    error: str | None = None,
    confirm: str = "",
    notice: str | None = None,
) -> Response:
    cat = catalog_of(request)
    bucket = buckets.get_bucket(cat, page.principal, page.name, nickname, by="nickname")
    used_by = buckets.repos_for_bucket(cat, page.principal, page.name, str(bucket.id))
    caps = bucket.capabilities
    return render(
        request,
        "manage_bucket.html",
        status,
        principal=page.principal,
        crumbs=org_crumbs(page.name, ("Bucket configs", f"/{page.name}/-/buckets"), (bucket.nickname, None)),
        tabs=org_tabs(page, "buckets"),
        org=page.name,
        can=page.can,
        bucket=bucket,
        base=f"/{page.name}/-/buckets/{bucket.nickname}",
        auth_method=(bucket.auth_config or {}).get("method", "anonymous"),
        auth_shown=_auth_shown(bucket),
        caps=caps,
        summary=summary(caps),
        findings=_findings(caps),
        repos=used_by,
        error=error,
        confirm=confirm,
        notice=notice,
    )


@router.get("/{org}/-/buckets/{nickname}")
@html_page
def bucket_page(request: Request, org: str, nickname: str, done: str = "") -> Response:
    return _detail(request, org_page(request, org), nickname, notice=_BUCKET_NOTICES.get(done))


def _admin_page(request: Request, org: str, nickname: str, csrf: str) -> tuple[OrgPage, str]:
    """CSRF, then bucket admin (403 otherwise), then the config's id (404 when it does not exist)."""
    check_csrf(request, csrf)
    page = org_page(request, org)
    if not page.can["buckets"]:
        raise deny(page, "change bucket configs")
    found = buckets.get_bucket(catalog_of(request), page.principal, org, nickname, by="nickname")
    return page, str(found.id)


@router.post("/{org}/-/buckets/{nickname}/check")
@html_page
def check_bucket(request: Request, org: str, nickname: str, csrf: str = Form("")) -> Response:
    page, bucket_id = _admin_page(request, org, nickname, csrf)
    buckets.check_bucket(catalog_of(request), page.principal, org, bucket_id)
    return redirect(f"/{org}/-/buckets/{nickname}?done=checked")


@router.post("/{org}/-/buckets/{nickname}/set-default")
@html_page
def set_default(request: Request, org: str, nickname: str, csrf: str = Form("")) -> Response:
    page, bucket_id = _admin_page(request, org, nickname, csrf)
    buckets.set_default_bucket(catalog_of(request), page.principal, org, bucket_id)
    return redirect(f"/{org}/-/buckets/{nickname}?done=default")


@router.post("/{org}/-/buckets/{nickname}/delete")
@html_page
def delete_bucket(
    request: Request, org: str, nickname: str, csrf: str = Form(""), confirm: str = Form("")
) -> Response:
    page, bucket_id = _admin_page(request, org, nickname, csrf)
    try:
        if confirm.strip() != nickname:
            raise ValidationError(
                f"type the nickname, {nickname}, to delete this bucket config; nothing was deleted"
            )
        buckets.delete_bucket(catalog_of(request), page.principal, org, bucket_id)
    except FloeError as exc:
        if isinstance(exc, PermissionDeniedError | AuthenticationError):
            raise
        return _detail(request, page, nickname, status=exc.status_code, error=exc.message, confirm=confirm)
    return redirect(f"/{org}/-/buckets?done=deleted")
