"""Look inside an Icechunk repository: branches, tags, history, the tree of groups and arrays, diffs,
and a bounded read of an array for a preview.

One implementation for every viewer: the web app calls it on the server (with the catalog's
read-only credentials), the CLI on the client (with vended credentials, straight to storage). It
takes an ``icechunk.Repository`` and returns the models of :mod:`floe.models.versions`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import icechunk
import numpy as np
import zarr

from floe.errors import NotFoundError, StorageError, ValidationError
from floe.models.versions import (
    HistoryPage,
    NodeInfo,
    RefInfo,
    SnapshotDiff,
    SnapshotEntry,
    TreeListing,
)

MAX_HISTORY_PAGE = 500
MAX_SIZED_CHUNKS = 100_000  # arrays with more chunks in their grid get no stored size (it lists every chunk)
MAX_TREE_NODES = 5_000
PREVIEW_BYTES = 16 * 2**20  # the most a preview reads, counted in whole decoded chunks
_BULLET = re.compile("^[x\u00d7] +")  # icechunk's error reports start with a cross
_SNAPSHOT_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{20}")  # icechunk ids: 12 bytes, Crockford base32


@dataclass(frozen=True)
class Ref:
    """What a name given by a person points at."""

    name: str
    kind: str  # "branch", "tag" or "snapshot"
    snapshot_id: str


def describe_error(exc: BaseException) -> str:
    """The gist of an icechunk error: its first line, without the report's bullet."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _BULLET.sub("", text).strip()[:300]


def _icechunk(doing: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except icechunk.IcechunkError as exc:
        raise StorageError(f"{doing} failed: {describe_error(exc)}") from None


def resolve(repo: icechunk.Repository, ref: str) -> Ref:
    """A branch, a tag or a snapshot id (tried in that order); 404 naming what exists otherwise."""
    if not ref or len(ref) > 256:
        raise ValidationError("a ref is a branch or tag name, or a 20-character snapshot id")
    branches = repo.list_branches()
    if ref in branches:
        return Ref(ref, "branch", repo.lookup_branch(ref))
    tags = repo.list_tags()
    if ref in tags:
        return Ref(ref, "tag", repo.lookup_tag(ref))
    if _SNAPSHOT_ID.fullmatch(ref):
        try:
            info = repo.lookup_snapshot(ref)
        except icechunk.IcechunkError:
            pass
        else:
            return Ref(ref, "snapshot", info.id)
    known = ", ".join(sorted(branches)[:10]) or "none"
    tag_names = ", ".join(sorted(tags)[:10]) or "none"
    raise NotFoundError(
        f"no branch, tag or snapshot {ref!r} in this repo (branches: {known}; tags: {tag_names})"
    )


def _author(metadata: dict[str, Any]) -> tuple[str | None, str | None]:
    name, email = metadata.get("author_name"), metadata.get("author_email")
    return (str(name) if name else None, str(email) if email else None)


def _entry(info: icechunk.SnapshotInfo) -> SnapshotEntry:
    metadata = dict(info.metadata or {})
    name, email = _author(metadata)
    return SnapshotEntry(
        id=info.id,
        parent_id=info.parent_id,
        message=info.message,
        written_at=info.written_at,
        author_name=name,
        author_email=email,
        metadata=metadata,
    )


def _refs(repo: icechunk.Repository, kind: str, names: set[str]) -> list[RefInfo]:
    found = []
    for name in names:
        snapshot_id = repo.lookup_branch(name) if kind == "branch" else repo.lookup_tag(name)
        info = repo.lookup_snapshot(snapshot_id)
        found.append(
            RefInfo(
                name=name,
                kind=kind,
                snapshot_id=snapshot_id,
                message=info.message,
                written_at=info.written_at,
            )
        )
    return sorted(found, key=lambda r: (r.name != "main", r.name))


def list_branches(repo: icechunk.Repository) -> list[RefInfo]:
    """Every branch with its tip (``main`` first, then by name)."""
    return _refs(repo, "branch", repo.list_branches())


def list_tags(repo: icechunk.Repository) -> list[RefInfo]:
    """Every tag with the snapshot it marks, by name."""
    return _refs(repo, "tag", repo.list_tags())


def history(repo: icechunk.Repository, ref: str = "main", *, limit: int = 50, skip: int = 0) -> HistoryPage:
    """``limit`` snapshots of ``ref``'s history after the newest ``skip``, newest first."""
    if not 1 <= limit <= MAX_HISTORY_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_HISTORY_PAGE}, not {limit}")
    if skip < 0:
        raise ValidationError(f"skip must be 0 or more, not {skip}")
    target = resolve(repo, ref)
    ancestry = _icechunk(f"reading the history of {ref!r}", repo.ancestry, snapshot_id=target.snapshot_id)
    window = list(itertools.islice(ancestry, skip, skip + limit + 1))
    return HistoryPage(
        ref=ref,
        snapshot_id=target.snapshot_id,
        skip=skip,
        entries=[_entry(info) for info in window[:limit]],
        more=len(window) > limit,
    )


