"""Client operations that find the Icechunk repos stored under a bucket config, and register them.

Flows, like ``_operations``: the server does the listing (with the bucket config's credentials, which
the caller never holds); registering is the ordinary import operation, once per repo found.
"""

from __future__ import annotations

import re

from floe.client import _operations as ops
from floe.client._transport import Call, Flow
from floe.errors import ConflictError, NotFoundError, StorageError, ValidationError
from floe.models import MAX_REPO_NAME_LENGTH, check_name
from floe.models.discovery import BucketImportResult, DiscoveredRepo, DiscoveryResult, ImportOutcome

_NOT_IN_NAMES = re.compile(r"[^a-z0-9_.\-]+")


def repo_name_for(prefix: str) -> str | None:
    """The repo name a prefix suggests: its last part, lower-cased, with runs of other characters
    than letters, digits, '_', '.' and '-' made one '-'; ``None`` when no valid name is left."""
    last = prefix.strip("/").rsplit("/", 1)[-1].lower()
    name = re.sub(r"-{2,}", "-", _NOT_IN_NAMES.sub("-", last))
    name = name.lstrip(".-")[:MAX_REPO_NAME_LENGTH].rstrip(".-")
    try:
        return check_name(name, entity="repo")
    except ValueError:
        return None


def list_bucket_repos(org: str, nickname: str, prefix: str | None = None) -> Flow[DiscoveryResult]:
    """Every Icechunk repo stored under a bucket config's prefix (and ``prefix`` below it), registered
    or not, found by the server with the bucket config's credentials (members and up).

    Each has its prefix, its catalog name when a repo of the org is registered there (or whether
    another org registered it), and its snapshot count and size where they are cheap to find. The
    search is bounded (depth, listings, repos): ``truncated`` and ``notes`` say when a bound was hit.
    """
    return (
        yield Call(
            "GET",
            f"/orgs/{org}/buckets/{nickname}/discover",
            params={"prefix": prefix or None},
            parse=ops._model(DiscoveryResult),
        )
    )


def _skipped(repo: DiscoveredRepo, reason: str, name: str | None = None) -> ImportOutcome:
    return ImportOutcome(
        prefix=repo.prefix, full_prefix=repo.full_prefix, status="skipped", name=name, reason=reason
    )


def import_bucket_repos(org: str, nickname: str, prefix: str | None = None) -> Flow[BucketImportResult]:
    """Find the repos under a bucket config (as :func:`list_bucket_repos`) and register each one that
    is not registered yet, named after the last part of its prefix (``data/ERA5 v2`` -> ``era5-v2``).

    Nothing is ever overwritten: a name that is taken or cannot be made valid, a location registered
    in another org or in the trash, is reported as skipped, with the reason.
    """
    found = yield from list_bucket_repos(org, nickname, prefix)
    outcomes: list[ImportOutcome] = []
    for repo in found.repos:
        if repo.catalog_name:
            outcomes.append(
                ImportOutcome(
                    prefix=repo.prefix,
                    full_prefix=repo.full_prefix,
                    status="registered",
                    name=repo.catalog_name,
                )
            )
            continue
        if repo.trashed_as:
            outcomes.append(_skipped(repo, f"{repo.trashed_as} is in the trash there: restore it instead"))
            continue
        if repo.registered_elsewhere:
            outcomes.append(_skipped(repo, "registered in another org"))
            continue
        name = repo_name_for(repo.full_prefix)
        if name is None:
            outcomes.append(
                _skipped(
                    repo,
                    f"no valid repo name can be made from {repo.full_prefix!r}: import it under a name of your "
                    "choice (`floe repo import ORG/NAME --bucket NICKNAME --prefix PREFIX`)",
                )
            )
            continue
        try:
            imported = yield from ops.import_repo_object(
                f"{org}/{name}", bucket_config_nickname=nickname, prefix=repo.prefix
            )
        except ConflictError as exc:
            outcomes.append(_skipped(repo, f"collision: {exc}", f"{org}/{name}"))
            continue
        except (ValidationError, NotFoundError, StorageError) as exc:
            outcomes.append(_skipped(repo, str(exc), f"{org}/{name}"))
            continue
        outcomes.append(
            ImportOutcome(
                prefix=repo.prefix,
                full_prefix=repo.full_prefix,
                status="imported",
                name=f"{imported.org}/{imported.name}",
            )
        )
    return BucketImportResult(discovery=found, outcomes=outcomes)
