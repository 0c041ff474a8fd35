"""The contract of the server's own object-store handle, for every platform case of the suite.

``floe.storage.object_store(spec, policy)`` is how the server reaches storage (probes, deletes,
listings), through the outbound-request guard. Each case's bucket config is turned into that
handle here, exactly as the server would (normalised, guarded, loopback allowed as the test
servers' operator allows it). Every store (S3 and its kin, GCS, Azure, a local folder) runs the
same tests, as lakeFS's blocktest does: it must list what it stores (child prefixes and objects
with sizes, recursive listings, limits that say they truncated, page after page, the bucket
root, nothing for prefixes that hold nothing); put, get and delete objects; raise the one
``ObjectMissing`` for a key with no object; and create and update objects conditionally.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from floe.errors import NotFoundError
from floe.storage import (
    BucketSpec,
    ObjectMissing,
    ObjectStore,
    PreconditionFailed,
    StoragePolicy,
    adapter_for,
    normalize,
    object_store,
    parse_uri,
)
from floe.storage.base import ListedObject, Listing, join_prefix
from floe.storage.egress import EgressPolicy

from . import cases as base_cases
from .test_conformance import CASES

LOOPBACK = EgressPolicy.parse(["127.0.0.0/8", "::1/128"])


def server_spec(storage: base_cases.Storage) -> BucketSpec:
    """The normalised spec the server would store for a case's bucket config."""
    config = storage.bucket_config
    extra = dict(config.get("extra_config") or {})
    platform, name, prefix = parse_uri(config["uri"], endpoint_url=extra.get("endpoint_url"))
    spec = BucketSpec(platform, name, prefix, extra, config.get("auth_config"))
    return normalize(spec, StoragePolicy(file_roots=(Path(name),) if platform == "file" else ()))


def server_store(spec: BucketSpec) -> ObjectStore:
    return object_store(spec, StoragePolicy(egress=LOOPBACK, server_credentials=True))


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def store_case(request) -> tuple[base_cases.Storage, BucketSpec]:
    case: base_cases.Case = request.param
    if case.store_skip_reason:
        pytest.skip(case.store_skip_reason)
    storage = case.make(request)
    if storage.bucket_config["uri"].startswith("file://"):
        Path(parse_uri(storage.bucket_config["uri"])[1]).mkdir(parents=True, exist_ok=True)
    return storage, server_spec(storage)


def _keys(listing: Listing) -> list[str]:
    return [o.key for o in listing.objects]


def test_store_lists_prefixes_and_objects(store_case):
    storage, spec = store_case
    store = server_store(spec)
    base = join_prefix(spec.prefix, f"listing-{uuid.uuid4().hex[:8]}")
    if not storage.server_reaches:  # client-only storage: the server sees nothing, and says so
        assert store.list_dir(base) == Listing()
        assert store.list_dir("", recursive=True) == Listing()
        return

    written = {
        f"{base}/a.txt": b"abc",
        f"{base}/sub/b.bin": b"12345",
        f"{base}/sub/deeper/c": b"c",
        f"{base}/other/d": b"1234567",
        f"{base}-sibling/x": b"x",  # shares the name as a string prefix, not as a folder
    }
    for key, data in written.items():
        store.put(key, data)
    try:
        top = store.list_dir(base)
        assert top.prefixes == (f"{base}/other", f"{base}/sub")
        assert top.objects == (ListedObject(f"{base}/a.txt", 3),)
        assert not top.truncated

        sub = store.list_dir(f"{base}/sub")
        assert sub.prefixes == (f"{base}/sub/deeper",)
        assert sub.objects == (ListedObject(f"{base}/sub/b.bin", 5),)

        everything = store.list_dir(base, recursive=True)
        assert everything.prefixes == ()
        assert everything.objects == tuple(
            ListedObject(k, len(v)) for k, v in sorted(written.items()) if k.startswith(f"{base}/")
        )

        limited = store.list_dir(base, limit=2)
        assert limited.truncated and len(limited.prefixes) + len(limited.objects) == 2
        assert len(store.list_dir(base, recursive=True, limit=3).objects) == 3
        assert not store.list_dir(base, recursive=True, limit=4).truncated

        # the bucket root (or the folder itself, for ``file``) lists the case's own top prefix
        first = base.split("/")[0]
        root = store.list_dir("")
        assert first in root.prefixes, root

        assert store.list_dir(f"{base}/nothing-here") == Listing()
        assert store.list_dir(f"{base}/a.txt") == Listing()  # an object is not a folder
        with pytest.raises(ValueError):
            store.list_dir(base, limit=0)
    finally:
        store.delete_prefix(base)
        store.delete_prefix(f"{base}-sibling")
    assert store.list_dir(base) == Listing()
    assert store.list_dir(base, recursive=True) == Listing()


