"""Flows that exist so code written for the arraylake client runs on ``floe.Client`` unchanged.

Most of its methods are Floe's own operations (``_operations``) under the same names and call forms;
these are the ones Floe has under another name or shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floe.client._operations import _model, set_virtual_chunk_containers
from floe.client._transport import Call, Flow
from floe.models import ApiClientAuthenticated, Bucket, Paginated, VirtualAccessPolicy

POLICIES = "/orgs/{org}/settings/virtual-chunk-access-policies"


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


def _policy_body(org: str, bucket_nickname: str, subprefix: str, public: bool) -> Flow[dict[str, Any]]:
    bucket: Bucket = yield Call("GET", f"/orgs/{org}/buckets/{bucket_nickname}", parse=_model(Bucket))
    return {
        "use_case": "explicit",
        "bucket_id": str(bucket.id),
        "subprefix": subprefix.strip("/"),
        "public": public,
    }


def set_virtual_chunk_access_policy(
    org: str, *, bucket_nickname: str, subprefix: str = "", public: bool = False
) -> Flow[VirtualAccessPolicy]:
    """Let the org's repos register virtual chunk containers under ``subprefix`` of a bucket config (org
    admins). Once an org has a policy, containers outside every policy are refused."""
    body = yield from _policy_body(org, bucket_nickname, subprefix, public)
    return (yield Call("PUT", POLICIES.format(org=org), json=body, parse=_model(VirtualAccessPolicy)))


def list_virtual_chunk_access_policies(org: str) -> Flow[list[VirtualAccessPolicy]]:
    """The org's virtual chunk access policies."""
    page: Paginated[VirtualAccessPolicy] = yield Call(
        "GET", POLICIES.format(org=org), parse=_model(Paginated[VirtualAccessPolicy])
    )
    return page.items


def delete_virtual_chunk_access_policy(
    org: str, *, bucket_nickname: str, subprefix: str = "", public: bool = False
) -> Flow[None]:
    """Remove a virtual chunk access policy (org admins; removing one that is not there does nothing)."""
    body = yield from _policy_body(org, bucket_nickname, subprefix, public)
    yield Call("DELETE", POLICIES.format(org=org), json=body)
