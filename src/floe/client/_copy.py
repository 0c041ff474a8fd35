"""Copying and moving repos between bucket configs, object for object, through vended credentials.

``copy_repo`` and ``move_repo`` are flows (see ``_transport``): a catalog step that registers (or
resumes) the target and vends credentials for both ends, one blocking step that copies and verifies
(:func:`transfer`), and a catalog step that makes the result usable.

The copy itself:

* every object except the refs first (chunks, manifests, snapshots, transactions, config), then the
  refs, so an interrupted copy never leaves a ref pointing at a missing object;
* ``concurrency`` objects in flight; objects up to 8 MiB are read whole, larger ones streamed (and
  uploaded in parts above 64 MiB), so memory stays bounded;
* each object is checked as it is written: the MD5 of the bytes read from the source against the
  destination's ETag where that is an MD5 (S3 single-part uploads), else against the MD5 of the
  destination object read back; verified objects go to a journal under the user cache directory,
  keyed by the source and destination locations, so a re-run skips them;
* at the end every source object must be at the destination with the same size and a verified
  checksum, and both repos are opened with Icechunk: every branch and tag must point at the same
  snapshot, with the same ancestry.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from floe.client._operations import _model, split_name
from floe.client._transport import CLIENT_INFO, Call, ClientInfo, Flow, Run
from floe.client.credentials import CatalogCredentials
from floe.client.objects import ObjectLocation, open_store
from floe.errors import FloeError, StorageError, ValidationError
from floe.files import make_private_dirs
from floe.models import Repo
from floe.models.transfers import CopyProgress, CopyResult, MoveResult, TransferPlan

WHOLE_LIMIT = 8 * 1024 * 1024  # objects up to this size are read into memory whole
MULTIPART_LIMIT = 64 * 1024 * 1024  # objects above this size are uploaded in parts
PART_SIZE = 8 * 1024 * 1024
MAX_ROUNDS = 3  # listing passes to catch up with commits made to the source meanwhile
CACHE_ENV = "FLOE_CACHE_DIR"

Progress = Callable[[CopyProgress], None]


def cache_dir() -> Path:
    """``$FLOE_CACHE_DIR``, else ``$XDG_CACHE_HOME/floe``, else ``~/.cache/floe``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "floe"


def journal_path(source: ObjectLocation, target: ObjectLocation) -> Path:
    """Where the journal of copying ``source`` to ``target`` lives."""
    key = hashlib.sha256(f"{source.describe()}\n{target.describe()}".encode()).hexdigest()[:32]
    return cache_dir() / "copies" / f"{key}.jsonl"


class Journal:
    """Objects copied and verified, one JSON line each, appended and flushed as they are done
    (a killed process leaves at most one torn line, which is ignored)."""

    def __init__(self, path: Path, source: str, target: str) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        make_private_dirs(path.parent)
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and "k" in entry:
                    self.entries[entry["k"]] = entry
        fresh = not path.exists()
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        if fresh:
            self._file.write(json.dumps({"source": source, "target": target}) + "\n")
            self._file.flush()
        os.chmod(path, 0o600)

    def add(self, entry: dict[str, Any]) -> None:
        self.entries[entry["k"]] = entry
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _etag(meta: Any) -> str:
    return str(meta.get("e_tag") or "").strip('"')


def _is_md5(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value.lower())


def _is_ref(key: str) -> bool:
    return key.startswith("refs/")


def _listing(store: Any) -> dict[str, dict[str, Any]]:
    import obstore  # loaded only when copying: `import floe` stays light

    found: dict[str, dict[str, Any]] = {}
    for batch in obstore.list(store, chunk_size=1000):
        for meta in batch:
            key = meta["path"]
            if key.endswith(".floe-tmp"):
                continue
            found[key] = {"size": int(meta["size"]), "etag": _etag(meta)}
    return found


