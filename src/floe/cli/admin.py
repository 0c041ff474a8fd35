"""``floe admin migrate | backup | restore | rotate-secret-key``: operations on a server's catalog,
run beside the running servers (they open the database and the key file directly)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from floe.cli.output import console, fail
from floe.cli.server import DatabaseOpt, DataDirOpt, _settings, admin_app


def _engine(settings):  # type: ignore[no-untyped-def]
    from floe.server.db.engine import create_engine

    return create_engine(settings.database_url)


def _db_failure(settings, exc: Exception) -> None:  # type: ignore[no-untyped-def]
    from floe.server.db.engine import describe_url

    fail(
        f"cannot open the catalog database {describe_url(settings.database_url)}: {str(exc).splitlines()[0]}"
    )


@admin_app.command("migrate")
def migrate(
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list the migrations that would run; change nothing.")
    ] = False,
) -> None:
    """Bring the catalog's schema up to this Floe's version (for servers started with --no-migrate)."""
    from sqlalchemy.exc import SQLAlchemyError

    from floe.server.db.engine import current_revision, describe_url, migrate, pending_revisions

    settings = _settings(data_dir, database_url)
    engine = _engine(settings)
    try:
        current = current_revision(engine)
        pending = pending_revisions(engine)
        where = describe_url(settings.database_url)
        console.print(f"Catalog {where} is at revision {current or '(empty)'}.", highlight=False)
        if not pending:
            console.print("Nothing to migrate: the schema is up to date.")
            return
        verb = "Would run" if dry_run else "Running"
        console.print(f"{verb} {len(pending)} migration(s):")
        for revision, title in pending:
            console.print(f"  {revision}  {title}", highlight=False)
        if not dry_run:
            migrate(engine)
            console.print(f"Migrated to revision {current_revision(engine)}.")
    except SQLAlchemyError as exc:
        _db_failure(settings, exc)
    finally:
        engine.dispose()


@admin_app.command("backup")
def backup(
    folder: Annotated[Path, typer.Argument(help="New (or empty) folder to write the backup into.")],
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Back up the catalog while the server runs: database, secret key ring and settings (not the repos' data)."""
    from sqlalchemy.exc import SQLAlchemyError

    from floe.server.backup import BackupError
    from floe.server.backup import backup as make_backup

    settings = _settings(data_dir, database_url)
    engine = _engine(settings)
    try:
        manifest = make_backup(engine, settings, folder.expanduser().resolve())
    except BackupError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        _db_failure(settings, exc)
    finally:
        engine.dispose()
    console.print(
        f"Backed up the {manifest.database} catalog (revision {manifest.revision}) and the secret key to "
        f"{folder}. Keep it private: with it, the bucket secrets can be decrypted.",
        highlight=False,
    )


@admin_app.command("restore")
def restore(
    folder: Annotated[Path, typer.Argument(help="A folder written by `floe admin backup`.")],
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Replace the catalog without asking.")] = False,
) -> None:
    """Replace the catalog with a backup (servers may keep running); the backup's keys join the key ring."""
    from sqlalchemy.exc import SQLAlchemyError

    from floe.server.backup import BackupError, Manifest
    from floe.server.backup import restore as load_backup
    from floe.server.db.engine import describe_url, known_revisions, migrate

    settings = _settings(data_dir, database_url)
    folder = folder.expanduser().resolve()
    try:
        manifest = Manifest.read(folder)
    except BackupError as exc:
        fail(str(exc), code=2)
    where = describe_url(settings.database_url)
    if not yes and not typer.confirm(
        f"Replace the catalog {where} with the backup of {manifest.created}?", default=False
    ):
        fail("nothing restored (pass --yes to skip this question)")
    known = known_revisions()
    engine = _engine(settings)
    try:
        load_backup(engine, settings, folder, known)
        migrate(engine)
    except BackupError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        _db_failure(settings, exc)
    finally:
        engine.dispose()
    console.print(
        f"Restored the catalog {where} from the backup of {manifest.created} (Floe {manifest.floe_version}).",
        highlight=False,
    )


@admin_app.command("rotate-secret-key")
def rotate_secret_key(
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    secret_key_file: Annotated[
        Path | None,
        typer.Option(help="The servers' key file (default: FLOE_SECRET_KEY_FILE, else DATA_DIR/secret.key)."),
    ] = None,
    drop_old_keys: Annotated[
        bool,
        typer.Option(
            "--drop-old-keys",
            help="Make no new key: re-encrypt under the newest key, then keep only it in the key file.",
        ),
    ] = False,
) -> None:
    """Put a new key first in the key ring and re-encrypt every bucket secret under it; servers keep running."""
    from sqlalchemy.exc import SQLAlchemyError

    from floe.server.rotation import rotate_secret_key as rotate

    settings = _settings(data_dir, database_url, secret_key_file=secret_key_file)
    engine = _engine(settings)
    try:
        done = rotate(engine, settings.secret_keys, settings.secret_key_file, drop_old_keys=drop_old_keys)
    except ValueError as exc:
        fail(str(exc), code=2)
    except SQLAlchemyError as exc:
        _db_failure(settings, exc)
    finally:
        engine.dispose()
    if done.key_file is None:
        console.print(
            f"The keys come from FLOE_SECRET_KEY: re-encrypted {done.reencrypted} bucket secret(s) under its "
            "first key. To rotate, put a new key first in FLOE_SECRET_KEY for every server, then run this again.",
            highlight=False,
        )
    elif done.new_key:
        console.print(
            f"Added a new key to {done.key_file} ({done.keys_in_ring} keys; the old ones only decrypt) and "
            f"re-encrypted {done.reencrypted} bucket secret(s) under it.",
            highlight=False,
        )
    else:
        console.print(
            f"Re-encrypted {done.reencrypted} bucket secret(s) under the newest key; {done.key_file} now "
            "holds that key only.",
            highlight=False,
        )
