"""Every client operation, written once as a flow (see ``_transport``) for both clients."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from floe.client._transport import CLIENT_INFO, Call, ClientInfo, Flow, Run
from floe.errors import BadRequestError, FloeError, NotFoundError, ValidationError
from floe.models import (
    ApiClient,
    ApiClientAuthenticated,
    ApiClientWithToken,
    Bucket,
    Lease,
    OpenRepoResponse,
    Org,
    Paginated,
    PermissionCheck,
    Principal,
    Repo,
    RepoMode,
    RepoStatus,
    SharedLocation,
    TempCredentials,
    check_name,
)

if TYPE_CHECKING:
    import icechunk

    from floe.client.repository import FloeRepository

PAGE_SIZE = 100


def _opening() -> Any:
    """``floe.client.opening``, imported on first use: it loads Icechunk and the storage adapters."""
    from floe.client import opening

    return opening


def _parse_uri(uri: str, endpoint_url: str | None) -> tuple[str, str, str]:
    from floe.storage import parse_uri

    try:
        return parse_uri(uri, endpoint_url=endpoint_url)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _model(cls: Any) -> Any:
    """A response parser that validates the body as ``cls``."""
    return lambda response: cls.model_validate_json(response.content)


def _models(cls: Any) -> Any:
    return lambda response: [cls.model_validate(item) for item in response.json()]


def split_name(name: str) -> tuple[str, str]:
    """``"org/repo"`` -> ``("org", "repo")``, or a ValidationError that says the expected form."""
    parts = name.split("/") if isinstance(name, str) else []
    if len(parts) != 2:
        raise ValidationError(f"invalid repo name {name!r}: expected the form ORG/REPO, e.g. default/era5")
    try:
        check_name(parts[0], entity="org", max_length=64)
        check_name(parts[1], entity="repo")
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    return parts[0], parts[1]


def confirm(what: str, imsure: bool, imreallysure: bool, *, undo: str | None = None) -> None:
    """Refuse a deletion unless both confirmations are given; ``undo`` says how it can be undone."""
    if not (imsure and imreallysure):
        consequence = f"it can be undone with {undo}" if undo else "it cannot be undone"
        raise BadRequestError(f"deleting {what}: {consequence}; pass imsure=True and imreallysure=True")


# --- who am I ----------------------------------------------------------------------------


def whoami() -> Flow[Principal]:
    """The principal the token stands for."""
    return (yield Call("GET", "/user", parse=_model(Principal)))


# --- repos -------------------------------------------------------------------------------


def _repos_page(
    org: str, filter_metadata: dict[str, Any] | None, page: int, size: int = PAGE_SIZE
) -> Flow[Paginated[Repo]]:
    """One page of an org's repos (``list_repos``, ``list_repos_paginated``)."""
    return (
        yield Call(
            "GET",
            f"/orgs/{org}/repos/paginated",
            params={
                "page": page,
                "size": size,
                "filter_metadata": json.dumps(filter_metadata) if filter_metadata else None,
            },
            parse=_model(Paginated[Repo]),
        )
    )


def list_repos(org: str, filter_metadata: dict[str, Any] | None = None) -> Flow[Sequence[Repo]]:
    """List all repos of an org (every page), optionally only those whose metadata matches."""
    items: list[Repo] = []
    page = 1
    while True:
        result = yield from _repos_page(org, filter_metadata, page)
        items.extend(result.items)
        if result.page >= result.pages:
            return items
        page += 1


def get_repo_object(name: str) -> Flow[Repo]:
    """The repo's catalog entry (see ``get_repo`` for an opened repository)."""
    org, repo = split_name(name)
    return (yield Call("GET", f"/repos/{org}/{repo}", parse=_model(Repo)))


