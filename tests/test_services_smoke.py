"""Quick checks that the service fixtures themselves work (moto S3 and PostgreSQL)."""

from __future__ import annotations

from services import MotoServer, PostgresServer


def test_moto_put_get(moto: MotoServer, s3_bucket: str) -> None:
    s3 = moto.s3_client()
    s3.put_object(Bucket=s3_bucket, Key="hello/world.txt", Body=b"hello floe")
    body = s3.get_object(Bucket=s3_bucket, Key="hello/world.txt")["Body"].read()
    assert body == b"hello floe"
    assert s3_bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_s3_buckets_are_fresh(moto: MotoServer, s3_bucket: str) -> None:
    assert s3_bucket.startswith("floe-test-")
    assert moto.s3_client().list_objects_v2(Bucket=s3_bucket)["KeyCount"] == 0


def test_postgres_select_1(postgres: PostgresServer) -> None:
    with postgres.connect() as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_postgres_create_database(postgres: PostgresServer) -> None:
    import psycopg

    url = postgres.create_database("floe_smoke_db")
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("select current_database()").fetchone() == ("floe_smoke_db",)
    finally:
        postgres.drop_database("floe_smoke_db")


def test_database_url(database_url: str | None) -> None:
    if database_url is None:
        return  # sqlite: the server uses its embedded default
    import psycopg

    with psycopg.connect(database_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
