"""``floe member``: the people in an org and their roles."""

from __future__ import annotations

from typing import Annotated

import typer

from floe.cli.common import ROLES as ROLE_NAMES
from floe.cli.common import JsonOpt, choice, connect, group
from floe.cli.output import emit_json, emit_record, emit_table, escape, note

app = group(
    "Org members: who is in an org, as owner, admin, member or viewer. Admins manage members below "
    "owner; owners manage owners."
)

ROLES = list(ROLE_NAMES)
MEMBER_COLUMNS = [("email", "Email"), ("name", "Name"), ("role", "Role"), ("added", "Added")]

OrgArg = Annotated[str, typer.Argument(metavar="ORG", help="The org.", show_default=False)]
EmailArg = Annotated[
    str, typer.Argument(metavar="EMAIL", help="The person's email address.", show_default=False)
]


@app.command("list")
def list_members(org: OrgArg, json_out: JsonOpt = False) -> None:
    """List the org's members and their roles."""
    with connect() as client:
        members = client.list_members(org)
    if json_out:
        emit_json(members)
    else:
        emit_table(members, MEMBER_COLUMNS, title=f"Members of {org}")


@app.command("set")
def set_member(
    org: OrgArg,
    email: EmailArg,
    role: Annotated[
        str,
        typer.Argument(metavar="ROLE", help=f"One of: {', '.join(ROLES)}.", show_default=False),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Add a person (who has an account) to the org, or change their role."""
    choice(role, ROLES, "role")
    with connect() as client:
        member = client.set_member(org, email, role)
    if json_out:
        emit_json(member)
        return
    note(f"[bold]{escape(member.email)}[/] is {escape(member.role)} of {escape(org)}.")
    emit_record(member, fields=[*MEMBER_COLUMNS, ("user_id", "User id")])


@app.command("remove")
def remove_member(org: OrgArg, email: EmailArg, json_out: JsonOpt = False) -> None:
    """Take a person out of the org (the last owner cannot be removed)."""
    with connect() as client:
        client.remove_member(org, email)
    if json_out:
        emit_json({"removed": "member", "org": org, "email": email})
    else:
        note(f"Removed [bold]{escape(email)}[/] from {escape(org)}.")
