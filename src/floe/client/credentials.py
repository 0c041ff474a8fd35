"""Fetching fresh credentials from the catalog when vended ones expire (Icechunk's refresh callback)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter

from floe.client._transport import check_response, default_headers, shared_http
from floe.models import TempCredentials

_CREDENTIALS: TypeAdapter[TempCredentials] = TypeAdapter(TempCredentials)


@dataclass(frozen=True)
class CatalogCredentials:
    """A picklable callable that asks the catalog for a repo's credentials.

    Icechunk calls it (through the storage's ``get_credentials``) shortly before the
    current credentials expire; it also travels with pickled repos to Dask workers.
    """

    service_uri: str
    token: str | None
    org: str
    repo: str
    read_only: bool = False

    def __call__(self) -> TempCredentials:
        response = shared_http().get(
            f"{self.service_uri}/repos/{self.org}/{self.repo}/bucket-credentials",
            params={"read_only": "true"} if self.read_only else None,
            headers=default_headers(self.token),
        )
        check_response(response)
        return _CREDENTIALS.validate_json(response.content)
