"""One-time sign-in links: how whoever runs the server gets into the browser without a password.

``floe admin login-link`` (run where the server's database is) makes one for a person, creating
them as a site admin on a fresh server. A link is a short-lived session of kind ``link``: never
usable as a browser cookie or a bearer token, kept only as a hash, and exchanged once, by a posted
form (so a link preview fetching the URL does not use it up), for a browser session.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import sqlalchemy as sa

from floe.errors import AuthenticationError
from floe.models import normalize_email
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, aware, now
from floe.server.catalog.principals import user_principal
from floe.server.catalog.signin import NewSession, create_session
from floe.server.catalog.users import insert_user
from floe.server.db import tables as t
from floe.server.keys import hash_token

LINK_KIND: Final = "link"
LINK_LIFETIME = timedelta(minutes=15)
LINK_REFUSED = (
    "this sign-in link is unknown, used already or expired; run `floe admin login-link` for a new one"
)


def create_login_link(
    cat: Catalog, email: str, *, name: str | None = None, lifetime: timedelta = LINK_LIFETIME
) -> tuple[NewSession, bool]:
    """A link session for the person with ``email``, created as a site admin if missing. Returns it
    and whether the person was created."""
    email = normalize_email(email)
    with cat.tx() as conn:
        user = conn.execute(sa.select(t.users).where(t.users.c.email == email)).first()
        created = user is None
        if user is None:
            user = insert_user(conn, email=email, name=name or email.split("@")[0], is_site_admin=True)
            record(
                conn,
                user_principal(conn, user),
                "user.create",
                resource=email,
                detail={"site_admin": True, "by": "floe admin login-link"},
            )
        elif user.disabled is not None:
            raise AuthenticationError(
                f"the account {email} is disabled; enable it first (`floe user enable`)"
            )
        link = create_session(conn, user, kind=LINK_KIND, lifetime=lifetime, client="floe admin login-link")
    return link, created


def _live_link(conn: sa.Connection, token: str) -> sa.Row:
    row = conn.execute(
        sa.select(t.sessions, t.users.c.email, t.users.c.disabled)
        .join(t.users, t.users.c.id == t.sessions.c.user_id)
        .where(t.sessions.c.token_hash == hash_token(token), t.sessions.c.kind == LINK_KIND)
    ).first()
    if row is None or row.revoked is not None or aware(row.expires) <= now() or row.disabled is not None:
        raise AuthenticationError(LINK_REFUSED)
    return row


def peek_login_link(cat: Catalog, token: str) -> str:
    """The email a live link signs in as (nothing is used up); 401 otherwise."""
    with cat.read() as conn:
        return _live_link(conn, token[:200]).email


def redeem_login_link(
    cat: Catalog, token: str, *, lifetime: timedelta, address: str | None, client: str | None
) -> NewSession:
    """Use a link up, once, for a browser session; 401 for an unknown, used or expired one."""
    with cat.tx() as conn:
        row = _live_link(conn, token[:200])
        used = conn.execute(
            sa.update(t.sessions)
            .where(t.sessions.c.id == row.id, t.sessions.c.revoked.is_(None))
            .values(revoked=now(), last_used=now())
        )
        if used.rowcount != 1:  # another request used it first
            raise AuthenticationError(LINK_REFUSED)
        user = conn.execute(sa.select(t.users).where(t.users.c.id == row.user_id)).one()
        return create_session(
            conn, user, kind="web", lifetime=lifetime, client=client, address=address, method="login_link"
        )
