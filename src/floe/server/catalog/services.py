"""Data services of an org: enable, list, read, disable; and who may read a repo through one.

A service (a *deployment*) serves the org's repos through one protocol at
``{server}/services/{name}/{org}/{repo}/{ref}/{group}/{protocol}/...`` (the serving itself is
:mod:`floe.server.services`). Enabling and disabling are org-admin actions, in the audit trail.

Access through a service: a caller with a token (Bearer, or HTTP Basic with the token as password)
reads what the API lets them read, and nothing outside the service's ``repos`` when it lists some; an
anonymous caller reads only through a public service, and then only the repos it lists (all of the
org's when it lists none), as a viewer of the org would.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from floe.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from floe.models import Role
from floe.models.services import (
    DeploymentInfo,
    ServiceConfig,
    ServiceDisabled,
    ServiceProtocol,
    ServiceState,
)
from floe.server.auth import Action, Caller
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, aware, now, org_and_repo, org_row
from floe.server.catalog.principals import principal_for_token
from floe.server.db import tables as t

SERVICES_PATH = "/services"
EXTRA = "icefloe[services]"
# The module each protocol needs (the xpublish plugin that speaks it).
PROTOCOL_MODULES: dict[ServiceProtocol, str] = {
    ServiceProtocol.zarr: "xpublish_zarr",
    ServiceProtocol.edr: "xpublish_edr",
    ServiceProtocol.wms: "xpublish_wms",
    ServiceProtocol.tiles: "xpublish_tiles",
    ServiceProtocol.dap2: "xpublish_opendap",
}


@dataclass(frozen=True)
class Deployment:
    """An enabled service, as the serving layer needs it."""

    id: str
    org_id: str
    org: str
    name: str
    protocol: ServiceProtocol
    is_public: bool
    config: ServiceConfig
    created: datetime

    @property
    def repos(self) -> list[str] | None:
        return self.config.repos

    def serves(self, repo: str) -> bool:
        return self.config.repos is None or repo in self.config.repos


def availability(protocol: ServiceProtocol) -> tuple[ServiceState, str | None]:
    """Whether this server can speak ``protocol``: ``available``, or ``error`` saying what to install."""
    module = PROTOCOL_MODULES[protocol]
    if importlib.util.find_spec(module) is None or importlib.util.find_spec("xpublish") is None:
        return ServiceState.error, (
            f"the {protocol.value} service needs the {module} package, which this server lacks: "
            f"install it with `pip install '{EXTRA}'` and restart the server"
        )
    return ServiceState.available, None


def service_url(base_url: str, org: str, name: str) -> str:
    return f"{base_url.rstrip('/')}{SERVICES_PATH}/{name}/{org}"


def _deployment(row: sa.Row, org_name: str) -> Deployment:
    return Deployment(
        id=row.id,
        org_id=row.org_id,
        org=org_name,
        name=row.name,
        protocol=ServiceProtocol(row.protocol),
        is_public=row.is_public,
        config=ServiceConfig.model_validate(row.config),
        created=aware(row.created),  # type: ignore[arg-type]
    )


def _info(deployment: Deployment, base_url: str) -> DeploymentInfo:
    state, message = availability(deployment.protocol)
    return DeploymentInfo(
        name=deployment.name,
        url=service_url(base_url, deployment.org, deployment.name),
        created=deployment.created,
        config=deployment.config,
        status=state,
        message=message,
    )


def _row(conn: sa.Connection, org: sa.Row, name: str) -> sa.Row:
    row = conn.execute(
        sa.select(t.services).where(t.services.c.org_id == org.id, t.services.c.name == name)
    ).first()
    if row is None:
        raise NotFoundError(
            f"no service {name!r} in org {org.name!r}; `floe services list {org.name}` shows the services"
        )
    return row


def _name_taken(org_name: str, name: str) -> ConflictError:
    return ConflictError(
        f"org {org_name!r} has a service named {name!r} already; disable it "
        f"(`floe services disable {org_name} {name}`) or give another deployment_name"
    )


def enable_service(
    cat: Catalog, principal: Caller, org_name: str, body: ServiceConfig, *, base_url: str
) -> DeploymentInfo:
    """Enable a service (org admins); 409 when one of that name exists, 422 for repos not in the org."""
    try:
        with cat.tx() as conn:
            row = _enable(conn, principal, org_name, body)
    except sa.exc.IntegrityError:  # another request enabled one of that name meanwhile
        raise _name_taken(org_name, body.name) from None
    return _info(_deployment(row, org_name), base_url)


def _enable(conn: sa.Connection, principal: Caller, org_name: str, body: ServiceConfig) -> sa.Row:
    org = org_row(conn, principal, org_name, Action.ORG_ADMIN)  # who may, before what is wrong
    if body.org != org_name:
        raise ValidationError(f"the service's org is {body.org!r}, but it is being enabled in {org_name!r}")
    name = body.name
    taken = conn.execute(
        sa.select(t.services.c.id).where(t.services.c.org_id == org.id, t.services.c.name == name)
    ).first()
    if taken is not None:
        raise _name_taken(org_name, name)
    if body.repos:
        found = set(
            conn.execute(
                sa.select(t.repos.c.name).where(t.repos.c.org_id == org.id, t.repos.c.name.in_(body.repos))
            ).scalars()
        )
        missing = [r for r in body.repos if r not in found]
        if missing:
            raise ValidationError(f"repos not in org {org_name!r}: {', '.join(missing)}")
    config = body.model_copy(update={"deployment_name": name})
    conn.execute(
        sa.insert(t.services).values(
            id=str(uuid.uuid4()),
            org_id=org.id,
            name=name,
            protocol=body.service_type.value,
            is_public=body.is_public,
            config=config.model_dump(mode="json"),
            created=now(),
            created_by=principal.id,
        )
    )
    record(
        conn,
        principal,
        "service.enable",
        org=org,
        resource=f"{org_name}/{name}",
        detail={"protocol": body.service_type.value, "is_public": body.is_public, "repos": body.repos},
    )
    return _row(conn, org, name)


def list_services(cat: Catalog, principal: Caller, org_name: str, *, base_url: str) -> list[DeploymentInfo]:
    """The org's services, by name (anyone in the org)."""
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_READ)
        rows = conn.execute(
            sa.select(t.services).where(t.services.c.org_id == org.id).order_by(t.services.c.name)
        ).all()
    return [_info(_deployment(r, org_name), base_url) for r in rows]


