"""``floe bucket``: the bucket configs (storage locations and credentials) of an org."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from floe.cli import discover
from floe.cli.common import (
    PLATFORMS,
    JsonOpt,
    OrgOpt,
    YesOpt,
    connect,
    format_time,
    group,
    parse_extra,
    require_yes,
    resolve_org,
    working,
)
from floe.cli.output import emit_json, emit_record, emit_table, escape, fail, note
from floe.cli.repos import REPO_COLUMNS, repo_rows

if TYPE_CHECKING:
    from floe.models import Bucket

ENV_SECRET = "FLOE_SECRET_ACCESS_KEY"
ENV_READ_SECRET = "FLOE_READ_SECRET_ACCESS_KEY"

app = group(
    "Bucket configs: where an org's repos are stored, and the credentials to reach it. "
    "Secrets are stored encrypted by the server and never shown."
)

PlatformChoice = StrEnum("PlatformChoice", {p: p for p in PLATFORMS})
# The URI carries the bucket name and prefix of a new bucket config.
CREATE_FLAGS = {"name": "URI", "prefix": "URI", "platform": "--platform"}

BUCKET_COLUMNS = [
    ("nickname", "Nickname"),
    ("platform", "Platform"),
    ("name", "Bucket"),
    ("prefix", "Prefix"),
    ("is_default", "Default"),
    ("auth", "Auth"),
    ("extra_config", "Extra config"),
]
BUCKET_FIELDS = [
    ("nickname", "Nickname"),
    ("platform", "Platform"),
    ("name", "Bucket"),
    ("prefix", "Prefix"),
    ("is_default", "Default"),
    ("extra_config", "Extra config"),
    ("auth_config", "Auth config"),
    ("created", "Created"),
    ("updated", "Updated"),
    ("created_by", "Created by"),
    ("id", "Id"),
]

NicknameArg = Annotated[
    str, typer.Argument(metavar="NICKNAME", help="The bucket config's nickname.", show_default=False)
]
EndpointOpt = Annotated[
    str | None,
    typer.Option("--endpoint-url", help="S3-compatible endpoint, e.g. http://127.0.0.1:9000."),
]
RegionOpt = Annotated[str | None, typer.Option("--region", help="Region, e.g. us-east-1.")]
UseSslOpt = Annotated[
    bool | None,
    typer.Option(
        "--use-ssl/--no-use-ssl", help="Use TLS (default: from the endpoint's scheme).", show_default=False
    ),
]
PathStyleOpt = Annotated[
    bool | None,
    typer.Option(
        "--force-path-style/--no-force-path-style",
        help="Path-style addressing (bucket in the path, not the host name).",
        show_default=False,
    ),
]
KeyIdOpt = Annotated[str | None, typer.Option("--access-key-id", help="Access key id: use HMAC credentials.")]
SecretOpt = Annotated[
    str | None,
    typer.Option(
        "--secret-access-key",
        help=f"Secret access key (better: set {ENV_SECRET}, or type it at the prompt).",
        show_default=False,
    ),
]
ReadKeyIdOpt = Annotated[
    str | None,
    typer.Option(
        "--read-access-key-id",
        help="A second, read-only HMAC key pair: what viewers, read grants and read-only opens receive.",
    ),
]
ReadSecretOpt = Annotated[
    str | None,
    typer.Option(
        "--read-secret-access-key",
        help=f"Secret of the read-only pair (better: set {ENV_READ_SECRET}, or type it at the prompt).",
        show_default=False,
    ),
]
ReadersWriteKeysOpt = Annotated[
    bool,
    typer.Option(
        "--readers-get-write-keys",
        help="Without a read-only pair, hand readers the keys that can write (not recommended).",
    ),
]
AnonymousOpt = Annotated[bool, typer.Option("--anonymous", help="No credentials (public, read-only data).")]
FromEnvOpt = Annotated[
    bool, typer.Option("--from-env", help="Credentials from the environment of whoever opens the repo.")
]
AuthFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--auth-file",
        help="JSON file with the whole auth_config (e.g. aws_sts, azure_account_key, azure_sas), or a GCS "
        "service-account key file. Keeps secrets out of the shell history.",
        exists=True,
        dir_okay=False,
        show_default=False,
    ),
]
ExtraOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--extra", metavar="KEY=VALUE", help="Other extra_config entry (repeatable); true/false are booleans."
    ),
]


def _bucket_row(bucket: Bucket) -> dict[str, Any]:
    row = bucket.model_dump(mode="python")
    row["auth"] = (bucket.auth_config or {}).get("method")
    return row


def _secret(access_key_id: str | None, secret: str | None, *, read_pair: bool = False) -> str | None:
    """The secret for ``access_key_id``: the option, else the environment variable, else a hidden prompt."""
    env = ENV_READ_SECRET if read_pair else ENV_SECRET
    flag, secret_flag = (
        ("--read-access-key-id", "--read-secret-access-key")
        if read_pair
        else ("--access-key-id", "--secret-access-key")
    )
    if access_key_id is None:
        return None
    if secret:
        return secret
    from_env = os.environ.get(env)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        fail(
            f"{flag} needs a secret: pass {secret_flag}, set {env}, or run in a terminal to be prompted",
            code=2,
        )
    label = "Secret access key of the read-only pair" if read_pair else "Secret access key"
    return typer.prompt(label, hide_input=True, err=True)


def _auth_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        fail(f"--auth-file {path}: not readable JSON ({exc})", code=2)
    if isinstance(data, dict) and data.get("type") == "service_account":
        return {"method": "gcs_service_account", "service_account_key": data}
    if not isinstance(data, dict) or "method" not in data:
        fail(
            f'--auth-file {path}: expected an auth_config object with a "method", or a service-account key',
            code=2,
        )
    return data


def _auth_config(
    access_key_id: str | None,
    secret: str | None,
    anonymous: bool,
    from_env: bool = False,
    auth_file: Path | None = None,
    read_pair: tuple[str | None, str | None, bool] = (None, None, False),
) -> dict[str, Any] | None:
    chosen = [
        flag
        for flag, on in (("--anonymous", anonymous), ("--from-env", from_env), ("--auth-file", auth_file))
        if on
    ]
    if access_key_id or secret:
        chosen.append("--access-key-id")
    if len(chosen) > 1:
        fail(f"choose one way to authenticate, not {' and '.join(chosen)}", code=2)
    if anonymous:
        return {"method": "anonymous"}
    if from_env:
        return {"method": "from_env"}
    if auth_file is not None:
        return _auth_file(auth_file)
    read_key_id, read_secret, readers_write = read_pair
    if (read_key_id or read_secret or readers_write) and access_key_id is None:
        fail(
            "--read-access-key-id and --readers-get-write-keys go with HMAC keys: give --access-key-id too",
            code=2,
        )
    if read_secret and read_key_id is None:
        fail("--read-secret-access-key needs --read-access-key-id", code=2)
    if access_key_id is not None:
        auth: dict[str, Any] = {
            "method": "hmac",
            "access_key_id": access_key_id,
            "secret_access_key": _secret(access_key_id, secret),
        }
        if read_key_id is not None:
            auth["read_access_key_id"] = read_key_id
            auth["read_secret_access_key"] = _secret(read_key_id, read_secret, read_pair=True)
        if readers_write:
            auth["readers_get_write_keys"] = True
        return auth
    return None


def _extra_config(
    extra: list[str] | None,
    endpoint_url: str | None,
    region: str | None,
    use_ssl: bool | None,
    force_path_style: bool | None,
) -> dict[str, str | bool]:
    config = parse_extra(extra)
    if endpoint_url is not None:
        config["endpoint_url"] = endpoint_url
    if region is not None:
        config["region_name"] = region
    if use_ssl is not None:
        config["use_ssl"] = use_ssl
    if force_path_style is not None:
        config["force_path_style"] = force_path_style
    return config


def _show(bucket: Bucket, json_out: bool, message: str | None = None) -> None:
    if json_out:
        emit_json(bucket)
        return
    if message:
        note(message)
    emit_record(bucket, fields=BUCKET_FIELDS)
    auth = bucket.auth_config or {}
    if auth.get("readers_get_write_keys") and not auth.get("read_access_key_id"):
        note(
            "[bold yellow]Warning:[/] readers of this bucket config receive keys that can write; add a "
            "read-only pair with --read-access-key-id"
        )
    caps = bucket.capabilities
    if caps is not None:
        found = f"conditional create {_yes_no(caps.conditional_create)}, "
        found += f"conditional update {_yes_no(caps.conditional_update)}"
        if caps.read_keys_can_write:
            found += "; the read-only key pair CAN WRITE"
        if caps.skipped:
            found = f"not checked: {caps.skipped}"
        if caps.error:
            found = f"error: {caps.error}"
        note(f"[bold]Checked:[/] {escape(format_time(caps.checked_at))}: {escape(found)}")


@app.command("list")
def list_buckets(org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """List the org's bucket configs."""
    org = resolve_org(org)
    with connect() as client:
        buckets = client.list_bucket_configs(org)
    if json_out:
        emit_json(buckets)
    else:
        emit_table([_bucket_row(b) for b in buckets], BUCKET_COLUMNS, title=f"Bucket configs of {org}")