def _md5_of(store: Any, key: str) -> tuple[str, int]:
    import obstore  # loaded only when copying: `import floe` stays light

    digest, size = hashlib.md5(usedforsecurity=False), 0
    for chunk in obstore.get(store, key).stream(min_chunk_size=PART_SIZE):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class _Copier:
    def __init__(
        self, source: ObjectLocation, target: ObjectLocation, src: Any, dst: Any, journal: Journal
    ) -> None:
        self.source, self.target = source, target
        self.src, self.dst = src, dst
        self.journal = journal

    def copy_one(self, key: str, src_etag: str) -> dict[str, Any]:
        """Copy one object, check what landed, and return its journal entry."""
        import obstore  # loaded only when copying: `import floe` stays light

        result = obstore.get(self.src, key)
        size = int(result.meta["size"])
        digest = hashlib.md5(usedforsecurity=False)
        if size <= WHOLE_LIMIT:
            data = result.bytes()
            digest.update(data)
            put = obstore.put(self.dst, key, data, use_multipart=False)
            multipart = False
        else:

            def chunks() -> Iterator[Any]:
                for chunk in result.stream(min_chunk_size=PART_SIZE):
                    digest.update(chunk)
                    yield chunk

            multipart = size > MULTIPART_LIMIT
            put = obstore.put(
                self.dst, key, chunks(), use_multipart=multipart, chunk_size=PART_SIZE, max_concurrency=4
            )
        md5 = digest.hexdigest()
        dst_etag = str(put.get("e_tag") or "").strip('"')
        if not (self.target.etag_is_md5 and not multipart and dst_etag.lower() == md5):
            again, again_size = _md5_of(self.dst, key)  # the destination's ETag says nothing: read it back
            if again != md5 or again_size != size:
                raise StorageError(
                    f"copying {key}: the object written differs from the source (checksum mismatch)"
                )
            if not dst_etag:
                dst_etag = _etag(obstore.head(self.dst, key))
        return {"k": key, "s": size, "m": md5, "se": src_etag, "de": dst_etag}


def _skippable(entry: dict[str, Any] | None, src: dict[str, Any], dst: dict[str, Any] | None) -> bool:
    """Already copied and verified: the source is unchanged and the destination is what was verified."""
    if entry is None or dst is None:
        return False
    return (
        entry.get("s") == src["size"] == dst["size"]
        and entry.get("se") == src["etag"]
        and entry.get("de") == dst["etag"]
        and bool(dst["etag"])
    )


def _same_md5(
    source: ObjectLocation, target: ObjectLocation, meta: dict[str, Any], dst: dict[str, Any] | None
) -> bool:
    """Both ends are S3 and hold single-part objects of the same size whose ETags (MD5s) are equal."""
    return (
        dst is not None
        and source.etag_is_md5
        and target.etag_is_md5
        and _is_md5(meta["etag"])
        and meta["etag"] == dst["etag"]
        and meta["size"] == dst["size"]
    )


def _run_copies(
    copier: _Copier,
    todo: list[tuple[str, dict[str, Any]]],
    concurrency: int,
    on_done: Callable[[dict[str, Any]], None],
) -> None:
    """Copy ``todo`` with at most ``concurrency`` objects in flight; journal each as it completes."""
    pool = cf.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="floe-copy")
    pending: set[cf.Future[dict[str, Any]]] = set()
    items = iter(todo)
    try:
        while True:
            while len(pending) < concurrency * 2:
                nxt = next(items, None)
                if nxt is None:
                    break
                pending.add(pool.submit(copier.copy_one, nxt[0], nxt[1]["etag"]))
            if not pending:
                break
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                entry = future.result()
                copier.journal.add(entry)
                on_done(entry)
    except BaseException:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _refs(storage: Any) -> dict[str, tuple[str, ...]]:
    """Every branch and tag -> its snapshot's ancestry (newest first)."""
    import icechunk

    repo = icechunk.Repository.open(storage)
    found: dict[str, tuple[str, ...]] = {}
    for branch in sorted(repo.list_branches()):
        found[f"branch.{branch}"] = tuple(s.id for s in repo.ancestry(branch=branch))
    for tag in sorted(repo.list_tags()):
        found[f"tag.{tag}"] = tuple(s.id for s in repo.ancestry(tag=tag))
    return found


