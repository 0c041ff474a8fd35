"""The one refresh callable: vended credentials while they are fresh, then new ones from the catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from floe.models import TempCredentials
from floe.storage.base import Refresher

C = TypeVar("C", bound=TempCredentials)


def current(initial: C | None, refresh: Refresher, kind: type[C], *, margin: timedelta, label: str) -> C:
    """``initial`` while it has longer than ``margin`` to live (or never expires), else ``refresh()``;
    ``TypeError`` when the catalog sends credentials of another platform."""
    creds: TempCredentials | None = initial
    if creds is None or (creds.expiration is not None and creds.expiration <= datetime.now(UTC) + margin):
        creds = refresh()
    if not isinstance(creds, kind):
        raise TypeError(f"expected {label} credentials from the catalog, got {type(creds).__name__}")
    return creds


class Refreshing(Generic[C]):
    """Icechunk's credential callback (``get_credentials``) for any platform.

    Icechunk pickles the callback (and Dask ships it to workers), so it keeps no state between
    calls: it decides from the initial credentials' expiry alone. Icechunk caches what it
    returns until shortly before it expires, so the catalog is asked about once per lifetime.
    ``convert`` (a module-level function, so it pickles) turns Floe credentials into Icechunk's.
    """

    def __init__(
        self,
        refresh: Refresher,
        initial: C | None,
        *,
        kind: type[C],
        convert: Callable[[C], Any],
        margin: timedelta,
        label: str,
    ) -> None:
        self.refresh = refresh
        self.initial = initial
        self.kind = kind
        self.convert = convert
        self.margin = margin
        self.label = label

    def __call__(self) -> Any:
        creds = current(self.initial, self.refresh, self.kind, margin=self.margin, label=self.label)
        return self.convert(creds)