# --- the tree ------------------------------------------------------------------------------------


def _session(repo: icechunk.Repository, target: Ref) -> icechunk.Session:
    return _icechunk(f"opening {target.name!r}", repo.readonly_session, snapshot_id=target.snapshot_id)


def normalize_path(path: str | None) -> str:
    """``/a/b`` from ``a/b``, ``/a/b/`` or ``None`` (the root, ``/``); refuses ``..`` and empty parts."""
    parts = [p for p in (path or "").strip().split("/") if p]
    if any(p in (".", "..") for p in parts) or len("/".join(parts)) > 1024:
        raise ValidationError(f"invalid node path {path!r}: use names separated by '/'")
    return "/" + "/".join(parts)


def _codec_names(metadata: Any) -> list[str]:
    names = []
    for codec in getattr(metadata, "codecs", ()) or ():
        described = codec.to_dict() if hasattr(codec, "to_dict") else codec
        name = described.get("name") if isinstance(described, dict) else None
        names.append(str(name or type(codec).__name__))
        if name == "sharding_indexed":  # the codecs inside each shard are what compress the data
            inner = (described.get("configuration") or {}).get("codecs") or []
            names.extend(f"{c.get('name')} (inner)" for c in inner if isinstance(c, dict))
    for compressor in getattr(metadata, "compressors", ()) or ():  # zarr format 2
        names.append(str(getattr(compressor, "codec_id", type(compressor).__name__)))
    return names


