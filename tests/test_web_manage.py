"""The manage pages of the web app (``/{org}/-/...``, ``/{org}/{repo}/-/...``), through a real server over
HTTP: creating, editing, switching off, granting and deleting repos; bucket configs (the server's probe
on submit, check again, default, delete); members; API clients (a token shown once); the audit trail;
and that viewers see no controls they may not use, forged posts get 403 and change nothing, and every
form needs its CSRF token."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from browser import PASSWORD, Browser, admin, bearer, create_user, error_text, form, forms
from services import InProcessFloe, free_port, running_floe_in_process

ORG = "default"
PEOPLE = {
    "ada@example.org": ("Ada Admin", "admin"),
    "mel@example.org": ("Mel Member", "member"),
    "vic@example.org": ("Vic Viewer", "viewer"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFloe]:
    with running_floe_in_process(tmp_path_factory.mktemp("web-manage")) as srv:
        yield srv


@pytest.fixture(scope="module")
def site(server: InProcessFloe) -> Iterator[httpx.Client]:
    """The API as the server's site admin: to set things up and to check what the pages did."""
    with admin(server) as http:
        for email, (name, role) in PEOPLE.items():
            create_user(http, email, name)
            assert http.put(f"/orgs/{ORG}/members/{email}", json={"role": role}).status_code == 200
        create_user(http, "newbie@example.org", "New Person")
        yield http


def _signed_in(server: InProcessFloe, email: str) -> Browser:
    browser = Browser(server.url)
    response = browser.sign_in(email, PASSWORD)
    assert response.status_code == 303, response.text
    return browser


@pytest.fixture(scope="module")
def ada(server: InProcessFloe, site: httpx.Client) -> Iterator[Browser]:
    with _signed_in(server, "ada@example.org") as browser:
        yield browser


@pytest.fixture(scope="module")
def mel(server: InProcessFloe, site: httpx.Client) -> Iterator[Browser]:
    with _signed_in(server, "mel@example.org") as browser:
        yield browser


@pytest.fixture(scope="module")
def vic(server: InProcessFloe, site: httpx.Client) -> Iterator[Browser]:
    with _signed_in(server, "vic@example.org") as browser:
        yield browser


def _page(browser: Browser, url: str, status: int = 200) -> httpx.Response:
    response = browser.get(url)
    assert response.status_code == status, (url, response.text[:3000])
    return response


def _post(browser: Browser, page: httpx.Response, action: str, **fields: str) -> httpx.Response:
    """Submit the first form of ``page`` posting to ``action``, with ``fields`` filled in."""
    return browser.post(action, data={**form(page, action)["fields"], **fields})


def _csrf(browser: Browser) -> str:
    """This browser's CSRF token (from the sign-out page, which every signed-in person has)."""
    return form(_page(browser, "/logout"), "/logout")["fields"]["csrf"]


def _actions(page: httpx.Response) -> set[str]:
    return {f["action"] for f in forms(page) if f["method"] == "post"}


def _api(site: httpx.Client, path: str, status: int = 200) -> dict | list:
    response = site.get(path)
    assert response.status_code == status, (path, response.text)
    return response.json() if response.content else {}


def _clients(site: httpx.Client) -> list[tuple[str, str, bool]]:
    """The org's API clients, without what every use changes (last_used)."""
    return [
        (c["name"], c["role"], c["revoked"])
        for c in _api(site, f"/orgs/{ORG}/api-clients?include_revoked=true")
    ]


def _register(site: httpx.Client, name: str, **body) -> dict:
    response = site.post(f"/orgs/{ORG}/repos", json={"name": name, **body})
    assert response.status_code == 201, response.text
    return response.json()


# --- repos ------------------------------------------------------------------------------------------


