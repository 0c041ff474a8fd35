"""``floe serve`` and ``floe admin``: run the server, and talk to its database directly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from floe.cli.output import console, fail

admin_app = typer.Typer(help="Administer a Floe server's database directly (for whoever runs the server).")

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
):
    from floe.server.settings import Settings

    try:
        return Settings.from_options(
            data_dir=data_dir,
            database_url=database_url,
            file_roots=file_roots,
            secret_key_file=secret_key_file,
        )
    except (OSError, ValueError) as exc:
        fail(f"cannot use the data dir: {exc}")


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
        typer.Option(help="Fernet key for bucket secrets (default DATA_DIR/secret.key or FLOE_SECRET_KEY)."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    workers: Annotated[
        int,
        typer.Option(help="Server processes sharing the port (state lives in the database).", min=1, max=64),
    ] = 1,
) -> None:
    """Run the Floe catalog server (SQLite and a local folder unless told otherwise)."""
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from floe.client.config import config_path, read_user_config, write_user_config
    from floe.server.app import create_app
    from floe.server.bootstrap import bootstrap
    from floe.server.db.engine import describe_url

    settings = _settings(data_dir, database_url, file_root, secret_key_file)
    _check_port_free(host, port)
    try:
        app = create_app(settings)
        token = bootstrap(app.state.catalog, settings)
    except SQLAlchemyError as exc:
        fail(
            f"cannot open the catalog database {describe_url(settings.database_url)}: {str(exc).splitlines()[0]}"
        )
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    service_uri = f"http://[{shown_host}]:{port}" if ":" in shown_host else f"http://{shown_host}:{port}"
    console.print(f"Floe catalog: {describe_url(settings.database_url)}")
    console.print(f"Data dir:     {settings.data_dir}")
    if token:
        write_user_config({"service_uri": service_uri, "token": token, "data_dir": str(settings.data_dir)})
        console.print("Created org [bold]default[/] with bucket config [bold]local[/] (its default).")
        console.print(f"Admin token (shown once, saved to {config_path()}):")
        typer.echo(token)
    elif read_user_config().get("data_dir") == str(settings.data_dir):
        write_user_config({"service_uri": service_uri})
    console.print(f"Serving on {service_uri}")
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    # Several processes: each builds its own app from the same settings; all state is in the database.
    os.environ.update(settings.export_env())
    uvicorn.run(
        "floe.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


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
) -> None:
    """Print a new org-admin token on stdout, and nothing else."""
    from sqlalchemy.exc import SQLAlchemyError

    from floe.models import check_name
    from floe.server.bootstrap import admin_token as make_token
    from floe.server.catalog import Catalog
    from floe.server.db.engine import create_engine, describe_url, migrate
    from floe.server.secrets import SecretBox
    from floe.storage import StoragePolicy

    try:
        check_name(org, entity="org", max_length=64)
    except ValueError as exc:
        fail(str(exc), code=2)
    settings = _settings(data_dir, database_url)
    try:
        engine = create_engine(settings.database_url)
        migrate(engine)
        cat = Catalog(
            engine=engine, box=SecretBox(settings.secret_keys), policy=StoragePolicy(settings.file_roots)
        )
        typer.echo(make_token(cat, org))
    except SQLAlchemyError as exc:
        fail(
            f"cannot open the catalog database {describe_url(settings.database_url)}: {str(exc).splitlines()[0]}"
        )
