"""Entry point of the ``floe`` command: exit 0 ok, 1 failed, 2 usage."""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

import typer
import typer.main

from floe import __version__
from floe.cli import admin as _admin  # noqa: F401  (registers the `floe admin` operations)
from floe.cli import audit, auth, buckets, members, orgs, repos, server, services, tokens, users
from floe.cli.common import JsonOpt
from floe.cli.output import emit_json

# Recent typer versions vendor click (as ``typer._click``); reach its exception classes through a
# public name so this works whichever click typer uses.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

app = typer.Typer(
    name="floe",
    help="Floe: versioned, cloud-native scientific array data on any object store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # click's plain help: it wraps at 80 columns without cutting option names, and needs no rich
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("serve")(server.serve)
app.add_typer(server.admin_app, name="admin")
app.add_typer(auth.app, name="auth")
app.add_typer(users.app, name="user")
app.add_typer(members.app, name="member")
app.add_typer(orgs.app, name="org")
app.add_typer(buckets.app, name="bucket")
app.add_typer(repos.app, name="repo")
app.add_typer(tokens.app, name="token")
app.add_typer(audit.app, name="audit")
app.add_typer(services.app, name="services")


@app.command("version")
def version(json_out: JsonOpt = False) -> None:
    """Print Floe's version."""
    if json_out:
        emit_json({"name": "icefloe", "version": __version__, "python": platform.python_version()})
    else:
        typer.echo(__version__)


@cache
def _command() -> Callable[..., Any]:
    """The click command typer makes of ``app``, once per process (calling ``app`` itself would
    inspect every command's signature again at each call, tens of milliseconds)."""
    return typer.main.get_command(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; usage errors exit 2, failures 1, never with a traceback for expected errors."""
    try:
        # Not standalone: click returns the code of a ``typer.Exit`` (e.g. from ``fail()``) instead of exiting.
        result = _command()(args=argv, standalone_mode=False)
    except _ClickException as exc:  # usage errors (exit 2) and other click errors, without a traceback
        exc.show()
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)