def _json_safe(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()  # then as a Python value: a NaN fill value is still not JSON
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _array_info(array: zarr.Array, path: str, *, sized: bool) -> NodeInfo:
    metadata = array.metadata
    chunks = list(array.chunks)
    total = math.prod(math.ceil(s / c) for s, c in zip(array.shape, chunks, strict=True)) if chunks else 1
    stored = None
    if sized and total <= MAX_SIZED_CHUNKS:
        stored = int(array.nbytes_stored())
    dims = getattr(metadata, "dimension_names", None)
    if dims is None:  # zarr format 2, as xarray writes it
        dims = array.attrs.get("_ARRAY_DIMENSIONS")
    return NodeInfo(
        path=path,
        name=path.rsplit("/", 1)[-1] or "/",
        kind="array",
        attributes=dict(array.attrs),
        shape=list(array.shape),
        dtype=str(array.dtype),
        chunk_shape=chunks,
        codecs=_codec_names(metadata),
        dimension_names=list(dims) if dims is not None else None,
        fill_value=_json_safe(array.fill_value),
        chunks_total=total,
        stored_bytes=stored,
    )


def _group_info(group: zarr.Group, path: str, depth: int | None, budget: list[int]) -> NodeInfo:
    node = NodeInfo(
        path=path, name=path.rsplit("/", 1)[-1] or "/", kind="group", attributes=dict(group.attrs)
    )
    if depth == 0:
        return node
    for name, member in sorted(group.members(), key=lambda m: (isinstance(m[1], zarr.Group), m[0])):
        budget[0] -= 1
        if budget[0] < 0:
            break
        child_path = f"{path.rstrip('/')}/{name}"
        if isinstance(member, zarr.Group):
            node.children.append(
                _group_info(member, child_path, None if depth is None else depth - 1, budget)
            )
        else:
            node.children.append(_array_info(member, child_path, sized=False))
    return node


def _open_node(session: icechunk.Session, path: str) -> zarr.Array | zarr.Group:
    try:
        return zarr.open(session.store, path=path.lstrip("/"), mode="r")
    except FileNotFoundError:  # zarr's NodeNotFoundError is one
        raise NotFoundError(f"no group or array at {path!r} in this snapshot") from None


def tree(
    repo: icechunk.Repository, ref: str = "main", path: str | None = None, *, depth: int | None = 1
) -> TreeListing:
    """The node at ``path`` in ``ref`` and, for a group, its members ``depth`` levels down (None: all,
    at most ``MAX_TREE_NODES``). An array node carries its stored size where it can be counted."""
    if depth is not None and depth < 0:
        raise ValidationError(f"depth must be 0 or more, not {depth}")
    target = resolve(repo, ref)
    where = normalize_path(path)
    node = _open_node(_session(repo, target), where)
    if isinstance(node, zarr.Group):
        info = _group_info(node, where, depth, [MAX_TREE_NODES])
    else:
        info = _array_info(node, where, sized=True)
    return TreeListing(ref=ref, snapshot_id=target.snapshot_id, node=info)


def walk(node: NodeInfo) -> Iterator[NodeInfo]:
    """``node`` and everything below it, depth first."""
    yield node
    for child in node.children:
        yield from walk(child)


# --- diffs --------------------------------------------------------------------------------------


def diff(repo: icechunk.Repository, from_ref: str, to_ref: str) -> SnapshotDiff:
    """What changed from ``from_ref`` to ``to_ref`` (the first must be an ancestor of the second)."""
    start, end = resolve(repo, from_ref), resolve(repo, to_ref)
    if start.snapshot_id == end.snapshot_id:  # icechunk refuses to compare a snapshot with itself
        return SnapshotDiff(
            from_ref=from_ref,
            to_ref=to_ref,
            from_snapshot_id=start.snapshot_id,
            to_snapshot_id=end.snapshot_id,
        )
    try:
        found = repo.diff(from_snapshot_id=start.snapshot_id, to_snapshot_id=end.snapshot_id)
    except icechunk.IcechunkError as exc:
        raise ValidationError(
            f"cannot compare {from_ref!r} with {to_ref!r}: {describe_error(exc)} "
            "(the first must be an ancestor of the second)"
        ) from None
    return SnapshotDiff(
        from_ref=from_ref,
        to_ref=to_ref,
        from_snapshot_id=start.snapshot_id,
        to_snapshot_id=end.snapshot_id,
        new_groups=sorted(found.new_groups),
        new_arrays=sorted(found.new_arrays),
        deleted_groups=sorted(found.deleted_groups),
        deleted_arrays=sorted(found.deleted_arrays),
        updated_groups=sorted(found.updated_groups),
        updated_arrays=sorted(found.updated_arrays),
        chunks_written={path: len(chunks) for path, chunks in sorted(found.updated_chunks.items())},
    )


# --- previews -----------------------------------------------------------------------------------


@dataclass
class Preview:
    """A bounded piece of an array, ready to draw: 1 axis (a line) or 2 (an image)."""

    path: str
    data: np.ndarray
    selection: str  # as a person writes it: "3, 0:180, 0:360"
    title: str
    units: str | None
    axes: list[tuple[str, np.ndarray | None, str | None]]  # (label, coordinate values, units) per shown axis
    fixed: list[str] = field(default_factory=list)  # "time = 3" for each dimension held at one index
    clipped: bool = False  # the picked window is smaller than the array


def _parse_selection(text: str, shape: tuple[int, ...]) -> list[int | slice]:
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    if len(parts) != len(shape):
        raise ValidationError(
            f"a selection needs one entry per dimension ({len(shape)}), such as "
            f"{', '.join(['0'] * max(len(shape) - 2, 0) + [':'] * min(len(shape), 2))}"
        )
    chosen: list[int | slice] = []
    for part, size in zip(parts, shape, strict=True):
        try:
            if ":" in part:
                start_text, _, stop_text = part.partition(":")
                start = int(start_text) if start_text.strip() else 0
                stop = int(stop_text) if stop_text.strip() else size
                start, stop = max(0, min(start, size)), max(0, min(stop, size))
                if stop <= start:
                    raise ValidationError(f"the range {part!r} selects nothing (the dimension has {size})")
                chosen.append(slice(start, stop))
            else:
                index = int(part)
                if not -size <= index < size:
                    raise ValidationError(f"index {index} is outside a dimension of length {size}")
                chosen.append(index % size)
        except ValueError:
            raise ValidationError(f"{part!r} is not an index or a start:stop range") from None
    if sum(isinstance(c, slice) for c in chosen) not in (1, 2):
        raise ValidationError(
            "a preview shows one dimension as a line or two as an image: use ':' for one or two"
        )
    return chosen


def _default_selection(shape: tuple[int, ...]) -> list[int | slice]:
    if not shape:
        return []
    shown = min(len(shape), 2)
    return [0] * (len(shape) - shown) + [slice(0, n) for n in shape[-shown:]]


def _fit(
    selection: list[int | slice], chunks: tuple[int, ...], itemsize: int, limit: int
) -> tuple[list[int | slice], bool]:
    """The selection shrunk (from its end) until the whole chunks it touches decode to ``limit`` bytes."""

    def cost(sel: list[int | slice]) -> int:
        total = itemsize
        for s, c in zip(sel, chunks, strict=True):
            if isinstance(s, slice):
                total *= (s.stop // c + (s.stop % c > 0) - s.start // c) * c
            else:
                total *= c
        return total

    fitted, clipped = list(selection), False
    while cost(fitted) > limit:
        widest = max(
            (i for i, s in enumerate(fitted) if isinstance(s, slice)),
            key=lambda i: (fitted[i].stop - fitted[i].start) / chunks[i],  # type: ignore[union-attr]
        )
        s = fitted[widest]
        assert isinstance(s, slice)
        length = s.stop - s.start
        if length <= chunks[widest] and all(
            not isinstance(o, slice) or o.stop - o.start <= chunks[i] for i, o in enumerate(fitted)
        ):
            raise ValidationError(
                f"one chunk of this array decodes to {cost(fitted) / 2**20:.0f} MiB, more than the preview "
                f"limit of {limit / 2**20:.0f} MiB; open it with xarray or zarr instead"
            )
        fitted[widest] = slice(s.start, s.start + max(1, length // 2))
        clipped = True
    return fitted, clipped


def plan_selection(
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    itemsize: int,
    selection: str | None,
    limit: int = PREVIEW_BYTES,
) -> tuple[list[int | slice], bool]:
    """What a preview of an array of this shape reads for ``selection`` (None: the default), and
    whether it had to shrink it to stay within ``limit`` bytes of decoded chunks. Reads nothing."""
    if not shape:
        raise ValidationError("a single value has nothing to draw")
    wanted = _parse_selection(selection, shape) if selection else _default_selection(shape)
    fitted, clipped = _fit(wanted, chunks, itemsize, limit)
    return fitted, clipped or fitted != wanted


def selection_text(selection: list[int | slice]) -> str:
    """A selection as a person writes it: ``3, 0:180, 0:360``."""
    return ", ".join(str(s) if isinstance(s, int) else f"{s.start}:{s.stop}" for s in selection)


def _label(attrs: dict[str, Any], fallback: str) -> str:
    return str(attrs.get("long_name") or attrs.get("standard_name") or fallback)


def _coordinate(
    session: icechunk.Session, parent: str, dim: str | None, window: slice, length: int
) -> tuple[np.ndarray | None, str | None, dict[str, Any]]:
    """The values of a 1-D coordinate array named like the dimension, beside the array, if any."""
    if not dim:
        return None, None, {}
    try:
        coord = zarr.open_array(session.store, path=f"{parent}/{dim}".strip("/"), mode="r")
    except Exception:
        return None, None, {}
    if coord.ndim != 1 or coord.shape[0] != length or coord.dtype.kind not in "iufM":
        return None, None, {}
    attrs = dict(coord.attrs)
    return np.asarray(coord[window]), attrs.get("units"), attrs


def read_preview(
    repo: icechunk.Repository,
    ref: str,
    path: str,
    selection: str | None = None,
    *,
    limit: int = PREVIEW_BYTES,
) -> Preview:
    """Read what a preview of the array at ``path`` shows: ``selection`` (one index or ``start:stop``
    per dimension; by default the last two dimensions at the first index of the others), shrunk so
    the chunks it touches decode to at most ``limit`` bytes."""
    target = resolve(repo, ref)
    where = normalize_path(path)
    session = _session(repo, target)
    node = _open_node(session, where)
    if not isinstance(node, zarr.Array):
        raise ValidationError(f"{where} is a group; a preview draws an array")
    if node.dtype.kind not in "biuf":
        raise ValidationError(f"{where} holds {node.dtype} values; a preview draws numbers only")
    if node.ndim == 0:
        raise ValidationError(f"{where} holds a single value: {node[()]!r}")
    fitted, clipped = plan_selection(node.shape, tuple(node.chunks), node.dtype.itemsize, selection, limit)
    data = np.asarray(node[tuple(fitted)])
    attrs = dict(node.attrs)
    info = _array_info(node, where, sized=False)
    dims = info.dimension_names or [None] * node.ndim
    parent = where.rsplit("/", 1)[0]
    axes, fixed = [], []
    for axis, (dim, chosen) in enumerate(zip(dims, fitted, strict=True)):
        if isinstance(chosen, slice):
            values, units, coord_attrs = _coordinate(session, parent, dim, chosen, node.shape[axis])
            axes.append((_label(coord_attrs, dim or f"dimension {axis}"), values, units))
        else:
            fixed.append(f"{dim or f'dimension {axis}'} = {chosen}")
    fill = attrs.get("_FillValue", attrs.get("missing_value"))
    if data.dtype.kind == "f" or fill is not None:
        data = data.astype("f8")
        if fill is not None:
            data[data == fill] = np.nan
    return Preview(
        path=where,
        data=data,
        selection=selection_text(fitted),
        title=_label(attrs, info.name),
        units=attrs.get("units"),
        axes=axes,
        fixed=fixed,
        clipped=clipped,
    )
