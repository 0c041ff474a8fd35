"""The ``floe`` client commands (org, bucket, repo, token) against a real server.

One Floe server (SQLite) serves the whole module; the S3 tests use the session's moto server. The
commands run in this process (typer's runner); those whose point is the process itself (``floe
--help``, exit codes, configuration from the environment) run as real subprocesses.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_runner import Floe, error_line
from services import (
    FloeServer,
    MotoServer,
    bootstrap_token,
    free_port,
    running_floe,
    unique_name,
)


def names(items: list[dict]) -> set[str]:
    return {item["name"] for item in items}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FloeServer]:
    """One Floe server (SQLite) for the whole module."""
    with running_floe(tmp_path_factory.mktemp("cli-server")) as srv:
        yield srv


@pytest.fixture(scope="module")
def site_admin_token(server: FloeServer) -> str:
    return bootstrap_token(server)


@pytest.fixture
def floe(server: FloeServer, tmp_path: Path) -> Floe:
    config_dir = tmp_path / "floe-config"
    config_dir.mkdir()
    return Floe(server, config_dir, in_process=True)


ISO_UTC = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b")


# --------------------------------------------------------------------------------------------- help


def test_help_lists_the_groups_and_commands(floe: Floe) -> None:
    top = floe.ok("--help", process=True).out
    for group in ("org", "bucket", "repo", "token", "serve", "admin"):
        assert f" {group} " in top
    bucket = floe.ok("bucket", "--help", process=True).out
    for command in ("list", "get", "check", "create", "modify", "delete", "set-default", "repos"):
        assert f" {command} " in bucket
    assert "FLOE_SERVICE_URI" in bucket


# --------------------------------------------------------------------------------------------- buckets + repos on S3


def test_bucket_and_repo_lifecycle_on_s3(floe: Floe, moto: MotoServer, s3_bucket: str) -> None:
    secret = f"some-known-secret-value-{uuid.uuid4().hex}"
    nick = unique_name("s3-")
    repo = f"default/{unique_name('cli-')}"

    created = floe.ok(
        "bucket", "create", nick, f"s3://{s3_bucket}",
        "--endpoint-url", moto.endpoint, "--region", "us-east-1", "--access-key-id", "testing",
        env={"FLOE_SECRET_ACCESS_KEY": secret},
    )  # fmt: skip
    assert nick in created.out

    listed = {b["nickname"]: b for b in floe("bucket", "list", "--json").json()}
    mine = listed[nick]
    assert mine["platform"] == "s3-compatible"
    assert mine["name"] == s3_bucket
    assert mine["extra_config"]["endpoint_url"] == moto.endpoint
    assert mine["extra_config"]["region_name"] == "us-east-1"
    assert mine["auth_config"]["method"] == "hmac"
    assert mine["auth_config"]["access_key_id"] == "testing"
    assert mine["is_default"] is False
    assert "testing" in floe.ok("bucket", "get", nick).out

    floe.ok("bucket", "set-default", nick)
    assert floe("bucket", "get", nick, "--json").json()["is_default"] is True

    floe.ok("repo", "create", repo, "--bucket", nick, "--metadata", "project=era5", "--metadata", "year=2020")
    objects = moto.s3_client().list_objects_v2(Bucket=s3_bucket).get("Contents", [])
    assert objects, "repo create did not write the Icechunk repo to the bucket"

    def listed_repos(*filters: str) -> set[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return {f"{r['org']}/{r['name']}" for r in floe("repo", "list", "--json", *args).json()}

    assert repo in listed_repos("project=era5")
    assert repo not in listed_repos("project=other")
    assert repo in listed_repos("year=2020", "project=era5")
    assert repo not in listed_repos('year="2020"')  # a JSON string is not the integer 2020

    shown = floe.ok("repo", "get", repo).out
    for expected in (repo, nick, "s3-compatible", "era5", "online"):
        assert expected in shown
    got = floe("repo", "get", repo, "--json").json()
    assert got["metadata"] == {"project": "era5", "year": 2020}
    assert got["bucket"]["nickname"] == nick
    assert objects[0]["Key"].startswith(got["prefix"])

    floe.ok("repo", "status", repo, "maintenance", "--message", "m")
    status = floe("repo", "get", repo, "--json").json()["status"]
    assert (status["mode"], status["message"]) == ("maintenance", "m")
    assert "maintenance" in floe.ok("repo", "status", repo).out
    assert repo in {f"{r['org']}/{r['name']}" for r in floe("bucket", "repos", nick, "--json").json()}

    in_use = error_line(floe("bucket", "delete", nick, "--yes"), 1)
    assert repo in in_use

    no_yes = error_line(floe("repo", "delete", repo), 2)
    assert "--yes" in no_yes
    floe.ok("repo", "get", repo)  # still there

    floe.ok("repo", "delete", repo, "--yes")
    gone = error_line(floe("repo", "get", repo), 1)
    assert "not found" in gone

    floe.ok("bucket", "set-default", "local")
    # the deleted repo's objects are kept in the trash, so its bucket config stays until it is purged
    assert f"{repo} (in the trash)" in error_line(floe("bucket", "delete", nick, "--yes"), 1)
    floe.ok("repo", "purge", repo, "--yes")
    floe.ok("bucket", "delete", nick, "--yes")
    assert nick not in {b["nickname"] for b in floe("bucket", "list", "--json").json()}

    leaked = [text for text in floe.outputs if secret in text]
    assert not leaked, f"the secret access key appeared in the output: {leaked}"


def test_bucket_modify_merges_extra_config_and_keeps_secrets_hidden(floe: Floe, moto: MotoServer) -> None:
    nick = unique_name("mod-")
    bucket = moto.create_bucket(unique_name("mod-bucket-"))
    floe.ok(
        "bucket", "create", nick, f"s3://{bucket}/data", "--endpoint-url", moto.endpoint,
        "--region", "us-east-1", "--anonymous",
    )  # fmt: skip
    modified = floe(
        "bucket", "modify", nick, "--region", "eu-west-1", "--force-path-style", "--rename", f"{nick}-2",
        "--access-key-id", "AKID", "--secret-access-key", "hidden-secret-1", "--json",
    ).json()  # fmt: skip
    assert modified["nickname"] == f"{nick}-2"
    assert modified["extra_config"]["region_name"] == "eu-west-1"
    assert modified["extra_config"]["endpoint_url"] == moto.endpoint  # kept: merged, not replaced
    assert modified["extra_config"]["force_path_style"] is True
    assert modified["auth_config"]["access_key_id"] == "AKID"
    # A new secret alone keeps the stored access key id.
    again = floe("bucket", "modify", f"{nick}-2", "--secret-access-key", "hidden-secret-2", "--json").json()
    assert again["auth_config"]["method"] == "hmac"
    assert again["auth_config"]["access_key_id"] == "AKID"
    assert error_line(floe("bucket", "modify", f"{nick}-2"), 2).startswith("error: nothing to change")
    floe.ok("bucket", "delete", f"{nick}-2", "--yes")
    assert not [text for text in floe.outputs if "hidden-secret" in text]


def test_bucket_create_with_auth_file_and_from_env(floe: Floe, moto: MotoServer, tmp_path: Path) -> None:
    bucket = moto.create_bucket(unique_name("auth-file-"))
    auth = tmp_path / "sts.json"
    auth.write_text(
        json.dumps(
            {
                "method": "aws_sts",
                "role_arn": "arn:aws:iam::123456789012:role/floe-cli",
                "access_key_id": "testing",
                "secret_access_key": "file-held-secret",
            }
        )
    )
    nick = unique_name("sts-")
    made = floe(
        "bucket", "create", nick, f"s3://{bucket}", "--endpoint-url", moto.endpoint, "--region", "us-east-1",
        "--auth-file", str(auth), "--json",
    ).json()  # fmt: skip
    assert (
        made["auth_config"]["method"] == "aws_sts" and made["auth_config"]["secret_access_key"] == "********"
    )
    env_nick = unique_name("env-")
    # from_env never means the server's own environment unless its operator says so: not probed, and said so
    unchecked = floe(
        "bucket", "create", env_nick, f"s3://{bucket}/env", "--endpoint-url", moto.endpoint, "--region",
        "us-east-1", "--from-env",
    )  # fmt: skip
    assert unchecked.code == 0, unchecked.describe()
    assert "not checked" in unchecked.out and "--allow-server-credentials" in unchecked.out
    both = floe("bucket", "create", "both-ways", f"s3://{bucket}", "--from-env", "--anonymous")
    assert "choose one way to authenticate" in error_line(both, 2)
    assert not [text for text in floe.outputs if "file-held-secret" in text]
    floe.ok("bucket", "delete", nick, "--yes")


# --------------------------------------------------------------------------------------------- repos on the local bucket


def test_repo_modify_delete_keep_data_and_import(floe: Floe) -> None:
    repo = f"default/{unique_name('loc-')}"
    created = floe(
        "repo", "create", repo, "--bucket", "local", "--description", "first", "--json", process=True
    ).json()  # fmt: skip
    assert created["bucket"]["nickname"] == "local"  # stdout is pure JSON, even with Icechunk warnings

    changed = floe(
        "repo", "modify", repo, "--set", "a=1", "--set", "b=x", "--set", "c=true", "--description", "second",
        "--json",
    ).json()  # fmt: skip
    assert changed["metadata"] == {"a": 1, "b": "x", "c": True}
    assert changed["description"] == "second"
    assert floe("repo", "modify", repo, "--unset", "a", "--json").json()["metadata"] == {"b": "x", "c": True}
    assert "does not exist" in error_line(floe("repo", "modify", repo, "--unset", "nope"), 1)
    error_line(floe("repo", "modify", repo), 2)

    assert "offline" in floe.ok("repo", "status", repo, "offline").out
    floe.ok("repo", "status", repo, "online")

    floe.ok("repo", "delete", repo, "--yes", "--keep-data")
    imported_name = f"default/{unique_name('imp-')}"
    imported = floe(
        "repo", "import", imported_name, "--bucket", "local", "--prefix", created["prefix"], "--json"
    ).json()
    assert imported["prefix"] == created["prefix"]
    assert imported_name in floe.ok("repo", "list").out
    floe.ok("repo", "delete", imported_name, "--yes")


# --------------------------------------------------------------------------------------------- tokens


def test_token_create_use_revoke(floe: Floe) -> None:
    name = unique_name("ci-")
    created = floe("token", "create", name, "--role", "viewer", "--json").json()
    token = created["token"]
    assert token.startswith("ema_")
    assert created["role"] == "viewer"

    listed = floe.ok("token", "list", "--json")
    assert token not in listed.out
    assert {t["name"]: t["role"] for t in json.loads(listed.out)}[name] == "viewer"

    me = floe("token", "whoami", "--json", token=token).json()
    assert (me["name"], me["role"]) == (name, "viewer")
    floe.ok("repo", "list", token=token)  # viewers may read
    denied = error_line(floe("repo", "create", f"default/{unique_name('no-')}", token=token), 1)
    assert "may not" in denied or "permission" in denied.lower()

    floe.ok("token", "revoke", name)
    assert name not in names(floe("token", "list", "--json").json())
    all_tokens = {t["name"]: t for t in floe("token", "list", "--all", "--json").json()}
    assert all_tokens[name]["revoked"] is True

    for args in (("repo", "list"), ("token", "whoami"), ("bucket", "list")):
        assert "revoked" in error_line(floe(*args, token=token), 1)


def test_token_create_shows_the_token_once_for_people(floe: Floe) -> None:
    result = floe.ok("token", "create", unique_name("person-"), "--expires-in-days", "1")
    lines = result.out.splitlines()
    assert "only once" in result.out
    assert any(line.startswith("ema_") for line in lines)


# --------------------------------------------------------------------------------------------- orgs


def test_org_create_list_delete(floe: Floe, site_admin_token: str) -> None:
    admin = {"token": site_admin_token}
    created = floe("org", "create", "lab2", "--description", "a lab", "--json", **admin).json()
    assert (created["name"], created["description"]) == ("lab2", "a lab")
    assert "already exists" in error_line(floe("org", "create", "lab2", **admin), 1)
    assert "lab2" in names(floe("org", "list", "--json", **admin).json())
    assert floe("org", "get", "lab2", "--json", **admin).json()["description"] == "a lab"

    assert "--yes" in error_line(floe("org", "delete", "lab2", **admin), 2)
    floe.ok("org", "delete", "lab2", "--yes", **admin)
    assert "lab2" not in names(floe("org", "list", "--json", **admin).json())
    assert "not found" in error_line(floe("org", "get", "lab2", **admin), 1)


def test_org_create_needs_a_site_admin(floe: Floe) -> None:
    assert "site admin" in error_line(floe("org", "create", unique_name("lab-")), 1)


def test_org_default_comes_from_option_env_then_config(floe: Floe) -> None:
    floe = floe.in_subprocesses()  # configuration from the environment and the config file
    assert "'env-org'" in error_line(floe("bucket", "list", env={"FLOE_ORG": "env-org"}), 1)
    (floe.config_dir / "config.toml").write_text('org = "file-org"\n')
    assert "'file-org'" in error_line(floe("bucket", "list"), 1)
    assert "'env-org'" in error_line(floe("bucket", "list", env={"FLOE_ORG": "env-org"}), 1)
    assert "'opt-org'" in error_line(floe("token", "list", "--org", "opt-org", env={"FLOE_ORG": "x1"}), 1)
    (floe.config_dir / "config.toml").unlink()
    assert "local" in {b["nickname"] for b in floe("bucket", "list", "--json").json()}


# --------------------------------------------------------------------------------------------- bad input


def test_bad_uri_is_one_line(floe: Floe) -> None:
    line = error_line(floe("bucket", "create", "bad", "s3:/nope"), (1, 2))
    assert "s3:/nope" in line


def test_repo_name_without_slash(floe: Floe) -> None:
    assert "ORG/REPO" in error_line(floe("repo", "get", "notaname"), (1, 2))


def test_usage_errors_exit_2(floe: Floe) -> None:
    floe = floe.in_subprocesses()  # exit codes of the real command
    assert floe("repo", "list", "--bogus").code == 2
    assert floe("bucket", "get").code == 2  # missing argument
    bad_pair = floe("repo", "list", "--filter", "noequals")
    assert bad_pair.code == 2 and "KEY=VALUE" in bad_pair.err
    assert floe("repo", "status", "default/xx", "sideways").code == 2
    assert floe("token", "create", "zz", "--role", "emperor").code == 2


def test_bucket_credentials_usage(floe: Floe) -> None:
    both = error_line(
        floe("bucket", "create", "kk", "s3://some-bucket", "--anonymous", "--access-key-id", "a"), 2
    )
    assert "--anonymous" in both
    # No secret given, none in the environment, and stdin is not a terminal: fail, never prompt.
    no_secret = error_line(floe("bucket", "create", "kk", "s3://some-bucket", "--access-key-id", "a"), 2)
    assert "FLOE_SECRET_ACCESS_KEY" in no_secret


def test_unreachable_server_and_bad_token(floe: Floe) -> None:
    floe = floe.in_subprocesses()  # the server from the environment
    nowhere = f"http://127.0.0.1:{free_port()}"
    line = error_line(floe("org", "list", env={"FLOE_SERVICE_URI": nowhere}), 1)
    assert "cannot reach" in line
    error_line(floe("org", "list", token="ema_not-a-real-token"), 1)


# --------------------------------------------------------------------------------------------- conventions


def _commands(command, path=()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_help_fits_80_columns_with_whole_option_names(floe: Floe) -> None:
    import typer

    from floe.cli.main import app

    paths = list(_commands(typer.main.get_command(app)))
    assert len(paths) > 60
    for path in paths:
        shown = floe.ok(*path, "--help", env={"COLUMNS": "80"}).out
        assert max(len(line) for line in shown.splitlines()) <= 80, (path, shown)
        assert "…" not in shown, (path, shown)
        # a flag shows no value placeholder (no <bool> / BOOLEAN after --json, --yes, --help ...)
        assert not re.search(r"<bool>|BOOLEAN", shown), (path, shown)
    assert re.search(r"^  --json +Print JSON", floe.ok("org", "list", "--help").out, re.M)


def test_version_json(floe: Floe) -> None:
    from floe import __version__

    assert floe.ok("version").out.strip() == __version__
    shown = floe("version", "--json").json()
    assert shown["version"] == __version__ and shown["name"] == "icefloe"


def test_cli_choices_match_their_sources() -> None:
    """The CLI lists these values itself (importing their modules would slow every start)."""
    from typing import get_args

    from floe import inspection, models
    from floe.cli import common
    from floe.client import _services
    from floe.models import sharing

    assert get_args(models.Platform) == common.PLATFORMS
    assert tuple(m.value for m in models.RepoMode) == common.REPO_MODES
    assert tuple(g.value for g in models.GrantLevel) == common.GRANT_LEVELS
    assert tuple(r.value for r in models.Role) == common.ROLES
    assert tuple(r.value for r in models.ApiClientRole) == common.API_CLIENT_ROLES
    assert common.SERVICE_PROTOCOLS == _services.PROTOCOLS
    assert (common.MAX_LOG_TAIL, common.MAX_FOLLOW_TIMEOUT) == (
        _services.MAX_TAIL,
        _services.MAX_FOLLOW_TIMEOUT,
    )
    assert common.MAX_SHARE_TEXT == sharing.MAX_SHARE_TEXT
    assert (common.MAX_HISTORY_PAGE, common.MAX_TREE_NODES) == (
        inspection.MAX_HISTORY_PAGE,
        inspection.MAX_TREE_NODES,
    )


def test_the_cli_starts_without_the_client_libraries() -> None:
    """``floe ... --help`` imports no more than ``import floe``: no client, icechunk, zarr, numpy, xarray,
    boto3, models or rich console."""
    import subprocess
    import sys

    # (pydantic may come: typer imports it for options with min=/max=)
    heavy = ["floe.client", "icechunk", "zarr", "numpy", "xarray", "boto3", "floe.models", "rich.console"]
    check = (
        "import sys; import floe; before = set(sys.modules); from floe.cli import main; "
        "main.app(['repo', 'log', '--help'], standalone_mode=False); "
        "main.app(['bucket', 'create', '--help'], standalone_mode=False); "
        f"print([m for m in {heavy!r} if m in sys.modules and m not in before])"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_errors_name_the_flag_and_one_time_format(floe: Floe) -> None:
    line = error_line(floe("token", "create", unique_name("neg-"), "--expires-in-days", "-1"), 1)
    assert "--expires-in-days" in line and "expires_in_days" not in line
    assert "Input should" not in line and "validation error" not in line
    prefix = error_line(floe("repo", "create", f"default/{unique_name('p-')}", "--prefix", "../x"), 1)
    assert prefix.startswith("error: --prefix: invalid prefix"), prefix
    shown = floe.ok("org", "get", "default").out
    assert ISO_UTC.search(shown.split("Created:")[1]), shown
    made = floe.ok("token", "create", unique_name("t-"), "--expires-in-days", "1").out
    expires = made.split("Expires:")[1].splitlines()[0].strip()
    assert ISO_UTC.fullmatch(expires), made
