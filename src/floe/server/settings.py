"""Server settings: where the catalog lives and what storage it may point at."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from floe.server.db.engine import sqlite_url
from floe.server.secrets import load_or_create_key


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
    public_url: str | None = None

    @property
    def local_storage_dir(self) -> Path:
        return self.data_dir / "storage"

    def export_env(self) -> dict[str, str]:
        """Environment variables from which :meth:`from_options` rebuilds these settings
        (for worker processes); the key travels as a file path or as FLOE_SECRET_KEY."""
        return {
            "FLOE_DATA_DIR": str(self.data_dir),
            "FLOE_DATABASE_URL": self.database_url,
            "FLOE_FILE_ROOTS": os.pathsep.join(str(r) for r in self.file_roots),
            "FLOE_SECRET_KEY": ",".join(k.decode() for k in self.secret_keys),
        }

    @classmethod
    def from_options(
        cls,
        *,
        data_dir: Path | None = None,
        database_url: str | None = None,
        file_roots: list[Path] | None = None,
        secret_key_file: Path | None = None,
        public_url: str | None = None,
    ) -> Settings:
        """Resolve options, then ``FLOE_*`` environment variables, then defaults.

        The secret key comes from ``secret_key_file``, else ``FLOE_SECRET_KEY`` (comma-separated
        for rotation, newest first), else ``DATA_DIR/secret.key`` (created on first use).
        """
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
        storage_dir.mkdir(exist_ok=True)
        roots = [storage_dir, *(Path(r).expanduser().resolve() for r in roots)]
        env_keys = os.environ.get("FLOE_SECRET_KEY")
        secret_key_file = secret_key_file or os.environ.get("FLOE_SECRET_KEY_FILE")
        if secret_key_file:
            keys = [load_or_create_key(Path(secret_key_file))]
        elif env_keys:
            keys = [k.strip().encode() for k in env_keys.split(",") if k.strip()]
        else:
            keys = [load_or_create_key(data_dir / "secret.key")]
        for key in keys:
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    "the secret key is not a valid Fernet key (32 url-safe base64-encoded bytes); "
                    'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
                ) from None
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            file_roots=tuple(dict.fromkeys(roots)),
            secret_keys=keys,
            public_url=public_url,
        )
