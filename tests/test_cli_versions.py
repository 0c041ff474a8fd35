"""``floe repo log | branches | tags | tree | diff`` (in-process, typer's runner) against a real server, reading a
repo with branches, a tag and several commits straight from its storage: the local folder and moto S3.

One Floe server (SQLite) serves the whole module; each repo is written once, through ``floe.Client``
(so commits carry their author), and read by the CLI with the admin's and a viewer's token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import icechunk
import numpy as np
import pytest
import zarr

import floe
from cli_runner import Floe, error_line
from services import FloeServer, MotoServer, running_floe, unique_name

INITIAL = "Repository initialized"  # icechunk's first commit
MAIN_MESSAGES = ["remove pressure", "add wind", "write temperatures", "create the weather group", INITIAL]


@dataclass
class History:
    """A repo written for these tests and what icechunk itself says about it."""

    name: str
    created: str  # snapshot ids of the commits, oldest first
    written: str
    wind: str
    removed: str
    dev: str
    author: str  # the email (or name) the commits were made by
    branch_tips: dict[str, str]  # from icechunk: repo.lookup_branch
    tag_targets: dict[str, str]  # from icechunk: repo.lookup_tag


def table_rows(out: str) -> list[list[str]]:
    """The body rows of the rich table in ``out``, as lists of cell texts."""
    lines = [line for line in out.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in lines]  # the heading has ┃


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FloeServer]:
    with running_floe(tmp_path_factory.mktemp("cli-versions")) as srv:
        yield srv


@pytest.fixture(scope="module")
def floe_cli(server: FloeServer, tmp_path_factory: pytest.TempPathFactory) -> Floe:
    return Floe(server, tmp_path_factory.mktemp("floe-config"), in_process=True)


@pytest.fixture(scope="module")
def viewer_token(floe_cli: Floe) -> str:
    return floe_cli("token", "create", unique_name("viewer-"), "--role", "viewer", "--json").json()["token"]


def _write_history(repo: icechunk.Repository) -> dict[str, str]:
    """Five commits on main (icechunk's first, then four), a branch ``dev`` and a tag ``v1``."""
    ids = {}
    session = repo.writable_session("main")
    weather = zarr.group(session.store).create_group("weather", attributes={"title": "test weather"})
    weather.create_array(
        "temp", shape=(4, 6), chunks=(2, 3), dtype="f4", dimension_names=("y", "x"),
        attributes={"units": "K", "long_name": "air temperature"},
    )  # fmt: skip
    weather.create_array("pres", shape=(4,), chunks=(2,), dtype="i4", dimension_names=("y",))
    ids["created"] = session.commit("create the weather group")

    session = repo.writable_session("main")
    zarr.open_array(session.store, path="weather/temp")[:] = np.arange(24, dtype="f4").reshape(4, 6)
    ids["written"] = session.commit("write temperatures")
    repo.create_branch("dev", ids["written"])
    repo.create_tag("v1", ids["written"])

    session = repo.writable_session("main")
    wind = zarr.open_group(session.store, path="weather").create_array(
        "wind", shape=(3,), chunks=(3,), dtype="f8"
    )
    wind[:] = [1.0, 2.0, 3.0]
    ids["wind"] = session.commit("add wind")

    session = repo.writable_session("main")
    del zarr.open_group(session.store, path="weather")["pres"]
    ids["removed"] = session.commit("remove pressure")

    session = repo.writable_session("dev")
    zarr.open_array(session.store, path="weather/pres")[0:2] = [1000, 1001]
    ids["dev"] = session.commit("try pressure on dev")
    return ids


def _make_history(server: FloeServer, floe_cli: Floe, bucket: str) -> History:
    name = f"default/{unique_name('hist-')}"
    floe_cli.ok("repo", "create", name, "--bucket", bucket)
    with floe.Client(service_uri=server.url, token=server.token) as client:
        me = client.whoami()
        repo = client.get_repo(name)
        ids = _write_history(repo)
        tips = {b: repo.lookup_branch(b) for b in repo.list_branches()}
        tags = {t: repo.lookup_tag(t) for t in repo.list_tags()}
    return History(name, **ids, author=me.email or me.name, branch_tips=tips, tag_targets=tags)


@pytest.fixture(scope="module", params=["local", "s3"])
def history(request: pytest.FixtureRequest, server: FloeServer, floe_cli: Floe) -> History:
    """The same history in the ``local`` folder bucket config and in an S3 (moto) one; the commands open
    the repo read-only, so the S3 config has a read-only key pair (moto accepts any)."""
    if request.param == "local":
        return _make_history(server, floe_cli, "local")
    moto: MotoServer = request.getfixturevalue("moto")
    bucket = moto.create_bucket(unique_name("versions-"))
    nick = unique_name("s3-")
    floe_cli.ok(
        "bucket", "create", nick, f"s3://{bucket}", "--endpoint-url", moto.endpoint, "--region", "us-east-1",
        "--access-key-id", "testing", "--read-access-key-id", "reading",
        env={"FLOE_SECRET_ACCESS_KEY": "testing", "FLOE_READ_SECRET_ACCESS_KEY": "reading"},
    )  # fmt: skip
    return _make_history(server, floe_cli, nick)


# --------------------------------------------------------------------------------------------- log


def test_log_lists_commits_newest_first_with_authors(floe_cli: Floe, history: History) -> None:
    listed = floe_cli("repo", "log", history.name, "--json")
    entries = listed.json()  # a list is a JSON array, whether or not more pages follow
    assert isinstance(entries, list) and "more" not in listed.err
    assert [e["message"] for e in entries] == MAIN_MESSAGES
    assert [e["id"] for e in entries[:4]] == [history.removed, history.wind, history.written, history.created]
    assert entries[0]["parent_id"] == history.wind
    assert {"id", "parent_id", "message", "written_at", "author_name", "author_email", "metadata"} <= set(
        entries[0]
    )
    assert all(history.author in (e["author_email"], e["author_name"]) for e in entries[:4])

    shown = floe_cli.ok("repo", "log", history.name).out
    positions = [shown.index(message) for message in MAIN_MESSAGES]
    assert positions == sorted(positions)
    assert history.removed in shown and history.author in shown
    assert "more" not in shown


def test_log_pages_with_max_count_and_skip(floe_cli: Floe, history: History) -> None:
    first = floe_cli.ok("repo", "log", history.name, "-n", "2")
    assert "add wind" in first.out and "write temperatures" not in first.out
    assert "… more, use --skip 2" in first.out

    second = floe_cli("repo", "log", history.name, "-n", "2", "--skip", "2", "--json")
    assert [e["message"] for e in second.json()] == MAIN_MESSAGES[2:4]
    assert "more snapshots: add --skip 4" in second.err  # said on stderr, stdout stays the array
    assert "… more, use --skip 4" in floe_cli.ok("repo", "log", history.name, "-n", "2", "--skip", "2").out

    last = floe_cli("repo", "log", history.name, "--max-count", "2", "--skip", "4", "--json")
    assert [e["message"] for e in last.json()] == [INITIAL]
    assert "more" not in last.err
    assert "more" not in floe_cli.ok("repo", "log", history.name, "-n", "5").out


def test_log_of_a_branch_or_ref(floe_cli: Floe, history: History) -> None:
    dev = floe_cli("repo", "log", history.name, "--branch", "dev", "--json").json()
    assert dev[0]["id"] == history.dev
    assert [e["message"] for e in dev] == ["try pressure on dev", *MAIN_MESSAGES[2:]]
    tagged = floe_cli("repo", "log", history.name, "--ref", "v1", "--json").json()
    assert [e["id"] for e in tagged][:2] == [history.written, history.created]
    by_id = floe_cli("repo", "log", history.name, "--ref", history.wind, "-n", "1", "--json")
    assert [e["message"] for e in by_id.json()] == ["add wind"] and "more snapshots" in by_id.err

    assert "not a branch" in error_line(floe_cli("repo", "log", history.name, "--branch", "v1"), 1)
    assert "not both" in error_line(
        floe_cli("repo", "log", history.name, "--branch", "dev", "--ref", "v1"), 2
    )
    assert floe_cli("repo", "log", history.name, "-n", "0").code == 2
    assert floe_cli("repo", "log", history.name, "--skip", "-1").code == 2


# --------------------------------------------------------------------------------------------- branches, tags


def test_branches_and_tags_point_where_icechunk_says(floe_cli: Floe, history: History) -> None:
    assert history.branch_tips == {"main": history.removed, "dev": history.dev}
    assert history.tag_targets == {"v1": history.written}

    branches = floe_cli("repo", "branches", history.name, "--json").json()
    assert [b["name"] for b in branches] == ["main", "dev"]  # main first
    assert {b["name"]: b["snapshot_id"] for b in branches} == history.branch_tips
    assert {b["name"]: b["message"] for b in branches} == {
        "main": "remove pressure",
        "dev": "try pressure on dev",
    }
    assert set(branches[0]) == {"id", "name", "kind", "snapshot_id", "message", "written_at"}
    assert all(b["id"] == b["name"] for b in branches)  # a ref's identifier is its name
    assert {b["kind"] for b in branches} == {"branch"}

    tags = floe_cli("repo", "tags", history.name, "--json").json()
    assert [(t["name"], t["kind"], t["snapshot_id"], t["message"]) for t in tags] == [
        ("v1", "tag", history.written, "write temperatures")
    ]

    shown = floe_cli.ok("repo", "branches", history.name).out
    for expected in ("main", "dev", history.removed, history.dev, "remove pressure", "try pressure on dev"):
        assert expected in shown
    shown = floe_cli.ok("repo", "tags", history.name).out
    assert "v1" in shown and history.written in shown and "write temperatures" in shown


# --------------------------------------------------------------------------------------------- tree


def test_tree_shows_groups_and_arrays(floe_cli: Floe, history: History) -> None:
    shown = floe_cli.ok("repo", "tree", history.name).out
    for expected in (
        "weather/",
        "temp",
        "(4, 6)",
        "float32",
        "chunks (2, 3)",
        "dims (y, x)",
        "wind",
        "float64",
    ):
        assert expected in shown, shown
    assert "pres" not in shown  # removed on main
    assert history.removed in shown

    old = floe_cli.ok("repo", "tree", history.name, "--ref", "v1").out
    assert "pres" in old and "int32" in old and "wind" not in old
    shallow = floe_cli.ok("repo", "tree", history.name, "--depth", "1").out
    assert "weather/" in shallow and "temp" not in shallow
    group = floe_cli.ok("repo", "tree", history.name, "weather").out
    assert "/weather/" in group and "temp" in group

    listing = floe_cli("repo", "tree", history.name, "--ref", "v1", "--json").json()
    assert (listing["ref"], listing["snapshot_id"]) == ("v1", history.written)
    root = listing["node"]
    assert (root["path"], root["kind"]) == ("/", "group")
    [weather] = root["children"]
    assert (weather["path"], weather["kind"], weather["attributes"]) == (
        "/weather", "group", {"title": "test weather"},
    )  # fmt: skip
    arrays = {a["name"]: a for a in weather["children"]}
    assert set(arrays) == {"pres", "temp"}
    temp = arrays["temp"]
    assert (temp["path"], temp["kind"], temp["shape"], temp["dtype"], temp["chunk_shape"]) == (
        "/weather/temp", "array", [4, 6], "float32", [2, 3],
    )  # fmt: skip
    assert temp["dimension_names"] == ["y", "x"] and temp["chunks_total"] == 4
    assert arrays["pres"]["dtype"] == "int32"


def test_tree_of_an_array_shows_its_details(floe_cli: Floe, history: History) -> None:
    shown = floe_cli.ok("repo", "tree", history.name, "/weather/temp").out
    for expected in (
        "Array: /weather/temp", "Shape: (4, 6)", "Dtype: float32", "Chunk shape: (2, 3)", "Chunks: 4 in the grid",
        "Dimensions: (y, x)", "Fill value: 0.0", "Codecs: bytes, zstd", "Stored size:", "bytes",
        "units: K", "long_name: air temperature",
    ):  # fmt: skip
        assert expected in shown, shown

    node = floe_cli("repo", "tree", history.name, "weather/temp", "--json").json()["node"]
    assert node["attributes"] == {"units": "K", "long_name": "air temperature"}
    assert node["stored_bytes"] > 0 and node["chunks_total"] == 4 and node["fill_value"] == 0.0
    assert "zstd" in node["codecs"] and node["children"] == []
    unwritten = floe_cli(
        "repo", "tree", history.name, "weather/temp", "--ref", history.created, "--json"
    ).json()
    assert 0 < unwritten["node"]["stored_bytes"] < node["stored_bytes"]  # metadata only, no chunks yet


# --------------------------------------------------------------------------------------------- diff


def test_diff_shows_what_changed(floe_cli: Floe, history: History) -> None:
    found = floe_cli("repo", "diff", history.name, "v1", "main", "--json").json()
    assert (found["from_snapshot_id"], found["to_snapshot_id"]) == (history.written, history.removed)
    assert found["new_arrays"] == ["/weather/wind"]
    assert found["deleted_arrays"] == ["/weather/pres"]
    assert found["chunks_written"] == {"/weather/wind": 1}
    assert found["new_groups"] == found["deleted_groups"] == found["updated_arrays"] == []

    shown = floe_cli.ok("repo", "diff", history.name, "v1", "main").out
    assert table_rows(shown) == [
        ["removed", "array", "/weather/pres", ""],
        ["added", "array", "/weather/wind", "1"],
    ]
    assert "1 chunk written to 1 array" in shown

    created = floe_cli("repo", "diff", history.name, history.created, history.written, "--json").json()
    assert created["chunks_written"] == {"/weather/temp": 4}
    shown = floe_cli.ok("repo", "diff", history.name, history.created, history.written).out
    assert table_rows(shown) == [["written", "array", "/weather/temp", "4"]]
    assert "4 chunks written to 1 array" in shown

    initial = floe_cli("repo", "log", history.name, "--skip", "4", "--json").json()[0]["id"]
    first = floe_cli("repo", "diff", history.name, initial, history.created, "--json").json()
    assert first["new_groups"] == ["/", "/weather"]  # icechunk's first snapshot has no root group
    assert first["new_arrays"] == ["/weather/pres", "/weather/temp"]

    dev = floe_cli("repo", "diff", history.name, "v1", "dev", "--json").json()
    assert dev["chunks_written"] == {"/weather/pres": 1} and dev["new_arrays"] == []

    assert "no changes" in floe_cli.ok("repo", "diff", history.name, "main", "main").out
    assert floe_cli("repo", "diff", history.name, "v1", history.written, "--json").json()["new_arrays"] == []
    assert "ancestor" in error_line(floe_cli("repo", "diff", history.name, "main", "v1"), 1)


# --------------------------------------------------------------------------------------------- errors


def test_unknown_ref_and_path_are_one_line_errors(floe_cli: Floe, history: History) -> None:
    for args in (
        ("log", history.name, "--ref", "nope"),
        ("log", history.name, "--branch", "nope"),
        ("tree", history.name, "--ref", "nope"),
        ("diff", history.name, "nope", "main"),
        ("diff", history.name, "v1", "nope"),
    ):
        line = error_line(floe_cli("repo", *args), 1)
        assert "'nope'" in line and "branches: dev, main" in line and "tags: v1" in line, line
    unknown_id = "0" * 20
    assert unknown_id in error_line(floe_cli("repo", "tree", history.name, "--ref", unknown_id), 1)

    assert "/weather/nope" in error_line(floe_cli("repo", "tree", history.name, "/weather/nope"), 1)
    assert "/weather/pres" in error_line(floe_cli("repo", "tree", history.name, "weather/pres"), 1)
    assert "invalid node path" in error_line(floe_cli("repo", "tree", history.name, "../etc"), 1)
    assert floe_cli("repo", "tree", history.name, "--depth", "-1").code == 2


def test_unknown_repo_is_a_one_line_error(floe_cli: Floe) -> None:
    missing = f"default/{unique_name('missing-')}"
    for args in (
        ("log", missing),
        ("branches", missing),
        ("tags", missing),
        ("tree", missing),
        ("diff", missing, "a", "b"),
    ):
        assert "not found" in error_line(floe_cli("repo", *args), 1).lower()
    assert "ORG/REPO" in error_line(floe_cli("repo", "log", "noslash"), (1, 2))


# --------------------------------------------------------------------------------------------- a viewer


def test_a_viewer_can_read_the_history(floe_cli: Floe, history: History, viewer_token: str) -> None:
    as_viewer = {"token": viewer_token}
    page = floe_cli("repo", "log", history.name, "--json", **as_viewer).json()
    assert [e["message"] for e in page] == MAIN_MESSAGES
    branches = floe_cli("repo", "branches", history.name, "--json", **as_viewer).json()
    assert {b["name"]: b["snapshot_id"] for b in branches} == history.branch_tips
    assert [t["name"] for t in floe_cli("repo", "tags", history.name, "--json", **as_viewer).json()] == ["v1"]
    assert "temp" in floe_cli.ok("repo", "tree", history.name, **as_viewer).out
    assert floe_cli("repo", "diff", history.name, "v1", "main", "--json", **as_viewer).json()[
        "new_arrays"
    ] == ["/weather/wind"]
    # and still may not write
    error_line(floe_cli("repo", "create", f"default/{unique_name('no-')}", **as_viewer), 1)


def test_help_lists_the_version_commands(floe_cli: Floe) -> None:
    shown = floe_cli.ok("repo", "--help").out
    for command in ("log", "branches", "tags", "tree", "diff"):
        assert f" {command} " in shown
    assert "--skip" in floe_cli.ok("repo", "log", "--help").out


def test_write_keys_only_writers_read_with_them_viewers_are_told_why_not(
    server: FloeServer, floe_cli: Floe, viewer_token: str, request: pytest.FixtureRequest
) -> None:
    """Without a read-only key pair the catalog gives readers no keys: writers still read with their own."""
    moto: MotoServer = request.getfixturevalue("moto")
    bucket = moto.create_bucket(unique_name("write-only-"))
    nick = unique_name("s3w-")
    floe_cli.ok(
        "bucket", "create", nick, f"s3://{bucket}", "--endpoint-url", moto.endpoint, "--region", "us-east-1",
        "--access-key-id", "testing", env={"FLOE_SECRET_ACCESS_KEY": "testing"},
    )  # fmt: skip
    history = _make_history(server, floe_cli, nick)
    page = floe_cli("repo", "log", history.name, "--json").json()
    assert [e["message"] for e in page] == MAIN_MESSAGES
    refused = error_line(floe_cli("repo", "log", history.name, token=viewer_token), 1)
    assert "read-only" in refused.lower(), refused
