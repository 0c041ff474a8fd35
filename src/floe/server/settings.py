"""Server settings: where the catalog lives and what storage it may point at."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from floe.files import make_private_dirs
from floe.server.db.engine import sqlite_url
from floe.server.keys import load_or_create_key
from floe.storage import StoragePolicy
from floe.storage.egress import EgressPolicy


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "floe"


@dataclass
class Settings:
    """Everything ``create_app`` needs. Build with :meth:`from_options`."""

    data_dir: Path
    database_url: str
    file_roots: tuple[Path, ...]
    secret_keys: list[bytes] = field(repr=False)
    # the key ring file the keys came from (None: from FLOE_SECRET_KEY); running servers follow it
    secret_key_file: Path | None = None
    public_url: str | None = None
    session_days: float = 30
    # OpenID Connect sign-in (optional): the provider's issuer URL and this server's client there
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    oidc_name: str = "single sign-on"
    oidc_scopes: str = "openid email profile"
    # RFC 8628 device authorization: lifetime of a device code and the polling interval
    device_code_seconds: int = 600
    device_interval_seconds: int = 5
    # outbound requests: internal networks the server may reach (besides public addresses)
    allowed_endpoint_networks: tuple[str, ...] = ()
    # whether from_env bucket configs may use credentials from the server's own environment
    allow_server_credentials: bool = False
    # the trash: days a deleted repo's objects are kept (an org may set its own), how often expired
    # entries are purged
    trash_retention_days: float = 7.0
    trash_purge_interval_seconds: float = 3600.0
    # the audit trail: repeated credential vends to one principal for one resource within this many
    # seconds are one event with a count (0: an event each); vend events older than the retention
    # (days; 0: kept forever) are pruned every prune interval (seconds)
    audit_vend_window_seconds: float = 600.0
    audit_vend_retention_days: float = 90.0
    audit_prune_interval_seconds: float = 3600.0
    # two-phase repo creation: how often the reaper looks for entries still being created, and how
    # old such an entry must be before it finishes or removes it
    creation_reap_interval_seconds: float = 300.0
    creation_stale_seconds: float = 900.0
    # outbound storage, STS and token calls: seconds to connect, and to wait for each answer
    storage_connect_timeout: float = 10.0
    storage_read_timeout: float = 30.0
    # request limits (floe.server.limits): the largest request body, in bytes
    max_body_bytes: int = 1024 * 1024

    @property
    def storage_policy(self) -> StoragePolicy:
        """What bucket configs may point at, and where the server may send requests."""
        return StoragePolicy(
            file_roots=self.file_roots,
            egress=EgressPolicy.parse(self.allowed_endpoint_networks),
            server_credentials=self.allow_server_credentials,
        )

    @property
    def local_storage_dir(self) -> Path:
        return self.data_dir / "storage"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    def export_env(self) -> dict[str, str]:
        """Environment variables from which :meth:`from_options` rebuilds these settings
        (for worker processes); secrets travel as FLOE_SECRET_KEY and FLOE_OIDC_CLIENT_SECRET."""
        env = {
            "FLOE_DATA_DIR": str(self.data_dir),
            "FLOE_DATABASE_URL": self.database_url,
            "FLOE_FILE_ROOTS": os.pathsep.join(str(r) for r in self.file_roots),
            "FLOE_SESSION_DAYS": repr(self.session_days),
            "FLOE_OIDC_NAME": self.oidc_name,
            "FLOE_OIDC_SCOPES": self.oidc_scopes,
            "FLOE_DEVICE_CODE_SECONDS": str(self.device_code_seconds),
            "FLOE_DEVICE_INTERVAL_SECONDS": str(self.device_interval_seconds),
            "FLOE_ALLOWED_ENDPOINT_NETWORKS": ",".join(self.allowed_endpoint_networks),
            "FLOE_ALLOW_SERVER_CREDENTIALS": "1" if self.allow_server_credentials else "0",
            "FLOE_TRASH_RETENTION_DAYS": repr(self.trash_retention_days),
            "FLOE_TRASH_PURGE_INTERVAL_SECONDS": repr(self.trash_purge_interval_seconds),
            "FLOE_AUDIT_VEND_WINDOW_SECONDS": repr(self.audit_vend_window_seconds),
            "FLOE_AUDIT_VEND_RETENTION_DAYS": repr(self.audit_vend_retention_days),
            "FLOE_AUDIT_PRUNE_INTERVAL_SECONDS": repr(self.audit_prune_interval_seconds),
            "FLOE_CREATION_REAP_INTERVAL_SECONDS": repr(self.creation_reap_interval_seconds),
            "FLOE_CREATION_STALE_SECONDS": repr(self.creation_stale_seconds),
            "FLOE_STORAGE_CONNECT_TIMEOUT": repr(self.storage_connect_timeout),
            "FLOE_STORAGE_READ_TIMEOUT": repr(self.storage_read_timeout),
            "FLOE_MAX_BODY_BYTES": str(self.max_body_bytes),
        }
        optional = {
            "FLOE_PUBLIC_URL": self.public_url,
            "FLOE_OIDC_ISSUER": self.oidc_issuer,
            "FLOE_OIDC_CLIENT_ID": self.oidc_client_id,
            "FLOE_OIDC_CLIENT_SECRET": self.oidc_client_secret,
        }
        env.update({k: v for k, v in optional.items() if v})
        if self.secret_key_file is not None:  # workers follow the key file (rotation without restart)
            env["FLOE_SECRET_KEY_FILE"] = str(self.secret_key_file)
        else:
            env["FLOE_SECRET_KEY"] = ",".join(k.decode() for k in self.secret_keys)
        return env

    @classmethod
    def from_options(
        cls,
        *,
        data_dir: Path | None = None,
        database_url: str | None = None,
        file_roots: list[Path] | None = None,
        secret_key_file: Path | None = None,
        public_url: str | None = None,
        session_days: float | None = None,
        oidc_issuer: str | None = None,
        oidc_client_id: str | None = None,
        oidc_client_secret_file: Path | None = None,
        oidc_name: str | None = None,
        allowed_endpoint_networks: list[str] | None = None,
        allow_server_credentials: bool | None = None,
        trash_retention_days: float | None = None,
    ) -> Settings:
        """Resolve options, then ``FLOE_*`` environment variables, then defaults.

        The secret key ring comes from ``secret_key_file`` (one key a line, newest first), else ``FLOE_SECRET_KEY`` (comma-separated
        for rotation, newest first), else ``DATA_DIR/secret.key`` (created on first use).
        Internal networks the server may send requests to: ``allowed_endpoint_networks`` plus the
        comma-separated CIDRs in ``FLOE_ALLOWED_ENDPOINT_NETWORKS``; public addresses are always allowed.
        The OpenID Connect client secret comes from ``oidc_client_secret_file``, else
        ``FLOE_OIDC_CLIENT_SECRET``, else the file named by ``FLOE_OIDC_CLIENT_SECRET_FILE``.
        """
        env = os.environ
        data_dir = (
            Path(data_dir or os.environ.get("FLOE_DATA_DIR") or default_data_dir()).expanduser().resolve()
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        database_url = database_url or os.environ.get("FLOE_DATABASE_URL") or sqlite_url(data_dir)
        roots = list(file_roots or [])
        env_roots = os.environ.get("FLOE_FILE_ROOTS")
        if env_roots:
            roots += [Path(p) for p in env_roots.split(os.pathsep) if p]
        storage_dir = data_dir / "storage"
        make_private_dirs(storage_dir)  # 0700 when created
        roots = [storage_dir, *(Path(r).expanduser().resolve() for r in roots)]
        env_keys = os.environ.get("FLOE_SECRET_KEY")
        secret_key_file = secret_key_file or os.environ.get("FLOE_SECRET_KEY_FILE")
        key_file: Path | None = None
        if secret_key_file:
            key_file = Path(secret_key_file).expanduser().resolve()
        elif not env_keys:
            key_file = data_dir / "secret.key"
        if key_file is not None:
            keys = load_or_create_key(key_file)
        else:
            keys = [k.strip().encode() for k in (env_keys or "").split(",") if k.strip()]
        for key in keys:
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    "the secret key is not a valid Fernet key (32 url-safe base64-encoded bytes); "
                    'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
                ) from None
        public_url = (public_url or env.get("FLOE_PUBLIC_URL") or "").strip().rstrip("/") or None
        if public_url and not public_url.startswith(("http://", "https://")):
            raise ValueError(f"the public URL must start with http:// or https://, got {public_url!r}")
        session_days = _positive(session_days, "FLOE_SESSION_DAYS", 30.0, "the session lifetime (days)")
        issuer = (oidc_issuer or env.get("FLOE_OIDC_ISSUER") or "").strip() or None
        client_id = (oidc_client_id or env.get("FLOE_OIDC_CLIENT_ID") or "").strip() or None
        secret_file = oidc_client_secret_file or (
            None if env.get("FLOE_OIDC_CLIENT_SECRET") else env.get("FLOE_OIDC_CLIENT_SECRET_FILE")
        )
        client_secret = (
            Path(secret_file).expanduser().read_text().strip()
            if secret_file
            else env.get("FLOE_OIDC_CLIENT_SECRET") or None
        )
        if issuer and not client_id:
            raise ValueError(
                "OpenID Connect sign-in needs a client id: set --oidc-client-id / FLOE_OIDC_CLIENT_ID"
            )
        if client_id and not issuer:
            raise ValueError(
                "OpenID Connect sign-in needs the issuer URL: set --oidc-issuer / FLOE_OIDC_ISSUER"
            )
        if issuer and not issuer.startswith(("http://", "https://")):
            raise ValueError(f"the OpenID Connect issuer must be an http(s) URL, got {issuer!r}")
        networks = [
            *(allowed_endpoint_networks or []),
            *env.get("FLOE_ALLOWED_ENDPOINT_NETWORKS", "").split(","),
        ]
        networks = [n.strip() for n in networks if n.strip()]
        EgressPolicy.parse(networks)  # a bad CIDR is a start-up error that names it
        if allow_server_credentials is None:
            allow_server_credentials = _flag(
                env.get("FLOE_ALLOW_SERVER_CREDENTIALS"), "FLOE_ALLOW_SERVER_CREDENTIALS"
            )
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            file_roots=tuple(dict.fromkeys(roots)),
            secret_keys=keys,
            secret_key_file=key_file,
            public_url=public_url,
            session_days=session_days,
            oidc_issuer=issuer,
            oidc_client_id=client_id,
            oidc_client_secret=client_secret,
            oidc_name=(oidc_name or env.get("FLOE_OIDC_NAME") or "").strip() or "single sign-on",
            oidc_scopes=_scopes(env.get("FLOE_OIDC_SCOPES")),
            device_code_seconds=int(
                _positive(None, "FLOE_DEVICE_CODE_SECONDS", 600, "the device code lifetime")
            ),
            device_interval_seconds=int(
                _positive(None, "FLOE_DEVICE_INTERVAL_SECONDS", 5, "the device polling interval")
            ),
            allowed_endpoint_networks=tuple(dict.fromkeys(networks)),
            allow_server_credentials=allow_server_credentials,
            trash_retention_days=_positive(
                trash_retention_days, "FLOE_TRASH_RETENTION_DAYS", 7.0, "the trash retention (days)"
            ),
            trash_purge_interval_seconds=_positive(
                None, "FLOE_TRASH_PURGE_INTERVAL_SECONDS", 3600.0, "the trash purge interval (seconds)"
            ),
            audit_vend_window_seconds=_not_negative(
                "FLOE_AUDIT_VEND_WINDOW_SECONDS", 600.0, "the audit window for repeated vends (seconds)"
            ),
            audit_vend_retention_days=_not_negative(
                "FLOE_AUDIT_VEND_RETENTION_DAYS", 90.0, "the retention of credential-vend events (days)"
            ),
            audit_prune_interval_seconds=_positive(
                None, "FLOE_AUDIT_PRUNE_INTERVAL_SECONDS", 3600.0, "the audit prune interval (seconds)"
            ),
            creation_reap_interval_seconds=_positive(
                None, "FLOE_CREATION_REAP_INTERVAL_SECONDS", 300.0, "the creation reaper's interval (seconds)"
            ),
            creation_stale_seconds=_positive(
                None, "FLOE_CREATION_STALE_SECONDS", 900.0, "the age of a stale repo creation (seconds)"
            ),
            storage_connect_timeout=_positive(
                None, "FLOE_STORAGE_CONNECT_TIMEOUT", 10.0, "the storage connect timeout (seconds)"
            ),
            storage_read_timeout=_positive(
                None, "FLOE_STORAGE_READ_TIMEOUT", 30.0, "the storage read timeout (seconds)"
            ),
            max_body_bytes=int(
                _positive(None, "FLOE_MAX_BODY_BYTES", 1024 * 1024, "the request body limit (bytes)")
            ),
        )


def _flag(raw: str | None, name: str) -> bool:
    """An on/off environment variable (unset: off)."""
    value = (raw or "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be 1 or 0 (true/false), got {raw!r}")


def _scopes(raw: str | None) -> str:
    """The scopes to ask the provider for; ``openid`` always among them."""
    scopes = (raw or "openid email profile").split()
    return " ".join(dict.fromkeys(["openid", *scopes]))


def _env_number(env_name: str, default: float) -> float:
    """The environment variable as a number, else the default."""
    raw = os.environ.get(env_name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{env_name} must be a number, got {raw!r}") from None


def _positive(value: float | None, env_name: str, default: float, what: str) -> float:
    """An option, else the environment variable, else the default; it must be a positive number."""
    if value is None:
        value = _env_number(env_name, default)
    if value <= 0:
        raise ValueError(f"{what} must be positive, got {value}")
    return value


def _not_negative(env_name: str, default: float, what: str) -> float:
    """The environment variable, else the default; it must be a number of at least 0."""
    value = _env_number(env_name, default)
    if not 0 <= value < float("inf"):
        raise ValueError(f"{what} must be 0 or more, got {os.environ.get(env_name)!r} ({env_name})")
    return value
