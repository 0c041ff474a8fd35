"""The trash: deleting a repo keeps its objects until purged; restore gives back the same repo."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import icechunk
import pytest
import zarr

import floe
from cli_runner import Floe, error_line
from services import unique_name


def _write(repo: icechunk.Repository, values: list[int], message: str) -> str:
    session = repo.writable_session("main")
    array = zarr.create_array(
        session.store, name="x", shape=(len(values),), chunks=(2,), dtype="i4", overwrite=True
    )
    array[:] = values
    return session.commit(message)


def _history(repo: icechunk.Repository) -> list[str]:
    return [s.id for s in repo.ancestry(branch="main")]


def _folder(server, client: floe.Client, name: str) -> Path:
    prefix = client.get_repo_object(name).prefix
    return Path(server.data_dir) / "storage" / "default" / prefix


@pytest.fixture
def admin(floe_server) -> floe.Client:
    with floe.Client(service_uri=floe_server.url, token=floe_server.token) as client:
        yield client


def test_delete_moves_to_the_trash_and_restore_gives_back_the_same_repo(floe_server, admin):
    name = "default/" + unique_name("t-")
    repo = admin.create_repo(name, description="kept", metadata={"project": "era5"})
    _write(repo, [1, 2, 3], "first")
    repo.create_tag("v1", _write(repo, [4, 5, 6], "second"))
    history = _history(repo)
    member = admin.create_api_client("default", name=unique_name("m-"), role="viewer")
    admin.grant(name, member.name, "write")
    grants_before = admin.list_grants(name)
    assert grants_before
    folder = _folder(floe_server, admin, name)
    files_before = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())

    admin.delete_repo(name, imsure=True, imreallysure=True)

    # gone from the catalog: not listed, not opened, not found
    assert name.split("/")[1] not in [r.name for r in admin.list_repos("default")]
    with pytest.raises(floe.NotFoundError):
        admin.get_repo(name)
    # ... but every object is still there, and the trash says until when
    assert sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file()) == files_before
    (entry,) = [e for e in admin.list_trash("default") if e.name == name.split("/")[1]]
    assert entry.reason == "deleted" and entry.description == "kept"
    assert 6.9 < (entry.purge_after - entry.trashed).total_seconds() / 86400 < 7.1
    # the location stays reserved while the objects are kept
    with httpx.Client(
        base_url=floe_server.url, headers={"authorization": f"Bearer {floe_server.token}"}
    ) as http:
        over = http.post("/orgs/default/repos", json={"name": unique_name("over-"), "prefix": entry.prefix})
        assert over.status_code == 409 and "in the trash" in over.json()["detail"]
    # the name is free again: a new repo may take it, and the restore then needs another name
    admin.create_repo(name)
    with pytest.raises(floe.ConflictError, match="--as NEW_NAME"):
        admin.restore_repo(name)
    admin.delete_repo(name, imsure=True, imreallysure=True)  # now two entries share the name

    restored_name = name + "-back"
    restored = admin.restore_repo(name, new_name=restored_name.split("/")[1], trash_id=entry.id)
    assert restored.prefix == entry.prefix and restored.metadata == {"project": "era5"}
    back = admin.get_repo(restored_name)
    assert _history(back) == history
    assert zarr.open_array(back.readonly_session(tag="v1").store, path="x")[:].tolist() == [4, 5, 6]
    assert [(g.principal_id, g.level) for g in admin.list_grants(restored_name)] == [
        (g.principal_id, g.level) for g in grants_before
    ]
    # metadata filters see it again (its index rows came back too)
    assert restored.name in [r.name for r in admin.list_repos("default", filter_metadata={"project": "era5"})]
    assert entry.id not in [e.id for e in admin.list_trash("default")]
    actions = [e.action for e in admin.iter_audit_events("default", resource=restored_name, limit=10)]
    assert actions[0] == "repo.restore"


def test_purge_deletes_the_objects_and_only_org_admins_may(floe_server_sqlite, tmp_path):
    server = floe_server_sqlite
    with floe.Client(service_uri=server.url, token=server.token) as admin:
        name = "default/" + unique_name("p-")
        _write(admin.create_repo(name), [1, 2], "one")
        folder = _folder(server, admin, name)
        member_token = admin.create_api_client("default", name=unique_name("m-"), role="member").token
        with floe.Client(service_uri=server.url, token=member_token) as member:
            own = "default/" + unique_name("own-")
            member.create_repo(own)
            member.delete_repo(own, imsure=True, imreallysure=True)
            assert member.restore_repo(own).name == own.split("/")[1]  # whoever deleted it may restore it
            member.delete_repo(own, imsure=True, imreallysure=True)
            with pytest.raises(floe.PermissionDeniedError):
                member.purge_repo(own, imsure=True, imreallysure=True)
        admin.delete_repo(name, imsure=True, imreallysure=True)
        with pytest.raises(floe.BadRequestError, match="cannot be undone"):
            admin.purge_repo(name)
        assert folder.is_dir()
        # a bucket config and an org keep their trashed repos' objects reachable: they cannot go first
        with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {server.token}"}) as http:
            refused = http.delete("/orgs/default/buckets/local")
            assert refused.status_code == 409 and "(in the trash)" in refused.json()["detail"]
        result = admin.purge_repo(name, imsure=True, imreallysure=True)
        assert result.objects_deleted > 0 and not folder.exists()
        assert name.split("/")[1] not in [e.name for e in admin.list_trash("default")]
        with pytest.raises(floe.NotFoundError, match="floe repo trash default"):
            admin.restore_repo(name)
        # keep_data forgets the entry and leaves the objects
        kept = admin.list_trash("default")[0]
        kept_folder = Path(server.data_dir) / "storage" / "default" / kept.prefix
        admin.purge_repo(f"default/{kept.name}", keep_data=True, imsure=True, imreallysure=True)
        assert kept_folder.is_dir()


def test_expired_entries_are_purged_by_the_server(floe_in_process_factory, tmp_path):
    server = floe_in_process_factory(tmp_path / "expiring", env={"FLOE_TRASH_PURGE_INTERVAL_SECONDS": "0.5"})
    with floe.Client(service_uri=server.url, token=server.token) as admin:
        assert admin.get_org("default").trash_retention_days == 7
        org = admin.modify_org("default", trash_retention_days=0)
        assert org.trash_retention_days == 0
        name = "default/" + unique_name("e-")
        _write(admin.create_repo(name), [1], "one")
        folder = _folder(server, admin, name)
        admin.delete_repo(name, imsure=True, imreallysure=True)
        deadline = time.monotonic() + 30
        while folder.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not folder.exists()
        assert admin.list_trash("default") == []
        (event,) = admin.list_audit_events("default", action="repo.purge").items
        assert event.detail["expired"] is True and event.actor is None


def test_keep_data_unregisters_without_a_trash_entry(floe_server_sqlite):
    server = floe_server_sqlite
    with floe.Client(service_uri=server.url, token=server.token) as admin:
        name = "default/" + unique_name("k-")
        admin.create_repo(name)
        folder = _folder(server, admin, name)
        admin.delete_repo(name, imsure=True, imreallysure=True, keep_data=True)
        assert folder.is_dir() and admin.list_trash("default") == []


def test_arraylake_client_deletes_into_the_trash(floe_server_sqlite, tmp_path, monkeypatch):
    arraylake = pytest.importorskip("arraylake")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    server = floe_server_sqlite
    with floe.Client(service_uri=server.url, token=server.token) as admin:
        name = "default/" + unique_name("al-")
        _write(admin.create_repo(name), [7, 8], "one")
        history = _history(admin.get_repo(name))
        arraylake.Client(service_uri=server.url, token=server.token).delete_repo(
            name, imsure=True, imreallysure=True
        )
        assert [e.name for e in admin.list_trash("default")] == [name.split("/")[1]]
        assert _history(admin.get_repo(admin.restore_repo(name).org + "/" + name.split("/")[1])) == history


def test_the_cli_lists_restores_and_purges(floe_server_sqlite, tmp_path):
    floe_cli = Floe(floe_server_sqlite, tmp_path / "cli", in_process=True)
    name = "default/" + unique_name("c-")
    floe_cli.ok("repo", "create", name)
    refused = error_line(floe_cli("repo", "delete", name), 2)
    assert "floe repo restore" in refused and "--yes" in refused
    moved = floe_cli.ok("repo", "delete", name, "--yes")
    assert "trash" in moved.err + moved.out and "7 days" in moved.err + moved.out
    listed = floe_cli.ok("repo", "trash", "default", "--json").json()
    assert [e["name"] for e in listed] == [name.split("/")[1]]
    table = floe_cli.ok("repo", "trash", "default").out
    assert name.split("/")[1] in table and "deleted" in table
    assert "no repo default/nope in the trash" in error_line(floe_cli("repo", "restore", "default/nope"), 1)
    floe_cli.ok("repo", "restore", name)
    assert floe_cli.ok("repo", "get", name, "--json").json()["name"] == name.split("/")[1]
    floe_cli.ok("repo", "delete", name, "--yes")
    assert "--yes" in error_line(floe_cli("repo", "purge", name), 2)
    purged = floe_cli.ok("repo", "purge", name, "--yes", "--json").json()
    assert purged["name"] == name.split("/")[1]
    assert floe_cli.ok("repo", "trash", "default", "--json").json() == []
    changed = floe_cli.ok("org", "modify", "default", "--trash-days", "30", "--json").json()
    assert changed["trash_retention_days"] == 30
    assert "nothing to change" in error_line(floe_cli("org", "modify", "default"), 2)
