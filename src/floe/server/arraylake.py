"""Everything Floe keeps only for the official ``arraylake`` client (0.33), in one place.

Floe's HTTP API follows the Arraylake service API, so most routes serve both clients unchanged. What
exists *only* because that client calls or parses it is here, or is listed here:

Recognising it
    :func:`is_arraylake_client` / :data:`ArraylakeDep`: its requests carry ``client-name: arraylake...``;
    routes that shape answers for it take the dependency.
Request handling
    :func:`default_json_content_type`: it posts JSON bodies without a ``content-type``.
Routes kept only for it
    ``POST /user/diagnostics`` (:data:`router`): accepted and dropped.
    Sign-in (:mod:`floe.server.arraylake_signin`): ``POST /oauth/device/code``, ``POST /oauth/token``
    (device and refresh-token grants), ``GET /v2/logout`` and ``POST /auth/update-user``, its Auth0
    dialect of Floe's device flow; ``/auth/config`` carries ``domain`` and ``client_id`` for it.
Answers shaped for it
    * bucket configs (:func:`compatible_bucket`): only :data:`PLATFORMS` it knows, and auth configs in
      its shapes (delegated methods as its "customer managed role" methods, placeholders for the
      HMAC keys its model requires);
    * repos (:func:`repo_for_client`): on HMAC buckets the keys a caller may have are filled into
      ``repo.bucket.auth_config``, because it reads them there rather than from a credential route;
    * bucket configs and ``open`` answers on storage it cannot use: a 404 or 409 naming ``floe.Client``
      (:func:`bucket_for_client`, :func:`open_for_client`); ``open`` answers without ``repo``;
    * permission checks (:func:`action_named`): its action names (``CAN_READ``, ``CAN_WRITE_REPOS``...);
    * ``/user`` for API clients (:func:`principal_for_client`): a ``UserInfo`` whose names make a readable
      commit author (``NAME (API client)``), as that client takes the author from ``/user``;
    * ``open`` of an offline repo: an answer with ``status.mode == "offline"`` and no credentials, which
      that client turns into its own message, rather than a 423 (``describe_offline`` of the catalog);
    * creating a repo on a bucket config it cannot use (the org's default ``file`` config on a fresh
      server): a 409 naming the fix (:func:`check_create_target`), not its own crash after a 201.
Fields kept only for it (in :mod:`floe.models`, marked "arraylake client" there)
    ``Repo``: the ``_id`` alias, ``visibility``, ``permissions``; ``RepoStatus``: ``initiated_by``,
    ``is_user_modifiable``, ``estimated_end_time``; ``RepoCreate``: ``kind``, ``create_mode``,
    ``spec_version``; ``RepoUpdate.optimization_config``; ``Caller``: ``expiration`` (epoch seconds),
    ``first_name`` / ``family_name`` (a ``UserInfo`` rather than ``ApiTokenInfo`` answer);
    ``ApiClientAuthenticated`` (``GET /orgs/{org}/api-clients/authenticate``). Tokens start with
    ``ema_`` (``floe.server.keys.TOKEN_PREFIX``): it accepts no other opaque tokens.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.types import Scope

from floe.errors import ConflictError, NotFoundError, ValidationError
from floe.models import REDACTED, Bucket, OpenRepoResponse, OrgAction, Principal, Repo, RepoAction
from floe.server.auth import Action, Caller
from floe.server.catalog import Catalog, buckets, orgs
from floe.server.catalog.repos import repo_credentials
from floe.server.deps import CallerDep
from floe.storage import ReaderKeysMissing

# The platforms that client understands; the rest (r2, tigris, file, memory) are Floe's own.
PLATFORMS = frozenset({"s3", "s3-compatible", "minio", "gs", "azure"})

# Its permission-check action names, mapped onto Floe's.
ACTIONS: dict[str, Action] = {
    OrgAction.CAN_READ_REPOS: Action.REPO_READ,
    OrgAction.CAN_READ_REPOS_WITH_FLUX: Action.REPO_READ,
    OrgAction.CAN_WRITE_REPOS: Action.REPO_WRITE,
    OrgAction.CAN_MANAGE_USERS: Action.ORG_ADMIN,
    RepoAction.CAN_READ: Action.REPO_READ,
    RepoAction.CAN_READ_WITH_FLUX: Action.REPO_READ,
    RepoAction.CAN_WRITE: Action.REPO_WRITE,
    RepoAction.CAN_SYNC: Action.REPO_WRITE,
    RepoAction.CAN_MANAGE_USERS: Action.REPO_ADMIN,
}

router = APIRouter()


# --- recognising it, and its requests -------------------------------------------------------


def from_arraylake_client(request: Request) -> bool:
    """True for the official arraylake client, which gets the subset of the API it can parse."""
    return request.headers.get("client-name", "").startswith("arraylake")


async def is_arraylake_client(request: Request) -> bool:
    """:func:`from_arraylake_client` as a route dependency (async: no hop to the thread pool)."""
    return from_arraylake_client(request)


ArraylakeDep = Annotated[bool, Depends(is_arraylake_client)]


_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def default_json_content_type(scope: Scope) -> None:
    """Treat a request body sent without a content type as JSON (``scope`` is changed in place).

    The arraylake client posts JSON bodies without ``content-type``; FastAPI would then
    refuse to parse them. Called by :class:`floe.server.edge.Edge` for every request.
    """
    if scope["method"] in _WITH_BODY:
        headers = scope["headers"]
        if not any(name == b"content-type" for name, _ in headers):
            scope["headers"] = [*headers, (b"content-type", b"application/json")]


@router.post("/user/diagnostics", status_code=204, tags=["meta"])
def diagnostics(principal: CallerDep) -> Response:
    """Accepted and dropped: the arraylake client posts run-time diagnostics here."""
    return Response(status_code=204)


# --- answers in its shapes ------------------------------------------------------------------


def _auth_shape(platform: str, auth: dict[str, Any]) -> dict[str, Any] | None:
    """Floe's auth config in the shape the arraylake client knows, or None if it has none.

    Delegated methods become that client's "customer managed role" methods, which make it
    fetch (and refresh) credentials from the repo's ``bucket-credentials`` route.
    """
    method = auth.get("method")
    if method == "anonymous" and platform == "azure":
        return None  # that client cannot open anonymous Azure containers
    if method == "hmac":  # its model needs both keys: placeholders where they are not shown
        return {"access_key_id": REDACTED, "secret_access_key": REDACTED, **auth}
    if method == "anonymous":
        return auth
    if method == "aws_sts" and platform == "s3":
        arn = str(auth.get("role_arn", ""))
        account, _, role = arn.removeprefix("arn:aws:iam::").partition(":role/")
        return {
            "method": "aws_customer_managed_role",
            "external_customer_id": account,
            "external_role_name": role,
        }
    if method == "gcs_service_account" and platform == "gs":
        return {
            "method": "gcp_customer_managed_role",
            "target_service_account": str(auth.get("client_email", "")),
        }
    if method == "azure_account_key" and platform == "azure":
        return {
            "method": "azure_credential_delegation",
            "tenant_id": "floe",
            "storage_account": str(auth.get("account_name", "")),
        }
    return None


def compatible_bucket(bucket: Bucket | None) -> Bucket | None:
    """The bucket as the arraylake client may see it; ``None`` where it could not use it
    (platforms and credential methods it does not know)."""
    if bucket is None or bucket.platform not in PLATFORMS:
        return None
    auth = _auth_shape(bucket.platform, bucket.auth_config or {"method": "anonymous"})
    if auth is None:
        return None
    return bucket if auth == bucket.auth_config else bucket.model_copy(update={"auth_config": auth})


def with_compatible_bucket(repo: Repo) -> Repo:
    """A listed repo with its bucket as the arraylake client may see it."""
    return repo.model_copy(update={"bucket": compatible_bucket(repo.bucket)})


def repo_for_client(cat: Catalog, principal: Caller, repo: Repo) -> Repo:
    """The repo as the official arraylake client needs it.

    That client knows fewer platforms (others get ``bucket: null``), and on HMAC buckets it
    reads the keys from the repo's bucket config rather than from a credential route, so for
    a permitted caller the keys are filled in here, exactly as ``/open`` would vend them.
    """
    bucket = compatible_bucket(repo.bucket)
    if bucket is not None and bucket.auth_config and bucket.auth_config.get("method") == "hmac":
        try:
            creds = repo_credentials(cat, principal, repo.org, repo.name)
        except ReaderKeysMissing:
            creds = None  # a reader of a config without a read-only pair: no keys at all
        if creds is not None:
            auth = {
                **bucket.auth_config,
                "access_key_id": creds.aws_access_key_id,
                "secret_access_key": creds.aws_secret_access_key,
            }
            for field in ("read_access_key_id", "read_secret_access_key", "readers_get_write_keys"):
                auth.pop(field, None)
            bucket = bucket.model_copy(update={"auth_config": auth})
    return repo.model_copy(update={"bucket": bucket})


def action_named(name: str, *, on_repo: bool) -> Action:
    """Floe's action for an arraylake or Floe action name; ``CAN_MANAGE_USERS`` (the same name for
    orgs and repos) means managing the org's people, or the repo's grants."""
    if name == OrgAction.CAN_MANAGE_USERS:
        return Action.REPO_ADMIN if on_repo else Action.ORG_ADMIN
    wanted = ACTIONS.get(name)
    if wanted is not None:
        return wanted
    try:
        return Action(name)
    except ValueError:
        names = sorted({*ACTIONS, *(a.value for a in Action)})
        raise ValidationError(f"unknown action {name!r}: use one of {', '.join(names)}") from None


def open_for_client(opened: OpenRepoResponse, full_name: str) -> OpenRepoResponse:
    """An ``open`` answer for the arraylake client (no ``repo`` field, which it does not parse), or a
    409 when it could not use the repo's bucket config."""
    shown = compatible_bucket(opened.repo_bucket)
    if shown is None:
        raise ConflictError(
            f"repo {full_name} is on bucket config {opened.repo_bucket.nickname!r} "
            f"(platform {opened.repo_bucket.platform!r}), which the arraylake client cannot use; use floe.Client"
        )
    return opened.model_copy(update={"repo_bucket": shown, "repo": None})


