"""Opening a repo through a share link, without an account: ``floe.open_shared(url)``.

A share link (``{server}/shared/fls_...``) is its own credential: no token, no config file. The
server answers ``GET {link}/open`` with the repo's location and read-only credentials; expiring
credentials are fetched again the same way when they run out, for as long as the link lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import icechunk

from floe.client._transport import check_response, default_headers, shared_http
from floe.client.repository import FloeRepository
from floe.errors import FloeError, ServiceUnreachableError, StorageError, ValidationError
from floe.models import TempCredentials
from floe.models.sharing import SHARE_TOKEN_PREFIX, SharedRepoOpen
from floe.storage import BucketSpec, icechunk_storage
from floe.storage.probe import icechunk_config_for

__all__ = ["SharedRepository", "open_shared"]


def _link(url: str) -> str:
    """The link itself (``{server}/shared/{token}``) from what a person pasted; ValidationError otherwise."""
    if not isinstance(url, str):
        raise ValidationError("a share link is a URL such as https://floe.example.org/shared/fls_...")
    text = url.strip().rstrip("/").removesuffix("/open")
    parts = urlsplit(text)
    base, _, token = parts.path.rpartition("/shared/")
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or not token.startswith(SHARE_TOKEN_PREFIX)
        or "/" in token
        or parts.query
        or parts.fragment
    ):
        raise ValidationError(
            f"{url!r} is not a share link: expected a URL such as https://floe.example.org/shared/{SHARE_TOKEN_PREFIX}..."
        )
    return f"{parts.scheme}://{parts.netloc}{base}/shared/{token}"


def _fetch(link: str, client: httpx.Client | None = None) -> SharedRepoOpen:
    """Ask the server what the link opens (no token is sent)."""
    http = client or shared_http()
    try:
        response = http.get(f"{link}/open", headers=default_headers(None))
    except httpx.TransportError as exc:
        server = link.rsplit("/shared/", 1)[0]
        raise ServiceUnreachableError(
            f"cannot reach the Floe server of this share link ({server}): {type(exc).__name__}"
        ) from None
    check_response(response)  # 410 (expired, revoked) becomes floe.GoneError
    return SharedRepoOpen.model_validate_json(response.content)


@dataclass(frozen=True)
class ShareLinkCredentials:
    """A picklable callable that asks the link for fresh read-only credentials (Icechunk's refresh)."""

    link: str

    def __call__(self) -> TempCredentials:
        opened = _fetch(self.link)
        if opened.credentials is None:
            raise ValidationError("the share link no longer hands out credentials; open it again")
        return opened.credentials


class SharedRepository(FloeRepository):
    """A repository opened through a share link: read-only (every write is refused), with the link's
    ``share_ref`` (None: main) and ``share_expires``. ``shared_session()`` reads at the link's ref."""

    share_ref: str | None = None
    share_expires: datetime | None = None
    share_url: str | None = None

    def shared_session(self) -> icechunk.Session:
        """A read-only session at the ref the link points at (a branch, a tag or a snapshot id)."""
        from floe import inspection

        target = inspection.resolve(self, self.share_ref or "main")
        return self.readonly_session(snapshot_id=target.snapshot_id)

    def _share_state(self) -> dict[str, Any]:
        return {"share_ref": self.share_ref, "share_expires": self.share_expires, "share_url": self.share_url}

    def _carry_to(self, new: FloeRepository) -> FloeRepository:
        carried = super()._carry_to(new)
        for key, value in self._share_state().items():
            setattr(carried, key, value)
        return carried

    def __getstate__(self) -> object:
        state = super().__getstate__()
        assert isinstance(state, dict)
        return {**state, "_share": self._share_state()}

    def __setstate__(self, state: object) -> None:
        assert isinstance(state, dict)
        for key, value in state.pop("_share", {}).items():
            setattr(self, key, value)
        super().__setstate__(state)

    def __repr__(self) -> str:
        return f"<SharedRepository {self.full_name} (read-only share link, expires {self.share_expires})>"


def _storage(opened: SharedRepoOpen, link: str) -> icechunk.Storage:
    spec = BucketSpec(
        platform=opened.platform,
        name=opened.bucket,
        prefix="",
        extra_config=dict(opened.extra_config),
        auth={"method": opened.auth_method},
    )
    creds = opened.credentials
    expiring = creds is not None and creds.expiration is not None
    refresh = ShareLinkCredentials(link) if expiring else None
    return icechunk_storage(spec, opened.prefix, creds, refresh)


def open_shared(url: str, *, config: icechunk.RepositoryConfig | None = None) -> SharedRepository:
    """Open a repo through a share link, read-only, without an account or token.

    Args:
        url: the link, ``https://floe.example.org/shared/fls_...`` (as ``floe repo share`` prints it).
        config: an ``icechunk.RepositoryConfig`` whose settings take precedence over the stored ones.

    Returns a :class:`SharedRepository` (an ``icechunk.Repository``): every write through it raises
    :class:`floe.RepoUnavailableError`. Raises :class:`floe.GoneError` (410) for an expired or revoked
    link, :class:`floe.NotFoundError` for an unknown one.
    """
    if config is not None and not isinstance(config, icechunk.RepositoryConfig):
        raise ValidationError("config must be an icechunk.RepositoryConfig")
    link = _link(url)
    opened = _fetch(link)
    try:
        storage = _storage(opened, link)
        config = icechunk_config_for(opened.capabilities, config)
        repo = SharedRepository.open(storage, config=config)
    except FloeError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # Icechunk errors, including Rust panics
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageError(f"opening {opened.repo} through its share link failed: {first[:400]}") from None
    repo._floe_init(
        full_name=opened.repo,
        write_block=f"{opened.repo} was opened through a read-only share link",
    )
    repo.share_ref = opened.ref
    repo.share_expires = opened.expires
    repo.share_url = link
    return repo
