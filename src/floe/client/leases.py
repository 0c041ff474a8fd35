"""Commit leases, client side: hold the catalog's lease on a ref while an operation moves it."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from floe.client._transport import check_response, default_headers, shared_http
from floe.errors import ConflictError, FloeError, RepoUnavailableError
from floe.models import Lease

log = logging.getLogger("floe.leases")


@dataclass(frozen=True)
class LeaseClient:
    """Takes, renews and releases leases on one repo's refs. Picklable (it travels with repos)."""

    service_uri: str
    token: str | None
    org: str
    repo: str
    ttl_seconds: float = 30.0
    max_wait_seconds: float = 300.0

    def _url(self, *parts: str) -> str:
        return "/".join([f"{self.service_uri}/repos/{self.org}/{self.repo}/leases", *parts])

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = shared_http().request(method, url, headers=default_headers(self.token), **kwargs)
        check_response(response)
        return response

    def acquire(self, ref: str, purpose: str) -> Lease:
        """Take the lease on ``ref``, waiting (with backoff) while another writer holds it."""
        holder = f"{socket.gethostname()} pid {os.getpid()}: {purpose}"[:200]
        deadline = time.monotonic() + self.max_wait_seconds
        delay = 0.02
        while True:
            try:
                body = {"holder": holder, "ttl_seconds": self.ttl_seconds}
                return Lease.model_validate_json(self._request("POST", self._url(ref), json=body).content)
            except ConflictError as exc:
                if time.monotonic() > deadline:
                    raise RepoUnavailableError(f"gave up waiting for the lease: {exc.message}") from None
                time.sleep(delay)
                delay = min(delay * 1.5, 1.0)

    def renew(self, lease: Lease) -> Lease:
        body = {"holder": lease.holder, "ttl_seconds": self.ttl_seconds}
        return Lease.model_validate_json(
            self._request("PUT", self._url(lease.ref, lease.lease_id), json=body).content
        )

    def release(self, lease: Lease) -> None:
        self._request("DELETE", self._url(lease.ref, lease.lease_id))

    @contextmanager
    def hold(self, ref: str, purpose: str) -> Iterator[Lease]:
        """Hold the lease on ``ref`` for the duration of the block, renewing it in the background."""
        lease = self.acquire(ref, purpose)
        stop = threading.Event()

        def keep_alive() -> None:
            while not stop.wait(self.ttl_seconds / 3):
                try:
                    self.renew(lease)
                except FloeError as exc:  # lost or unreachable: the operation's result will tell
                    log.warning("could not renew the lease on %s: %s", ref, exc)

        thread = threading.Thread(target=keep_alive, name=f"floe-lease-{ref}", daemon=True)
        thread.start()
        try:
            yield lease
        finally:
            stop.set()
            thread.join()
            try:
                self.release(lease)
            except FloeError as exc:
                log.warning("could not release the lease on %s (it will expire): %s", ref, exc)