def bucket_for_client(found: Bucket) -> Bucket:
    """One bucket config for the arraylake client, or a 404 when it could not use it."""
    shown = compatible_bucket(found)
    if shown is None:
        raise NotFoundError(
            f"bucket config {found.nickname!r} (platform {found.platform!r}) is not "
            "usable by the arraylake client; use floe.Client"
        )
    return shown


def buckets_for_client(found: list[Bucket]) -> list[Bucket]:
    """The bucket configs the arraylake client can use, in its shapes."""
    return [shown for bucket in found if (shown := compatible_bucket(bucket)) is not None]


def principal_for_client(found: Principal) -> Principal:
    """``/user`` for the arraylake client: an API client as a ``UserInfo`` (it parses any answer with
    ``first_name`` as one) whose names make the commit author ``NAME (API client)``, not ``None None``."""
    if found.kind != "api_client":
        return found if found.family_name else found.model_copy(update={"family_name": ""})
    return found.model_copy(update={"first_name": found.name or found.email, "family_name": "(API client)"})


def check_create_target(cat: Catalog, principal: Caller, org: str, nickname: str | None) -> None:
    """Refuse (409) creating a repo through the arraylake client on a bucket config it cannot use: it
    would get a repo with ``bucket: null`` and fail opening it."""
    if nickname is None:
        nickname = orgs.get_org(cat, principal, org).default_bucket_nickname
        if nickname is None:
            return  # the catalog's own refusal names the fix
        which = f"org {org!r}'s default bucket config {nickname!r}"
    else:
        which = f"bucket config {nickname!r}"
    found = buckets.get_bucket(cat, principal, org, nickname, by="nickname")
    if compatible_bucket(found) is None:
        raise ConflictError(
            f"{which} (platform {found.platform!r}) cannot be used by the arraylake client: pass "
            f"bucket_config_nickname= of an s3, s3-compatible, minio, gs or azure bucket config, make one the "
            f"default with set_default_bucket_config, or use floe.Client"
        )
