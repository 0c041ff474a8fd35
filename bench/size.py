"""Bench section ``size``: get, open and one page of list (with and without a metadata filter) in a
catalog of 1,000 repos against the same requests in a catalog of 1,000,000 repos in 1,000 orgs (100,000
in 100 orgs with ``--quick``), on SQLite and on PostgreSQL. The goal of issue 17: every operation at the
top size within 1.5x of its latency at 1,000 repos.

Two servers per database run side by side, one on each catalog, and the requests alternate between
them, so both sizes are measured under the same conditions. The probe is a person who is a viewer in
``org-0000`` with a write grant on ``org-0000/repo-0500`` (so ``open`` looks the grant up), signed in
with a CLI session.

The big catalog is built in minutes: org ``org-0000`` and its first repo, user, membership, bucket config
and grant are made through the API, then read back from the database as templates; every other row is
a copy of its template with new ids and names (and its own metadata), inserted straight into the
tables in big batches (``executemany`` on SQLite, ``COPY`` on PostgreSQL), one transaction per batch.
So the rows are byte for byte what the server writes, audit events included.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from psycopg import sql

from bench.stats import Sample, alternate, percentile
from floe.server.catalog.base import metadata_rows
from floe.server.catalog.signin import create_session
from floe.server.db import tables as t
from services import admin_token

REPOS_PER_ORG = 1000
GOAL = 1.5  # the top size's median latency at most this many times the latency at 1,000 repos
PROBE_ORG, PROBE_REPO = "org-0000", "repo-0500"
GRANT_EVERY = 10  # the org's viewer has a write grant on every tenth repo (the probe's included)
PROJECTS = 10  # metadata "project": proj-0 .. proj-9, so a filter on one keeps a tenth of an org
FILTER = {"project": "proj-3"}
OPS = ("get", "open", "list", "list filtered")
# tables in foreign-key order; the audit trail last (its id is the database's to give)
TABLES = ("orgs", "users", "memberships", "buckets", "repos", "repo_metadata", "repo_grants", "audit_events")
REPOS_PER_BATCH = 20_000  # one transaction: 20,000 repos and their metadata, grants and audit events


def _org_name(k: int) -> str:
    return f"org-{k:04d}"


def _repo_name(i: int) -> str:
    return f"repo-{i:04d}"


def _metadata(i: int) -> dict[str, Any]:
    return {"project": f"proj-{i % PROJECTS}", "index": i}


# --- templates ------------------------------------------------------------------------------------


def _columns(table: str) -> list[str]:
    """Every column the server writes (the audit trail's id is left to the database)."""
    return [c.name for c in t.metadata.tables[table].c if not (table == "audit_events" and c.name == "id")]


@dataclass
class RowTemplate:
    """One row as the server wrote it, with the values that differ between copies as placeholders.

    ``fields`` holds each column's value in the database's own text (SQLite: the stored value;
    PostgreSQL: the ``COPY`` text field); a ``str.format`` pattern where a column holds an id or a name
    that each copy replaces."""

    table: str
    fields: list[Any]
    patterns: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, table: str, fields: list[Any], tokens: dict[str, str], whole: dict[str, str]) -> RowTemplate:
        """``tokens`` maps literal text (an id, a name) to a placeholder; ``whole`` maps a column to a
        placeholder that replaces its whole value (the metadata)."""
        columns = _columns(table)
        patterns: dict[int, str] = {}
        for index, value in enumerate(fields):
            if columns[index] in whole:
                patterns[index] = "{" + whole[columns[index]] + "}"
                continue
            if not isinstance(value, str):
                continue
            pattern = value.replace("{", "{{").replace("}", "}}")
            hit = False
            for literal in sorted(tokens, key=len, reverse=True):  # a prefix holds the repo's name
                if literal in pattern:
                    pattern = pattern.replace(literal, "{" + tokens[literal] + "}")
                    hit = True
            if hit:
                patterns[index] = pattern
        return cls(table, list(fields), patterns)

    def fill(self, values: dict[str, str]) -> list[Any]:
        row = list(self.fields)
        for index, pattern in self.patterns.items():
            row[index] = pattern.format_map(values)
        return row


