"""People signing in: passwords, limits on failed attempts, sessions, OpenID Connect users.

Nothing here keeps state in the process: failure counters, sessions and device codes all live in
the database, so any number of server processes share them. Passwords and tokens are never stored
or logged in plain text (tokens as SHA-256, passwords as argon2id).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from argon2.exceptions import InvalidHashError
from sqlalchemy.dialects import postgresql, sqlite

from floe.errors import (
    AuthenticationError,
    NotFoundError,
    TooManyRequestsError,
    ValidationError,
)
from floe.models import Session, normalize_email
from floe.server.auth import Caller
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, aware, now
from floe.server.catalog.principals import user_principal
from floe.server.catalog.users import end_sessions, insert_user, require_person
from floe.server.db import tables as t
from floe.server.keys import hash_token, new_session_token
from floe.server.passwords import hash_password, needs_rehash, verify_password

WRONG_CREDENTIALS = "email or password is wrong"
# Failed sign-ins are limited per (account, address) and per address, never per account alone: a
# stranger guessing someone's password from elsewhere must not lock that person out.
ACCOUNT_LIMIT = 5  # failed sign-ins for one account from one network address ...
ADDRESS_LIMIT = 30  # ... and from one network address, whatever the accounts ...
WINDOW = timedelta(minutes=15)  # ... within this window
MAX_PASSWORD = 1024  # longer ones are refused unhashed (argon2 of megabytes is a denial of service)


def _needs_rehash(stored: str) -> bool:
    try:
        return needs_rehash(stored)
    except InvalidHashError:
        return True


# --- failed attempts --------------------------------------------------------------------------


def account_key(email: str, address: str | None) -> str:
    """The counter of one account's failures from one address."""
    return f"account:{_address(address) or '-'} {email[:320]}"


def _address(address: str | None) -> str:
    return (address or "")[:64].replace(" ", "_")  # keys fit the column; the email follows a space


def address_key(address: str | None) -> str | None:
    return f"address:{_address(address)}" if address else None


def _limits(email: str | None, address: str | None) -> dict[str, int]:
    keys = {account_key(email, address): ACCOUNT_LIMIT} if email is not None else {}
    by_address = address_key(address)
    if by_address:
        keys[by_address] = ADDRESS_LIMIT
    return keys


def check_limits(conn: sa.Connection, limits: dict[str, int]) -> None:
    """429 when any of the counters is at its limit within the window. The message depends only on
    the counters, never on whether an account exists."""
    if not limits:
        return
    current = now()
    rows = conn.execute(sa.select(t.sign_in_failures).where(t.sign_in_failures.c.key.in_(list(limits)))).all()
    wait = timedelta(0)
    for row in rows:
        end = aware(row.window_start) + WINDOW
        if row.failures >= limits[row.key] and end > current:
            wait = max(wait, end - current)
    if wait:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        raise TooManyRequestsError(
            f"too many failed sign-in attempts; try again in {minutes} minute{'s' if minutes > 1 else ''}"
        )


def _count_failure(conn: sa.Connection, key: str) -> int:
    """Add one failure to ``key`` (a new window once the old one is over); the count afterwards.
    One atomic upsert, so concurrent server processes never lose a count."""
    current = now()
    table = t.sign_in_failures
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
    stale = table.c.window_start <= current - WINDOW
    stmt = insert(table).values(key=key, failures=1, window_start=current)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": sa.case((stale, 1), else_=table.c.failures + 1),
            "window_start": sa.case((stale, current), else_=table.c.window_start),
        },
    )
    conn.execute(stmt)
    return conn.execute(sa.select(table.c.failures).where(table.c.key == key)).scalar_one()


