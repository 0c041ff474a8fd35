"""Data services: an org's repos served as Zarr over HTTP, OGC EDR, WMS, map tiles and OPeNDAP (DAP2).

The shapes are those the ``arraylake`` client's compute module parses (``ServiceConfig``,
``DeploymentInfo``), so ``arraylake.Client(...).get_services(org)`` works against Floe unchanged.
Floe adds ``repos``: a public service may serve only the repos listed.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from floe.models import check_name


class ServiceProtocol(StrEnum):
    """The protocols a service speaks; the name is also the URL segment before the protocol's path."""

    dap2 = "dap2"
    edr = "edr"
    wms = "wms"
    tiles = "tiles"
    zarr = "zarr"


class ServiceState(StrEnum):
    available = "available"
    progressing = "progressing"
    unknown = "unknown"
    error = "error"


class LogLevel(StrEnum):
    debug = "DEBUG"
    info = "INFO"
    warning = "WARNING"
    error = "ERROR"
    critical = "CRITICAL"


_DEPLOYMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$|^[a-z0-9]$")
MAX_SERVICE_REPOS = 1000


class ServiceConfig(BaseModel):
    """A service to enable (the body of ``POST /compute/orgs/{org}/services``) and, once enabled, its
    settings. Settings Floe does not use (replicas, image tags, icechunk caches) are kept and shown."""

    model_config = ConfigDict(extra="ignore")

    service_type: ServiceProtocol
    org: str
    is_public: bool = False
    deployment_name: str | None = None  # defaults to the protocol's name
    service_version: str | None = None
    min_replicas: int | None = Field(default=1, ge=0, le=1000)
    max_replicas: int | None = Field(default=10, ge=0, le=1000)
    store_cache_ttl: int | None = Field(default=60, ge=0, le=86_400)  # seconds a dataset stays open
    store_cache_size: int | None = Field(default=10, ge=1, le=1000)  # datasets kept open
    cache_max_age: int | None = Field(default=0, ge=0, le=86_400)  # Cache-Control max-age of answers
    icechunk_cache_chunk_bytes: int | None = Field(default=1024**3, ge=0)
    icechunk_cache_chunk_ref_count: int | None = Field(default=10_000_000, ge=0)
    zarr_concurrency: int | None = Field(default=25, ge=1, le=1000)
    log_level: LogLevel | None = LogLevel.info
    # Floe only: the repos a service serves (None: every repo of the org). For a public service this is
    # the list of repos anyone may read; for a private one it narrows what readers reach through it.
    repos: list[str] | None = Field(default=None, max_length=MAX_SERVICE_REPOS)

    @field_validator("deployment_name")
    @classmethod
    def _check_deployment_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if len(value) > 16 or not _DEPLOYMENT_NAME.match(value):
            raise ValueError(
                f"invalid deployment_name {value!r}: at most 16 lowercase letters, digits and dashes, "
                "not starting or ending with a dash"
            )
        return value

    @field_validator("repos")
    @classmethod
    def _check_repos(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        for name in value:
            check_name(name, entity="repo")
        return sorted(set(value))

    @property
    def name(self) -> str:
        """The deployment's name: ``deployment_name``, else the protocol's."""
        return self.deployment_name or self.service_type.value


class DeploymentInfo(BaseModel):
    """An enabled service: where it answers and whether it can."""

    name: str
    url: str
    created: datetime
    config: ServiceConfig
    status: ServiceState
    message: str | None = None  # why the status is "error"


class ServiceDisabled(BaseModel):
    name: str
    status: str = "disabled"
    message: str = ""  # arraylake client: `arraylake compute disable` prints it
