"""The HTTP API itself: auth, bad input, secrets, pagination, lifecycle rules."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

SECRET = "very-secret-value-7c1e"


def api(server, token: str | None = "admin") -> httpx.Client:
    headers = {}
    if token == "admin":
        token = server.token
    if token:
        headers["authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def detail(response: httpx.Response) -> str:
    return response.json()["detail"]


def s3_config(moto, bucket: str, nickname: str = "moto", secret: str = SECRET) -> dict:
    return {
        "nickname": nickname,
        "platform": "s3-compatible",
        "name": bucket,
        "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
        "auth_config": {"method": "hmac", "access_key_id": "testing", "secret_access_key": secret},
    }


def test_health_and_openapi(floe_server):
    with api(floe_server, None) as http:
        health = http.get("/health").json()
        assert health["status"] == "ok"
        assert health["database"] in ("sqlite", "postgresql")
        assert "/repos/{org}/{repo}/open" in http.get("/openapi.json").json()["paths"]


def test_token_failures_are_401_with_reasons(floe_server_sqlite):
    server = floe_server_sqlite
    with api(server, None) as http:
        assert http.get("/orgs/default/buckets").status_code == 401
        assert "no token" in detail(http.get("/user"))
    with api(server, "garbage") as http:
        response = http.get("/user")
        assert response.status_code == 401 and "start with 'ema_'" in detail(response)
    with api(server, "ema_unknown") as http:
        assert "not known" in detail(http.get("/user"))
    with api(server) as admin:
        short = admin.post(
            "/orgs/default/api-clients", json={"name": "brief", "expires_in_days": 0.00002}
        ).json()
        revoked = admin.post("/orgs/default/api-clients", json={"name": "gone"}).json()
        assert admin.delete("/orgs/default/api-clients/gone").json()["revoked"] is True
        listed = {c["name"] for c in admin.get("/orgs/default/api-clients").json()}
        assert "gone" not in listed and "brief" in listed
        assert all("token" not in c for c in admin.get("/orgs/default/api-clients").json())
    time.sleep(2)
    with api(server, short["token"]) as http:
        response = http.get("/user")
        assert response.status_code == 401 and "expired" in detail(response)
    with api(server, revoked["token"]) as http:
        assert "revoked" in detail(http.get("/user"))


def test_roles_and_org_isolation(floe_server):
    with api(floe_server) as admin:
        viewer = admin.post("/orgs/default/api-clients", json={"name": "viewer1", "role": "viewer"}).json()[
            "token"
        ]
        member = admin.post("/orgs/default/api-clients", json={"name": "member1", "role": "member"}).json()[
            "token"
        ]
        assert admin.post("/orgs", json={"name": "other"}).status_code == 403  # an org admin is no site admin
        assert admin.post("/orgs/default/repos", json={"name": "admins-repo"}).status_code == 201
    # the first token (printed by `floe serve`) is a site admin: read it from the user config
    config = next(Path(floe_server.data_dir).parent.glob("floe-config-*")) / "config.toml"
    site_token = config.read_text().split('token = "')[1].split('"')[0]
    with api(floe_server, site_token) as site:
        assert site.post("/orgs", json={"name": "other"}).status_code == 201
        assert site.post("/orgs", json={"name": "other"}).status_code == 409
        made = site.post("/orgs/other/api-clients", json={"name": "boss", "role": "admin"})
        assert made.status_code == 201, made.text
        other_admin = made.json()["token"]
    with api(floe_server, viewer) as http:
        assert http.get("/orgs/default/repos/paginated").status_code == 200
        denied = http.post("/orgs/default/repos", json={"name": "rx"})
        assert denied.status_code == 403 and "viewer" in detail(denied)
        assert http.post("/orgs/default/buckets", json={}).status_code in (403, 422)
    with api(floe_server, member) as http:
        assert http.post("/orgs/default/repos", json={"name": "by-member"}).status_code == 201
        assert http.post("/orgs/default/repos", json={"name": "by-member-2"}).status_code == 201
        assert http.delete("/orgs/default/by-member-2").status_code == 204  # creators may delete their own
        refused = http.delete("/orgs/default/admins-repo")
        assert refused.status_code == 403, refused.text
        assert http.get("/orgs/default/api-clients").status_code == 403
    with api(floe_server, other_admin) as http:
        for path in (
            "/orgs/default/buckets",
            "/orgs/default/repos/paginated",
            "/repos/default/by-member/open",
        ):
            response = http.get(path)
            assert response.status_code == 404, path
            assert "by-member" not in response.text
        assert [o["name"] for o in http.get("/orgs").json()] == ["other"]


def test_bad_input_names_the_field_and_fix(floe_server_sqlite, moto, tmp_path):
    with api(floe_server_sqlite) as http:
        cases = [
            ("/orgs/default/repos", {"name": "bad name"}, 422, "repo name"),
            (
                "/orgs/default/repos",
                {"name": "rx", "bucket_nickname": "nope"},
                404,
                "bucket config 'nope' not found",
            ),
            ("/orgs/default/repos", {"name": "rx", "prefix": "/abs"}, 422, "prefix"),
            ("/orgs/default/repos", {"name": "rx", "prefix": "a/../b"}, 422, "'..'"),
            ("/orgs/default/buckets", {"nickname": "x y", "platform": "s3", "name": "b"}, 422, "nickname"),
            ("/orgs/default/buckets", {"nickname": "nope", "platform": "ftp", "name": "b"}, 422, "platform"),
            (
                "/orgs/default/buckets",
                {"nickname": "s3c", "platform": "s3-compatible", "name": "bucket"},
                422,
                "endpoint_url",
            ),
            (
                "/orgs/default/buckets",
                {"nickname": "aws", "platform": "s3", "name": "bucket"},
                422,
                "region_name",
            ),
            (
                "/orgs/default/buckets",
                {"nickname": "esc", "platform": "file", "name": str(tmp_path / "elsewhere")},
                422,
                "outside the folders this server allows",
            ),
            (
                "/orgs/default/buckets",
                {
                    "nickname": "dots",
                    "platform": "file",
                    "name": f"{floe_server_sqlite.data_dir}/storage/../../escape",
                },
                422,
                "'..'",
            ),
            (
                "/orgs/default/buckets",
                {
                    "nickname": "badkey",
                    "platform": "s3",
                    "name": "bucket",
                    "extra_config": {"region_name": "us-east-1", "colour": "blue"},
                },
                422,
                "unknown extra_config key(s) colour",
            ),
            (
                "/orgs/default/buckets",
                {"nickname": "local", "platform": "file", "name": f"{floe_server_sqlite.data_dir}/storage"},
                409,
                "already exists",
            ),
            ("/orgs/default/api-clients", {"name": "xx", "role": "god"}, 422, "role"),
        ]
        for path, body, status, words in cases:
            response = http.post(path, json=body)
            assert response.status_code == status, (body, response.text)
            assert words in detail(response), (words, detail(response))
        assert http.post("/orgs/default/repos", content=b"{not json").status_code == 422
        response = http.get("/orgs/default/repos/paginated", params={"filter_metadata": "[1"})
        assert response.status_code == 422 and "JSON object" in detail(response)
        assert http.get("/orgs/default/repos/paginated", params={"size": 0}).status_code == 422
        assert http.get("/orgs/nowhere/buckets").status_code == 404
        # nothing was created by any of the refused requests
        assert [b["nickname"] for b in http.get("/orgs/default/buckets").json()] == ["local"]
        assert http.get("/orgs/default/repos/paginated").json()["total"] == 0


def test_secrets_never_leave_except_through_credential_routes(floe_server, moto, s3_bucket):
    with api(floe_server) as http:
        created = http.post("/orgs/default/buckets", json=s3_config(moto, s3_bucket))
        assert created.status_code == 201
        bucket_id = created.json()["id"]
        repo = http.post("/orgs/default/repos", json={"name": "secretive", "bucket_nickname": "moto"})
        assert repo.status_code == 201
        shown = [
            created,
            repo,
            http.get("/orgs/default/buckets"),
            http.get(f"/orgs/default/buckets/{bucket_id}"),
            http.get("/orgs/default/buckets/moto"),
            http.get("/orgs/default/buckets/moto/repos"),
            http.get("/repos/default/secretive"),
            http.get("/orgs/default/repos/paginated"),
            http.patch(
                "/orgs/default/buckets/moto",
                json={"extra_config": s3_config(moto, s3_bucket)["extra_config"]},
            ),
        ]
        for response in shown:
            assert response.status_code < 300, response.text
            assert SECRET not in response.text, response.request.url
        assert created.json()["auth_config"] == {
            "method": "hmac",
            "access_key_id": "testing",
            "secret_access_key": "********",
        }
        # the credential routes do hand them to a permitted caller
        assert (
            http.get("/repos/default/secretive/open").json()["repo_credentials"]["aws_secret_access_key"]
            == SECRET
        )
        assert (
            http.get("/repos/default/secretive/bucket-credentials").json()["aws_secret_access_key"] == SECRET
        )
        assert http.get("/orgs/default/buckets/moto/credentials").json()["aws_secret_access_key"] == SECRET
        http.get("/orgs/default/api-clients/authenticate", params={"token": floe_server.token})
    # never at rest in clear, never in the log
    log = floe_server.log_text()
    assert (
        SECRET not in log
        and floe_server.token not in log.split("Admin token")[0] + log.split("Serving on")[-1]
    )
    assert "token=[redacted]" in log
    if floe_server.database_url is None:
        assert SECRET.encode() not in (Path(floe_server.data_dir) / "floe.db").read_bytes()


def test_bucket_config_lifecycle_rules(floe_server_sqlite, moto, s3_bucket):
    with api(floe_server_sqlite) as http:
        assert http.post("/orgs/default/buckets", json=s3_config(moto, s3_bucket)).status_code == 201
        assert http.post("/orgs/default/buckets/moto/default").json()["is_default"] is True
        assert (
            http.post("/orgs/default/repos", json={"name": "on-moto"}).json()["bucket"]["nickname"] == "moto"
        )
        moved = http.patch("/orgs/default/buckets/moto", json={"name": "another-bucket"})
        assert moved.status_code == 409 and "default/on-moto" in detail(moved)
        rekeyed = http.patch(
            "/orgs/default/buckets/moto",
            json={
                "auth_config": {
                    "method": "hmac",
                    "access_key_id": "new-id",
                    "secret_access_key": "new-secret",
                }
            },
        )
        assert rekeyed.status_code == 200 and rekeyed.json()["auth_config"]["access_key_id"] == "new-id"
        assert (
            http.get("/repos/default/on-moto/open").json()["repo_credentials"]["aws_access_key_id"]
            == "new-id"
        )
        refused = http.delete("/orgs/default/buckets/moto")
        assert refused.status_code == 409 and "default/on-moto" in detail(refused)
        trashed = http.delete("/orgs/default/on-moto")
        assert trashed.status_code == 204
        # in the trash its objects are kept, so the bucket config stays until it is purged
        refused = http.delete("/orgs/default/buckets/moto")
        assert refused.status_code == 409 and "default/on-moto (in the trash)" in detail(refused)
        purged = http.delete(f"/orgs/default/trash/{trashed.headers['x-floe-trash-id']}")
        assert purged.status_code == 200 and purged.json()["name"] == "on-moto"
        assert http.delete("/orgs/default/buckets/moto").status_code == 204
        org = http.get("/orgs/default").json()
        assert org["default_bucket_nickname"] is None
        missing = http.post("/orgs/default/repos", json={"name": "homeless"})
        assert missing.status_code == 422 and "no default bucket config" in detail(missing)


def test_anonymous_bucket_config_is_read_only(floe_server_sqlite, moto, s3_bucket):
    with api(floe_server_sqlite) as http:
        config = s3_config(moto, s3_bucket, "public")
        config["auth_config"] = {"method": "anonymous"}
        assert http.post("/orgs/default/buckets", json=config).status_code == 201
        refused = http.post("/orgs/default/repos", json={"name": "rx", "bucket_nickname": "public"})
        assert refused.status_code == 422 and "anonymous" in detail(refused) and "import" in detail(refused)


def test_pagination_and_metadata_filters(floe_server):
    with api(floe_server) as http:
        for i in range(5):
            body = {
                "name": f"repo-{i}",
                "metadata": {"parity": "even" if i % 2 == 0 else "odd", "tags": ["a", f"t{i}"]},
            }
            assert http.post("/orgs/default/repos", json=body).status_code == 201
        page = http.get("/orgs/default/repos/paginated", params={"page": 2, "size": 2}).json()
        assert (page["total"], page["pages"], page["page"]) == (5, 3, 2)
        assert [r["name"] for r in page["items"]] == ["repo-2", "repo-3"]

        def names(flt: dict) -> list[str]:
            params = {"filter_metadata": json.dumps(flt)}
            return [
                r["name"] for r in http.get("/orgs/default/repos/paginated", params=params).json()["items"]
            ]

        # the same metadata in another org is never listed here (filters read the org's own rows)
        config = next(Path(floe_server.data_dir).parent.glob("floe-config-*")) / "config.toml"
        site_token = config.read_text().split('token = "')[1].split('"')[0]
        with api(floe_server, site_token) as site:
            assert site.post("/orgs", json={"name": "lab"}).status_code == 201
            storage = f"{floe_server.data_dir}/storage/lab"
            bucket = {"nickname": "lab-local", "platform": "file", "name": storage}
            assert site.post("/orgs/lab/buckets", json=bucket).status_code == 201
            body = {"name": "repo-9", "metadata": {"parity": "even", "tags": ["a", "t3"]}}
            assert site.post("/orgs/lab/repos", json=body).status_code == 201
            there = site.get("/orgs/lab/repos/paginated", params={"filter_metadata": '{"tags": "t3"}'}).json()
            assert [r["name"] for r in there["items"]] == ["repo-9"] and there["total"] == 1

        assert names({"parity": "even"}) == ["repo-0", "repo-2", "repo-4"]
        assert names({"tags": "t3"}) == ["repo-3"]
        assert names({"parity": "odd", "tags": "t1"}) == ["repo-1"]
        assert names({"parity": "none"}) == []

        changed = http.patch(
            "/orgs/default/repo-0",
            json={
                "description": "now described",
                "update_metadata": {"parity": "odd"},
                "remove_metadata": ["tags"],
            },
        )
        assert changed.status_code == 200 and changed.json()["metadata"] == {"parity": "odd"}
        assert names({"parity": "odd"}) == ["repo-0", "repo-1", "repo-3"]
        assert http.patch("/orgs/default/repo-0", json={"add_metadata": {"parity": "x"}}).status_code == 409
        assert http.patch("/orgs/default/repo-0", json={"remove_metadata": ["ghost"]}).status_code == 422


def test_duplicate_repo_and_delete_removes_objects(floe_server_sqlite):
    with api(floe_server_sqlite) as http:
        made = http.post(
            "/orgs/default/repos", json={"name": "made", "create_mode": "create", "prefix": "made"}
        )
        assert made.status_code == 201
        folder = Path(floe_server_sqlite.data_dir) / "storage" / "default" / "made"
        assert (folder / "refs").is_dir()
        dup = http.post("/orgs/default/repos", json={"name": "made"})
        assert dup.status_code == 409 and "already exists" in detail(dup)
        status = http.put("/orgs/default/made/status", json={"mode": "offline", "message": "m"})
        assert status.status_code == 200 and status.json()["initiated_by"]["name"].startswith("admin")
        assert http.get("/repos/default/made/open").status_code == 423
        deleted = http.delete("/orgs/default/made")
        assert deleted.status_code == 204 and folder.is_dir()  # into the trash: objects kept
        assert http.get("/repos/default/made").status_code == 404
        purged = http.delete(f"/orgs/default/trash/{deleted.headers['x-floe-trash-id']}")
        assert purged.status_code == 200 and purged.json()["objects_deleted"] > 0
        assert not folder.exists()


def test_org_delete_refused_while_repos_exist(floe_server_sqlite):
    config = next(Path(floe_server_sqlite.data_dir).parent.glob("floe-config-*")) / "config.toml"
    site_token = config.read_text().split('token = "')[1].split('"')[0]
    with api(floe_server_sqlite, site_token) as site:
        assert site.post("/orgs", json={"name": "lab"}).status_code == 201
        lab_admin = site.post("/orgs/lab/api-clients", json={"name": "lab-admin", "role": "admin"}).json()[
            "token"
        ]
        storage = f"{floe_server_sqlite.data_dir}/storage/lab"
        assert (
            site.post(
                "/orgs/lab/buckets", json={"nickname": "lab-local", "platform": "file", "name": storage}
            ).status_code
            == 201
        )
        assert site.post("/orgs/lab/repos", json={"name": "rx"}).status_code == 201
        refused = site.delete("/orgs/lab")
        assert refused.status_code == 409 and "lab/rx" in detail(refused)
        trashed = site.delete("/orgs/lab/rx")
        assert trashed.status_code == 204
        refused = site.delete("/orgs/lab")
        assert refused.status_code == 409 and "in its trash (lab/rx)" in detail(refused)
        assert site.delete(f"/orgs/lab/trash/{trashed.headers['x-floe-trash-id']}").status_code == 200
        assert site.delete("/orgs/lab").status_code == 204
    with api(floe_server_sqlite, lab_admin) as http:
        assert http.get("/user").status_code == 401
