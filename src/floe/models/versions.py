"""What a repository holds, as people inspect it: refs, history, the tree of groups and arrays, diffs.

Produced by :mod:`floe.inspection` from an ``icechunk.Repository`` (the web app on the server, the CLI
on the client) and printed by ``--json``; not part of the catalog's HTTP API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class RefInfo(BaseModel):
    """A branch or a tag, and the snapshot it points at."""

    name: str
    kind: Literal["branch", "tag"]
    snapshot_id: str
    message: str | None = None
    written_at: datetime | None = None


class SnapshotEntry(BaseModel):
    """One snapshot in a branch's history, newest first."""

    id: str
    parent_id: str | None = None
    message: str
    written_at: datetime
    author_name: str | None = None
    author_email: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class HistoryPage(BaseModel):
    """A page of a ref's history: ``entries`` after skipping ``skip``; ``more`` when older ones follow."""

    ref: str
    snapshot_id: str
    skip: int
    entries: list[SnapshotEntry]
    more: bool


class NodeInfo(BaseModel):
    """A group or an array of a snapshot, with what Zarr says about it."""

    path: str  # "/" for the root group, "/a/b" below it
    name: str
    kind: Literal["group", "array"]
    attributes: dict[str, Any] = Field(default_factory=dict)
    shape: list[int] | None = None
    dtype: str | None = None
    chunk_shape: list[int] | None = None
    codecs: list[str] | None = None
    dimension_names: list[str | None] | None = None
    fill_value: Any = None
    chunks_total: int | None = None  # chunks in the grid
    stored_bytes: int | None = None  # None where not computed (see inspection.MAX_SIZED_CHUNKS)
    children: list[NodeInfo] = Field(default_factory=list)


class TreeListing(BaseModel):
    """A snapshot's nodes under ``path`` (the node itself first)."""

    ref: str
    snapshot_id: str
    node: NodeInfo


class SnapshotDiff(BaseModel):
    """What changed between two snapshots; paths are absolute (``/group/array``)."""

    from_ref: str
    to_ref: str
    from_snapshot_id: str
    to_snapshot_id: str
    new_groups: list[str] = Field(default_factory=list)
    new_arrays: list[str] = Field(default_factory=list)
    deleted_groups: list[str] = Field(default_factory=list)
    deleted_arrays: list[str] = Field(default_factory=list)
    updated_groups: list[str] = Field(default_factory=list)
    updated_arrays: list[str] = Field(default_factory=list)
    chunks_written: dict[str, int] = Field(default_factory=dict)  # array path -> chunks written

    @property
    def empty(self) -> bool:
        return not (
            self.new_groups
            or self.new_arrays
            or self.deleted_groups
            or self.deleted_arrays
            or self.updated_groups
            or self.updated_arrays
            or self.chunks_written
        )


NodeInfo.model_rebuild()