def test_store_listing_reads_page_after_page(store_case):
    """Listings longer than one page of the service's answers: every page is read, up to the limit."""
    storage, spec = store_case
    if not storage.server_reaches:
        pytest.skip("client-only storage: the server lists nothing")
    store = server_store(spec)
    base = join_prefix(spec.prefix, f"pages-{uuid.uuid4().hex[:8]}")
    keys = [f"{base}/f{i:02d}" for i in range(7)] + [f"{base}/d{i}/x" for i in range(3)]
    for key in keys:
        store.put(key, b"..")
    try:
        small_pages = adapter_for(spec.platform).object_store(spec)  # unguarded: loopback is fine here
        small_pages.list_page_size = 3  # type: ignore[attr-defined]  (stores without pages ignore it)
        flat = small_pages.list_dir(base)
        assert flat.prefixes == tuple(f"{base}/d{i}" for i in range(3))
        assert _keys(flat) == [f"{base}/f{i:02d}" for i in range(7)]
        assert not flat.truncated
        deep = small_pages.list_dir(base, recursive=True)
        assert _keys(deep) == sorted(keys) and not deep.truncated
        cut = small_pages.list_dir(base, recursive=True, limit=8)
        assert len(cut.objects) == 8 and cut.truncated
    finally:
        store.delete_prefix(base)


# --- objects: put, get, delete, the same error for a missing key ----------------------------------


def test_store_reads_writes_and_deletes_objects(store_case):
    storage, spec = store_case
    if not storage.server_reaches:
        pytest.skip("client-only storage: the server stores nothing")
    store = server_store(spec)
    base = join_prefix(spec.prefix, f"objects-{uuid.uuid4().hex[:8]}")
    key = f"{base}/sub/object.bin"
    try:
        assert store.is_empty(base)
        first = store.put(key, b"one")
        assert isinstance(first, str) and first
        assert store.get(key) == b"one"
        assert not store.is_empty(base) and not store.is_empty(f"{base}/sub")
        assert store.is_empty(f"{base}/su")  # a prefix is a folder, not a string prefix
        second = store.put(key, b"two")
        assert second != first and store.get(key) == b"two"
        store.put(f"{base}/other", b"x")
        store.delete(key)
        store.delete(key)  # absent: no error
        assert store.list_dir(base, recursive=True).objects == (ListedObject(f"{base}/other", 1),)
        for missing in (key, f"{base}/never-written", f"{base}/sub"):
            with pytest.raises(ObjectMissing) as info:
                store.get(missing)
            assert type(info.value) is ObjectMissing and info.value.key == missing
            assert isinstance(info.value, NotFoundError) and repr(missing) in str(info.value)
        assert store.delete_prefix(base) == 1
        assert store.is_empty(base)
        with pytest.raises(ValueError):
            store.delete_prefix("")  # never a whole bucket
    finally:
        store.delete_prefix(base)


def test_store_creates_conditionally(store_case):
    storage, spec = store_case
    if not storage.server_reaches:
        pytest.skip("client-only storage: the server stores nothing")
    store = server_store(spec)
    key = join_prefix(spec.prefix, f"create-{uuid.uuid4().hex[:8]}", "once")
    try:
        etag = store.put_if_absent(key, b"first")
        assert isinstance(etag, str) and etag and store.get(key) == b"first"
        if storage.enforces_conditions:
            with pytest.raises(PreconditionFailed):
                store.put_if_absent(key, b"second")
            assert store.get(key) == b"first"
    finally:
        store.delete(key)


def test_store_updates_conditionally(store_case):
    storage, spec = store_case
    if not storage.server_reaches:
        pytest.skip("client-only storage: the server stores nothing")
    store = server_store(spec)
    key = join_prefix(spec.prefix, f"update-{uuid.uuid4().hex[:8]}", "value")
    etag = store.put(key, b"v1")
    try:
        if not storage.conditional_update:
            with pytest.raises(NotImplementedError):
                store.put_if_match(key, b"v2", etag)
            assert store.get(key) == b"v1"
            return
        if storage.enforces_conditions:
            with pytest.raises(PreconditionFailed):
                store.put_if_match(key, b"stale", _other_etag(etag))
            assert store.get(key) == b"v1"
        newer = store.put_if_match(key, b"v2", etag)
        assert newer != etag and store.get(key) == b"v2"
        if storage.enforces_conditions:
            with pytest.raises(PreconditionFailed):
                store.put_if_match(key, b"stale", etag)  # the ETag it had before
            assert store.get(key) == b"v2"
    finally:
        store.delete(key)


def _other_etag(etag: str) -> str:
    """An ETag of the same shape (quoted or not, a GCS generation or a hash) that differs from ``etag``."""
    bare = etag.strip('"')
    other = str(int(bare) + 1) if bare.isdigit() else ("0" if not bare.startswith("0") else "1") * len(bare)
    return f'"{other}"' if etag.startswith('"') else other
