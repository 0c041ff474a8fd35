"""A folder on the server's filesystem (``file`` platform), confined to the roots the server allows."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import icechunk

from floe.files import make_private_dirs
from floe.models import TempCredentials
from floe.storage.base import BucketSpec, Location, PreconditionFailed, Refresher, StoragePolicy


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class LocalAdapter:
    """``file`` bucket configs: ``name`` is an absolute directory inside an allowed root."""

    platforms = ("file",)
    auth_methods = ("none",)
    extra_config_keys: tuple[str, ...] = ()

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

    def credentials(self, spec: BucketSpec, *, prefix: str | None, read_only: bool) -> TempCredentials | None:
        return None

    def endpoints(self, spec: BucketSpec) -> tuple[tuple[str, str], ...]:
        return ()

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
        return icechunk.local_filesystem_storage(str(Path(spec.name) / prefix))

    def object_store(self, spec: BucketSpec) -> LocalObjectStore:
        return LocalObjectStore(Path(spec.name))


class LocalObjectStore:
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

    def _file(self, key: str) -> Path:
        path = self._path(key)
        make_private_dirs(path.parent)  # 0700 each, whatever the umask
        return path

    def put(self, key: str, data: bytes) -> str:
        path = self._file(key)
        tmp = path.with_name(path.name + ".floe-tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return _etag(data)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

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


def _etag(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
