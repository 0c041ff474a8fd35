"""Entry point of the ``floe`` command: exit 0 ok, 1 failed, 2 usage."""

from __future__ import annotations

import sys

import click
import typer

from floe import __version__
from floe.cli import server

app = typer.Typer(
    name="floe",
    help="Floe: versioned, cloud-native scientific array data on any object store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("serve")(server.serve)
app.add_typer(server.admin_app, name="admin")


def _register_client_groups() -> None:
    from floe.cli import buckets, orgs, repos, tokens

    app.add_typer(orgs.app, name="org")
    app.add_typer(buckets.app, name="bucket")
    app.add_typer(repos.app, name="repo")
    app.add_typer(tokens.app, name="token")


@app.command("version")
def version() -> None:
    """Print Floe's version."""
    typer.echo(__version__)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; usage errors exit 2, failures 1, never with a traceback for expected errors."""
    try:
        _register_client_groups()
    except ImportError:  # client command groups not present in this build
        pass
    try:
        app(args=argv, standalone_mode=False)
    except click.exceptions.UsageError as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)
