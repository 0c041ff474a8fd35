"""``floe serve`` and ``floe admin``: run the server, and talk to its database directly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from floe.cli.output import console, fail

LogFormat = StrEnum("LogFormat", {"text": "text", "json": "json"})

admin_app = typer.Typer(
    help="Administer a Floe server's database directly (for whoever runs the server).", rich_markup_mode=None
)

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for the SQLite catalog, secret key and local storage."),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Catalog database, e.g. postgresql://user@host/floe (default: SQLite in the data dir).",
    ),
]


def _settings(
    data_dir: Path | None,
    database_url: str | None,
    file_roots: list[Path] | None = None,
    secret_key_file: Path | None = None,
    **sign_in,
):
    from floe.server.settings import Settings

    try:
        return Settings.from_options(
            data_dir=data_dir,
            database_url=database_url,
            file_roots=file_roots,
            secret_key_file=secret_key_file,
            **sign_in,
        )
    except (OSError, ValueError) as exc:
        fail(f"invalid server settings: {exc}")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 7800,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    file_root: Annotated[
        list[Path] | None,
        typer.Option(
            "--file-root", help="Extra folder that `file` bucket configs may point into (repeatable)."
        ),
    ] = None,
    secret_key_file: Annotated[
        Path | None,
        typer.Option(
            help="Fernet key file for bucket secrets (else FLOE_SECRET_KEY_FILE, else the key(s) in "
            "FLOE_SECRET_KEY, else DATA_DIR/secret.key, created on first start)."
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL people reach this server at, e.g. https://floe.example.org (for sign-in links "
            "and the OpenID Connect redirect URI; default: taken from each request; env FLOE_PUBLIC_URL)."
        ),
    ] = None,
    oidc_issuer: Annotated[
        str | None,
        typer.Option(
            help="OpenID Connect provider (issuer URL) people may sign in with (env FLOE_OIDC_ISSUER)."
        ),
    ] = None,
    oidc_client_id: Annotated[
        str | None,
        typer.Option(
            help="This server's client id at the OpenID Connect provider (env FLOE_OIDC_CLIENT_ID)."
        ),
    ] = None,
    oidc_client_secret_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the OpenID Connect client secret (or set FLOE_OIDC_CLIENT_SECRET).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    oidc_name: Annotated[
        str | None,
        typer.Option(help='Label of the sign-in button for the provider (default "single sign-on").'),
    ] = None,
    session_days: Annotated[
        float | None,
        typer.Option(
            help="How long a sign-in lasts, in days (default 30; env FLOE_SESSION_DAYS).", min=0.0001
        ),
    ] = None,
    allow_endpoint_network: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-endpoint-network",
            help="Internal network (CIDR, e.g. 10.20.0.0/16) that storage endpoints may be in (repeatable; "
            "default: public addresses only; env FLOE_ALLOWED_ENDPOINT_NETWORKS, comma-separated).",
        ),
    ] = None,
    allow_server_credentials: Annotated[
        bool,
        typer.Option(
            "--allow-server-credentials",
            help="Let from_env bucket configs use credentials from this server's environment for probes "
            "and server-side checks (env FLOE_ALLOW_SERVER_CREDENTIALS=1; default off).",
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    log_format: Annotated[
        LogFormat,
        typer.Option(
            help="Log lines as uvicorn writes them (text), or one JSON object each with the request's id (json)."
        ),
    ] = LogFormat.text,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="A log line per request (uvicorn's access log). Off: about a sixth less CPU per request, "
            "for a reverse proxy that logs requests itself (env FLOE_ACCESS_LOG=0).",
            envvar="FLOE_ACCESS_LOG",
        ),
    ] = True,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Reverse proxies (comma-separated IPs, or '*') whose X-Forwarded-For/-Proto headers are "
            "trusted, so the audit trail and sign-in limits see the real client address "
            "(default: none, the headers are ignored; env FORWARDED_ALLOW_IPS).",
        ),
    ] = None,
    run_migrations: Annotated[
        bool,
        typer.Option(
            "--migrate/--no-migrate",
            help="Bring the catalog's schema up to date at start (default), or refuse to start if it is "
            "not (then run `floe admin migrate`).",
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(help="Server processes sharing the port (state lives in the database).", min=1, max=64),
    ] = 1,
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="Serve https with this PEM certificate (chain); needs --tls-key."),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(help="The PEM private key of --tls-cert."),
    ] = None,
) -> None:
    """Run the Floe catalog server (SQLite and a local folder unless told otherwise)."""
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from floe.client.config import config_path, read_user_config, write_user_config
    from floe.server.app import create_app
    from floe.server.bootstrap import bootstrap, housekeeping
    from floe.server.db.engine import SchemaOutOfDate, check_schema_current, describe_url
    from floe.server.logformat import uvicorn_log_config
    from floe.server.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

    settings = _settings(
        data_dir,
        database_url,
        file_root,
        secret_key_file,
        public_url=public_url,
        oidc_issuer=oidc_issuer,
        oidc_client_id=oidc_client_id,
        oidc_client_secret_file=oidc_client_secret_file,
        oidc_name=oidc_name,
        session_days=session_days,
        allowed_endpoint_networks=allow_endpoint_network,
        allow_server_credentials=allow_server_credentials or None,
    )
    tls = _tls_options(tls_cert, tls_key)
    _check_port_free(host, port)
    try:
        app = create_app(settings, run_migrations=run_migrations)
        if not run_migrations:
            check_schema_current(app.state.catalog.engine)
        token = bootstrap(app.state.catalog, settings)
        housekeeping(app.state.catalog)
    except SQLAlchemyError as exc:
        fail(
            f"cannot open the catalog database {describe_url(settings.database_url)}: {str(exc).splitlines()[0]}"
        )
    except SchemaOutOfDate as exc:
        fail(str(exc))
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    scheme = "https" if tls else "http"
    service_uri = (
        f"{scheme}://[{shown_host}]:{port}" if ":" in shown_host else f"{scheme}://{shown_host}:{port}"
    )
    console.print(f"Floe catalog: {describe_url(settings.database_url)}")
    console.print(f"Data dir:     {settings.data_dir}")
    if token:
        write_user_config({"service_uri": service_uri, "token": token, "data_dir": str(settings.data_dir)})
        console.print("Created org [bold]default[/] with bucket config [bold]local[/] (its default).")
        console.print(f"Admin token (shown once, saved to {config_path()}):")
        typer.echo(token)
    elif read_user_config().get("data_dir") == str(settings.data_dir):
        write_user_config({"service_uri": service_uri})
    if settings.oidc_enabled:
        console.print(f"Sign-in:      password, or {settings.oidc_name} ({settings.oidc_issuer})")
    console.print(f"Serving on {service_uri}")
    # X-Forwarded-* count only from the proxies listed: none unless told (uvicorn trusts 127.0.0.1)
    trusted = (forwarded_allow_ips or os.environ.get("FORWARDED_ALLOW_IPS") or "").strip()
    proxies = {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}
    logs = {
        "log_level": log_level,
        "log_config": uvicorn_log_config(log_format.value),
        "access_log": access_log,
        **tls,
    }
    if workers == 1:
        uvicorn.run(app, host=host, port=port, **logs, **proxies)
        return
    # Several processes: each builds its own app from the same settings; all state is in the database.
    os.environ.update(settings.export_env())
    # the workers' metrics, summed by whichever answers /metrics (set before they import prometheus_client)
    os.environ[MULTIPROC_ENV] = prepare_multiprocess_dir(settings.data_dir / "metrics")
    uvicorn.run(
        "floe.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **logs,
        **proxies,
    )


def _tls_options(cert: Path | None, key: Path | None) -> dict[str, str]:
    """uvicorn's TLS options for ``--tls-cert`` / ``--tls-key``, checked so a mistake is one line."""
    if cert is None and key is None:
        return {}
    if cert is None or key is None:
        fail("--tls-cert and --tls-key go together: give both (PEM files), or neither to serve http")
    import ssl

    for flag, path in (("--tls-cert", cert), ("--tls-key", key)):
        if not path.is_file():
            fail(f"{flag} {path}: no such file")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError, ValueError) as exc:
        fail(
            f"--tls-cert {cert} / --tls-key {key}: not a PEM certificate and its key ({exc.strerror or exc})"
        )
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}


