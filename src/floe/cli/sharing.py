"""``floe repo share | shares | unshare``: read-only, expiring, revocable links to a repo.

Whoever holds a link opens the repo without an account (``floe.open_shared(URL)``) until it
expires or is revoked. Repo admins create, list and revoke links; the token is printed once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from floe.cli.common import MAX_SHARE_TEXT, JsonOpt, connect
from floe.cli.output import console, emit_json, emit_record, emit_table, escape, fail, note

if TYPE_CHECKING:
    from floe.models.sharing import ShareLink

NameArg = Annotated[
    str, typer.Argument(metavar="ORG/REPO", help="The repo, e.g. default/era5.", show_default=False)
]
SHARE_COLUMNS = [
    ("id", "Id"),
    ("status", "Status"),
    ("ref", "Ref"),
    ("expires", "Expires"),
    ("uses", "Uses"),
    ("last_used", "Last used"),
    ("created_by", "Created by"),
    ("note", "Note"),
]
SHARE_FIELDS = [
    ("repo", "Repo"),
    ("id", "Id"),
    ("ref", "Ref"),
    ("expires", "Expires"),
    ("note", "Note"),
]


def _row(link: ShareLink) -> dict[str, Any]:
    return {**{name: getattr(link, name) for name in type(link).model_fields}, "ref": link.ref or "main"}


def share(
    name: NameArg,
    expires_in: Annotated[
        str,
        typer.Option(
            "--expires-in",
            metavar="DURATION",
            help=f"When the link stops working: seconds, or e.g. 7d, 12h, 30m (at most {MAX_SHARE_TEXT}).",
            show_default=False,
        ),
    ],
    ref: Annotated[
        str | None,
        typer.Option(
            "--ref", help="The branch, tag or snapshot id it points at (default: main).", show_default=False
        ),
    ] = None,
    note_text: Annotated[
        str | None, typer.Option("--note", help="What the link is for (shown in `floe repo shares`).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a read-only link to a repo that anyone may open without an account, until it expires or is
    revoked (repo admins). The link is printed once."""
    from floe.models.sharing import parse_duration

    try:
        seconds = parse_duration(expires_in)
    except ValueError as exc:
        fail(f"--expires-in: {exc}", code=2)
    with connect() as client:
        made = client.share_repo(name, expires_in=seconds, ref=ref, note=note_text)
    if json_out:
        emit_json(made)
        return
    note(f"Created a read-only share link to [bold]{escape(made.repo)}[/].")
    emit_record(_row(made), fields=SHARE_FIELDS)
    console.print(
        "\n[bold yellow]Link (shown only once; anyone who has it can read the repo):[/]", highlight=False
    )
    typer.echo(made.url)
    console.print(
        f"\nOpen it with: floe.open_shared({escape(repr(made.url))}); revoke it with "
        f"`floe repo unshare {escape(made.repo)} {made.id}`.",
        highlight=False,
        soft_wrap=True,
    )


def shares(
    name: NameArg,
    all_: Annotated[bool, typer.Option("--all", help="Include revoked links.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List a repo's share links: status, expiry, uses (never the links themselves; repo admins)."""
    with connect() as client:
        links = client.list_repo_shares(name, include_revoked=all_)
    if json_out:
        emit_json(links)
    else:
        emit_table([_row(link) for link in links], SHARE_COLUMNS, title=f"Share links of {name}")


def unshare(
    name: NameArg,
    share_id: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="The link's id (`floe repo shares` lists them).", show_default=False
        ),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a share link: it stops working at once (repo admins)."""
    with connect() as client:
        revoked = client.unshare_repo(name, share_id)
    if json_out:
        emit_json(revoked)
    else:
        note(f"Revoked share link {escape(revoked.id)} of [bold]{escape(revoked.repo)}[/].")


def register(app: typer.Typer) -> None:
    """Add the share-link commands to ``floe repo``."""
    app.command("share")(share)
    app.command("shares")(shares)
    app.command("unshare")(unshare)