def test_create_repo_through_the_form(ada: Browser, site: httpx.Client):
    page = _page(ada, f"/{ORG}/-/new")
    assert '<option value="local" selected>' in page.text  # the org's default bucket config
    response = _post(
        ada,
        page,
        f"/{ORG}/-/new",
        name="web-one",
        description="made in the browser",
        metadata='project=era5\nyear=2024\nflags=[1, 2]\nquoted="7"',
        bucket="local",
        mode="create",
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/{ORG}/web-one"

    repo = _api(site, f"/repos/{ORG}/web-one")
    assert repo["description"] == "made in the browser"
    assert repo["metadata"] == {"project": "era5", "year": 2024, "flags": [1, 2], "quoted": "7"}
    assert repo["bucket"]["nickname"] == "local"
    # "create" made the Icechunk repo itself, in the bucket config's folder
    assert (Path(repo["bucket"]["name"]) / repo["prefix"] / "snapshots").is_dir()

    # Mistakes come back on the form, with what was typed kept.
    bad = _post(ada, page, f"/{ORG}/-/new", name="-bad", description="keep me", bucket="local", mode="create")
    assert bad.status_code == 422
    assert "invalid repo name" in error_text(bad) and 'value="keep me"' in bad.text
    bad = _post(
        ada, page, f"/{ORG}/-/new", name="web-two", metadata="no equals sign", bucket="local", mode="create"
    )
    assert bad.status_code == 422 and "metadata line 1" in error_text(bad)
    assert "no equals sign" in bad.text
    taken = _post(ada, page, f"/{ORG}/-/new", name="web-one", bucket="local", mode="create")
    assert taken.status_code == 409 and "already exists" in error_text(taken)
    missing = _post(ada, page, f"/{ORG}/-/new", name="web-two", bucket="local", mode="import")
    assert missing.status_code == 422 and "needs a prefix" in error_text(missing)
    assert _api(site, f"/repos/{ORG}/web-two", 404)


def test_edit_description_and_metadata(ada: Browser, site: httpx.Client):
    _register(site, "editable", description="old", metadata={"project": "era5", "flag": True, "year": 2024})
    url = f"/{ORG}/editable/-/settings"
    page = _page(ada, url)
    assert "project=era5" in page.text and "flag=true" in page.text
    response = _post(
        ada,
        page,
        f"/{ORG}/editable/-/edit",
        description="new words",
        metadata='project=era5\nyear="2024"\nowner=ada',
    )
    assert response.status_code == 303 and response.headers["location"] == f"{url}?done=edited"
    assert "Description and metadata saved." in _page(ada, response.headers["location"]).text
    repo = _api(site, f"/repos/{ORG}/editable")
    assert repo["description"] == "new words"
    assert repo["metadata"] == {"project": "era5", "year": "2024", "owner": "ada"}

    bad = _post(ada, page, f"/{ORG}/editable/-/edit", description="typed", metadata="{oops")
    assert bad.status_code == 422 and "not valid JSON" in error_text(bad)
    assert "{oops" in bad.text and 'value="typed"' in bad.text
    as_json = _post(ada, page, f"/{ORG}/editable/-/edit", description="new words", metadata='{"n": 1.5}')
    assert as_json.status_code == 303
    assert _api(site, f"/repos/{ORG}/editable")["metadata"] == {"n": 1.5}


def test_set_status_offline_with_a_message(ada: Browser, site: httpx.Client):
    _register(site, "switchable")
    page = _page(ada, f"/{ORG}/switchable/-/settings")
    response = _post(
        ada, page, f"/{ORG}/switchable/-/status", mode="offline", message="moving to new storage"
    )
    assert response.status_code == 303
    status = _api(site, f"/repos/{ORG}/switchable")["status"]
    assert (status["mode"], status["message"]) == ("offline", "moving to new storage")
    assert status["initiated_by"]["name"] == "ada@example.org"
    assert site.get(f"/repos/{ORG}/switchable/open").status_code == 423
    shown = _page(ada, response.headers["location"])
    assert '<span class="badge offline">offline</span> moving to new storage' in shown.text
    assert '<option value="offline" selected>' in shown.text

    bad = _post(ada, page, f"/{ORG}/switchable/-/status", mode="sleeping", message="")
    assert bad.status_code == 422 and "mode" in error_text(bad)
    assert _api(site, f"/repos/{ORG}/switchable")["status"]["mode"] == "offline"


def test_grants(ada: Browser, mel: Browser, site: httpx.Client):
    _register(site, "granted")
    _register(site, "ungranted")
    base = f"/{ORG}/granted/-"
    # a member sees no admin controls until a grant makes them repo admin
    assert _actions(_page(mel, f"{base}/settings")) == {f"{base}/edit"}

    page = _page(ada, f"{base}/settings")
    assert "No grants" in page.text
    response = ada.post(
        f"{base}/grants", data={"csrf": _csrf(ada), "grantee": "mel@example.org", "level": "admin"}
    )
    assert response.status_code == 303, response.text
    grants = _api(site, f"/repos/{ORG}/granted/grants")
    assert [(g["principal"], g["level"]) for g in grants] == [("mel@example.org", "admin")]

    # the grant counts on that repo only
    assert _actions(_page(mel, f"{base}/settings")) >= {f"{base}/status", f"{base}/grants", f"{base}/delete"}
    assert _actions(_page(mel, f"/{ORG}/ungranted/-/settings")) == {f"/{ORG}/ungranted/-/edit"}

    page = _page(ada, f"{base}/settings")
    row = _post(ada, page, f"{base}/grants", level="read")  # the row's own form carries the grantee
    assert row.status_code == 303
    assert [g["level"] for g in _api(site, f"/repos/{ORG}/granted/grants")] == ["read"]
    assert _actions(_page(mel, f"{base}/settings")) == {f"{base}/edit"}

    unknown = ada.post(
        f"{base}/grants", data={"csrf": _csrf(ada), "grantee": "nobody@example.org", "level": "read"}
    )
    assert unknown.status_code == 404 and "no user 'nobody@example.org'" in error_text(unknown)

    removed = _post(ada, _page(ada, f"{base}/settings"), f"{base}/grants/remove")
    assert removed.status_code == 303
    assert _api(site, f"/repos/{ORG}/granted/grants") == []


def test_delete_needs_the_full_name(ada: Browser, site: httpx.Client):
    repo = _register(site, "doomed")
    _register(site, "kept", create_mode="create")
    page = _page(ada, f"/{ORG}/doomed/-/settings")
    for typed in ("", "doomed", "default/wrong"):
        wrong = _post(ada, page, f"/{ORG}/doomed/-/delete", confirm=typed)
        assert wrong.status_code == 422, typed
        assert "type the repo's full name, default/doomed" in error_text(wrong)
    assert _api(site, f"/repos/{ORG}/doomed")["_id"] == repo["_id"]

    right = _post(ada, page, f"/{ORG}/doomed/-/delete", confirm="default/doomed")
    assert right.status_code == 303 and right.headers["location"] == f"/{ORG}"
    assert _api(site, f"/repos/{ORG}/doomed", 404)

    kept = _api(site, f"/repos/{ORG}/kept")
    folder = Path(kept["bucket"]["name"]) / kept["prefix"]
    assert folder.exists()
    page = _page(ada, f"/{ORG}/kept/-/settings")
    response = _post(ada, page, f"/{ORG}/kept/-/delete", confirm="default/kept", keep_data="1")
    assert response.status_code == 303
    assert _api(site, f"/repos/{ORG}/kept", 404)
    assert folder.exists()  # only the catalog entry went


def test_trash_page_restores_and_purges(ada: Browser, mel: Browser, vic: Browser, site: httpx.Client):
    made = _register(site, "binned", create_mode="create")
    folder = Path(made["bucket"]["name"]) / made["prefix"]
    page = _page(ada, f"/{ORG}/binned/-/settings")
    assert "trash" in page.text
    assert _post(ada, page, f"/{ORG}/binned/-/delete", confirm="default/binned").status_code == 303
    assert folder.exists()  # in the trash: the objects stay

    trash = _page(ada, f"/{ORG}/-/trash")
    assert "binned" in trash.text and "Purge binned" in trash.text
    assert _page(mel, f"/{ORG}/-/trash").text.count("Purge binned") == 0  # members restore, admins purge
    assert _page(vic, f"/{ORG}/-/trash", 403)
    (entry,) = [e for e in _api(site, f"/orgs/{ORG}/trash") if e["name"] == "binned"]
    restore_action = f"/{ORG}/-/trash/{entry['id']}/restore"
    back = _post(ada, trash, restore_action)
    assert back.status_code == 303 and back.headers["location"] == f"/{ORG}/binned"
    assert _api(site, f"/repos/{ORG}/binned")["prefix"] == made["prefix"]

    page = _page(ada, f"/{ORG}/binned/-/settings")
    assert _post(ada, page, f"/{ORG}/binned/-/delete", confirm="default/binned").status_code == 303
    (entry,) = [e for e in _api(site, f"/orgs/{ORG}/trash") if e["name"] == "binned"]
    trash = _page(ada, f"/{ORG}/-/trash")
    purge_action = f"/{ORG}/-/trash/{entry['id']}/purge"
    wrong = _post(ada, trash, purge_action, confirm="binned")
    assert wrong.status_code == 422 and "type default/binned to purge it" in error_text(wrong)
    assert folder.exists()
    mel_trash = _page(mel, f"/{ORG}/-/trash")  # a forged purge, with mel's own CSRF token
    mel_csrf = form(mel_trash, f"/{ORG}/-/trash/{entry['id']}/restore")["fields"]
    assert mel.post(purge_action, data={**mel_csrf, "confirm": "default/binned"}).status_code == 403
    purged = _post(ada, trash, purge_action, confirm="default/binned")
    assert purged.status_code == 303 and not folder.exists()
    assert "binned" not in [e["name"] for e in _api(site, f"/orgs/{ORG}/trash")]


# --- bucket configs ---------------------------------------------------------------------------------


def test_bucket_config_probe_failure_shows_the_plain_error(ada: Browser, site: httpx.Client):
    chooser = _page(ada, f"/{ORG}/-/buckets/new")
    for platform in ("s3", "s3-compatible", "minio", "r2", "tigris", "gs", "azure", "file", "memory"):
        assert f"/{ORG}/-/buckets/new?platform={platform}" in chooser.text, platform
    page = _page(ada, f"/{ORG}/-/buckets/new?platform=s3-compatible")
    assert 'name="endpoint_url"' in page.text and 'name="secret_access_key" type="password"' in page.text
    for method in ("aws_sts", "from_env", "anonymous"):
        assert f"platform=s3-compatible&amp;method={method}" in page.text

    secret = "s3cr3t-never-shown-again"
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    fields = {
        "nickname": "nowhere",
        "name": "some-bucket",
        "endpoint_url": nowhere,
        "access_key_id": "AKIDEXAMPLE",
        "secret_access_key": secret,
        "read_access_key_id": "AKIDREADER",
        "read_secret_access_key": secret + "-read",
    }
    response = _post(ada, page, f"/{ORG}/-/buckets/new", **fields)
    assert response.status_code == 424, response.text
    message = error_text(response)
    assert message.startswith("bucket config refused: cannot reach") and "check endpoint_url" in message
    assert secret not in response.text  # the secrets are not echoed; the rest is kept
    for kept in ("nowhere", "some-bucket", nowhere, "AKIDEXAMPLE", "AKIDREADER"):
        assert f'value="{kept}"' in response.text, kept
    assert "nowhere" not in {b["nickname"] for b in _api(site, f"/orgs/{ORG}/buckets")}

    bad = _post(ada, page, f"/{ORG}/-/buckets/new", **{**fields, "access_key_id": ""})
    assert bad.status_code == 422 and "access_key_id" in error_text(bad)
    assert secret not in bad.text
    bad = _post(ada, page, f"/{ORG}/-/buckets/new", **{**fields, "endpoint_url": "not-a-url"})
    assert bad.status_code == 422 and "endpoint_url" in error_text(bad)
    assert "nowhere" not in {b["nickname"] for b in _api(site, f"/orgs/{ORG}/buckets")}


def test_file_and_memory_bucket_configs(server: InProcessFloe, ada: Browser, site: httpx.Client):
    folder = server.data_dir.resolve() / "storage" / ORG / "scratch"
    page = _page(ada, f"/{ORG}/-/buckets/new?platform=file")
    assert 'name="prefix"' not in page.text and 'type="password"' not in page.text
    response = _post(ada, page, f"/{ORG}/-/buckets/new", nickname="scratch", name=str(folder))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/{ORG}/-/buckets/scratch?done=created"
    created = _api(site, f"/orgs/{ORG}/buckets/scratch")
    assert (created["platform"], created["name"], created["is_default"]) == ("file", str(folder), False)

    detail = _page(ada, response.headers["location"])
    assert "Bucket config created" in detail.text
    assert re.search(r"<dt>Conditional update \(If-Match\)</dt><dd class=\"bad\">no</dd>", detail.text)
    assert re.search(r"<dt>Can write and delete</dt><dd class=\"ok\">yes</dd>", detail.text)
    base = f"/{ORG}/-/buckets/scratch"
    assert _actions(detail) == {f"{base}/check", f"{base}/set-default", f"{base}/delete"}

    checked = _post(ada, detail, f"{base}/check")
    assert checked.status_code == 303
    assert "Checked again." in _page(ada, checked.headers["location"]).text
    assert (
        _api(site, f"/audit?org={ORG}&action=bucket.check")["items"][0]["resource"]
        == f"{ORG}/buckets/scratch"
    )

    made = _post(ada, detail, f"{base}/set-default")
    assert made.status_code == 303
    assert _api(site, f"/orgs/{ORG}")["default_bucket_nickname"] == "scratch"
    listing = _page(ada, f"/{ORG}/-/buckets")
    assert re.search(r'scratch</a></td>.*?<span class="badge">default</span>', listing.text, re.S)
    assert '<option value="scratch" selected>' in _page(ada, f"/{ORG}/-/new").text
    back = _post(ada, _page(ada, f"/{ORG}/-/buckets/local"), f"/{ORG}/-/buckets/local/set-default")
    assert back.status_code == 303
    assert _api(site, f"/orgs/{ORG}")["default_bucket_nickname"] == "local"

    page = _page(ada, f"/{ORG}/-/buckets/new?platform=memory")
    response = _post(ada, page, f"/{ORG}/-/buckets/new", nickname="mem", name="demo", prefix="p")
    assert response.status_code == 303, response.text
    detail = _page(ada, response.headers["location"])
    assert "memory storage lives in each client process" in detail.text

    for typed in ("", "scratch", "MEM"):
        wrong = _post(ada, detail, f"/{ORG}/-/buckets/mem/delete", confirm=typed)
        assert wrong.status_code == 422 and "type the nickname, mem" in error_text(wrong)
    assert _api(site, f"/orgs/{ORG}/buckets/mem")["nickname"] == "mem"
    gone = _post(ada, detail, f"/{ORG}/-/buckets/mem/delete", confirm="mem")
    assert gone.status_code == 303 and gone.headers["location"] == f"/{ORG}/-/buckets?done=deleted"
    assert "mem" not in {b["nickname"] for b in _api(site, f"/orgs/{ORG}/buckets")}
    assert "Bucket config deleted." in _page(ada, gone.headers["location"]).text

    # a bucket config repos use cannot go
    _register(site, "on-local", bucket_nickname="local")
    used = _post(
        ada, _page(ada, f"/{ORG}/-/buckets/local"), f"/{ORG}/-/buckets/local/delete", confirm="local"
    )
    assert used.status_code == 409 and "is used by" in error_text(used)
    assert _api(site, f"/orgs/{ORG}/buckets/local")["nickname"] == "local"


# --- people -------------------------------------------------------------------------------------------


def test_members_add_change_remove(ada: Browser, site: httpx.Client):
    def roles() -> dict[str, str]:
        return {m["email"]: m["role"] for m in _api(site, f"/orgs/{ORG}/members")}

    page = _page(ada, f"/{ORG}/-/members")
    assert 'value="owner"' not in page.text  # admins manage roles below owner
    response = ada.post(
        f"/{ORG}/-/members/set", data={"csrf": _csrf(ada), "email": "newbie@example.org", "role": "viewer"}
    )
    assert response.status_code == 303, response.text
    assert roles()["newbie@example.org"] == "viewer"

    page = _page(ada, response.headers["location"])
    assert "Member saved." in page.text and "New Person" in page.text
    row = next(f for f in forms(page) if f["fields"].get("email") == "newbie@example.org")
    changed = ada.post(row["action"], data={**row["fields"], "role": "member"})
    assert changed.status_code == 303 and roles()["newbie@example.org"] == "member"

    unknown = ada.post(
        f"/{ORG}/-/members/set", data={"csrf": _csrf(ada), "email": "nobody@example.org", "role": "viewer"}
    )
    assert unknown.status_code == 404 and "no user 'nobody@example.org'" in error_text(unknown)
    assert 'value="nobody@example.org"' in unknown.text
    owner = ada.post(
        f"/{ORG}/-/members/set", data={"csrf": _csrf(ada), "email": "newbie@example.org", "role": "owner"}
    )
    assert owner.status_code == 403 and roles()["newbie@example.org"] == "member"

    page = _page(ada, f"/{ORG}/-/members")
    remove = next(
        f
        for f in forms(page)
        if f["action"] == f"/{ORG}/-/members/remove" and f["fields"]["email"] == "newbie@example.org"
    )
    removed = ada.post(remove["action"], data=remove["fields"])
    assert removed.status_code == 303 and "newbie@example.org" not in roles()


def test_api_client_token_is_shown_once_and_works(server: InProcessFloe, ada: Browser, site: httpx.Client):
    page = _page(ada, f"/{ORG}/-/api-clients")
    response = _post(
        ada, page, f"/{ORG}/-/api-clients/new", name="nightly", role="viewer", expires_in_days="7"
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    token = html.unescape(re.search(r'<code id="token">([^<]+)</code>', response.text).group(1))
    assert token.startswith("ema_")

    me = httpx.get(f"{server.url}/user", headers=bearer(token), trust_env=False)
    assert me.status_code == 200, me.text
    assert (me.json()["name"], me.json()["role"], me.json()["org"]) == ("nightly", "viewer", ORG)
    _register(site, "for-robots")
    readable = httpx.get(f"{server.url}/repos/{ORG}/for-robots", headers=bearer(token), trust_env=False)
    assert readable.status_code == 200, readable.text

    listing = _page(ada, f"/{ORG}/-/api-clients")
    assert "<td>nightly</td>" in listing.text and token not in listing.text
    assert token not in _page(ada, f"/{ORG}/-/audit").text

    taken = _post(ada, page, f"/{ORG}/-/api-clients/new", name="nightly", role="viewer")
    assert taken.status_code == 409 and "exists" in error_text(taken)
    bad = _post(ada, page, f"/{ORG}/-/api-clients/new", name="x", role="viewer", expires_in_days="soon")
    assert bad.status_code == 422 and "name" in error_text(bad) and "expires_in_days" in error_text(bad)

    client_id = next(c["id"] for c in _api(site, f"/orgs/{ORG}/api-clients") if c["name"] == "nightly")
    revoked = _post(ada, listing, f"/{ORG}/-/api-clients/{client_id}/revoke")
    assert revoked.status_code == 303
    assert httpx.get(f"{server.url}/user", headers=bearer(token), trust_env=False).status_code == 401
    assert "<td>nightly" not in _page(ada, f"/{ORG}/-/api-clients").text
    shown = _page(ada, f"/{ORG}/-/api-clients?revoked=1").text
    assert '<td>nightly <span class="badge offline">revoked</span></td>' in shown


def _audit_rows(page: httpx.Response) -> list[tuple[str, str, str]]:
    """(actor, action, resource) of each row of the audit table."""
    rows = re.findall(
        r'<td class="mono">[^<]*</td>\s*<td>([^<]*?)(?: <span class="badge">API client</span>)?</td>\s*'
        r"<td><code>([^<]*)</code></td>\s*<td>([^<]*)</td>",
        page.text,
    )
    return [(html.unescape(a), b, html.unescape(c)) for a, b, c in rows]


def test_audit_trail_filters_and_pages(ada: Browser, site: httpx.Client):
    page = _page(ada, f"/{ORG}/-/new")
    for name in ("audited", "audit-gone"):
        made = _post(ada, page, f"/{ORG}/-/new", name=name, bucket="local", mode="create")
        assert made.status_code == 303, made.text
    settings = _page(ada, f"/{ORG}/audited/-/settings")
    assert _post(ada, settings, f"/{ORG}/audited/-/edit", description="x", metadata="").status_code == 303
    gone = _page(ada, f"/{ORG}/audit-gone/-/settings")
    assert _post(ada, gone, f"/{ORG}/audit-gone/-/delete", confirm=f"{ORG}/audit-gone").status_code == 303
    everything = _audit_rows(_page(ada, f"/{ORG}/-/audit"))
    assert everything[:4] == [
        ("ada@example.org", "repo.delete", f"{ORG}/audit-gone"),
        ("ada@example.org", "repo.modify", f"{ORG}/audited"),
        ("ada@example.org", "repo.create", f"{ORG}/audit-gone"),
        ("ada@example.org", "repo.create", f"{ORG}/audited"),
    ]
    assert "member.add" in {a for _, a, _ in everything}  # the fixture added the people

    repo_events = _audit_rows(_page(ada, f"/{ORG}/-/audit?action=repo"))
    assert repo_events and all(a.startswith("repo.") for _, a, _ in repo_events)
    deletes = _audit_rows(_page(ada, f"/{ORG}/-/audit?action=repo.delete"))
    assert deletes and {a for _, a, _ in deletes} == {"repo.delete"}
    assert ("ada@example.org", "repo.delete", f"{ORG}/audit-gone") in deletes
    by_ada = _audit_rows(_page(ada, f"/{ORG}/-/audit?actor=ada@example.org"))
    assert by_ada and {who for who, _, _ in by_ada} == {"ada@example.org"}
    one = _audit_rows(_page(ada, f"/{ORG}/-/audit?resource={ORG}/audited"))
    assert [(a, r) for _, a, r in one] == [
        ("repo.modify", f"{ORG}/audited"),
        ("repo.create", f"{ORG}/audited"),
    ]
    assert _audit_rows(_page(ada, f"/{ORG}/-/audit?action=repo&since=2999-01-01")) == []
    shown = _page(ada, f"/{ORG}/-/audit?action=repo&actor=ada@example.org")
    assert 'value="repo"' in shown.text and 'value="ada@example.org"' in shown.text  # filters stay filled in

    first = _page(ada, f"/{ORG}/-/audit?action=repo&limit=2")
    assert len(_audit_rows(first)) == 2
    older = re.search(r'<a href="([^"]+)">Older events</a>', first.text)
    assert older, first.text
    second = _page(ada, html.unescape(older.group(1)))
    assert "Newest" in second.text
    assert len(_audit_rows(second)) == 2 and _audit_rows(second) != _audit_rows(first)
    assert _audit_rows(first) + _audit_rows(second) == repo_events[:4]

    bad = _page(ada, f"/{ORG}/-/audit?since=yesterday", 422)
    assert "since: give a date" in error_text(bad)
    swapped = _page(ada, f"/{ORG}/-/audit?since=2025-02-01&until=2025-01-01", 422)
    assert "since is after until" in error_text(swapped)


# --- who may do what --------------------------------------------------------------------------------------


def test_viewers_see_no_controls_and_forged_posts_change_nothing(vic: Browser, site: httpx.Client):
    _register(site, "guarded", description="as it was", metadata={"k": "v"})
    for url in (
        f"/{ORG}/-/buckets",
        f"/{ORG}/-/buckets/local",
        f"/{ORG}/-/members",
        f"/{ORG}/guarded/-/settings",
    ):
        page = _page(vic, url)
        assert forms(page) == [], url
    tabs = _page(vic, f"/{ORG}/-/members").text
    assert "New repo" not in tabs and "API clients" not in tabs and "Audit trail" not in tabs
    assert "New bucket config" not in _page(vic, f"/{ORG}/-/buckets").text
    for url in (f"/{ORG}/-/new", f"/{ORG}/-/buckets/new", f"/{ORG}/-/api-clients", f"/{ORG}/-/audit"):
        refused = _page(vic, url, 403)
        assert "may not" in error_text(refused) and forms(refused) == [], url

    client = site.post(f"/orgs/{ORG}/api-clients", json={"name": "robot", "role": "viewer"}).json()
    before = {
        "repo": _api(site, f"/repos/{ORG}/guarded"),
        "grants": _api(site, f"/repos/{ORG}/guarded/grants"),
        "buckets": _api(site, f"/orgs/{ORG}/buckets"),
        "org": _api(site, f"/orgs/{ORG}"),
        "members": _api(site, f"/orgs/{ORG}/members"),
        "clients": _clients(site),
    }
    csrf = _csrf(vic)
    forged = [
        (f"/{ORG}/-/new", {"name": "sneaky", "bucket": "local", "mode": "create"}),
        (f"/{ORG}/guarded/-/edit", {"description": "changed", "metadata": "k=changed"}),
        (f"/{ORG}/guarded/-/status", {"mode": "offline", "message": "mine now"}),
        (f"/{ORG}/guarded/-/grants", {"grantee": "vic@example.org", "level": "admin"}),
        (f"/{ORG}/guarded/-/grants/remove", {"grantee": "vic@example.org"}),
        (f"/{ORG}/guarded/-/delete", {"confirm": f"{ORG}/guarded"}),
        (
            f"/{ORG}/-/buckets/new",
            {"platform": "memory", "method": "none", "nickname": "sneaky", "name": "x"},
        ),
        (f"/{ORG}/-/buckets/local/check", {}),
        (f"/{ORG}/-/buckets/local/set-default", {}),
        (f"/{ORG}/-/buckets/local/delete", {"confirm": "local"}),
        (f"/{ORG}/-/members/set", {"email": "vic@example.org", "role": "admin"}),
        (f"/{ORG}/-/members/remove", {"email": "mel@example.org"}),
        (f"/{ORG}/-/api-clients/new", {"name": "sneaky", "role": "admin"}),
        (f"/{ORG}/-/api-clients/{client['id']}/revoke", {}),
    ]
    for url, data in forged:
        response = vic.post(url, data={"csrf": csrf, **data})
        assert response.status_code == 403, (url, response.text[:2000])
        assert "may not" in error_text(response), url
    after = {
        "repo": _api(site, f"/repos/{ORG}/guarded"),
        "grants": _api(site, f"/repos/{ORG}/guarded/grants"),
        "buckets": _api(site, f"/orgs/{ORG}/buckets"),
        "org": _api(site, f"/orgs/{ORG}"),
        "members": _api(site, f"/orgs/{ORG}/members"),
        "clients": _clients(site),
    }
    assert after == before
    assert _api(site, f"/repos/{ORG}/sneaky", 404)
    assert not [
        e for e in _api(site, "/audit?action=bucket.check")["items"] if e["actor"] == "vic@example.org"
    ]


def test_posts_need_the_csrf_token_and_pages_need_sign_in(
    server: InProcessFloe, ada: Browser, site: httpx.Client
):
    _register(site, "protected")
    for token in (None, "", "forged", _csrf_of_another_browser(server)):
        extra = {} if token is None else {"csrf": token}
        for url, data in [
            (f"/{ORG}/-/new", {"name": "no-token", "bucket": "local"}),
            (f"/{ORG}/protected/-/delete", {"confirm": f"{ORG}/protected"}),
            (f"/{ORG}/-/members/set", {"email": "newbie@example.org", "role": "admin"}),
            (f"/{ORG}/-/buckets/new", {"platform": "memory", "nickname": "no-token", "name": "x"}),
        ]:
            response = ada.post(url, data={**data, **extra})
            assert response.status_code == 403, (url, token)
            assert "reload the page" in error_text(response)
    assert _api(site, f"/repos/{ORG}/no-token", 404)
    assert _api(site, f"/repos/{ORG}/protected")["name"] == "protected"
    assert "newbie@example.org" not in {m["email"] for m in _api(site, f"/orgs/{ORG}/members")}

    with Browser(server.url) as anonymous:
        page = anonymous.get(f"/{ORG}/-/members")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fdefault%2F-%2Fmembers"
        assert anonymous.post(f"/{ORG}/-/new", data={"name": "x"}).status_code == 403  # no CSRF token yet
    assert _api(site, f"/repos/{ORG}/x", 404)


def _csrf_of_another_browser(server: InProcessFloe) -> str:
    """A valid CSRF token of someone else's session: useless in this browser."""
    with _signed_in(server, "mel@example.org") as other:
        return _csrf(other)
