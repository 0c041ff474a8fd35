"""The capability probe: can Floe reach a store, list, read and write it, and does it honour
conditional writes?

``probe()`` writes one small object under ``<prefix>/.floe-probe/``, reads it back, tries a
conditional create and conditional updates on it, and deletes it again. Stores that silently
ignore ``If-None-Match`` / ``If-Match`` (JASMIN's is one) are found here, so that repos on them
get Icechunk's matching settings (:func:`icechunk_config_for`) without anyone having to know.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import icechunk

from floe.errors import NotFoundError, PermissionDeniedError
from floe.models import Capabilities, ProbeErrorKind
from floe.storage.base import ObjectMissing, ObjectStore, PreconditionFailed, error_kind, join_prefix

PROBE_FOLDER = ".floe-probe"

ErrorKind = ProbeErrorKind

T = TypeVar("T")


class ProbeResult(Capabilities):
    """What a probe found; stored with the bucket config as its ``capabilities``."""

    checked_at: datetime
    reachable: bool = False


class _Stop(Exception):
    """A probe step failed: the result already says why; skip the remaining steps."""


def _describe_failure(exc: BaseException, where: str, *, step: str) -> tuple[ErrorKind, str]:
    """Map an error from the store to (kind, plain message with the fix)."""
    kind = error_kind(exc)
    if kind is None:
        if isinstance(exc, ObjectMissing):  # the bucket is there; an object just written is not
            kind = "storage_error"
        elif isinstance(exc, NotFoundError):
            kind = "bucket_missing"
        elif isinstance(exc, PermissionDeniedError | PermissionError):
            kind = "access_denied"
        else:
            kind = "storage_error"
    if kind == "access_denied" and step in ("write", "delete"):
        kind = "no_write_permission"
    messages: dict[str, str] = {
        "unreachable": f"cannot reach {where}: check endpoint_url, and that the store is up and reachable "
        "from the Floe server",
        "bucket_missing": f"{where} does not exist: check the bucket name (and the endpoint or region it "
        "lives behind); Floe never creates buckets",
        "keys_rejected": f"the store rejected the credentials for {where}: check the keys (or service-account key, account key, SAS) in auth_config",
        "no_credentials": f"the Floe server has no credentials for {where} in its environment: give the "
        "server credentials (auth method from_env uses the server's environment too), or use hmac",
        "access_denied": f"the keys may write but not read {where}: give them permission to read objects"
        if step == "read"
        else f"the keys may not list {where}: give them permission to list and read the bucket (and the "
        "prefix)",
        "no_write_permission": f"the keys may read but not write {where}: give them permission to write "
        "and delete objects there, or use keys that have it",
        "clock_skew": "the store says the Floe server's clock is wrong (request time too skewed): fix the "
        "server's time, e.g. with NTP",
        "tls": f"the TLS connection to {where} failed: check that endpoint_url uses https:// only for a TLS "
        "port, and that the store's certificate is trusted",
    }
    if kind == "timeout":
        return "timeout", str(exc)
    if kind in messages:
        return kind, messages[kind]  # type: ignore[return-value]
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return "storage_error", f"cannot use {where} ({step} failed): {text}"


def probe(store: ObjectStore, prefix: str, *, writable: bool) -> ProbeResult:
    """Check what ``store`` can do under ``prefix`` (the bucket config's prefix; may be empty).

    With ``writable`` the probe writes, reads back, tries a conditional create on the same key
    (``If-None-Match: *`` must be refused), a conditional update with a wrong ETag (must be
    refused) and with the right one (must succeed), and always deletes what it wrote. Without
    it (anonymous, read-only configs) it only lists. It never raises for store errors: they
    end up in ``error`` / ``error_kind``.
    """
    result = ProbeResult(checked_at=datetime.now(UTC).replace(microsecond=0))
    where = store.describe()
    folder = join_prefix(prefix, PROBE_FOLDER)
    key = join_prefix(folder, secrets.token_hex(8))

    def attempt(step: str, fn: Callable[..., T], *args: Any) -> T:
        """Run one step; on failure record why (and whether the store answered) and stop."""
        try:
            value = fn(*args)
        except Exception as exc:
            kind, message = _describe_failure(exc, where, step=step)
            result.reachable = result.reachable or kind not in _NO_ANSWER
            result.error, result.error_kind, result.detail = message, kind, str(exc) or None
            raise _Stop from None
        result.reachable = True
        return value

    def failed() -> bool | None:
        """What a failed step says about the capability: False if the store answered, else unknown."""
        return False if result.reachable else None

    try:
        attempt("list", store.is_empty, folder)
        result.can_list = True
    except _Stop:
        result.can_list = failed()
        return result
    if not writable:
        result.notes.append("anonymous access is read-only: writes and conditional writes were not tested")
        return result

    written: list[str] = []
    try:
        try:
            etag = attempt("write", store.put, key, _DATA[0])
            written.append(key)
            result.can_write = True
            result.can_read = attempt("read", store.get, key) == _DATA[0]
        except _Stop:
            if result.can_write:
                result.can_read = failed()
            else:
                result.can_write = failed()
            return result
        if not result.can_read:
            result.error_kind = "read_mismatch"
            result.error = (
                f"{where} returned other bytes than were just written: something between Floe and the "
                "store rewrites objects, or the store is not read-after-write consistent"
            )
            return result
        result.conditional_create, etag = _conditional_create(store, key, etag, result, written)
        result.conditional_update = _conditional_update(store, key, etag, result)
    finally:
        for name in written:
            try:
                store.delete(name)
            except Exception as exc:
                result.notes.append(f"could not delete the probe object {name!r}: {exc}")
    return result


def probe_read_keys(store: ObjectStore, reader: ObjectStore, prefix: str, result: ProbeResult) -> None:
    """Check a read-only key pair: it must read what the write keys wrote, and should not write.

    A pair that cannot read fails the probe; one that can write is recorded (and noted), since
    readers would then hold keys that write.
    """
    key = join_prefix(prefix, PROBE_FOLDER, secrets.token_hex(8))
    where = reader.describe()
    store.put(key, _DATA[0])
    try:
        try:
            result.read_keys_can_read = reader.get(key) == _DATA[0]
        except Exception as exc:
            result.read_keys_can_read = False
            _, message = _describe_failure(exc, where, step="read")
            result.error_kind = "access_denied"
            result.error = f"the read-only key pair cannot read: {message}"
            result.detail = str(exc) or None
            return
        try:
            reader.put(key + "-reader", _DATA[1])
        except Exception:
            result.read_keys_can_write = False
        else:
            result.read_keys_can_write = True
            result.notes.append(
                "the read-only key pair can write: readers receive keys that write; give that pair read "
                "permission only (for example the Reader role on IBM COS)"
            )
            store.delete(key + "-reader")
    finally:
        store.delete(key)


_DATA = (b"floe probe 1", b"floe probe 2", b"floe probe 3", b"floe probe 4", b"floe probe 5")
_NO_ANSWER = ("unreachable", "no_credentials", "tls", "timeout")


def _wrong_etag(etag: str) -> str:
    """An ETag of the same shape as ``etag`` (quoted or not, digits or not) that differs from it."""
    bare = etag.strip('"')
    wrong = str(int(bare) + 1) if bare.isdigit() else ("0" if not bare.startswith("0") else "1") * 32
    return f'"{wrong}"' if etag.startswith('"') else wrong


def _conditional_create(
    store: ObjectStore, key: str, etag: str, result: ProbeResult, written: list[str]
) -> tuple[bool, str]:
    """``If-None-Match: *`` on an existing key must be refused, and on a new key must succeed.

    Returns the verdict and the key's current ETag (a store that ignores the condition overwrote it).
    """
    try:
        etag = store.put_if_absent(key, _DATA[1])
    except PreconditionFailed:
        pass
    except NotImplementedError:
        result.notes.append("the store has no conditional create")
        return False, etag
    except Exception as exc:
        result.notes.append(
            f"a conditional create failed with an error instead of a failed precondition: {exc}"
        )
        return False, etag
    else:
        result.notes.append("the store ignored If-None-Match: * and overwrote an existing object")
        return False, etag
    fresh = key + "-new"
    written.append(fresh)
    try:
        store.put_if_absent(fresh, _DATA[2])
    except Exception as exc:
        result.notes.append(f"a conditional create of a new object failed: {exc or type(exc).__name__}")
        return False, etag
    return True, etag


def _conditional_update(store: ObjectStore, key: str, etag: str, result: ProbeResult) -> bool:
    """``If-Match`` with a wrong ETag must be refused, and with the right one must succeed."""
    try:
        store.put_if_match(key, _DATA[3], _wrong_etag(etag))
    except PreconditionFailed:
        pass
    except NotImplementedError:
        result.notes.append("the store has no conditional update")
        return False
    except Exception as exc:
        result.notes.append(
            f"a conditional update failed with an error instead of a failed precondition: {exc}"
        )
        return False
    else:
        result.notes.append("the store ignored If-Match and overwrote an object whose ETag did not match")
        return False
    try:
        store.put_if_match(key, _DATA[4], etag)
    except PreconditionFailed:
        result.notes.append("the store refused a conditional update that gave the object's current ETag")
        return False
    except Exception as exc:
        result.notes.append(f"a conditional update with the current ETag failed: {exc or type(exc).__name__}")
        return False
    return True


def icechunk_config_for(
    capabilities: Capabilities | Mapping[str, Any] | None, config: icechunk.RepositoryConfig | None
) -> icechunk.RepositoryConfig | None:
    """``config`` with Icechunk's ``unsafe_use_conditional_*`` settings off where the probe found the
    store lacking them; values set explicitly in ``config`` win. ``None`` stays ``None`` when the
    store needs nothing."""
    if isinstance(capabilities, Mapping):  # as stored with a bucket config row
        capabilities = Capabilities.model_validate(capabilities)
    settings: dict[str, bool] = {}
    if capabilities is not None and capabilities.conditional_create is False:
        settings["unsafe_use_conditional_create"] = False
    if capabilities is not None and capabilities.conditional_update is False:
        settings["unsafe_use_conditional_update"] = False
    if not settings:
        return config
    ours = icechunk.RepositoryConfig(storage=icechunk.StorageSettings(**settings))
    return ours if config is None else ours.merge(config)