def get_repo(
    name: str,
    *,
    checkout: bool | None = None,
    read_only: bool | None = None,
    config: icechunk.RepositoryConfig | None = None,
    virtual_container_nicknames: dict[str, str] | None = None,
    authorize_virtual_chunk_access: Mapping[str, str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Flow[FloeRepository]:
    """Open a repo by name with one request to the catalog.

    Args:
        name: ``ORG/REPO``.
        checkout: accepted for compatibility; Icechunk repos are not checked out.
        read_only: refuse writes through the returned repository.
        config: an ``icechunk.RepositoryConfig`` whose settings take precedence over the stored ones.
        virtual_container_nicknames: virtual chunk container URL prefix -> bucket config nickname, for
            containers the repo's writers have not authorised in the catalog (or to use other credentials);
            containers registered in the catalog are authorised without it.
        authorize_virtual_chunk_access: the arraylake client's name for ``virtual_container_nicknames``.
        storage_options: ``{"network_stream_timeout_seconds": N}`` for S3, R2 and Tigris storage.
    """
    org, repo = split_name(name)
    overrides = {}
    nicknames = {**(virtual_container_nicknames or {}), **(authorize_virtual_chunk_access or {})}
    for container_prefix, nickname in nicknames.items():
        overrides[container_prefix] = yield from get_icechunk_container_credentials_from_bucket(org, nickname)
    info: ClientInfo = yield CLIENT_INFO
    full = f"{org}/{repo}"
    # read-only opens get read-only credentials, so they are remembered apart from writable ones
    cache_key = f"{full}?read_only" if read_only else full
    opened = info.cache.get(cache_key)
    if opened is None:
        opened = yield Call(
            "GET",
            f"/repos/{org}/{repo}/open",
            params={"read_only": "true"} if read_only else None,
            parse=_model(OpenRepoResponse),
        )
        info.cache.put(cache_key, opened)
    try:
        return (
            yield Run(
                _opening().open_repository,
                (full, opened, info, config),
                {
                    "create": False,
                    "read_only": read_only,
                    "container_overrides": overrides,
                    "storage_options": storage_options,
                },
            )
        )
    except FloeError:
        info.cache.drop(cache_key)
        raise


def create_repo(
    name: str,
    *,
    bucket_config_nickname: str | None = None,
    kind: str | None = None,
    prefix: str | None = None,
    config: icechunk.RepositoryConfig | None = None,
    virtual_container_nicknames: dict[str, str] | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    authorize_virtual_chunk_access: Mapping[str, str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Flow[FloeRepository]:
    """Create a repo: register it in the catalog, then create the Icechunk repo in its storage.

    ``config`` (an ``icechunk.RepositoryConfig``) is saved with the repo and used whenever it
    is opened. If the Icechunk repo cannot be written, the catalog entry is removed again.
    ``virtual_container_nicknames`` (or the arraylake client's ``authorize_virtual_chunk_access``), and
    virtual chunk containers in ``config`` whose URL prefix lies in one of the org's bucket configs,
    become the repo's registered containers, so readers open them without extra steps.
    ``storage_options``: ``{"network_stream_timeout_seconds": N}`` for S3, R2 and Tigris storage.
    """
    if kind not in (None, "icechunk"):
        raise ValidationError(
            f"kind {kind!r} is not supported: Floe repos are Icechunk repos (kind='icechunk')"
        )
    _opening().check_config(config)
    org, repo = split_name(name)
    body = {
        "name": repo,
        "bucket_nickname": bucket_config_nickname,
        "prefix": prefix,
        "description": description,
        "metadata": metadata,
        "create_mode": "register",
    }
    yield Call("POST", f"/orgs/{org}/repos", json=body, parse=_model(Repo))
    try:
        containers = {**(virtual_container_nicknames or {}), **(authorize_virtual_chunk_access or {})}
        if config is not None and config.virtual_chunk_containers:
            buckets = yield from list_bucket_configs(org)
            found = _opening().containers_in_buckets(list(config.virtual_chunk_containers), buckets)
            containers = {**found, **containers}
        if containers:
            yield from set_virtual_chunk_containers(f"{org}/{repo}", containers)
        opened: OpenRepoResponse = yield Call(
            "GET", f"/repos/{org}/{repo}/open", parse=_model(OpenRepoResponse)
        )
        info: ClientInfo = yield CLIENT_INFO
        created = yield Run(
            _opening().open_repository,
            (f"{org}/{repo}", opened, info, config),
            {"create": True, "storage_options": storage_options},
        )
    except Exception:
        # Nothing half-created: the prefix was empty when registered, so clearing it is safe.
        yield Call("DELETE", f"/orgs/{org}/{repo}")
        raise
    # The entry is ready for others from here (without this, at its next open or the server's reaper).
    yield Call("POST", f"/repos/{org}/{repo}/created", parse=_model(Repo))
    return created


def get_or_create_repo(
    name: str,
    *,
    checkout: bool | None = None,
    bucket_config_nickname: str | None = None,
    kind: str | None = None,
    prefix: str | None = None,
    config: icechunk.RepositoryConfig | None = None,
    virtual_container_nicknames: dict[str, str] | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    authorize_virtual_chunk_access: Mapping[str, str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Flow[FloeRepository]:
    """Open the repo if it exists, else create it (``bucket_config_nickname``, ``prefix``, ``description``
    and ``metadata`` apply then)."""
    try:
        return (
            yield from get_repo(
                name,
                checkout=checkout,
                config=config,
                authorize_virtual_chunk_access=authorize_virtual_chunk_access,
                storage_options=storage_options,
            )
        )
    except NotFoundError:
        pass
    return (
        yield from create_repo(
            name,
            bucket_config_nickname=bucket_config_nickname,
            kind=kind,
            prefix=prefix,
            config=config,
            virtual_container_nicknames=virtual_container_nicknames,
            description=description,
            metadata=metadata,
            authorize_virtual_chunk_access=authorize_virtual_chunk_access,
            storage_options=storage_options,
        )
    )


def import_repo_object(
    name: str,
    bucket_config_nickname: str | None = None,
    prefix: str | None = None,
    *,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    authorize_virtual_chunk_access: Mapping[str, str] | None = None,
) -> Flow[Repo]:
    """Register an Icechunk repo that already exists at ``prefix`` of a bucket config (the org's default
    one when not given) and return its catalog entry, without opening it (so this machine need not
    reach the storage); ``authorize_virtual_chunk_access`` registers its virtual chunk containers
    (URL prefix -> bucket config nickname). ``import_repo`` does the same and opens the repo."""
    org, repo = split_name(name)
    if prefix is None:
        raise ValidationError("import_repo needs the prefix where the Icechunk repo is, e.g. prefix='era5'")
    body = {
        "name": repo,
        "bucket_nickname": bucket_config_nickname,
        "prefix": prefix,
        "description": description,
        "metadata": metadata,
    }
    imported: Repo = yield Call("POST", f"/orgs/{org}/repos/import", json=body, parse=_model(Repo))
    if authorize_virtual_chunk_access:
        yield from set_virtual_chunk_containers(f"{org}/{repo}", dict(authorize_virtual_chunk_access))
    return imported


def import_repo(
    name: str,
    bucket_config_nickname: str | None = None,
    prefix: str | None = None,
    *,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    authorize_virtual_chunk_access: Mapping[str, str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Flow[FloeRepository]:
    """Register an Icechunk repo that already exists at ``prefix`` of a bucket config (the org's default
    one when not given), then open it, as ``get_repo`` does (``storage_options`` apply there), and return
    the opened repository, as the arraylake client's ``import_repo`` does. ``authorize_virtual_chunk_access``
    registers its virtual chunk containers (URL prefix -> bucket config nickname), which the opened
    repository may then read. If the repo cannot be opened from here, the registration is undone (the
    objects in storage are not touched) and the error raised; ``import_repo_object`` registers without
    opening and returns the catalog entry."""
    if storage_options:
        _opening().check_storage_options(storage_options)
    org, repo = split_name(name)
    yield from import_repo_object(
        name,
        bucket_config_nickname,
        prefix,
        description=description,
        metadata=metadata,
        authorize_virtual_chunk_access=authorize_virtual_chunk_access,
    )
    try:
        return (yield from get_repo(name, storage_options=storage_options))
    except FloeError as failure:
        # Only the catalog entry goes (keep_data): the Icechunk repo was there before and stays.
        with contextlib.suppress(FloeError):  # if this fails, the error that matters is still the open's
            yield Call("DELETE", f"/orgs/{org}/{repo}", params={"keep_data": "true"})
        raise failure


def modify_repo(
    name: str,
    description: str | None = None,
    add_metadata: dict[str, Any] | None = None,
    remove_metadata: list[str] | None = None,
    update_metadata: dict[str, Any] | None = None,
    optimization_config: Any = None,
) -> Flow[Repo]:
    """Change a repo's description or metadata (the arraylake client's positional order);
    ``optimization_config`` (a dict or the arraylake client's model) is accepted and recorded in the
    audit trail, but not stored: Floe does not act on it, and ``Repo`` has no such field."""
    org, repo = split_name(name)
    if optimization_config is not None and hasattr(optimization_config, "model_dump"):
        optimization_config = optimization_config.model_dump(mode="json")
    body = {
        "description": description,
        "add_metadata": add_metadata,
        "update_metadata": update_metadata,
        "remove_metadata": remove_metadata,
        "optimization_config": optimization_config,
    }
    return (yield Call("PATCH", f"/orgs/{org}/{repo}", json=body, parse=_model(Repo)))


def set_repo_status(name: str, *, mode: str, message: str | None = None) -> Flow[RepoStatus]:
    """Set a repo ``online``, in ``maintenance`` (read-only) or ``offline``."""
    org, repo = split_name(name)
    try:
        RepoMode(mode)
    except ValueError:
        raise ValidationError(f"invalid mode {mode!r}: use online, maintenance or offline") from None
    body = {"mode": mode, "message": message}
    info: ClientInfo = yield CLIENT_INFO
    info.cache.drop(f"{org}/{repo}")
    return (yield Call("PUT", f"/orgs/{org}/{repo}/status", json=body, parse=_model(RepoStatus)))


def delete_repo(
    name: str, *, imsure: bool = False, imreallysure: bool = False, keep_data: bool = False
) -> Flow[None]:
    """Delete a repo: it moves to the org's trash, its objects kept until purged (see ``restore_repo``,
    ``purge_repo``); ``keep_data=True`` only unregisters it, leaving the objects and no trash entry."""
    org, repo = split_name(name)
    confirm(
        f"repo {name}",
        imsure,
        imreallysure,
        undo=None if keep_data else "restore_repo while it is in the trash",
    )
    info: ClientInfo = yield CLIENT_INFO
    info.cache.drop(f"{org}/{repo}")
    yield Call("DELETE", f"/orgs/{org}/{repo}", params={"keep_data": "true" if keep_data else None})


def get_icechunk_storage(name: str, credentials_override: Any = None) -> Flow[icechunk.Storage]:
    """The ``icechunk.Storage`` of a repo, with credentials vended by the catalog, or
    ``credentials_override``: Floe's ``S3Credentials`` / ``GSCredentials``, the arraylake client's
    models of those names, or icechunk's static S3 or bearer-token credentials."""
    org, repo = split_name(name)
    opening = _opening()
    override: TempCredentials | None = opening.as_temp_credentials(credentials_override)
    opened: OpenRepoResponse = yield Call("GET", f"/repos/{org}/{repo}/open", parse=_model(OpenRepoResponse))
    info: ClientInfo = yield CLIENT_INFO
    return opening.repo_storage(f"{org}/{repo}", opened, info, override)


def list_leases(name: str) -> Flow[list[Lease]]:
    """The commit leases currently held on the repo's refs."""
    org, repo = split_name(name)
    return (yield Call("GET", f"/repos/{org}/{repo}/leases", parse=_models(Lease)))


def break_lease(name: str, *, ref: str) -> Flow[Lease]:
    """Break the lease on ``ref`` (``branch.NAME`` / ``tag.NAME``); repo admins only."""
    org, repo = split_name(name)
    return (yield Call("DELETE", f"/repos/{org}/{repo}/leases/{ref}", parse=_model(Lease)))


# --- virtual chunk containers ----------------------------------------------------------


def get_icechunk_container_credentials_from_bucket(org: str, bucket_config_nickname: str) -> Flow[Any]:
    """Icechunk credentials (read-only where the platform allows) for a bucket config's virtual chunks."""
    bucket: Bucket = yield Call("GET", f"/orgs/{org}/buckets/{bucket_config_nickname}", parse=_model(Bucket))
    opening = _opening()
    creds = yield Call(
        "GET",
        f"/orgs/{org}/buckets/{bucket_config_nickname}/credentials",
        parse=lambda r: opening.parse_credentials(r.content),
    )
    return opening.bucket_container_credentials(bucket, creds)


def containers_credentials_for_buckets(
    org: str, containers_to_buckets_map: Mapping[str, str] | None = None, **kwargs: str
) -> Flow[dict[str, Any]]:
    """``icechunk.containers_credentials`` for each container (URL prefix) -> bucket config nickname."""
    mapping = {**(containers_to_buckets_map or {}), **kwargs}
    found = {}
    for container_prefix, nickname in mapping.items():
        found[container_prefix] = yield from get_icechunk_container_credentials_from_bucket(org, nickname)
    return _opening().containers_credentials(found)


def set_virtual_chunk_containers(name: str, containers: dict[str, str]) -> Flow[dict[str, str | None]]:
    """Authorise virtual chunk containers (URL prefix -> bucket config nickname) for a repo; writers only."""
    org, repo = split_name(name)
    info: ClientInfo = yield CLIENT_INFO
    info.cache.drop(f"{org}/{repo}")
    return (
        yield Call(
            "PATCH",
            f"/repos/icechunk/{org}/{repo}/virtual-chunk-containers",
            json={"add": containers, "remove": []},
            parse=lambda r: r.json(),
        )
    )


def get_virtual_chunk_containers(name: str) -> Flow[dict[str, str | None]]:
    """The repo's virtual chunk containers: URL prefix -> bucket config nickname."""
    org, repo = split_name(name)
    return (
        yield Call("GET", f"/repos/icechunk/{org}/{repo}/virtual-chunk-containers", parse=lambda r: r.json())
    )


# --- bucket configs ----------------------------------------------------------------------


def _bucket_body(
    nickname: str,
    uri: str,
    extra_config: dict[str, Any] | None,
    auth_config: dict[str, Any] | None,
    platform: str | None,
) -> dict[str, Any]:
    extra = dict(extra_config or {})
    parsed_platform, bucket, prefix = _parse_uri(uri, extra.get("endpoint_url"))
    chosen = platform or parsed_platform
    if auth_config is None:
        auth_config = {"method": "none"} if chosen in ("file", "memory") else {"method": "anonymous"}
    if "method" not in auth_config:
        raise ValidationError(
            'auth_config needs a "method": anonymous or hmac (with access_key_id and secret_access_key)'
        )
    return {
        "nickname": nickname,
        "platform": chosen,
        "name": bucket,
        "prefix": prefix,
        "extra_config": extra,
        "auth_config": auth_config,
    }


def create_bucket_config(
    *,
    org: str,
    nickname: str,
    uri: str,
    extra_config: dict[str, Any] | None = None,
    auth_config: dict[str, Any] | None = None,
    platform: str | None = None,
) -> Flow[Bucket]:
    """Register storage under a nickname. ``uri`` is ``platform://bucket[/prefix]``.

    ``s3://`` with ``extra_config["endpoint_url"]`` means an S3-compatible store; pass
    ``platform="minio"`` to say so explicitly. ``auth_config`` defaults to anonymous.
    """
    body = _bucket_body(nickname, uri, extra_config, auth_config, platform)
    return (yield Call("POST", f"/orgs/{org}/buckets", json=body, parse=_model(Bucket)))


def modify_bucket_config(
    *,
    org: str,
    nickname: str,
    new_nickname: str | None = None,
    extra_config: dict[str, Any] | None = None,
    auth_config: dict[str, Any] | None = None,
    prefix: str | None = None,
) -> Flow[Bucket]:
    """Change a bucket config (its location only while no repo uses it)."""
    body = {
        k: v
        for k, v in {
            "nickname": new_nickname,
            "extra_config": extra_config,
            "auth_config": auth_config,
            "prefix": prefix,
        }.items()
        if v is not None
    }
    return (yield Call("PATCH", f"/orgs/{org}/buckets/{nickname}", json=body, parse=_model(Bucket)))


def set_default_bucket_config(*, org: str, nickname: str) -> Flow[None]:
    """Make a bucket config the org's default for new repos."""
    yield Call("POST", f"/orgs/{org}/buckets/{nickname}/default")


def get_bucket_config(*, org: str, nickname: str) -> Flow[Bucket]:
    """One bucket config, secrets redacted."""
    return (yield Call("GET", f"/orgs/{org}/buckets/{nickname}", parse=_model(Bucket)))


def check_bucket_config(*, org: str, nickname: str) -> Flow[Bucket]:
    """Probe a bucket config's storage again (org admins): reachability, listing, reading, writing,
    conditional create and update. What was found is in ``capabilities`` (an ``error`` there
    says what is wrong and how to fix it); it is stored with the bucket config."""
    return (yield Call("POST", f"/orgs/{org}/buckets/{nickname}/check", parse=_model(Bucket)))


def list_bucket_configs(org: str) -> Flow[list[Bucket]]:
    """All bucket configs of an org, secrets redacted."""
    return (yield Call("GET", f"/orgs/{org}/buckets", parse=_models(Bucket)))


def list_repos_for_bucket_config(*, org: str, nickname: str) -> Flow[list[Repo]]:
    """The repos that use a bucket config."""
    return (yield Call("GET", f"/orgs/{org}/buckets/{nickname}/repos", parse=_models(Repo)))


def delete_bucket_config(
    *, org: str, nickname: str, imsure: bool = False, imreallysure: bool = False
) -> Flow[None]:
    """Delete a bucket config (never the bucket itself); refused while repos use it."""
    confirm(f"bucket config {nickname}", imsure, imreallysure)
    yield Call("DELETE", f"/orgs/{org}/buckets/{nickname}")


def list_shared_locations(org: str) -> Flow[list[SharedLocation]]:
    """Storage locations a site admin has shared with an org (org admins may look)."""
    return (yield Call("GET", f"/orgs/{org}/locations", parse=_models(SharedLocation)))


def share_location(
    *, org: str, uri: str, extra_config: dict[str, Any] | None = None, platform: str | None = None
) -> Flow[SharedLocation]:
    """Let an org use a storage location (site admins only): its bucket configs may then point inside
    it even where other orgs use it too, and, for ``file://`` folders, outside the org's own folder.
    ``extra_config`` names the store (``endpoint_url``; ``account_name`` for Azure)."""
    extra = dict(extra_config or {})
    parsed_platform, name, prefix = _parse_uri(uri, extra.get("endpoint_url"))
    body = {"platform": platform or parsed_platform, "name": name, "prefix": prefix, "extra_config": extra}
    return (yield Call("POST", f"/orgs/{org}/locations", json=body, parse=_model(SharedLocation)))


def unshare_location(*, org: str, location_id: str) -> Flow[None]:
    """Stop sharing a location with an org (site admins); refused while its bucket configs lie there."""
    yield Call("DELETE", f"/orgs/{org}/locations/{location_id}")


# --- orgs, tokens, permissions -----------------------------------------------------------


def list_orgs() -> Flow[list[Org]]:
    """The orgs this token may see."""
    return (yield Call("GET", "/orgs", parse=_models(Org)))


def create_org(name: str, *, description: str | None = None) -> Flow[Org]:
    """Create an org (site admins only)."""
    return (yield Call("POST", "/orgs", json={"name": name, "description": description}, parse=_model(Org)))


def get_org(name: str) -> Flow[Org]:
    return (yield Call("GET", f"/orgs/{name}", parse=_model(Org)))


def delete_org(name: str, *, imsure: bool = False, imreallysure: bool = False) -> Flow[None]:
    """Delete an org with its bucket configs and tokens; refused while it has repos."""
    confirm(f"org {name}", imsure, imreallysure)
    yield Call("DELETE", f"/orgs/{name}")


def create_api_client(
    org: str,
    *,
    name: str,
    role: str = "member",
    email: str | None = None,
    expires_in_days: float | None = None,
) -> Flow[ApiClientWithToken]:
    """Create an API client (service account); the token is in the result, shown once."""
    body = {"name": name, "role": role, "email": email, "expires_in_days": expires_in_days}
    return (yield Call("POST", f"/orgs/{org}/api-clients", json=body, parse=_model(ApiClientWithToken)))


def list_api_clients(org: str, *, include_revoked: bool = False) -> Flow[list[ApiClient]]:
    params = {"include_revoked": "true" if include_revoked else None}
    return (yield Call("GET", f"/orgs/{org}/api-clients", params=params, parse=_models(ApiClient)))


def revoke_api_client(org: str, client: str) -> Flow[ApiClient]:
    """Revoke an API client's token, by id or name."""
    return (yield Call("DELETE", f"/orgs/{org}/api-clients/{client}", parse=_model(ApiClient)))


def get_api_client_id_from_token(org: str, token: str) -> Flow[str]:
    """The id of the API client a token belongs to."""
    found: ApiClientAuthenticated = yield Call(
        "GET",
        f"/orgs/{org}/api-clients/authenticate",
        params={"token": token},
        parse=_model(ApiClientAuthenticated),
    )
    return str(found.id)


def get_permission_check(org: str, principal_id: str | UUID, resource: str, action: Any) -> Flow[bool]:
    """Whether a principal may perform ``action`` (e.g. ``"CAN_WRITE"``) on ``resource`` (org, ORG/REPO or repo id)."""
    action_name = getattr(action, "value", action)
    params = {"principal_id": str(principal_id), "resource": resource, "action": str(action_name)}
    found: PermissionCheck = yield Call(
        "GET", f"/orgs/{org}/permissions/check", params=params, parse=_model(PermissionCheck)
    )
    return found.has_permission
