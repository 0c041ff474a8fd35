"""How the CLI speaks: rich tables for people, JSON for scripts, one-line errors, exit codes 0/1/2."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr (one line) and exit with ``code``."""
    one_line = " ".join(str(message).split())
    err_console.print(f"[red]error:[/] {escape(one_line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def note(message: str) -> None:
    """A line for people on stdout (markup allowed in ``message``; values must be escaped by the caller)."""
    console.print(message, highlight=False, soft_wrap=True)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(_plain(value), indent=2, default=str))


def _cell(value: Any, *, false: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else false
    if isinstance(value, BaseModel):
        value = _fields(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_inner(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_inner(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return str(value)


def _inner(value: Any) -> str:
    """A value nested in a dict or list: lists as ``[a, b]``, dicts as ``{k=v}``, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inner(v) for v in value) + "]"
    if isinstance(value, dict | BaseModel):
        return "{" + _cell(value) + "}"
    return _cell(value)


def _fields(model: BaseModel) -> dict[str, Any]:
    """A model's field values as Python objects (datetimes stay datetimes, unlike ``model_dump``)."""
    return {name: getattr(model, name) for name in type(model).model_fields}


def emit_table(rows: Iterable[Any], columns: Sequence[tuple[str, str]], *, title: str | None = None) -> None:
    """A table of ``rows`` (models or dicts) with ``columns`` as (attribute, heading) pairs."""
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


def emit_record(
    value: BaseModel | dict[str, Any], *, fields: Sequence[tuple[str, str]] | None = None
) -> None:
    """One object as ``heading: value`` lines (booleans as yes / no)."""
    data = value if isinstance(value, dict) else _fields(value)
    for key, heading in fields or [(k, k) for k in data]:
        text = _cell(data.get(key), false="no")
        console.print(f"[bold]{escape(heading)}:[/] {escape(text)}", highlight=False, soft_wrap=True)