@app.command("get")
def get_bucket(nickname: NicknameArg, org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """Show one bucket config (secrets redacted)."""
    org = resolve_org(org)
    with connect() as client:
        bucket = client.get_bucket_config(org=org, nickname=nickname)
    _show(bucket, json_out)


CAPABILITY_FIELDS = [
    ("reachable", "Reachable"),
    ("can_list", "Can list"),
    ("can_read", "Can read"),
    ("can_write", "Can write"),
    ("conditional_create", "Conditional create"),
    ("conditional_update", "Conditional update"),
]


def _yes_no(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else "not tested"


@app.command("check")
def check_bucket(nickname: NicknameArg, org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """Check a bucket config's storage again: access, and whether it honours conditional writes.

    The server lists, writes, reads and deletes a small object under PREFIX/.floe-probe/ and tries
    conditional writes on it; what it finds is stored with the bucket config. Exits 1 when the
    storage is unusable.
    """
    org = resolve_org(org)
    with connect() as client, working(f"Checking the storage of {escape(nickname)} ..."):
        bucket = client.check_bucket_config(org=org, nickname=nickname)
    caps = bucket.capabilities
    error = caps.error if caps is not None else None
    if json_out:
        emit_json(bucket)
    elif caps is None:
        note(
            f"Bucket config [bold]{escape(bucket.nickname)}[/] ({escape(bucket.platform)}) is not checked: "
            "the server cannot reach storage that lives in the client process."
        )
    else:
        note(f"Checked bucket config [bold]{escape(bucket.nickname)}[/] in org {escape(org)}:")
        record = {key: _yes_no(getattr(caps, key)) for key, _ in CAPABILITY_FIELDS}
        record["checked_at"] = format_time(caps.checked_at)
        emit_record(record, fields=[*CAPABILITY_FIELDS, ("checked_at", "Checked at")])
        for line in caps.notes:
            note(f"note: {escape(line)}")
        if not error and caps.lacks_conditional_writes:
            note(
                "This store lacks conditional writes: repos on it get Icechunk's "
                "unsafe_use_conditional_create/update settings, and commits through Floe's client take "
                "commit leases. Writers that bypass Floe can lose commits when two commit to one branch "
                "at once."
            )
    if error:
        if json_out:
            raise typer.Exit(1)
        fail(error)


@app.command("create")
def create_bucket(
    nickname: NicknameArg,
    uri: Annotated[
        str,
        typer.Argument(
            metavar="URI",
            help="platform://bucket or platform://bucket/prefix, e.g. s3://my-bucket/floe or file:///srv/floe.",
            show_default=False,
        ),
    ],
    org: OrgOpt = None,
    endpoint_url: EndpointOpt = None,
    region: RegionOpt = None,
    use_ssl: UseSslOpt = None,
    force_path_style: PathStyleOpt = None,
    platform: Annotated[
        PlatformChoice | None,
        typer.Option(help="Platform, when the URI's scheme does not say it (e.g. minio, r2)."),
    ] = None,
    access_key_id: KeyIdOpt = None,
    secret_access_key: SecretOpt = None,
    read_access_key_id: ReadKeyIdOpt = None,
    read_secret_access_key: ReadSecretOpt = None,
    readers_get_write_keys: ReadersWriteKeysOpt = False,
    anonymous: AnonymousOpt = False,
    from_env: FromEnvOpt = False,
    auth_file: AuthFileOpt = None,
    extra: ExtraOpt = None,
    default: Annotated[bool, typer.Option("--default", help="Also make it the org's default.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Register storage under a nickname.

    s3:// with --endpoint-url is an S3-compatible store. --access-key-id stores HMAC credentials
    (the secret from --secret-access-key, $FLOE_SECRET_ACCESS_KEY or a prompt); --anonymous stores
    none; neither lets the server pick the platform's default.
    """
    org = resolve_org(org)
    if secret_access_key and access_key_id is None:
        fail("--secret-access-key needs --access-key-id", code=2)
    read_pair = (read_access_key_id, read_secret_access_key, readers_get_write_keys)
    auth_config = _auth_config(access_key_id, secret_access_key, anonymous, from_env, auth_file, read_pair)
    extra_config = _extra_config(extra, endpoint_url, region, use_ssl, force_path_style)
    flags = CREATE_FLAGS
    if access_key_id is not None and auth_file is None:  # the keys came from flags, not from a file
        flags = {**CREATE_FLAGS, "auth_config": "--access-key-id / --secret-access-key"}
    with connect(flags=flags) as client:
        # the server checks the storage (list, write, read, delete, conditional writes) before it answers
        with working(f"Creating {escape(nickname)} and checking its storage ..."):
            bucket = client.create_bucket_config(
                org=org,
                nickname=nickname,
                uri=uri,
                extra_config=extra_config,
                auth_config=auth_config,
                platform=platform.value if platform else None,
            )
        if default:
            client.set_default_bucket_config(org=org, nickname=bucket.nickname)
            bucket = bucket.model_copy(update={"is_default": True})
    made_default = " (the org's default)" if default else ""
    _show(
        bucket,
        json_out,
        f"Created bucket config [bold]{escape(bucket.nickname)}[/] in org {escape(org)}{made_default}.",
    )


@app.command("modify")
def modify_bucket(
    nickname: NicknameArg,
    org: OrgOpt = None,
    rename: Annotated[str | None, typer.Option("--rename", help="New nickname.")] = None,
    prefix: Annotated[
        str | None, typer.Option(help="New prefix in the bucket (only while no repo uses it).")
    ] = None,
    endpoint_url: EndpointOpt = None,
    region: RegionOpt = None,
    use_ssl: UseSslOpt = None,
    force_path_style: PathStyleOpt = None,
    access_key_id: KeyIdOpt = None,
    secret_access_key: SecretOpt = None,
    read_access_key_id: ReadKeyIdOpt = None,
    read_secret_access_key: ReadSecretOpt = None,
    readers_get_write_keys: ReadersWriteKeysOpt = False,
    anonymous: AnonymousOpt = False,
    from_env: FromEnvOpt = False,
    auth_file: AuthFileOpt = None,
    extra: ExtraOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a bucket config; options not given keep their value.

    New credentials replace the stored ones whole: to add a read-only pair to HMAC keys, give
    --access-key-id (and its secret) with --read-access-key-id.

    Extra-config options are merged into the stored ones. A new --secret-access-key alone keeps the
    stored access key id.
    """
    org = resolve_org(org)
    extra_changes = _extra_config(extra, endpoint_url, region, use_ssl, force_path_style)
    wants_auth = (
        anonymous
        or from_env
        or auth_file is not None
        or access_key_id is not None
        or secret_access_key is not None
        or read_access_key_id is not None
        or readers_get_write_keys
    )
    if not (rename or prefix is not None or extra_changes or wants_auth):
        fail("nothing to change: give at least one option (see floe bucket modify --help)", code=2)
    if anonymous and (access_key_id or secret_access_key):
        fail("--anonymous cannot be combined with --access-key-id / --secret-access-key", code=2)
    with connect() as client:
        current = None
        if extra_changes or (secret_access_key and access_key_id is None):
            current = client.get_bucket_config(org=org, nickname=nickname)
        extra_config = None
        if current is not None and extra_changes:
            extra_config = dict(current.extra_config)
            if endpoint_url is not None and use_ssl is None:
                extra_config.pop("use_ssl", None)  # let the server derive it from the new endpoint
            extra_config.update(extra_changes)
        if secret_access_key and access_key_id is None:
            stored = (current.auth_config or {}) if current is not None else {}
            if stored.get("method") != "hmac" or not stored.get("access_key_id"):
                fail("--secret-access-key needs --access-key-id (no access key id is stored)", code=2)
            access_key_id = stored["access_key_id"]
        read_pair = (read_access_key_id, read_secret_access_key, readers_get_write_keys)
        auth_config = _auth_config(
            access_key_id, secret_access_key, anonymous, from_env, auth_file, read_pair
        )
        with working(f"Changing {escape(nickname)} ..."):
            bucket = client.modify_bucket_config(
                org=org,
                nickname=nickname,
                new_nickname=rename,
                extra_config=extra_config,
                auth_config=auth_config,
                prefix=prefix,
            )
    _show(
        bucket, json_out, f"Modified bucket config [bold]{escape(bucket.nickname)}[/] in org {escape(org)}."
    )


@app.command("delete")
def delete_bucket(
    nickname: NicknameArg, yes: YesOpt = False, org: OrgOpt = None, json_out: JsonOpt = False
) -> None:
    """Delete a bucket config (never the bucket or its data); refused while repos use it."""
    require_yes(yes, f"bucket config {nickname}")
    org = resolve_org(org)
    with connect() as client:
        client.delete_bucket_config(org=org, nickname=nickname, imsure=True, imreallysure=True)
    if json_out:
        emit_json({"deleted": "bucket_config", "org": org, "nickname": nickname})
    else:
        note(f"Deleted bucket config [bold]{escape(nickname)}[/] from org {escape(org)}.")


@app.command("set-default")
def set_default(nickname: NicknameArg, org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """Make a bucket config the org's default for new repos."""
    org = resolve_org(org)
    with connect() as client:
        client.set_default_bucket_config(org=org, nickname=nickname)
    if json_out:
        emit_json({"org": org, "default_bucket_nickname": nickname})
    else:
        note(f"[bold]{escape(nickname)}[/] is now the default bucket config of org {escape(org)}.")


@app.command("repos")
def bucket_repos(nickname: NicknameArg, org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """List the repos that use a bucket config."""
    org = resolve_org(org)
    with connect() as client:
        repos = client.list_repos_for_bucket_config(org=org, nickname=nickname)
    if json_out:
        emit_json(repos)
    else:
        emit_table(repo_rows(repos), REPO_COLUMNS, title=f"Repos using {nickname}")


discover.register(app)  # floe bucket ls: the Icechunk repos stored under a bucket config
