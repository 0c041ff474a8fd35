"""``floe audit``: the audit trail — who did what, to what, from where."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from floe.cli.common import JsonOpt, connect, format_time, group, working
from floe.cli.output import emit_json, emit_table, escape, fail, note, warn

if TYPE_CHECKING:
    from floe.models import AuditEvent

app = group("The audit trail: sign-ins, changes and credential vending, newest first.")

AUDIT_COLUMNS = [
    ("at", "Time"),
    ("actor", "Actor"),
    ("action", "Action"),
    ("resource", "Resource"),
    ("address", "Address"),
]
WHEN_HELP = "an ISO 8601 time (2025-01-31, 2025-01-31T12:00Z) or a time ago (30m, 1h, 7d, 2w)"


def audit_row(event: AuditEvent) -> dict[str, str | None]:
    """An event for the table: the time in UTC, to the second; repeated vends with their count and
    the last time (``credentials.vend x12, last 2025-01-31T12:05:00Z``)."""
    action = event.action
    count = event.detail.get("count") if isinstance(event.detail, dict) else None
    if isinstance(count, int) and count > 1:
        action = f"{action} x{count}, last {format_time(event.detail.get('last_at'))}"
    return {
        "at": format_time(event.at),
        "actor": event.actor or event.actor_id,
        "action": action,
        "resource": event.resource,
        "address": event.address,
    }


def _check_when(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    from floe.client._access import parse_when
    from floe.errors import ValidationError

    try:
        return parse_when(value, option).isoformat()
    except ValidationError as exc:
        fail(str(exc), code=2)


@app.command("list")
def list_events(
    org: Annotated[
        str | None,
        typer.Option("--org", help="The org's events (org admins); without it, every org's (site admins)."),
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Only events by this email or API client name.")
    ] = None,
    resource: Annotated[
        str | None, typer.Option("--resource", help="Only events about this resource, e.g. ORG/REPO.")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action, e.g. repo.create or sign_in.failed.")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", metavar="WHEN", help=f"From {WHEN_HELP}.")] = None,
    until: Annotated[str | None, typer.Option("--until", metavar="WHEN", help=f"Up to {WHEN_HELP}.")] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="Events per page.")] = 50,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="Continue from a previous page (printed under the table).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Follow the pages to the end.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List audit events, newest first, one page at a time (or --all)."""
    if limit < 1:
        fail(f"invalid --limit {limit}: use a whole number of at least 1", code=2)
    filters = {
        "actor": actor,
        "resource": resource,
        "action": action,
        "since": _check_when(since, "--since"),
        "until": _check_when(until, "--until"),
        "limit": limit,
    }
    events: list[AuditEvent] = []
    with connect(flags={"limit": "--limit"}) as client:
        if all_:
            with working("Reading the audit trail ...") as spinner:
                page = client.list_audit_events(org, **filters, cursor=cursor)
                events.extend(page.items)
                while page.next_cursor and page.items:
                    spinner.update(f"Reading the audit trail ... {len(events)} events")
                    page = client.list_audit_events(org, **filters, cursor=page.next_cursor)
                    events.extend(page.items)
            next_cursor = None
        else:
            page = client.list_audit_events(org, **filters, cursor=cursor)
            events, next_cursor = list(page.items), page.next_cursor
    if json_out:  # an array like every list; where the next page starts goes to stderr
        emit_json(events)
        if next_cursor:
            warn(f"more events: add --cursor {next_cursor} for the next page, or --all for every page")
        return
    emit_table(
        [audit_row(e) for e in events], AUDIT_COLUMNS, title=f"Audit trail of {org}" if org else "Audit trail"
    )
    if next_cursor:
        note(
            f"More events: add [bold]--cursor {escape(next_cursor)}[/] for the next page, "
            "or --all for every page."
        )
