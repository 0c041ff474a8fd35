"""What every manage page shares: the org and what its pages may offer, tabs and breadcrumbs, plain
messages for pydantic errors, and repo metadata as people type it (``key=value`` lines or JSON)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from pydantic import ValidationError as PydanticValidationError

from floe.errors import PermissionDeniedError, ValidationError
from floe.server.auth import Caller
from floe.server.catalog import Catalog
from floe.server.catalog.base import org_row
from floe.server.web import browse
from floe.server.web.pages import org_abilities, signed_in

# --- shared by every manage page -------------------------------------------------------------------


def catalog_of(request: Request) -> Catalog:
    return request.app.state.catalog


@dataclass
class OrgPage:
    """Who is looking at which org, and what its pages may offer them."""

    principal: Caller
    org: sa.Row
    can: dict[str, bool]

    @property
    def name(self) -> str:
        return self.org.name


def org_page(request: Request, org_name: str) -> OrgPage:
    """The signed-in person and the org (404 when missing or invisible to them)."""
    principal = signed_in(request)
    with catalog_of(request).read() as conn:
        org = org_row(conn, principal, org_name)
    return OrgPage(principal, org, org_abilities(principal, org.id))


def deny(page: OrgPage, what: str) -> PermissionDeniedError:
    """The 403 a person gets for a control their role does not offer (a forged form)."""
    role = page.principal.roles.get(page.org.id)
    return PermissionDeniedError(
        f"{page.principal.label} (role {role} in org {page.name!r}) may not {what}; ask an org admin"
    )


def org_tabs(page: OrgPage, active: str) -> list[tuple[str, str, bool]]:
    """The org's sections this person may use: the same tabs as the browse pages."""
    return browse.org_tabs(page.principal, page.name, page.org.id, active)


def org_crumbs(org_name: str, *rest: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [("Orgs", "/"), (org_name, browse.org_href(org_name)), *rest]


def problem(exc: PydanticValidationError) -> str:
    """A pydantic validation error in plain words: ``field: what is wrong`` (never the input)."""
    parts = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid input"


# --- metadata as people type it ------------------------------------------------------------------


def _scalar(raw: str) -> Any:
    """``42`` -> 42, ``true`` -> True, ``"42"`` -> "42", ``[1, 2]`` -> [1, 2]; anything else stays text."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    ok = (str, bool, int, float, type(None))
    if isinstance(value, float) and not math.isfinite(value):
        return raw
    if isinstance(value, ok) or (isinstance(value, list) and all(isinstance(v, ok) for v in value)):
        return value
    return raw


def parse_metadata(text: str) -> dict[str, Any]:
    """Metadata typed as ``key=value`` lines (values as JSON scalars where they parse) or one JSON object."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"metadata is not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(value, dict):
            raise ValidationError("metadata must be key=value lines or one JSON object")
        return value
    found: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationError(f"metadata line {number}: write key=value (or give one JSON object)")
        if key in found:
            raise ValidationError(f"metadata line {number}: key {key!r} is given twice")
        found[key] = _scalar(raw.strip())
    return found


def format_metadata(metadata: dict[str, Any] | None) -> str:
    """The text that :func:`parse_metadata` turns back into ``metadata``."""
    if not metadata:
        return ""
    lines = []
    for key, value in metadata.items():
        if key != key.strip() or "=" in key or key.startswith("#") or "\n" in key:
            return json.dumps(metadata, indent=2, ensure_ascii=False)
        if isinstance(value, str) and (value != value.strip() or "\n" in value or _scalar(value) != value):
            text = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}={text}")
    return "\n".join(lines)