class Writer:
    """Rows into one catalog database, straight through its driver."""

    def read(self, table: str, where: str, value: str) -> list[list[Any]]:
        raise NotImplementedError

    def write(self, batch: dict[str, list[list[Any]]]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


class SqliteWriter(Writer):
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        self.conn.execute("PRAGMA foreign_keys=ON")  # as the server has it: a wrong copy fails here
        self.conn.execute("PRAGMA cache_size=-262144")  # 256 MiB for this connection only

    def read(self, table: str, where: str, value: str) -> list[list[Any]]:
        query = f'SELECT {_quoted(_columns(table))} FROM "{table}" WHERE "{where}" = ?'
        return [list(row) for row in self.conn.execute(query, (value,))]

    def write(self, batch: dict[str, list[list[Any]]]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for table in TABLES:
                rows = batch.get(table)
                if rows:
                    columns = _columns(table)
                    marks = ", ".join("?" * len(columns))
                    self.conn.executemany(
                        f'INSERT INTO "{table}" ({_quoted(columns)}) VALUES ({marks})', rows
                    )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def finish(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.conn.close()


class PostgresWriter(Writer):
    """``COPY`` in its text format: a template row is read with ``COPY ... TO STDOUT`` and its copies
    written back with ``COPY ... FROM STDIN``, field for field."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url)

    def read(self, table: str, where: str, value: str) -> list[list[Any]]:
        query = sql.SQL("COPY (SELECT {} FROM {} WHERE {} = {}) TO STDOUT").format(
            sql.SQL(", ").join(map(sql.Identifier, _columns(table))),
            sql.Identifier(table),
            sql.Identifier(where),
            sql.Literal(value),
        )
        with self.conn.cursor() as cur, cur.copy(query) as copy:
            text = b"".join(bytes(chunk) for chunk in copy).decode()
        self.conn.commit()
        return [line.split("\t") for line in text.splitlines()]

    def write(self, batch: dict[str, list[list[Any]]]) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            for table in TABLES:
                rows = batch.get(table)
                if not rows:
                    continue
                query = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, _columns(table)))
                )
                with cur.copy(query) as copy:
                    for start in range(0, len(rows), 10_000):
                        copy.write("".join("\t".join(row) + "\n" for row in rows[start : start + 10_000]))

    def finish(self) -> None:
        self.conn.autocommit = True
        self.conn.execute("VACUUM (ANALYZE)")  # what autovacuum does after a bulk load, a minute later

    def close(self) -> None:
        self.conn.close()


# --- the catalog ------------------------------------------------------------------------------------


@dataclass
class SizedCatalog:
    """One server on one database, and the probe's session token."""

    backend: str
    server: Any
    orgs: int
    token: str = ""
    build_s: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)

    def writer(self) -> Writer:
        if self.server.database_url:
            return PostgresWriter(self.server.database_url)
        return SqliteWriter(self.server.data_dir / "floe.db")


def _api(http: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    answer = http.request(method, path, **kwargs)
    if answer.status_code >= 400:
        raise RuntimeError(f"{method} {path} -> {answer.status_code}: {answer.text[:300]}")
    return answer.json() if answer.content else {}


def _session_token(server: Any, email: str) -> str:
    """A CLI session for a person, made as a sign-in makes it."""
    cat = server.catalog()
    with cat.tx() as conn:
        user = conn.execute(sa.select(t.users).where(t.users.c.email == email)).one()
        return create_session(conn, user, kind="cli", lifetime=timedelta(days=2)).token


def _first_org(server: Any) -> tuple[dict[str, str], str]:
    """org-0000 through the API: its owner and viewer, a ``local`` bucket config, repo-0000 (created,
    with metadata) and the viewer's write grant on it. Returns the ids the copies replace and the
    viewer's session token."""
    site = admin_token(server, site_admin=True)
    org = _org_name(0)
    owner, viewer = f"owner@{org}.example.org", f"viewer@{org}.example.org"
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {site}"}, timeout=60) as http:
        root = Path(_api(http, "GET", "/orgs/default/buckets/local")["name"]).parent
        org_id = _api(http, "POST", "/orgs", json={"name": org})["id"]
        ids = {"org_id": org_id}
        for role, email in (("owner", owner), ("viewer", viewer)):
            made = _api(http, "POST", "/users", json={"email": email, "name": f"{role.title()} of {org}"})
            ids[f"{role}_id"] = made["id"]
            _api(http, "PUT", f"/orgs/{org}/members/{email}", json={"role": role})
    owner_token, viewer_token = _session_token(server, owner), _session_token(server, viewer)
    headers = {"authorization": f"Bearer {owner_token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
        bucket = {"nickname": "local", "platform": "file", "name": str(root / org)}
        ids["bucket_id"] = _api(
            http, "POST", f"/orgs/{org}/buckets", json={**bucket, "auth_config": {"method": "none"}}
        )["id"]
        body = {"name": _repo_name(0), "metadata": _metadata(0), "create_mode": "create"}
        repo = _api(http, "POST", f"/orgs/{org}/repos", json=body)
        ids["repo_id"], ids["prefix"] = repo["_id"], repo["prefix"]
        _api(http, "PUT", f"/repos/{org}/{_repo_name(0)}/grants/{viewer}", json={"level": "write"})
    return ids, viewer_token


@dataclass
class Templates:
    """The rows of org-0000 and of repo-0000 that every other org and repo copies."""

    org: list[RowTemplate]
    repo: list[RowTemplate]
    grant: list[RowTemplate]
    metadata: RowTemplate  # one repo_metadata row: its key and value replaced
    ids: dict[str, str]  # org-0000's own ids, for its repos


def _templates(writer: Writer, ids: dict[str, str]) -> Templates:
    org_name, repo_name = _org_name(0), _repo_name(0)
    tokens = {
        ids["org_id"]: "org_id",
        org_name: "org_name",
        ids["owner_id"]: "owner_id",
        ids["viewer_id"]: "viewer_id",
        ids["bucket_id"]: "bucket_id",
        ids["repo_id"]: "repo_id",
        ids["prefix"]: "prefix",
        repo_name: "repo_name",
    }

    def rows(table: str, where: str, value: str, whole: dict[str, str] | None = None) -> list[RowTemplate]:
        found = writer.read(table, where, value)
        if not found:
            raise RuntimeError(f"the server wrote no {table} row with {where} = {value}")
        return [RowTemplate.of(table, f, tokens, whole or {}) for f in found]

    audit = _columns("audit_events")

    def events(actions: tuple[str, ...], where: str, value: str) -> list[RowTemplate]:
        found = [r for r in writer.read("audit_events", where, value) if r[audit.index("action")] in actions]
        if len(found) < len(actions):
            raise RuntimeError(f"audit events {actions} of {value}: found {len(found)}")
        return [RowTemplate.of("audit_events", f, tokens, {}) for f in found]

    org_rows = [
        *rows("orgs", "id", ids["org_id"]),
        *rows("users", "id", ids["owner_id"]),
        *rows("users", "id", ids["viewer_id"]),
        *rows("memberships", "org_id", ids["org_id"]),
        *rows("buckets", "id", ids["bucket_id"]),
        *events(("org.create", "member.add", "bucket.create"), "org_id", ids["org_id"]),
        *events(("user.create",), "resource", f"users/owner@{org_name}.example.org"),
        *events(("user.create",), "resource", f"users/viewer@{org_name}.example.org"),
    ]
    repo_resource = f"{org_name}/{repo_name}"
    repo_rows = [
        *rows("repos", "id", ids["repo_id"], {"metadata": "metadata"}),
        *events(("repo.create",), "resource", repo_resource),
    ]
    grant_rows = [
        *rows("repo_grants", "repo_id", ids["repo_id"]),
        *events(("grant.set",), "resource", repo_resource),
    ]
    stored = writer.read("repo_metadata", "repo_id", ids["repo_id"])
    expected = metadata_rows(ids["org_id"], ids["repo_id"], _metadata(0))
    if sorted((r[1], r[2]) for r in stored) != sorted((r["key"], r["value"]) for r in expected):
        raise RuntimeError(f"repo_metadata of the template is not what metadata_rows makes: {stored}")
    stored_json = rows("repos", "id", ids["repo_id"])[0].fields[_columns("repos").index("metadata")]
    if json.loads(stored_json) != _metadata(0) or stored_json != json.dumps(_metadata(0)):
        raise RuntimeError(f"repos.metadata of the template is stored as {stored_json!r}")
    metadata = RowTemplate.of("repo_metadata", stored[0], tokens, {"key": "key", "value": "value"})
    org_ids = {key: ids[key] for key in ("org_id", "owner_id", "viewer_id", "bucket_id")}
    return Templates(org_rows, repo_rows, grant_rows, metadata, org_ids)


def _org_rows(templates: Templates, orgs: int) -> tuple[list[dict[str, str]], dict[str, list[list[Any]]]]:
    """The ids of every org, and the org-level rows of org-0001 on (org-0000's the API made)."""
    batch: dict[str, list[list[Any]]] = {table: [] for table in TABLES}
    ids = [{"org_name": _org_name(0), **templates.ids}]
    for k in range(1, orgs):
        # what insert_org, insert_user and insert_bucket do
        values = {"org_name": _org_name(k), **{key: str(uuid.uuid4()) for key in templates.ids}}
        ids.append(values)
        for row in templates.org:
            batch[row.table].append(row.fill(values))
    return ids, batch


def _repo_rows(templates: Templates, orgs: list[dict[str, str]], repos: range) -> dict[str, list[list[Any]]]:
    """Repos ``repos`` of every org, in turn (as a catalog grows: the orgs' repos interleaved in the
    tables, not one org's together), with their metadata, grants and audit events."""
    batch: dict[str, list[list[Any]]] = {table: [] for table in TABLES}
    for i in repos:
        name = _repo_name(i)
        metadata = _metadata(i)
        metadata_json = json.dumps(metadata)  # what SQLAlchemy's JSON type stores
        for k, values in enumerate(orgs):
            if k == 0 and i == 0:
                continue  # the template
            repo_id = secrets.token_hex(12)  # what _insert_repo does
            repo_values = {
                **values,
                "repo_id": repo_id,
                "repo_name": name,
                "prefix": f"{secrets.token_hex(6)}-{name}",  # what create_repo does
                "metadata": metadata_json,
            }
            for row in templates.repo:
                batch[row.table].append(row.fill(repo_values))
            if i % GRANT_EVERY == 0:
                for row in templates.grant:
                    batch[row.table].append(row.fill(repo_values))
            for md in metadata_rows(values["org_id"], repo_id, metadata):
                batch["repo_metadata"].append(templates.metadata.fill({**repo_values, **md}))
    return batch


def _build(catalog: SizedCatalog) -> None:
    """org-0000 through the API, then every other row by copy; the probe's token, the build time and
    the rows written go into ``catalog``."""
    started = time.monotonic()
    ids, catalog.token = _first_org(catalog.server)
    writer = catalog.writer()
    rows = dict.fromkeys(TABLES, 0)
    try:
        templates = _templates(writer, ids)
        orgs, batch = _org_rows(templates, catalog.orgs)
        per_batch = max(1, REPOS_PER_BATCH // catalog.orgs)  # repos of each org per transaction
        last_report = time.monotonic()
        for first in range(0, REPOS_PER_ORG, per_batch):
            if first:
                batch = {}
            for table, more in _repo_rows(
                templates, orgs, range(first, min(REPOS_PER_ORG, first + per_batch))
            ).items():
                batch.setdefault(table, []).extend(more)
            writer.write(batch)
            for table, written in batch.items():
                rows[table] += len(written)
            if time.monotonic() - last_report > 15:
                last_report = time.monotonic()
                print(
                    f"size: {catalog.backend}: {rows['repos']:,} of {catalog.orgs * REPOS_PER_ORG:,} repos "
                    f"in {last_report - started:.0f} s",
                    flush=True,
                )
        writer.finish()
    finally:
        writer.close()
    catalog.build_s = round(time.monotonic() - started, 1)
    catalog.rows = rows
    print(
        f"size: {catalog.backend}: built {catalog.orgs * REPOS_PER_ORG:,} repos in {catalog.orgs} orgs "
        f"({sum(rows.values()):,} rows copied) in {catalog.build_s} s",
        flush=True,
    )


def _check(catalog: SizedCatalog) -> None:
    """The copies are what the server expects: the probe sees its repo, its grant and the filter's
    tenth of the org; the last repo of the last org reads back whole (as a site admin)."""
    server = catalog.server
    with httpx.Client(base_url=server.url, headers=_auth(catalog.token), timeout=60) as http:
        repo = _api(http, "GET", f"/repos/{PROBE_ORG}/{PROBE_REPO}")
        assert repo["metadata"] == _metadata(int(PROBE_REPO.split("-")[1])), repo
        assert _api(http, "GET", f"/repos/{PROBE_ORG}/{PROBE_REPO}/open")["can_write"] is True
        page = _api(http, "GET", f"/orgs/{PROBE_ORG}/repos/paginated", params=_list_params(True))
        assert page["total"] == REPOS_PER_ORG // PROJECTS, page["total"]
    last_org, last_repo = _org_name(catalog.orgs - 1), _repo_name(REPOS_PER_ORG - 1)
    site = admin_token(server, site_admin=True)
    with httpx.Client(base_url=server.url, headers=_auth(site), timeout=60) as http:
        repo = _api(http, "GET", f"/repos/{last_org}/{last_repo}")
        assert repo["metadata"] == _metadata(REPOS_PER_ORG - 1) and repo["bucket"]["nickname"] == "local", (
            repo
        )
        assert repo["bucket"]["name"].endswith(f"/{last_org}") and repo["state"] == "ready", repo
        grants = _api(http, "GET", f"/repos/{last_org}/{_repo_name(0)}/grants")
        assert [g["principal"] for g in grants] == [f"viewer@{last_org}.example.org"], grants
        members = _api(http, "GET", f"/orgs/{last_org}/members")
        assert sorted(m["role"] for m in members) == ["owner", "viewer"], members


def _database_mib(catalog: SizedCatalog) -> float:
    if catalog.server.database_url:
        with psycopg.connect(catalog.server.database_url) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    else:
        size = sum(p.stat().st_size for p in catalog.server.data_dir.glob("floe.db*"))
    return round(size / 2**20, 1)


# --- measuring ----------------------------------------------------------------------------------------


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _list_params(filtered: bool) -> dict[str, Any]:
    if filtered:
        return {"page": 1, "size": 50, "filter_metadata": json.dumps(FILTER)}
    return {"page": 3, "size": 50}


def _requests(http: httpx.Client) -> dict[str, Callable[[], object]]:
    def call(path: str, params: dict[str, Any] | None = None) -> Callable[[], object]:
        return lambda: http.get(path, params=params).raise_for_status()

    return {
        "get": call(f"/repos/{PROBE_ORG}/{PROBE_REPO}"),
        "open": call(f"/repos/{PROBE_ORG}/{PROBE_REPO}/open"),
        "list": call(f"/orgs/{PROBE_ORG}/repos/paginated", _list_params(False)),
        "list filtered": call(f"/orgs/{PROBE_ORG}/repos/paginated", _list_params(True)),
    }


def _figures(sample: Sample) -> dict[str, Any]:
    return {**sample.as_dict(), "p99_s": percentile(sample.times, 99)}


def _measure(small: SizedCatalog, large: SizedCatalog, rounds: int) -> dict[str, Any]:
    """Each operation on both catalogs, alternating, ``rounds`` times."""
    with (
        httpx.Client(base_url=small.server.url, headers=_auth(small.token), timeout=60) as near,
        httpx.Client(base_url=large.server.url, headers=_auth(large.token), timeout=60) as far,
    ):
        contenders: dict[str, Callable[[], object]] = {}
        for op in OPS:
            contenders[f"{op} small"] = _requests(near)[op]
            contenders[f"{op} top"] = _requests(far)[op]
        samples = alternate(contenders, rounds, warmup=3)
    out: dict[str, Any] = {"small": {}, "top": {}, "growth": {}, "p99_growth": {}}
    for op in OPS:
        a, b = samples[f"{op} small"], samples[f"{op} top"]
        out["small"][op], out["top"][op] = _figures(a), _figures(b)
        out["growth"][op] = round(b.median / a.median, 3)
        out["p99_growth"][op] = round(percentile(b.times, 99) / percentile(a.times, 99), 3)
    return out


def _one(ctx: Any, backend: str, orgs: int, rounds: int) -> dict[str, Any]:
    catalogs: list[SizedCatalog] = []
    databases: list[str] = []
    try:
        for label, count in (("small", 1), ("top", orgs)):
            url = None
            if backend == "postgresql":
                databases.append(f"bench_size_{label}_{secrets.token_hex(4)}")
                url = ctx.postgres.create_database(databases[-1])
            server = ctx.floe_server(f"size-{backend}-{label}", database_url=url)
            catalogs.append(SizedCatalog(backend, server, count))
            _build(catalogs[-1])
            _check(catalogs[-1])
        small, large = catalogs
        out = {
            "build_s": {"small": small.build_s, "top": large.build_s},
            "rows": large.rows,
            "database_mib": {"small": _database_mib(small), "top": _database_mib(large)},
            **_measure(small, large, rounds),
        }
    finally:  # the big catalog takes 1.5 to 2 GB: not left behind
        for catalog in catalogs:
            catalog.server.stop()
            shutil.rmtree(catalog.server.data_dir, ignore_errors=True)
        for name in databases:
            ctx.postgres.drop_database(name)
    return out


def size(ctx: Any) -> dict[str, Any]:
    """get, open, list and list with a metadata filter at 1,000 repos and at the top size, on SQLite
    and on PostgreSQL (when there is one)."""
    orgs = 100 if ctx.quick else 1000
    rounds = 60 if ctx.quick else 300
    out: dict[str, Any] = {
        "top_orgs": orgs,
        "top_repos": orgs * REPOS_PER_ORG,
        "repos_per_org": REPOS_PER_ORG,
        "filter": FILTER,
        "rounds": rounds,
        "backends": {},
    }
    backends = ["sqlite"] + (["postgresql"] if ctx.postgres is not None else [])
    for backend in backends:
        out["backends"][backend] = _one(ctx, backend, orgs, rounds)
    return out


# --- report -----------------------------------------------------------------------------------------


def goals(results: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """Issue 17's size goal as (what, measured, target, met) per database and operation."""
    found = []
    for backend, r in results["backends"].items():
        for op in OPS:
            ratio = r["growth"][op]
            found.append(
                (
                    f"{op}, {backend}, top / 1,000 repos (median)",
                    f"{ratio:.2f}x",
                    f"<= {GOAL:.2f}x",
                    ratio <= GOAL,
                )
            )
    return found


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def markdown(results: dict[str, Any]) -> list[str]:
    top, orgs = results["top_repos"], results["top_orgs"]
    lines = [
        f"## Catalog size: 1,000 repos in 1 org vs {top:,} repos in {orgs:,} orgs"
        + (" (`--quick`: the full run has 1,000,000 in 1,000)" if orgs < 1000 else ""),
        "",
        f"A viewer with a write grant on the repo; list: page 3 of 50; list filtered: "
        f"`filter_metadata={json.dumps(results['filter'])}` (a tenth of the org), page 1 of 50; "
        f"{results['rounds']} rounds alternating between the two catalogs.",
        "",
        "| database | build s (1,000 / top) | rows copied (top) | database MiB (1,000 / top) |",
        "|---|---|---|---|",
    ]
    for backend, r in results["backends"].items():
        rows = sum(r["rows"].values())
        lines.append(
            f"| {backend} | {r['build_s']['small']} / {r['build_s']['top']} | {rows:,} "
            f"| {r['database_mib']['small']} / {r['database_mib']['top']} |"
        )
    lines += [
        "",
        "| database | operation | 1,000 repos: median ms (p99) | top: median ms (p99) | growth median | growth p99 |",
        "|---|---|---|---|---|---|",
    ]
    for backend, r in results["backends"].items():
        for op in OPS:
            a, b = r["small"][op], r["top"][op]
            lines.append(
                f"| {backend} | {op} | {_ms(a['median_s'])} ({_ms(a['p99_s'])}) | {_ms(b['median_s'])} "
                f"({_ms(b['p99_s'])}) | {r['growth'][op]:.2f}x | {r['p99_growth'][op]:.2f}x |"
            )
    lines += ["", "| goal | measured | target | |", "|---|---|---|---|"]
    lines += [
        f"| {what} | {got} | {want} | {'pass' if ok else 'miss'} |" for what, got, want, ok in goals(results)
    ]
    return [*lines, ""]
