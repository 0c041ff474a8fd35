"""Wire models for finding the Icechunk repositories stored under a bucket config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DiscoveredRepo(BaseModel):
    """One Icechunk repository found in storage, registered in the catalog or not."""

    prefix: str = Field(
        description="Where it is, relative to the bucket config's prefix ('' for the prefix itself)."
    )
    full_prefix: str = Field(
        description="Where it is inside the bucket (the bucket config's prefix included)."
    )
    catalog_name: str | None = Field(
        default=None, description="ORG/NAME when a repo of this org is registered at that location."
    )
    trashed_as: str | None = Field(
        default=None, description="ORG/NAME of a repo of this org in the trash at that location (restore it)."
    )
    registered_elsewhere: bool = Field(
        default=False, description="A repo of another org is registered at that location (not named)."
    )
    snapshot_count: int | None = Field(
        default=None, description="Objects under snapshots/; null when there are too many to count cheaply."
    )
    size_bytes: int | None = Field(
        default=None, description="Total size of its objects; null when it has too many objects to add up."
    )
    object_count: int | None = Field(default=None, description="Its objects; null when too many to count.")

    @property
    def registered(self) -> bool:
        return self.catalog_name is not None or self.trashed_as is not None or self.registered_elsewhere


class DiscoveryResult(BaseModel):
    """What a search of a bucket config's storage found (``GET /orgs/{org}/buckets/{bucket}/discover``)."""

    org: str
    nickname: str
    bucket_prefix: str = Field(description="The bucket config's own prefix inside the bucket.")
    prefix: str = Field(description="Where the search started, relative to the bucket config's prefix.")
    repos: list[DiscoveredRepo] = Field(default_factory=list)
    listings: int = Field(default=0, description="Folder listings the search made.")
    truncated: bool = Field(
        default=False, description="A bound was hit: repos may exist that are not in the list (see `notes`)."
    )
    notes: list[str] = Field(default_factory=list, description="Which bounds were hit, and where.")


class ImportOutcome(BaseModel):
    """What ``import_bucket_repos`` did with one discovered repo."""

    prefix: str
    full_prefix: str
    status: Literal["imported", "skipped", "registered"]
    name: str | None = Field(default=None, description="ORG/NAME it was imported as, or is registered as.")
    reason: str | None = Field(default=None, description="Why it was skipped.")


class BucketImportResult(BaseModel):
    """The discovery that was made, and what became of each repo found."""

    discovery: DiscoveryResult
    outcomes: list[ImportOutcome] = Field(default_factory=list)

    @property
    def imported(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.status == "imported"]

    @property
    def skipped(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]