def transfer(
    plan: TransferPlan,
    info: ClientInfo,
    *,
    concurrency: int = 8,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Copy every object of the plan's source to its target, refs last, then verify (blocking)."""
    from floe.client.opening import client_spec
    from floe.storage import icechunk_storage

    started = time.monotonic()
    source, target = ObjectLocation.from_open(plan.source), ObjectLocation.from_open(plan.target)
    src_org, src_repo = plan.source.repo.org, plan.source.repo.name  # type: ignore[union-attr]
    dst_org, dst_repo = plan.target_name.split("/")
    refresh_src = CatalogCredentials(info.service_uri, info.token, src_org, src_repo, read_only=True)
    refresh_dst = CatalogCredentials(info.service_uri, info.token, dst_org, dst_repo)
    src = open_store(source, refresh_src if source.credentials is not None else None)
    dst = open_store(target, refresh_dst if target.credentials is not None else None)
    journal = Journal(journal_path(source, target), source.describe(), target.describe())
    lock = threading.Lock()
    state = CopyProgress(phase="listing")
    counts = {"copied": 0, "copied_bytes": 0, "skipped": 0, "skipped_bytes": 0}

    def report() -> None:
        if progress is not None:
            progress(state.model_copy())

    def done(entry: dict[str, Any]) -> None:
        with lock:
            state.objects_done += 1
            state.bytes_done += entry["s"]
            counts["copied"] += 1
            counts["copied_bytes"] += entry["s"]
        report()

    copier = _Copier(source, target, src, dst, journal)
    try:
        report()
        src_objects: dict[str, dict[str, Any]] = {}
        handled: dict[str, str] = {}  # key -> source etag copied (or skipped) in this run
        refs_match = False
        for _round in range(MAX_ROUNDS):
            src_objects = _listing(src)
            dst_objects = _listing(dst)
            data = {k: v for k, v in src_objects.items() if not _is_ref(k)}
            refs = {k: v for k, v in src_objects.items() if _is_ref(k)}
            state.objects_total = len(src_objects)
            state.bytes_total = sum(v["size"] for v in src_objects.values())
            todo = []
            for key in sorted(data):
                meta = data[key]
                if handled.get(key) == meta["etag"]:
                    continue
                dst_meta = dst_objects.get(key)
                entry = journal.entries.get(key)
                if entry is None and _same_md5(source, target, meta, dst_meta):
                    # S3 to S3 without a journal (another machine ran the first part): equal MD5 ETags
                    entry = {"k": key, "s": meta["size"], "m": meta["etag"], "se": meta["etag"]}
                    entry["de"] = meta["etag"]
                    journal.add(entry)
                if _skippable(entry, meta, dst_meta):
                    handled[key] = meta["etag"]
                    with lock:
                        state.objects_done += 1
                        state.bytes_done += meta["size"]
                        state.skipped_objects += 1
                        counts["skipped"] += 1
                        counts["skipped_bytes"] += meta["size"]
                    continue
                todo.append((key, meta))
            state.phase = "copying"
            report()
            _run_copies(copier, todo, concurrency, done)
            for key, meta in todo:
                handled[key] = meta["etag"]
            # refs last: they point at what is now all there
            state.phase = "refs"
            ref_todo = [(k, v) for k, v in sorted(refs.items()) if handled.get(k) != v["etag"]]
            _run_copies(copier, ref_todo, concurrency, done)
            for key, meta in ref_todo:
                handled[key] = meta["etag"]
            state.phase = "verifying"
            report()
            src_refs = _refs(
                icechunk_storage(client_spec(plan.source.repo_bucket), source.prefix, source.credentials)
            )
            dst_refs = _refs(
                icechunk_storage(client_spec(plan.target.repo_bucket), target.prefix, target.credentials)
            )
            if src_refs == dst_refs and _listing(src) == src_objects:
                refs_match = True
                break
        if not refs_match:
            raise StorageError(
                "the source kept changing during the copy (commits meanwhile): re-run the same command to catch up"
            )
        # every object of the source at the destination, same size, with a verified checksum
        dst_objects = _listing(dst)
        for key, meta in src_objects.items():
            there = dst_objects.get(key)
            entry = journal.entries.get(key)
            if there is None or there["size"] != meta["size"]:
                raise StorageError(
                    f"verification failed: {key} is missing at the destination or has another size"
                )
            if not _skippable(entry, meta, there):
                raise StorageError(
                    f"verification failed: {key} was not verified at the destination; re-run the copy"
                )
    finally:
        journal.close()
    seconds = time.monotonic() - started
    total_bytes = sum(v["size"] for v in src_objects.values())
    return {
        "objects": len(src_objects),
        "bytes": total_bytes,
        "copied_objects": counts["copied"],
        "copied_bytes": counts["copied_bytes"],
        "skipped_objects": counts["skipped"],
        "skipped_bytes": counts["skipped_bytes"],
        "seconds": round(seconds, 3),
        "mb_per_s": round(total_bytes / 1e6 / seconds, 3) if seconds > 0 else 0.0,
        "refs": {name: ids[0] for name, ids in src_refs.items()},
        "journal": str(journal.path),
    }


def _interrupted(what: str, exc: BaseException, again: str) -> FloeError:
    if isinstance(exc, FloeError):
        return type(exc)(f"{exc.message}; {again}", status_code=exc.status_code)
    first = str(exc).strip().splitlines()[0][:400] if str(exc).strip() else type(exc).__name__
    return StorageError(f"{what} failed: {first}; {again}")


def copy_repo(
    src: str,
    dst: str,
    *,
    bucket_config_nickname: str | None = None,
    prefix: str | None = None,
    concurrency: int = 8,
    progress: Progress | None = None,
) -> Flow[CopyResult]:
    """Copy a repo, with its whole history, branches and tags, to a new repo on another bucket config.

    ``dst`` (``ORG/REPO``) is registered offline ("being copied from SRC") until the copy is verified,
    then set online. Re-running the same copy after an interruption resumes it: objects already
    copied and verified are skipped. ``progress`` is called with a :class:`CopyProgress` after every
    object (from the thread that runs the copy).
    """
    src_org, src_name = split_name(src)
    dst_org, dst_name = split_name(dst)
    if concurrency < 1:
        raise ValidationError("concurrency must be 1 or more")
    body = {"source": f"{src_org}/{src_name}", "bucket_nickname": bucket_config_nickname, "prefix": prefix}
    plan: TransferPlan = yield Call(
        "POST", f"/orgs/{dst_org}/repos/{dst_name}/copy-target", json=body, parse=_model(TransferPlan)
    )
    info: ClientInfo = yield CLIENT_INFO
    again = f"the copy is resumable: run the same copy of {src} to {dst} again"
    try:
        outcome = yield Run(transfer, (plan, info), {"concurrency": concurrency, "progress": progress})
    except Exception as exc:
        raise _interrupted(f"copying {src} to {dst}", exc, again) from None
    yield Call(
        "POST", f"/orgs/{dst_org}/repos/{dst_name}/copy-complete", json={"source": f"{src_org}/{src_name}"}
    )
    info.cache.drop(f"{dst_org}/{dst_name}")
    repo: Repo = yield Call("GET", f"/repos/{dst_org}/{dst_name}", parse=_model(Repo))
    outcome.pop("journal", None)
    return CopyResult(source=src, destination=dst, resumed=plan.resumed, repo=repo, **outcome)


def move_repo(
    name: str,
    *,
    bucket_config_nickname: str,
    prefix: str | None = None,
    concurrency: int = 8,
    progress: Progress | None = None,
) -> Flow[CopyResult]:
    """Move a repo to another bucket config (or prefix), keeping its name, id, grants and metadata.

    The repo is offline while it moves. Its objects are copied and verified as by ``copy_repo``;
    then one catalog step points the repo at the new location and puts the old one in the trash
    (its objects stay there until the trash is purged). If the copy fails the repo gets its earlier
    status back; re-running the same move resumes it.
    """
    org, repo_name = split_name(name)
    body = {"bucket_nickname": bucket_config_nickname, "prefix": prefix}
    info: ClientInfo = yield CLIENT_INFO
    info.cache.drop(f"{org}/{repo_name}")
    plan: TransferPlan = yield Call(
        "POST", f"/orgs/{org}/repos/{repo_name}/move-target", json=body, parse=_model(TransferPlan)
    )
    again = f"{name} has its earlier status back; run the same move again to resume"
    try:
        outcome = yield Run(transfer, (plan, info), {"concurrency": concurrency, "progress": progress})
    except Exception as exc:
        error = _interrupted(f"moving {name}", exc, again)
        yield Call("POST", f"/orgs/{org}/repos/{repo_name}/move-abort")
        raise error from None
    moved: MoveResult = yield Call(
        "POST", f"/orgs/{org}/repos/{repo_name}/move-complete", parse=_model(MoveResult)
    )
    info.cache.drop(f"{org}/{repo_name}")
    outcome.pop("journal", None)
    return CopyResult(
        source=name,
        destination=name,
        resumed=plan.resumed,
        repo=moved.repo,
        trash_id=moved.trash_id,
        **outcome,
    )
