"""RFC 8628 device authorization: a CLI asks for a code, a signed-in browser approves it, the CLI
polls for its session token.

The device code (256 random bits) is stored only as its SHA-256; the user code is 8 letters from
an alphabet without vowels or look-alikes, shown as ``XXXX-XXXX``. An approved code yields one
session token, exactly once, however many server processes are polled at the same time.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from floe.errors import NotFoundError, TooManyRequestsError
from floe.server.auth import Caller
from floe.server.catalog import signin
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, aware, now
from floe.server.db import tables as t
from floe.server.keys import hash_token

ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
CODE_LENGTH = 8
UNKNOWN_CODE = "that code is unknown or has expired; check it, or start again on your device"
_KEEP_EXPIRED = timedelta(days=1)


class DeviceGrantError(Exception):
    """An RFC 8628 token-endpoint error (``authorization_pending``, ``slow_down`` ...)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


MAX_PENDING_PER_ADDRESS = 20  # unapproved codes one network address may hold at once


@dataclass(frozen=True)
class DeviceStart:
    device_code: str
    user_code: str  # as shown: XXXX-XXXX
    expires_in: int
    interval: int


def format_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalize_user_code(text: str | None) -> str | None:
    """The stored form of a typed user code (case, spaces and dashes ignored), or None if it
    cannot be one."""
    code = re.sub(r"[\s\-]", "", text or "").upper()
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def start(
    cat: Catalog, *, client: str | None, address: str | None, seconds: int, interval: int
) -> DeviceStart:
    """A new device code and user code, pending approval for ``seconds``."""
    device_code = secrets.token_urlsafe(32)
    current = now()
    with cat.tx() as conn:
        conn.execute(sa.delete(t.device_codes).where(t.device_codes.c.expires < current - _KEEP_EXPIRED))
        if address is not None:
            live = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.device_codes)
                .where(
                    t.device_codes.c.address == address,
                    t.device_codes.c.status == "pending",
                    t.device_codes.c.expires > current,
                )
            ).scalar_one()
            if live >= MAX_PENDING_PER_ADDRESS:
                raise TooManyRequestsError(
                    f"{live} sign-ins from this address are waiting for approval; finish or let them "
                    f"expire (at most {seconds // 60 or 1} minutes) and try again"
                )
        while True:
            code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
            taken = conn.execute(
                sa.select(t.device_codes.c.user_code).where(t.device_codes.c.user_code == code)
            )
            if taken.first() is None:
                break
        conn.execute(
            sa.insert(t.device_codes).values(
                device_code_hash=hash_token(device_code),
                user_code=code,
                client=(client or None) and client[:200],
                address=address,
                created=current,
                expires=current + timedelta(seconds=seconds),
                interval=interval,
                status="pending",
            )
        )
    return DeviceStart(device_code, format_user_code(code), seconds, interval)


def pending(cat: Catalog, user_code: str | None, *, address: str | None) -> sa.Row:
    """The pending, unexpired device code a person typed; 404 otherwise. Wrong codes count as failed
    attempts of the address (429 beyond the limit), so codes cannot be guessed at speed."""
    signin.check_address(cat, address)
    code = normalize_user_code(user_code)
    row = None
    if code is not None:
        with cat.read() as conn:
            row = conn.execute(sa.select(t.device_codes).where(t.device_codes.c.user_code == code)).first()
    if row is None or row.status != "pending" or aware(row.expires) <= now():
        signin.count_address_failure(cat, address)
        raise NotFoundError(UNKNOWN_CODE)
    return row


def decide(cat: Catalog, principal: Caller, user_code: str | None, *, approve: bool) -> sa.Row:
    """Approve (or deny) a pending device code as ``principal``; audited."""
    row = pending(cat, user_code, address=principal.address)
    with cat.tx() as conn:
        done = conn.execute(
            sa.update(t.device_codes)
            .where(
                t.device_codes.c.device_code_hash == row.device_code_hash,
                t.device_codes.c.status == "pending",
            )
            .values(status="approved" if approve else "denied", user_id=principal.id)
        )
        if done.rowcount != 1:
            raise NotFoundError(UNKNOWN_CODE)
        detail = {"client": row.client, "device_address": row.address}
        record(conn, principal, "device.approve" if approve else "device.deny", detail=detail)
    return row


def poll(cat: Catalog, device_code: str, *, lifetime: timedelta, address: str | None) -> signin.NewSession:
    """The token-endpoint side: a new CLI session once approved, else :class:`DeviceGrantError`."""
    digest = hash_token(device_code)
    current = now()
    codes = t.device_codes
    error: DeviceGrantError | None = None
    with cat.tx() as conn:
        row = conn.execute(sa.select(codes).where(codes.c.device_code_hash == digest)).first()
        if row is None:
            raise DeviceGrantError("invalid_grant", "unknown device code; start again (`floe auth login`)")
        if row.status == "used":
            raise DeviceGrantError("invalid_grant", "this device code was already exchanged for a token")
        if aware(row.expires) <= current:
            raise DeviceGrantError("expired_token", "the code expired before it was approved; start again")
        last = aware(row.last_poll)
        conn.execute(sa.update(codes).where(codes.c.device_code_hash == digest).values(last_poll=current))
        if last is not None and current - last < timedelta(seconds=row.interval):
            error = DeviceGrantError("slow_down", f"poll at most once every {row.interval} seconds")
        elif row.status == "pending":
            error = DeviceGrantError(
                "authorization_pending", "waiting for the code to be approved in a browser"
            )
        elif row.status == "denied":
            error = DeviceGrantError("access_denied", "the sign-in was denied in the browser")
        else:
            used = conn.execute(
                sa.update(codes)
                .where(codes.c.device_code_hash == digest, codes.c.status == "approved")
                .values(status="used")
            )
            user = conn.execute(sa.select(t.users).where(t.users.c.id == row.user_id)).first()
            if used.rowcount != 1:
                error = DeviceGrantError(
                    "invalid_grant", "this device code was already exchanged for a token"
                )
            elif user is None or user.disabled is not None:
                error = DeviceGrantError("access_denied", "the account that approved the code is disabled")
            else:
                return signin.create_session(
                    conn,
                    user,
                    kind="cli",
                    lifetime=lifetime,
                    client=row.client,
                    address=address or row.address,
                )
    raise error


def rotate(cat: Catalog, token: str, *, lifetime: timedelta, address: str | None) -> signin.NewSession:
    """A refresh-token grant: a live command-line session's token buys a new session, and the old one
    ends at once (each token refreshes once). :class:`DeviceGrantError` ``invalid_grant`` otherwise."""
    sessions = t.sessions
    with cat.tx() as conn:
        row = conn.execute(sa.select(sessions).where(sessions.c.token_hash == hash_token(token))).first()
        if row is None or row.kind != "cli" or row.revoked is not None or aware(row.expires) <= now():
            raise DeviceGrantError(
                "invalid_grant", "the refresh token is unknown, used or expired; sign in again"
            )
        ended = conn.execute(
            sa.update(sessions)
            .where(sessions.c.id == row.id, sessions.c.revoked.is_(None))
            .values(revoked=now())
        )
        user = conn.execute(sa.select(t.users).where(t.users.c.id == row.user_id)).first()
        if ended.rowcount != 1 or user is None or user.disabled is not None:
            raise DeviceGrantError("invalid_grant", "the refresh token is used or its account disabled")
        return signin.create_session(
            conn, user, kind="cli", lifetime=lifetime, client=row.client, address=address or row.address
        )
