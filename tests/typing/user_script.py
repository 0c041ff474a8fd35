"""A small user script that the typing test checks with mypy (it is never run)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import assert_type

import icechunk

import floe
from floe.models import Bucket, Capabilities, Org, Repo


def sync_use(client: floe.Client) -> None:
    repo = client.get_repo("default/era5", read_only=True)
    assert_type(repo, floe.FloeRepository)
    _: icechunk.Repository = repo  # a FloeRepository is an icechunk.Repository
    assert_type(client.list_repos("default"), Sequence[Repo])
    assert_type(client.list_orgs(), list[Org])
    bucket = client.get_bucket_config(org="default", nickname="local")
    assert_type(bucket, Bucket)
    assert_type(bucket.capabilities, Capabilities | None)
    if bucket.capabilities is not None:
        assert_type(bucket.capabilities.conditional_update, bool | None)
    assert_type(client.create_repo("default/new", description="d"), floe.FloeRepository)
    storage = client.get_icechunk_storage("default/era5")
    assert_type(storage, icechunk.Storage)
    client.delete_repo("default/old", imsure=True, imreallysure=True)


async def async_use(client: floe.AsyncClient) -> None:
    pending = client.list_repos("default")
    assert isinstance(pending, Awaitable)
    assert_type(await client.list_repos("default"), Sequence[Repo])
    assert_type(await client.get_repo("default/era5"), floe.FloeRepository)
    async for event in client.iter_audit_events("default"):
        assert_type(event.action, str)
