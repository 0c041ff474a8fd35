"""A folder on the server's filesystem (``file`` platform), confined to the roots the server allows."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import icechunk

from floe.files import make_private_dirs
from floe.models import TempCredentials
from floe.storage.base import (
    MAX_LISTED,
    BucketSpec,
    Listing,
    Location,
    ObjectMissing,
    PlatformAdapter,
    PreconditionFailed,
    Refresher,
    StoragePolicy,
    collect_listing,
    join_prefix,
)
from floe.storage.icechunk_logs import quiet_local_warning


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class LocalAdapter(PlatformAdapter):
    """``file`` bucket configs: ``name`` is an absolute directory inside an allowed root."""

    platforms = ("file",)
    auth_methods = ("none",)
    extra_config_keys: tuple[str, ...] = ()
    names_nest = True  # a directory can lie inside another config's directory
    no_credentials = {"method": "none"}
    virtual_scheme = "file"

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        if spec.extra_config:
            raise ValueError("platform file takes no extra_config")
        method = (spec.auth or {}).get("method", "none")
        if method not in ("none", "anonymous"):
            raise ValueError(f"platform file takes no credentials: drop auth_config (got method {method!r})")
        raw = Path(spec.name)
        if not raw.is_absolute():
            raise ValueError(f"invalid directory {spec.name!r}: file bucket configs need an absolute path")
        if ".." in raw.parts:
            raise ValueError(f"invalid directory {spec.name!r}: '..' is not allowed")
        resolved = Path(os.path.realpath(raw / spec.prefix)) if spec.prefix else Path(os.path.realpath(raw))
        roots = [Path(os.path.realpath(r)) for r in policy.file_roots]
        if not any(_within(resolved, root) for root in roots):
            allowed = ", ".join(str(r) for r in roots) or "(none: start the server with --file-root DIR)"
            raise ValueError(
                f"directory {spec.name!r} is outside the folders this server allows for file storage: "
                f"choose a path under {allowed}"
            )
        return spec.with_changes(name=str(Path(os.path.realpath(raw))), auth={"method": "none"})

    def location(self, spec: BucketSpec) -> Location:
        path = Path(os.path.realpath(Path(spec.name) / spec.prefix)) if spec.prefix else Path(spec.name)
        return Location(store="file", path=str(path).strip("/"))

    def icechunk_storage(
        self,
        spec: BucketSpec,
        prefix: str,
        credentials: TempCredentials | None,
        refresh: Refresher | None = None,
    ) -> icechunk.Storage:
        quiet_local_warning()  # Floe says it once, where it matters (floe.storage.icechunk_logs)
        return icechunk.local_filesystem_storage(str(Path(spec.name) / prefix))

    def object_store(self, spec: BucketSpec) -> LocalObjectStore:
        return LocalObjectStore(Path(spec.name))

    def location_root(self, spec: BucketSpec) -> Path:
        return Path(spec.name) / spec.prefix if spec.prefix else Path(spec.name)

    def virtual_url(self, spec: BucketSpec) -> str:
        return f"file:///{join_prefix(spec.name, spec.prefix)}/"

    def virtual_store(self, spec: BucketSpec) -> Any:
        return icechunk.ObjectStoreConfig.LocalFileSystem("/" + join_prefix(spec.name, spec.prefix))


class LocalObjectStore:
    """The server's handle on a ``file`` bucket config's folder; keys are paths below it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return f"directory {str(self.root)!r}"

    def _path(self, prefix: str) -> Path:
        path = Path(os.path.realpath(self.root / prefix))
        if not _within(path, Path(os.path.realpath(self.root))) or path == self.root:
            raise ValueError(f"prefix {prefix!r} escapes {self.describe()}")
        return path

    def is_empty(self, prefix: str) -> bool:
        path = self._path(prefix)
        return not path.exists() or (path.is_dir() and not any(path.iterdir()))

    def delete_prefix(self, prefix: str) -> int:
        path = self._path(prefix)
        if not path.exists():
            return 0
        count = sum(len(files) for _, _, files in os.walk(path))
        shutil.rmtree(path)
        return count

    def list_dir(self, prefix: str, *, recursive: bool = False, limit: int = MAX_LISTED) -> Listing:
        base = self._path(prefix) if prefix else Path(os.path.realpath(self.root))
        if not base.is_dir():
            return Listing()
        return collect_listing(_walk(base, prefix) if recursive else _children(base, prefix), limit)

    def _file(self, key: str) -> Path:
        path = self._path(key)
        make_private_dirs(path.parent)  # 0700 each, whatever the umask
        return path

    def put(self, key: str, data: bytes) -> str:
        path = self._file(key)
        tmp = path.with_name(path.name + _TMP_SUFFIX)
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return _etag(data)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key, self.describe()) from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # An object store has no folders: drop the ones this delete left empty (up to the root).
        root = Path(os.path.realpath(self.root))
        for parent in path.parents:
            if parent == root or not _within(parent, root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def put_if_absent(self, key: str, data: bytes) -> str:
        try:
            fd = os.open(self._file(key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise PreconditionFailed(key) from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return _etag(data)

    def put_if_match(self, key: str, data: bytes, etag: str) -> str:
        # A folder has no atomic compare-and-swap: report it, so the probe records the gap.
        raise NotImplementedError("a local folder cannot update an object conditionally")


def _children(base: Path, prefix: str) -> Iterator[tuple[str, int | None]]:
    """The entries of one folder, as a delimited listing sees them. Symbolic links are left out
    (they could lead outside the bucket config's folder), and so are writes still in progress."""
    with os.scandir(base) as found:
        entries = sorted(found, key=lambda e: e.name)
    for entry in entries:
        if entry.is_symlink() or entry.name.endswith(_TMP_SUFFIX):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield join_prefix(prefix, entry.name), None
        elif entry.is_file(follow_symlinks=False):
            size = _size(Path(entry.path))
            if size is not None:
                yield join_prefix(prefix, entry.name), size


def _walk(base: Path, prefix: str) -> Iterator[tuple[str, int | None]]:
    """Every file under ``base`` (no symbolic links followed or listed), in key order per folder."""
    for folder, dirnames, filenames in os.walk(base):  # never follows links to folders
        dirnames.sort()
        relative = Path(folder).relative_to(base)
        for name in sorted(filenames):
            path = Path(folder) / name
            if name.endswith(_TMP_SUFFIX) or path.is_symlink():
                continue
            size = _size(path)
            if size is not None:
                yield join_prefix(prefix, *relative.parts, name), size


def _size(path: Path) -> int | None:
    """A file's size, or None when it went away meanwhile (deleted between listing and looking)."""
    try:
        return path.stat(follow_symlinks=False).st_size
    except FileNotFoundError:
        return None


_TMP_SUFFIX = ".floe-tmp"


def _etag(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