def _check_port_free(host: str, port: int) -> None:
    """Fail before touching the catalog (and printing a token) when the port is taken."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            fail(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port or stop what uses it")


@admin_app.command("token")
def admin_token(
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    org: Annotated[str, typer.Option(help="Org the token administers (created if missing).")] = "default",
    site_admin: Annotated[
        bool,
        typer.Option("--site-admin", help="A site-admin token: may act in every org, manage users and orgs."),
    ] = False,
) -> None:
    """Print a new org-admin token on stdout, and nothing else (run on the server: it opens the database)."""
    from floe.models import check_name
    from floe.server.bootstrap import admin_token as make_token

    try:
        check_name(org, entity="org", max_length=64)
    except ValueError as exc:
        fail(str(exc), code=2)
    with _catalog(_settings(data_dir, database_url)) as cat:
        typer.echo(make_token(cat, org, site_admin=site_admin))


@contextmanager
def _catalog(settings: Any) -> Iterator[Any]:
    """The catalog of the server's database (migrated), for admin commands run beside the server."""
    from sqlalchemy.exc import SQLAlchemyError

    from floe.server.catalog import Catalog
    from floe.server.db.engine import create_engine, describe_url, migrate
    from floe.server.keys import SecretBox

    try:
        engine = create_engine(settings.database_url)
        migrate(engine)
        yield Catalog(
            engine=engine,
            box=SecretBox(settings.secret_keys, source=settings.secret_key_file),
            policy=settings.storage_policy,
        )
    except SQLAlchemyError as exc:
        fail(
            f"cannot open the catalog database {describe_url(settings.database_url)}: {str(exc).splitlines()[0]}"
        )


@admin_app.command("login-link")
def login_link(
    email: Annotated[
        str, typer.Option(help="Who signs in; created as a site admin if no such person exists yet.")
    ],
    name: Annotated[str | None, typer.Option(help="Their name, for a new person.")] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="The server's address as a browser reaches it (default: --public-url, else where "
            "`floe serve` last said it serves this data dir)."
        ),
    ] = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Print a one-time browser sign-in link (15 minutes), no password needed (run on the server)."""
    from floe.client.config import read_user_config
    from floe.errors import FloeError
    from floe.server.catalog.login_links import create_login_link

    settings = _settings(data_dir, database_url)
    saved = read_user_config()
    base = url or settings.public_url
    if not base and saved.get("data_dir") == str(settings.data_dir):
        base = saved.get("service_uri")
    base = (base or "http://127.0.0.1:7800").rstrip("/")
    if not base.startswith(("http://", "https://")):
        fail(f"invalid --url {base!r}: it must start with http:// or https://", code=2)
    with _catalog(settings) as cat:
        try:
            link, created = create_login_link(cat, email, name=name)
        except (FloeError, ValueError) as exc:
            fail(getattr(exc, "message", None) or str(exc), code=2)
    if created:
        console.print(f"Created [bold]{email}[/] as a site admin.", highlight=False)
    console.print("Open this link in a browser within 15 minutes; it works once:")
    typer.echo(f"{base}/login/link?token={link.token}")
