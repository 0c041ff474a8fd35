"""``floe user``: people's accounts (site admins): list, create, show, change."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from floe.cli.common import JsonOpt, connect, group
from floe.cli.output import emit_json, emit_record, emit_table, escape, fail, note

if TYPE_CHECKING:
    from floe.models import User

app = group("People's accounts (site admins): list, create, show and change them.")

USER_COLUMNS = [
    ("email", "Email"),
    ("name", "Name"),
    ("orgs", "Orgs"),
    ("is_site_admin", "Site admin"),
    ("disabled", "Disabled"),
    ("sign_in", "Signs in with"),
    ("last_sign_in", "Last sign-in"),
]
USER_FIELDS = [
    ("email", "Email"),
    ("name", "Name"),
    ("orgs", "Orgs"),
    ("is_site_admin", "Site admin"),
    ("disabled", "Disabled"),
    ("sign_in", "Signs in with"),
    ("created", "Created"),
    ("last_sign_in", "Last sign-in"),
    ("id", "Id"),
]

EmailOrIdArg = Annotated[
    str, typer.Argument(metavar="EMAIL_OR_ID", help="The person's email address or id.", show_default=False)
]
PasswordOpt = Annotated[
    bool,
    typer.Option(
        "--password", help="Set a password for email + password sign-in: you are prompted for it (twice)."
    ),
]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts).")
]


def user_row(user: User) -> dict[str, Any]:
    ways = []
    if user.has_password:
        ways.append("password")
    if user.upstream:
        ways.append(user.upstream)
    return {
        **{name: getattr(user, name) for name in type(user).model_fields},
        "orgs": ", ".join(f"{org} ({role})" for org, role in sorted(user.orgs.items())),
        "sign_in": ", ".join(ways) or "(not yet: no password, no upstream account)",
    }


def read_password(prompt: bool, from_stdin: bool) -> str | None:
    """The new password: from standard input, or typed twice at a hidden prompt; None if not asked for."""
    from floe.models.access import MIN_PASSWORD_LENGTH

    if prompt and from_stdin:
        fail("choose one of --password (prompt) and --password-stdin", code=2)
    if from_stdin:
        text = sys.stdin.read()
        password = text[:-1] if text.endswith("\n") else text
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            fail("--password-stdin: nothing on standard input", code=2)
    elif prompt:
        if not sys.stdin.isatty():
            fail("--password prompts for the password: run in a terminal, or use --password-stdin", code=2)
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        return None
    if len(password) < MIN_PASSWORD_LENGTH:
        fail(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters", code=2)
    return password


def _show(user: User, json_out: bool, message: str | None = None) -> None:
    if json_out:
        emit_json(user)
        return
    if message:
        note(message)
    emit_record(user_row(user), fields=USER_FIELDS)


@app.command("list")
def list_users(json_out: JsonOpt = False) -> None:
    """List everyone with an account."""
    with connect() as client:
        users = client.list_users()
    if json_out:
        emit_json(users)
    else:
        emit_table([user_row(u) for u in users], USER_COLUMNS, title="Users")


@app.command("get")
def get_user(email_or_id: EmailOrIdArg, json_out: JsonOpt = False) -> None:
    """Show one account: orgs and roles, how they sign in, when they last did."""
    with connect() as client:
        user = client.get_user_account(email_or_id)
    _show(user, json_out)


@app.command("create")
def create_user(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="Their email address.", show_default=False)],
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Their name, e.g. 'Ada Lovelace'.", show_default=False)
    ],
    password: PasswordOpt = False,
    password_stdin: PasswordStdinOpt = False,
    site_admin: Annotated[
        bool, typer.Option("--site-admin", help="May do everything, in every org.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create an account. Without a password the person signs in with the single sign-on provider.

    Add them to orgs with `floe member set ORG EMAIL ROLE`.
    """
    secret = read_password(password, password_stdin)
    with connect() as client:
        user = client.create_user(email, name, password=secret, is_site_admin=site_admin)
    _show(user, json_out, f"Created the account of [bold]{escape(user.email)}[/].")


@app.command("update")
def update_user(
    email_or_id: EmailOrIdArg,
    name: Annotated[str | None, typer.Option("--name", help="Their new name.")] = None,
    password: PasswordOpt = False,
    password_stdin: PasswordStdinOpt = False,
    disabled: Annotated[
        bool | None,
        typer.Option(
            "--disable/--enable",
            help="Disable the account (they cannot sign in; their sessions end), or enable it again.",
            show_default=False,
        ),
    ] = None,
    site_admin: Annotated[
        bool | None,
        typer.Option(
            "--site-admin/--no-site-admin", help="Make them a site admin, or not.", show_default=False
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change an account: name, password, disabled, site admin."""
    secret = read_password(password, password_stdin)
    if name is None and secret is None and disabled is None and site_admin is None:
        fail(
            "nothing to change: give --name, --password, --password-stdin, --disable/--enable or "
            "--site-admin/--no-site-admin",
            code=2,
        )
    with connect() as client:
        user = client.update_user(
            email_or_id, name=name, password=secret, disabled=disabled, is_site_admin=site_admin
        )
    _show(user, json_out, f"Updated the account of [bold]{escape(user.email)}[/].")
