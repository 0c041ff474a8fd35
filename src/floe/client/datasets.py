"""Writing an xarray dataset into an Icechunk session, with whichever path the installed xarray supports.

Icechunk 1.1's ``icechunk.xarray.to_icechunk`` passes ``synchronizer`` to xarray's Zarr backend, which
xarray 2026 no longer accepts. :func:`write_dataset` uses ``to_icechunk`` where it works (it also handles
dask's distributed scheduler) and otherwise ``Dataset.to_zarr`` on the session's store, which works with
every xarray Floe allows and with dask's local schedulers.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any


@functools.cache
def to_icechunk_works() -> bool:
    """True when the installed xarray still takes what ``icechunk.xarray.to_icechunk`` passes it."""
    from xarray.backends.zarr import ZarrStore

    return "synchronizer" in inspect.signature(ZarrStore.open_group).parameters


def write_dataset(ds: Any, session: Any, *, group: str | None = None, **kwargs: Any) -> None:
    """Write ``ds`` (an ``xarray.Dataset``) into ``session`` (a writable ``icechunk.Session``); commit after.

    ``kwargs`` are those of ``to_icechunk`` / ``Dataset.to_zarr``: ``mode``, ``append_dim``,
    ``region``, ``encoding``, ``align_chunks`` ... Consolidated metadata is never written.
    """
    if to_icechunk_works():
        from icechunk.xarray import to_icechunk

        to_icechunk(ds, session, group=group, **kwargs)
    else:
        ds.to_zarr(session.store, group=group, consolidated=False, zarr_format=3, **kwargs)