def record_failures(
    conn: sa.Connection, limits: dict[str, int], *, email: str | None, address: str | None, method: str
) -> None:
    """Count a failed attempt against every key; audit it, and the moment a key reaches its limit."""
    if email is not None:
        record(conn, None, "sign_in.failed", detail={"email": email, "method": method}, address=address)
    for key, limit in limits.items():
        if _count_failure(conn, key) == limit:
            scope = key.partition(":")[0]
            detail = {"scope": scope, "failures": limit, "minutes": int(WINDOW.total_seconds() // 60)}
            if scope == "account":  # that account, from this address (the event's address)
                detail["email"] = key.partition(" ")[2]
            record(conn, None, "sign_in.locked", detail=detail, address=address)


def check_address(cat: Catalog, address: str | None) -> None:
    """429 when this address has too many failures (wrong passwords or wrong device codes)."""
    with cat.read() as conn:
        check_limits(conn, _limits(None, address))


def count_address_failure(cat: Catalog, address: str | None) -> None:
    """A failed guess that names no account (a wrong device code): counts toward the address."""
    with cat.tx() as conn:
        record_failures(conn, _limits(None, address), email=None, address=address, method="device_code")


# --- sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    """A session just created: its token (shown once, then only its hash is kept) and its owner."""

    token: str
    id: str
    expires: datetime
    principal: Caller


def create_session(
    conn: sa.Connection,
    user: sa.Row,
    *,
    kind: Literal["cli", "web", "link"],
    lifetime: timedelta,
    client: str | None = None,
    address: str | None = None,
    method: str | None = None,
) -> NewSession:
    """Insert a session for ``user`` and audit it (``sign_in.succeeded`` too when ``method`` is given)."""
    token = new_session_token()
    session_id = str(uuid.uuid4())
    created = now()
    expires = created + lifetime
    conn.execute(
        sa.insert(t.sessions).values(
            id=session_id,
            user_id=user.id,
            token_hash=hash_token(token),
            kind=kind,
            client=(client or None) and client[:200],
            address=address,
            created=created,
            expires=expires,
        )
    )
    conn.execute(sa.update(t.users).where(t.users.c.id == user.id).values(last_sign_in=created))
    principal = user_principal(conn, user, session_id=session_id, expiration=expires).with_address(address)
    if method is not None:
        record(conn, principal, "sign_in.succeeded", detail={"method": method})
    record(
        conn, principal, "session.create", detail={"session_id": session_id, "kind": kind, "client": client}
    )
    return NewSession(token=token, id=session_id, expires=expires, principal=principal)


def sign_in_password(
    cat: Catalog,
    email: str,
    password: str,
    *,
    kind: Literal["cli", "web"],
    lifetime: timedelta,
    address: str | None,
    client: str | None = None,
) -> NewSession:
    """Check an email and password; a new session, else 401 "email or password is wrong" whatever the
    cause (unknown email, wrong password, no password set, disabled account) or 429 over the limits."""
    typed = email.strip()[:320]
    try:
        key_email = shown = normalize_email(typed)
    except ValueError:  # not recorded as typed: it could be a password typed in the wrong field
        key_email, shown = typed.lower(), "(not an email address)"
    limits = _limits(key_email, address)
    with cat.read() as conn:
        check_limits(conn, limits)
        user = conn.execute(sa.select(t.users).where(t.users.c.email == key_email)).first()
    stored = user.password_hash if user is not None else None
    ok = verify_password(stored, password[:MAX_PASSWORD]) and len(password) <= MAX_PASSWORD
    if not ok or user is None or user.disabled is not None:
        with cat.tx() as conn:
            record_failures(conn, limits, email=shown, address=address, method="password")
        raise AuthenticationError(WRONG_CREDENTIALS)
    with cat.tx() as conn:
        conn.execute(
            sa.delete(t.sign_in_failures).where(t.sign_in_failures.c.key == account_key(key_email, address))
        )
        if _needs_rehash(stored):
            conn.execute(
                sa.update(t.users)
                .where(t.users.c.id == user.id)
                .values(password_hash=hash_password(password))
            )
        return create_session(
            conn, user, kind=kind, lifetime=lifetime, client=client, address=address, method="password"
        )


def revoke_session(cat: Catalog, principal: Caller, session_id: str) -> None:
    """End one of the caller's own live sessions; 404 for anything else."""
    with cat.tx() as conn:
        done = conn.execute(
            sa.update(t.sessions)
            .where(
                t.sessions.c.id == str(session_id),
                t.sessions.c.user_id == principal.id,
                t.sessions.c.revoked.is_(None),
            )
            .values(revoked=now())
        )
        if done.rowcount != 1:
            raise NotFoundError(f"session {session_id} not found among your live sessions")
        record(conn, principal, "session.revoke", detail={"session_id": str(session_id)})


def list_sessions(cat: Catalog, principal: Caller) -> list[Session]:
    """The caller's live sessions, newest first."""
    current = now()
    with cat.read() as conn:
        rows = conn.execute(
            sa.select(t.sessions)
            .where(
                t.sessions.c.user_id == principal.id,
                t.sessions.c.revoked.is_(None),
                t.sessions.c.kind != "link",  # one-time sign-in links (login_links.py) are not sessions
            )
            .order_by(t.sessions.c.created.desc())
        ).all()
    return [
        Session(
            id=r.id,
            kind=r.kind,
            client=r.client,
            address=r.address,
            created=aware(r.created),
            expires=aware(r.expires),
            last_used=aware(r.last_used),
            current=r.id == principal.session_id,
        )
        for r in rows
        if aware(r.expires) > current
    ]


# --- OpenID Connect ---------------------------------------------------------------------------


def sign_in_oidc(
    cat: Catalog, issuer: str, claims: dict[str, Any], *, lifetime: timedelta, address: str | None
) -> NewSession:
    """A web session for the person an ID token names: matched by (issuer, subject), else linked by
    a verified email address, else created. 401 when that is not possible or the account is disabled."""
    subject = str(claims.get("sub") or "")
    raw_email = str(claims.get("email") or "")
    try:
        email = normalize_email(raw_email) if raw_email else None
    except ValueError:
        email = None
    users = t.users
    refusal: str | None = None
    with cat.tx() as conn:
        user = conn.execute(
            sa.select(users).where(users.c.oidc_issuer == issuer, users.c.oidc_subject == subject)
        ).first()
        if user is None and not subject:
            refusal = "the provider's ID token names no subject"
        elif user is None and email is None:
            refusal = "the provider gave no usable email address (ask for the email scope); ask a site admin"
        elif user is None:
            user, refusal = _link_or_create(conn, issuer, subject, email, claims, address)
        if refusal is None and user.disabled is not None:
            refusal = "this account is disabled; ask a site admin"
        if refusal is None:
            return create_session(conn, user, kind="web", lifetime=lifetime, address=address, method="oidc")
    with cat.tx() as conn:
        record(conn, None, "sign_in.failed", detail={"email": raw_email, "method": "oidc", "reason": refusal})
    raise AuthenticationError(refusal)


def _link_or_create(
    conn: sa.Connection, issuer: str, subject: str, email: str, claims: dict[str, Any], address: str | None
) -> tuple[sa.Row | None, str | None]:
    users = t.users
    existing = conn.execute(sa.select(users).where(users.c.email == email)).first()
    if existing is not None:
        if claims.get("email_verified") is not True:
            return None, (
                f"an account for {email} exists, but the provider does not vouch for that address "
                "(email_verified); ask a site admin"
            )
        if existing.oidc_subject is not None:
            return None, f"the account {email} is linked to another single sign-on identity; ask a site admin"
        conn.execute(
            sa.update(users).where(users.c.id == existing.id).values(oidc_issuer=issuer, oidc_subject=subject)
        )
        user = conn.execute(sa.select(users).where(users.c.id == existing.id)).one()
        principal = user_principal(conn, user).with_address(address)
        record(conn, principal, "user.update", resource=f"users/{email}", detail={"linked_to": issuer})
        return user, None
    name = str(claims.get("name") or "").strip()[:200] or email
    user = insert_user(conn, email=email, name=name, oidc_issuer=issuer, oidc_subject=subject)
    principal = user_principal(conn, user).with_address(address)
    record(conn, principal, "user.create", resource=f"users/{email}", detail={"id": user.id, "via": issuer})
    return user, None


def change_password(cat: Catalog, principal: Caller, current_password: str, new_password: str) -> None:
    """Change your own password; your other sessions end. A wrong current password counts as a
    failed sign-in (the same limits apply), so a stolen session cannot guess it."""
    require_person(principal)
    limits = _limits(principal.email, principal.address)
    with cat.read() as conn:
        check_limits(conn, limits)
        user = conn.execute(sa.select(t.users).where(t.users.c.id == principal.id)).one()
    if user.password_hash is None:
        raise ValidationError(
            f"your account has no password: you sign in through {user.oidc_issuer or 'single sign-on'}; "
            "a site admin can set one (`floe user update EMAIL --password`)"
        )
    if not verify_password(user.password_hash, current_password[:MAX_PASSWORD]):
        with cat.tx() as conn:
            record_failures(
                conn, limits, email=principal.email, address=principal.address, method="password_change"
            )
        raise AuthenticationError("the current password is wrong")
    with cat.tx() as conn:
        conn.execute(
            sa.update(t.users)
            .where(t.users.c.id == user.id)
            .values(password_hash=hash_password(new_password))
        )
        end_sessions(conn, user.id, keep=principal.session_id)
        record(conn, principal, "user.password_change", resource=f"users/{user.email}")
