"""``floe services``: enable, list, show, read the logs of and disable an org's data services."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from floe.cli.common import MAX_FOLLOW_TIMEOUT, JsonOpt, choice, connect, group
from floe.cli.common import MAX_LOG_TAIL as MAX_TAIL
from floe.cli.common import SERVICE_PROTOCOLS as PROTOCOLS
from floe.cli.output import emit_json, emit_record, emit_table, err_console, escape, fail, note

if TYPE_CHECKING:
    from floe.models.services import DeploymentInfo

app = group(
    "Data services: serve an org's repos as Zarr over HTTP, OGC EDR, WMS, map tiles or OPeNDAP (DAP2). "
    "Org admins enable and disable them and read their logs; anyone in the org may list them."
)

SERVICE_COLUMNS = [
    ("name", "Name"),
    ("protocol", "Protocol"),
    ("public", "Public"),
    ("repos", "Repos"),
    ("status", "Status"),
    ("url", "URL"),
]
SERVICE_FIELDS = [
    *SERVICE_COLUMNS,
    ("message", "Message"),
    ("cache", "Cache"),
    ("created", "Created"),
]

OrgArg = Annotated[str, typer.Argument(metavar="ORG", help="The org.", show_default=False)]
NameArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="The service's name (its deployment name, else its protocol).",
        show_default=False,
    ),
]
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def service_row(info: DeploymentInfo) -> dict[str, Any]:
    """A service flattened for :func:`emit_table` / :func:`emit_record`."""
    config = info.config
    repos = config.repos
    return {
        "name": info.name,
        "protocol": config.service_type.value,
        "public": "yes" if config.is_public else "no",
        "repos": "(all)" if repos is None else ", ".join(repos) if repos else "(none)",
        "status": info.status.value,
        "url": info.url,
        "message": info.message,
        "cache": (
            f"datasets open {config.store_cache_ttl} s, at most {config.store_cache_size}; "
            f"answers max-age {config.cache_max_age} s"
        ),
        "created": info.created,
    }


def _show(info: DeploymentInfo, json_out: bool, message: str | None = None) -> None:
    if json_out:
        emit_json(info)
        return
    if message:
        note(message)
    fields = [f for f in SERVICE_FIELDS if f[0] != "message" or info.message]
    emit_record(service_row(info), fields=fields)
    if info.status.value == "error" and info.message:
        err_console.print(f"[yellow]warning:[/] {escape(info.message)}", highlight=False, soft_wrap=True)


def parse_time(text: str | None, option: str) -> datetime | None:
    """``2025-01-31T10:00:00Z`` (UTC when it has no zone), or a time ago: ``90s``, ``10m``, ``2h``, ``1d``."""
    if text is None:
        return None
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative:
        return datetime.now(UTC) - timedelta(**{_UNITS[relative.group(2)]: float(relative.group(1))})
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        fail(
            f"invalid {option} {text!r}: give an ISO 8601 time (2025-01-31T10:00:00Z) or a time ago (90s, 10m, 2h, 1d)",
            code=2,
        )
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command("list")
def list_services(org: OrgArg, json_out: JsonOpt = False) -> None:
    """List the org's services: name, protocol, who may read, repos, status and URL."""
    with connect() as client:
        found = client.get_services(org).list_enabled()
    if json_out:
        emit_json(found)
    else:
        emit_table([service_row(s) for s in found], SERVICE_COLUMNS, title=f"Services of {org}")


@app.command("enable")
def enable_service(
    org: OrgArg,
    protocol: Annotated[
        str, typer.Argument(metavar="PROTOCOL", help=f"One of: {', '.join(PROTOCOLS)}.", show_default=False)
    ],
    public: Annotated[
        bool, typer.Option("--public", help="Anyone may read through it, without a token.")
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="DEPLOYMENT",
            help="The service's name, in its URL (default: the protocol's name): at most 16 lowercase "
            "letters, digits and dashes. Give one to run several services of one protocol.",
        ),
    ] = None,
    repos: Annotated[
        list[str] | None,
        typer.Option(
            "--repo",
            metavar="REPO",
            help="A repo of the org it serves (repeatable; default: all of them, and those created later).",
        ),
    ] = None,
    cache_ttl: Annotated[
        int | None,
        typer.Option("--cache-ttl", metavar="S", help="Seconds a dataset stays open (default 60)."),
    ] = None,
    cache_size: Annotated[
        int | None,
        typer.Option("--cache-size", metavar="N", help="Datasets kept open at most (default 10)."),
    ] = None,
    cache_max_age: Annotated[
        int | None,
        typer.Option(
            "--cache-max-age",
            metavar="S",
            help="Cache-Control max-age of its answers, in seconds (default 0: clients revalidate).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Enable a service (org admins)."""
    choice(protocol, PROTOCOLS, "protocol")
    settings: dict[str, Any] = {
        "deployment_name": name,
        "repos": repos or None,
        "store_cache_ttl": cache_ttl,
        "store_cache_size": cache_size,
        "cache_max_age": cache_max_age,
    }
    with connect() as client:
        info = client.get_services(org).enable(
            protocol, is_public=public, **{k: v for k, v in settings.items() if v is not None}
        )
    who = "anyone" if info.config.is_public else "readers with a token"
    _show(
        info,
        json_out,
        f"Enabled {escape(protocol)} service [bold]{escape(info.name)}[/] of {escape(org)} for {who}: "
        f"{escape(info.url)}",
    )


@app.command("status")
def service_status(org: OrgArg, name: NameArg, json_out: JsonOpt = False) -> None:
    """Show a service: its settings, URL and status (available, or error with the reason)."""
    with connect() as client:
        info = client.get_services(org).get_status(name)
    _show(info, json_out)


@app.command("logs")
def service_logs(
    org: OrgArg,
    name: NameArg,
    tail: Annotated[
        int | None,
        typer.Option("--tail", metavar="N", min=0, max=MAX_TAIL, help="Only the last N lines."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="T",
            help="Only lines from T on: an ISO 8601 time, or a time ago (10m, 2h, 1d).",
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", metavar="T", help="Only lines up to T (as for --since).")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Then print new lines as requests are answered.")
    ] = False,
    follow_timeout: Annotated[
        int,
        typer.Option(
            "--follow-timeout",
            metavar="S",
            min=0,
            max=MAX_FOLLOW_TIMEOUT,
            help="With --follow: stop after S seconds.",
        ),
    ] = 30,
) -> None:
    """Print a service's request log (org admins): one line per request it answered."""
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    with connect() as client:
        services = client.get_services(org)
        lines = services.stream_logs(
            name, tail=tail, since=start, until=end, follow=follow, follow_timeout=follow_timeout
        )
        for line in lines:
            typer.echo(line)


@app.command("disable")
def disable_service(org: OrgArg, name: NameArg, json_out: JsonOpt = False) -> None:
    """Disable a service (org admins): it stops answering at once; its repos are untouched."""
    with connect() as client:
        done = client.get_services(org).disable(name)
    if json_out:
        emit_json(done)
    else:
        note(f"Disabled service [bold]{escape(done.name)}[/] of {escape(org)}.")
