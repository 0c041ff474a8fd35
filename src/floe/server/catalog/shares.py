"""Share links: read-only, expiring, revocable links to one repo, opened without an account.

A link is a random token (``fls_`` and 43 URL-safe characters, 256 bits); only its SHA-256 hash
is stored, as for API tokens. Whoever holds it may read the repo until it expires or a repo admin
revokes it. What it hands out is checked when it is created *and* at every use, since the bucket
config may have changed in between: read-only credentials only (delegated ones, or the config's
read-only key pair), never keys that can write and never the server's own credentials.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa

from floe.errors import GoneError, NotFoundError, RepoUnavailableError, ValidationError
from floe.models import Capabilities, RepoMode, S3Credentials
from floe.models.sharing import (
    SHARE_TOKEN_PREFIX,
    SharedRepoOpen,
    ShareLink,
    ShareLinkCreate,
    ShareLinkWithToken,
)
from floe.server.auth import Action, Caller
from floe.server.catalog.audit import record
from floe.server.catalog.base import (
    Catalog,
    aware,
    bucket_spec,
    for_clients,
    now,
    org_and_repo,
)
from floe.server.db import tables as t
from floe.server.keys import hash_token
from floe.storage import BucketSpec, credentials_for, server_reachable

MAX_LINKS_PER_REPO = 1000  # links not yet revoked, expired or not: a bound on what one repo may hold
ZARR_SERVICE_HINT = (
    "or serve the repo read-only with the zarr data service (`floe services enable ORG zarr --repo REPO`)"
)
# Credential methods a link can honour, and what it hands out for each.
_SAFE_METHODS = (
    "none",
    "anonymous",
    "hmac",
    "aws_sts",
    "gcs_service_account",
    "azure_account_key",
    "azure_sas",
)
_READ_ONLY_SAS = frozenset("rl")  # read and list; every other SAS permission letter changes something


def new_share_token() -> str:
    return SHARE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def _when(dt: datetime | None) -> str:
    return aware(dt).strftime("%Y-%m-%d %H:%M UTC") if dt else "?"


def status_of(row: Any, at: datetime | None = None) -> str:
    if row.revoked is not None:
        return "revoked"
    return "expired" if aware(row.expires) <= (at or now()) else "active"


def _model(row: Any, full_name: str) -> ShareLink:
    return ShareLink(
        id=row.id,
        repo=full_name,
        ref=row.ref,
        note=row.note,
        created=aware(row.created),
        created_by=row.created_by_name,
        expires=aware(row.expires),
        revoked=aware(row.revoked),
        status=status_of(row),
        uses=row.uses or 0,
        last_used=aware(row.last_used),
    )


# --- what a link may hand out --------------------------------------------------------------


def refusal(
    spec: BucketSpec, nickname: str, capabilities: Mapping[str, Any] | None, full_name: str
) -> str | None:
    """Why a link to a repo in this bucket config could not be honoured safely, or None.

    Checked when a link is created and again at every use (the config may have changed).
    """
    org, _, repo = full_name.partition("/")
    service = ZARR_SERVICE_HINT.replace("ORG", org).replace("REPO", repo)
    method = spec.auth_method
    if not server_reachable(spec):
        return (
            f"repo {full_name} is in memory storage, which lives in each client process: "
            "a share link cannot open it; move it to a bucket config with real storage"
        )
    if method == "from_env":
        return (
            f"bucket config {nickname!r} uses from_env credentials, and the server's own credentials are "
            "never handed out: a share link cannot open it; an org admin can give the bucket config a read-only "
            f"key pair or delegated credentials, {service}"
        )
    if method not in _SAFE_METHODS:
        return (
            f"bucket config {nickname!r} uses credential method {method!r}, which share links do not support"
        )
    auth = spec.auth or {}
    if method == "hmac":
        if not auth.get("read_access_key_id"):
            return (
                f"bucket config {nickname!r} holds only keys that can write, and a share link never hands "
                f"those out: an org admin can add a read-only key pair (`floe bucket modify {nickname} "
                "--access-key-id ... --read-access-key-id ... --read-secret-access-key ...`), "
                f"{service}"
            )
        if (capabilities or {}).get("read_keys_can_write"):
            return (
                f"the probe of bucket config {nickname!r} found that its read-only key pair can write, and a "
                "share link never hands out keys that write: an org admin can give that pair read permission "
                f"only and check the config again (`floe bucket check {nickname}`), {service}"
            )
    if method == "azure_sas":
        fields = parse_qs(str(auth.get("sas_token", "")).lstrip("?"), keep_blank_values=True)
        permissions = set((fields.get("sp") or [""])[0])
        if not permissions or not permissions <= _READ_ONLY_SAS:
            return (
                f"bucket config {nickname!r} holds a SAS token that may change data (permissions "
                f"{''.join(sorted(permissions)) or 'unknown'}), and a share link hands out read-only "
                "credentials only: an org admin can give it a SAS with read and list only (sp=rl), or the "
                f"account key (azure_account_key, the server then vends read-only SAS tokens), {service}"
            )
    return None


def _read_only_credentials(cat: Catalog, spec: BucketSpec, prefix: str) -> Any:
    creds = credentials_for(spec, prefix=prefix, read_only=True, policy=cat.policy)
    auth = spec.auth or {}
    # belt and braces: the write pair never leaves through a link, whatever the config says
    if (
        isinstance(creds, S3Credentials)
        and spec.auth_method == "hmac"
        and (creds.aws_access_key_id == auth.get("access_key_id") or not auth.get("read_access_key_id"))
    ):
        raise ValidationError(
            "this share link cannot be honoured: the bucket config has no read-only key pair"
        )
    return creds


# --- manage ---------------------------------------------------------------------------------


def _bucket_row(conn: sa.Connection, repo: sa.Row) -> sa.Row:
    return conn.execute(sa.select(t.buckets).where(t.buckets.c.id == repo.bucket_id)).one()


def create_share(
    cat: Catalog, principal: Caller, org_name: str, repo_name: str, body: ShareLinkCreate, base_url: str
) -> ShareLinkWithToken:
    """A new link (repo admins); the token is in this answer only."""
    full = f"{org_name}/{repo_name}"
    with cat.tx() as conn:
        org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_ADMIN)
        bucket = _bucket_row(conn, repo)
        why_not = refusal(bucket_spec(cat.box, bucket), bucket.nickname, bucket.capabilities, full)
        if why_not:
            raise ValidationError(f"cannot share {full}: {why_not}")
        live = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.share_links)
            .where(t.share_links.c.repo_id == repo.id, t.share_links.c.revoked.is_(None))
        ).scalar_one()
        if live >= MAX_LINKS_PER_REPO:
            raise ValidationError(
                f"{full} has {live} share links that are not revoked: revoke some first (`floe repo shares {full}`)"
            )
        token = new_share_token()
        created = now()
        link_id = str(uuid.uuid4())
        conn.execute(
            sa.insert(t.share_links).values(
                id=link_id,
                org_id=org.id,
                repo_id=repo.id,
                token_hash=hash_token(token),
                ref=body.ref,
                note=body.note,
                created=created,
                created_by=principal.id,
                created_by_name=principal.label,
                expires=created + timedelta(seconds=body.expires_in),
                uses=0,
            )
        )
        row = conn.execute(sa.select(t.share_links).where(t.share_links.c.id == link_id)).one()
        record(
            conn,
            principal,
            "share.create",
            org=org,
            resource=full,
            detail={"id": link_id, "ref": body.ref, "expires": aware(row.expires), "note": body.note},
        )
    url = f"{base_url.rstrip('/')}/shared/{token}"
    return ShareLinkWithToken(**_model(row, full).model_dump(), token=token, url=url)


def list_shares(
    cat: Catalog, principal: Caller, org_name: str, repo_name: str, *, include_revoked: bool = False
) -> list[ShareLink]:
    with cat.read() as conn:
        _, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_ADMIN)
        query = (
            sa.select(t.share_links)
            .where(t.share_links.c.repo_id == repo.id)
            .order_by(t.share_links.c.created, t.share_links.c.id)
        )
        if not include_revoked:
            query = query.where(t.share_links.c.revoked.is_(None))
        return [_model(row, f"{org_name}/{repo_name}") for row in conn.execute(query)]


def revoke_share(cat: Catalog, principal: Caller, org_name: str, repo_name: str, share_id: str) -> ShareLink:
    """Revoke a link by id (repo admins); it stops working at once. Revoking it again changes nothing."""
    full = f"{org_name}/{repo_name}"
    with cat.tx() as conn:
        org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_ADMIN)
        row = conn.execute(
            sa.select(t.share_links).where(
                t.share_links.c.repo_id == repo.id, t.share_links.c.id == str(share_id)[:36]
            )
        ).first()
        if row is None:
            raise NotFoundError(
                f"no share link {share_id!r} on {full}; `floe repo shares {full} --all` lists them"
            )
        if row.revoked is None:
            conn.execute(
                sa.update(t.share_links)
                .where(t.share_links.c.id == row.id)
                .values(revoked=now(), revoked_by=principal.id)
            )
            record(conn, principal, "share.revoke", org=org, resource=full, detail={"id": row.id})
            row = conn.execute(sa.select(t.share_links).where(t.share_links.c.id == row.id)).one()
        return _model(row, full)


# --- use ------------------------------------------------------------------------------------

_BY_TOKEN = (
    sa.select(
        t.share_links,
        t.repos.c.name.label("repo_name"),
        t.repos.c.prefix.label("repo_prefix"),
        t.repos.c.status_mode,
        t.repos.c.status_message,
        t.repos.c.state.label("repo_state"),
        t.repos.c.bucket_id,
        t.orgs.c.name.label("org_name"),
    )
    .select_from(t.share_links)
    .join(t.repos, t.repos.c.id == t.share_links.c.repo_id)
    .join(t.orgs, t.orgs.c.id == t.share_links.c.org_id)
    .where(t.share_links.c.token_hash == sa.bindparam("token_hash"))
)

UNKNOWN = "no such share link: check that the whole link was copied, or ask the repo's owner for a new one"


def _find(conn: sa.Connection, token: str) -> Any:
    if not token.startswith(SHARE_TOKEN_PREFIX) or len(token) > 100:
        raise NotFoundError(UNKNOWN)
    row = conn.execute(_BY_TOKEN, {"token_hash": hash_token(token)}).first()
    if row is None:
        raise NotFoundError(UNKNOWN)
    return row


def _refused(cat: Catalog, row: Any, reason: str, address: str | None) -> None:
    """Record a refused use of a known link (its own transaction: the refusal raises afterwards)."""
    with cat.tx() as conn:
        org = conn.execute(sa.select(t.orgs).where(t.orgs.c.id == row.org_id)).one()
        record(
            conn,
            None,
            "share.refused",
            org=org,
            resource=f"{row.org_name}/{row.repo_name}",
            detail={"id": row.id, "reason": reason},
            address=address,
        )


def _check_live(cat: Catalog, row: Any, address: str | None, *, audit: bool) -> None:
    full = f"{row.org_name}/{row.repo_name}"
    state = status_of(row)
    if state == "revoked":
        if audit:
            _refused(cat, row, "revoked", address)
        raise GoneError(
            f"this share link to {full} was revoked on {_when(row.revoked)}; ask the repo's owner for a new one"
        )
    if state == "expired":
        if audit:
            _refused(cat, row, "expired", address)
        raise GoneError(
            f"this share link to {full} expired on {_when(row.expires)}; ask the repo's owner for a new one"
        )
    if row.repo_state != "ready":  # still being created (floe.server.catalog.creation): nothing to share yet
        raise RepoUnavailableError(f"repo {full} is still being created; try the link again in a moment")
    if row.status_mode == RepoMode.offline.value:
        if audit:
            _refused(cat, row, "offline", address)
        raise RepoUnavailableError(
            f"repo {full} is offline ({row.status_message or 'no reason given'}); try the link again later"
        )


def describe_share(cat: Catalog, token: str) -> ShareLink:
    """The link behind a token, for its landing page: 404 unknown, 410 expired or revoked. Not a use."""
    with cat.read() as conn:
        row = _find(conn, token)
    _check_live(cat, row, None, audit=False)
    return _model(row, f"{row.org_name}/{row.repo_name}")


def open_share(cat: Catalog, token: str, *, address: str | None = None) -> SharedRepoOpen:
    """Everything needed to open the repo read-only, for anyone holding the token; audited (``share.use``)."""
    with cat.read() as conn:
        row = _find(conn, token)
        bucket = conn.execute(sa.select(t.buckets).where(t.buckets.c.id == row.bucket_id)).one()
    full = f"{row.org_name}/{row.repo_name}"
    _check_live(cat, row, address, audit=True)
    spec = bucket_spec(cat.box, bucket)
    why_not = refusal(spec, bucket.nickname, bucket.capabilities, full)
    if why_not:
        _refused(cat, row, "bucket config", address)
        raise ValidationError(f"this share link cannot be honoured now: {why_not}")
    creds = _read_only_credentials(cat, spec, row.repo_prefix)
    with cat.tx() as conn:
        conn.execute(
            sa.update(t.share_links)
            .where(t.share_links.c.id == row.id)
            .values(uses=t.share_links.c.uses + 1, last_used=now())
        )
        org = conn.execute(sa.select(t.orgs).where(t.orgs.c.id == row.org_id)).one()
        record(
            conn,
            None,
            "share.use",
            org=org,
            resource=full,
            detail={
                "id": row.id,
                "ref": row.ref,
                "bucket": bucket.nickname,
                "platform": bucket.platform,
                "auth_method": bucket.auth_method,
                "read_only": True,
            },
            address=address,
        )
    caps = bucket.capabilities
    return SharedRepoOpen(
        repo=full,
        ref=row.ref,
        expires=aware(row.expires),
        share_id=row.id,
        platform=bucket.platform,
        bucket=bucket.name,
        prefix=row.repo_prefix,
        extra_config=dict(bucket.extra_config or {}),
        auth_method=spec.auth_method,
        capabilities=for_clients(Capabilities.model_validate(caps) if caps else None),
        credentials=creds,
    )