def get_service(
    cat: Catalog, principal: Caller, org_name: str, name: str, *, base_url: str
) -> DeploymentInfo:
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_READ)
        return _info(_deployment(_row(conn, org, name), org_name), base_url)


def disable_service(cat: Catalog, principal: Caller, org_name: str, name: str) -> ServiceDisabled:
    """Disable a service (org admins): it stops answering at once."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_ADMIN)
        row = _row(conn, org, name)
        conn.execute(sa.delete(t.services).where(t.services.c.id == row.id))
        record(conn, principal, "service.disable", org=org, resource=f"{org_name}/{name}")
    return ServiceDisabled(name=name, message=f"service {name!r} of org {org_name!r} disabled")


def service_for_logs(cat: Catalog, principal: Caller, org_name: str, name: str) -> Deployment:
    """The service whose logs an org admin reads."""
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_ADMIN)
        return _deployment(_row(conn, org, name), org_name)


# --- reading through a service -------------------------------------------------------------------


def find_deployment(cat: Catalog, org_name: str, name: str) -> Deployment:
    """The enabled service ``name`` of ``org_name``; 404 (the same for a missing org) otherwise."""
    with cat.read() as conn:
        row = conn.execute(
            sa.select(t.services, t.orgs.c.name.label("org_name"))
            .join(t.orgs, t.orgs.c.id == t.services.c.org_id)
            .where(t.orgs.c.name == org_name, t.services.c.name == name)
        ).first()
    if row is None:
        raise NotFoundError(f"no service {name!r} for org {org_name!r}")
    return _deployment(row, org_name)


def token_from_header(authorization: str | None) -> str | None:
    """The token in ``Authorization: Bearer TOKEN`` or ``Basic base64(ORG:TOKEN)``, if any."""
    scheme, _, value = (authorization or "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationError(
                "invalid Basic credentials: use the org as user and a token as password"
            ) from None
        return decoded.partition(":")[2] or None
    return None


def service_principal(deployment: Deployment) -> Caller:
    """Who reads for an anonymous caller of a public service: a viewer of its org, nothing more."""
    return Caller(
        id=f"service:{deployment.id}",
        kind="api_client",
        name=f"public service {deployment.org}/{deployment.name}",
        email="",
        roles={deployment.org_id: Role.viewer},
        org_names={deployment.org_id: deployment.org},
        is_site_admin=False,
        expiration=None,
    )


def private_service_refusal(deployment: Deployment) -> AuthenticationError:
    """The 401 for an anonymous caller of a private service."""
    return AuthenticationError(
        f"service {deployment.org}/{deployment.name} is private: send a Floe token "
        "(Authorization: Bearer TOKEN, or Basic with the org as user and the token as password)"
    )


def reader(cat: Catalog, deployment: Deployment, repo: str, authorization: str | None) -> Caller:
    """Who reads ``repo`` through ``deployment`` for this request: 401 without a usable token on a
    private service, 404 for a repo the service does not serve or the caller may not read."""
    if not deployment.serves(repo):
        raise NotFoundError(f"service {deployment.name!r} does not serve repo {deployment.org}/{repo}")
    token = token_from_header(authorization)
    if token is None:
        if not deployment.is_public:
            raise private_service_refusal(deployment)
        return service_principal(deployment)
    principal = principal_for_token(cat, token, touch=False)
    with cat.read() as conn:
        try:
            org_and_repo(conn, principal, deployment.org, repo, Action.REPO_READ)
        except (NotFoundError, PermissionDeniedError):
            if deployment.is_public:  # a token never gets less than no token
                return service_principal(deployment)
            raise NotFoundError(f"repo {deployment.org}/{repo} not found") from None
    return principal
