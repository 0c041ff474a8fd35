"""Flows that exist so code written for the arraylake client runs on ``floe.Client`` unchanged.

Most of its methods are Floe's own operations (``_operations``) under the same names and call forms;
these are the ones Floe has under another name or shape.
"""

from __future__ import annotations

from collections.abc import Mapping

from floe.client._operations import _model, set_virtual_chunk_containers
from floe.client._transport import Call, Flow
from floe.models import ApiClientAuthenticated


def authorize_virtual_chunk_access(
    name: str, authorize_virtual_chunk_access: Mapping[str, str] | None = None
) -> Flow[None]:
    """Register virtual chunk containers (URL prefix -> bucket config nickname) for a repo, as
    ``set_virtual_chunk_containers`` does; writers only."""
    if authorize_virtual_chunk_access:
        yield from set_virtual_chunk_containers(name, dict(authorize_virtual_chunk_access))


def get_api_client_from_token(org: str, token: str) -> Flow[ApiClientAuthenticated]:
    """The API client of ``org`` a token belongs to (its id, email, creation and expiry)."""
    return (
        yield Call(
            "GET",
            f"/orgs/{org}/api-clients/authenticate",
            params={"token": token},
            parse=_model(ApiClientAuthenticated),
        )
    )
