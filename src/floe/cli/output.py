"""How the CLI speaks: rich tables for people, JSON for scripts, one-line errors, exit codes 0/1/2.

Rich is imported when something is printed, not when the command starts (``floe --help`` needs none
of it). The consoles follow the current ``sys.stdout`` / ``sys.stderr`` and ``$COLUMNS``, so commands
run in-process (tests) print where they should.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

# JSON objects name their own identifier ``id``: models whose identifier has another name get an
# ``id`` beside it (the original key stays, for scripts that read it).
ID_FIELDS = {"Member": "user_id", "Grant": "principal_id", "Lease": "lease_id", "RefInfo": "name"}


class _LazyConsole:
    """A ``rich.console.Console`` made on first use, and again when stdout/stderr or $COLUMNS change."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None
        self._key: tuple[Any, ...] = ()

    def rich(self) -> Console:
        """The console itself (for rich objects that take one, e.g. ``Progress(console=...)``)."""
        key = (sys.stderr if self._stderr else sys.stdout, os.environ.get("COLUMNS"))
        if self._console is None or key[0] is not self._key[0] or key[1] != self._key[1]:
            from rich.console import Console

            self._console, self._key = Console(stderr=self._stderr), key
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich(), name)


console = _LazyConsole(stderr=False)
err_console = _LazyConsole(stderr=True)


def escape(text: str) -> str:
    """``text`` with rich markup escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr (one line) and exit with ``code``."""
    one_line = " ".join(str(message).split())
    err_console.print(f"[red]error:[/] {escape(one_line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def note(message: str) -> None:
    """A line for people on stdout (markup allowed in ``message``; values must be escaped by the caller)."""
    console.print(message, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """A ``note:`` line for people on stderr (``message`` is plain text)."""
    err_console.print(f"[yellow]note:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _is_model(value: Any) -> bool:
    return hasattr(type(value), "model_fields") and hasattr(value, "model_dump")


def _plain(value: Any) -> Any:
    if _is_model(value):
        data = value.model_dump(mode="json", by_alias=True)
        id_field = ID_FIELDS.get(type(value).__name__)
        if id_field and "id" not in data and id_field in data:
            data = {"id": data[id_field], **data}
        return data
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        from floe.cli.common import format_time

        return format_time(value)
    return value


def emit_json(value: Any) -> None:
    """``value`` (models, lists, dicts) as indented JSON on stdout: a list is always a JSON array."""
    typer.echo(json.dumps(_plain(value), indent=2, default=str))


def _cell(value: Any, *, false: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else false
    if _is_model(value):
        value = _fields(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_inner(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_inner(v) for v in value)
    if isinstance(value, datetime):
        from floe.cli.common import format_time

        return format_time(value)
    return str(value)


def _inner(value: Any) -> str:
    """A value nested in a dict or list: lists as ``[a, b]``, dicts as ``{k=v}``, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inner(v) for v in value) + "]"
    if isinstance(value, dict) or _is_model(value):
        return "{" + _cell(value) + "}"
    return _cell(value)


def _fields(model: Any) -> dict[str, Any]:
    """A model's field values as Python objects (datetimes stay datetimes, unlike ``model_dump``)."""
    return {name: getattr(model, name) for name in type(model).model_fields}


def emit_table(rows: Iterable[Any], columns: Sequence[tuple[str, str]], *, title: str | None = None) -> None:
    """A table of ``rows`` (models or dicts) with ``columns`` as (attribute, heading) pairs."""
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for _, heading in columns:
        table.add_column(heading, overflow="fold")
    count = 0
    for row in rows:
        get = row.get if isinstance(row, dict) else lambda k, r=row: getattr(r, k, None)
        table.add_row(*(escape(_cell(get(attr))) for attr, _ in columns))
        count += 1
    if count == 0:
        console.print(f"(no {escape(title.lower()) if title else 'rows'})", highlight=False)
    else:
        console.print(table)


def emit_record(value: Any, *, fields: Sequence[tuple[str, str]] | None = None) -> None:
    """One object (a model or a dict) as ``heading: value`` lines (booleans as yes / no)."""
    data = value if isinstance(value, dict) else _fields(value)
    for key, heading in fields or [(k, k) for k in data]:
        text = _cell(data.get(key), false="no")
        console.print(f"[bold]{escape(heading)}:[/] {escape(text)}", highlight=False, soft_wrap=True)
