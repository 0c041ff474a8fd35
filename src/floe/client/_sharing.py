"""Share links of a repo: create, list, revoke (repo admins), written once as flows for both clients.

Opening a link needs no client at all: see :func:`floe.open_shared` (``floe.client.shared``).
"""

from __future__ import annotations

from floe.client._operations import _model, _models, split_name
from floe.client._transport import Call, Flow
from floe.errors import ValidationError
from floe.models.sharing import ShareLink, ShareLinkWithToken, parse_duration


def share_repo(
    name: str, *, expires_in: float | str, ref: str | None = None, note: str | None = None
) -> Flow[ShareLinkWithToken]:
    """Create a read-only, expiring, revocable link to a repo (repo admins).

    Anyone holding the link opens the repo with ``floe.open_shared(link.url)``, without an account,
    until it expires or is revoked (``unshare_repo``).

    Args:
        name: ``ORG/REPO``.
        expires_in: seconds, or a duration such as ``"7d"``, ``"12h"``, ``"30m"``; at most 90 days.
        ref: the branch, tag or snapshot id the link points at (default: main).
        note: what the link is for, shown to the repo's admins.

    Returns the link with its ``url`` and ``token``: shown this once, never again.
    """
    org, repo = split_name(name)
    try:
        seconds = parse_duration(expires_in)
    except ValueError as exc:
        raise ValidationError(f"expires_in: {exc}") from None
    body = {"expires_in": seconds, "ref": ref, "note": note}
    return (yield Call("POST", f"/repos/{org}/{repo}/shares", json=body, parse=_model(ShareLinkWithToken)))


def list_repo_shares(name: str, *, include_revoked: bool = False) -> Flow[list[ShareLink]]:
    """The repo's share links (repo admins), oldest first: status, expiry, uses; never their tokens."""
    org, repo = split_name(name)
    params = {"include_revoked": "true" if include_revoked else None}
    return (yield Call("GET", f"/repos/{org}/{repo}/shares", params=params, parse=_models(ShareLink)))


def unshare_repo(name: str, share_id: str) -> Flow[ShareLink]:
    """Revoke a share link by its id (repo admins): it stops working at once."""
    org, repo = split_name(name)
    share_id = str(share_id).strip()
    if not share_id or "/" in share_id:
        raise ValidationError(f"invalid share link id {share_id!r}: `floe repo shares {name}` lists the ids")
    return (yield Call("DELETE", f"/repos/{org}/{repo}/shares/{share_id}", parse=_model(ShareLink)))
