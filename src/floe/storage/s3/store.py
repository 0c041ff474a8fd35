"""boto3 handle on one S3(-compatible) bucket: probes, prefix checks and deletes, with plain errors.

Imported only when the server makes a handle, so that importing Floe loads no boto3.
"""

from __future__ import annotations

from typing import Any

from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)

from floe.errors import NotFoundError, PermissionDeniedError, StorageError
from floe.models import S3Credentials
from floe.storage import timeouts
from floe.storage.base import BucketSpec
from floe.storage.objects import (
    MAX_LISTED,
    Listing,
    ObjectMissing,
    PreconditionFailed,
    collect_listing,
    listed_prefix,
    with_kind,
)
from floe.storage.s3.sessions import new_session


class S3ObjectStore:
    """boto3 handle on one S3 bucket, with errors translated into plain messages."""

    list_page_size = 1000  # entries per listing request (the most the service returns)

    def __init__(
        self,
        spec: BucketSpec,
        settings: dict[str, Any],
        credentials: S3Credentials | None,
        *,
        from_env: bool = False,
    ) -> None:
        self.spec = spec
        self.endpoint = settings["endpoint_url"]
        config = Config(
            s3={"addressing_style": "path" if settings["force_path_style"] else "auto"},
            connect_timeout=timeouts.current().connect,
            read_timeout=timeouts.current().read,
            retries={"max_attempts": 2, "mode": "standard"},
            signature_version=UNSIGNED if credentials is None and not from_env else None,
        )
        self._client = new_session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=settings["region"],
            use_ssl=settings["use_ssl"],
            aws_access_key_id=credentials.aws_access_key_id if credentials else None,
            aws_secret_access_key=credentials.aws_secret_access_key if credentials else None,
            aws_session_token=credentials.aws_session_token if credentials else None,
            config=config,
        )

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"bucket {self.spec.name!r}{where}"

    def _translate(self, exc: Exception, doing: str) -> Exception:
        if isinstance(exc, ReadTimeoutError):
            return timeouts.no_answer(self.describe(), doing)
        if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ProxyConnectionError):
            return with_kind(
                StorageError(f"cannot reach the endpoint {self.endpoint or 'AWS S3'} while {doing}"),
                "unreachable",
            )
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchBucket", "404"):
                return with_kind(
                    NotFoundError(f"{self.describe()} does not exist (while {doing}); check the bucket name"),
                    "bucket_missing",
                )
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"):
                return with_kind(
                    PermissionDeniedError(
                        f"the store rejected the bucket config's keys ({code}) while {doing}; "
                        "check access_key_id and secret_access_key"
                    ),
                    "keys_rejected",
                )
            if code in ("AccessDenied", "403", "AllAccessDisabled"):
                return with_kind(
                    PermissionDeniedError(f"access denied to {self.describe()} while {doing}"),
                    "access_denied",
                )
            if code == "RequestTimeTooSkewed":
                return with_kind(
                    StorageError("the store says this server's clock is skewed; fix the server's time"),
                    "clock_skew",
                )
            return StorageError(f"the store answered {code or 'an error'} while {doing} on {self.describe()}")
        if isinstance(exc, NoCredentialsError):
            return with_kind(
                StorageError(
                    f"the Floe server found no credentials in its environment while {doing} on "
                    f"{self.describe()} (auth method from_env)"
                ),
                "no_credentials",
            )
        if isinstance(exc, BotoCoreError):
            error = StorageError(
                f"object store error while {doing} on {self.describe()}: {type(exc).__name__}"
            )
            return with_kind(error, "tls") if isinstance(exc, SSLError) else error
        return exc

    def is_empty(self, prefix: str) -> bool:
        try:
            resp = self._client.list_objects_v2(Bucket=self.spec.name, Prefix=f"{prefix}/", MaxKeys=1)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, f"listing {prefix!r}") from None
        return not resp.get("KeyCount", len(resp.get("Contents", [])))

    def _call(self, doing: str, fn: Any, *, reading: str | None = None, **kwargs: Any) -> Any:
        """``fn(Bucket=..., **kwargs)`` with errors translated; ``reading``: the key a 404 is about."""
        try:
            return fn(Bucket=self.spec.name, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status == 412:
                raise PreconditionFailed(doing) from None
            if reading is not None and code == "NoSuchKey":
                raise ObjectMissing(reading, self.describe()) from None
            raise self._translate(exc, doing) from None
        except BotoCoreError as exc:
            raise self._translate(exc, doing) from None

    def put(self, key: str, data: bytes) -> str:
        return self._call(f"writing {key!r}", self._client.put_object, Key=key, Body=data)["ETag"]

    def get(self, key: str) -> bytes:
        return self._call(f"reading {key!r}", self._client.get_object, reading=key, Key=key)["Body"].read()

    def delete(self, key: str) -> None:
        self._call(f"deleting {key!r}", self._client.delete_object, Key=key)

    def put_if_absent(self, key: str, data: bytes) -> str:
        return self._call(
            f"conditionally creating {key!r}", self._client.put_object, Key=key, Body=data, IfNoneMatch="*"
        )["ETag"]

    def put_if_match(self, key: str, data: bytes, etag: str) -> str:
        return self._call(
            f"conditionally updating {key!r}", self._client.put_object, Key=key, Body=data, IfMatch=etag
        )["ETag"]

    def list_dir(self, prefix: str, *, recursive: bool = False, limit: int = MAX_LISTED) -> Listing:
        start = listed_prefix(prefix)
        query: dict[str, Any] = {"Prefix": start, "MaxKeys": min(self.list_page_size, limit + 1)}
        if not recursive:
            query["Delimiter"] = "/"

        def entries() -> Any:
            token = None
            while True:
                page = self._call(
                    f"listing {prefix!r}",
                    self._client.list_objects_v2,
                    **query,
                    **({"ContinuationToken": token} if token else {}),
                )
                for common in page.get("CommonPrefixes", []):
                    yield common["Prefix"].removesuffix("/"), None
                for obj in page.get("Contents", []):
                    if obj["Key"] != start:  # a zero-byte "folder" marker is not an object of its own
                        yield obj["Key"], obj.get("Size", 0)
                token = page.get("NextContinuationToken")
                if not page.get("IsTruncated") or not token:
                    return

        return collect_listing(entries(), limit)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise ValueError("refusing to delete a whole bucket: the repo prefix is empty")
        deleted = 0
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.spec.name, Prefix=f"{prefix}/"):
                keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                for start in range(0, len(keys), 1000):
                    batch = keys[start : start + 1000]
                    self._client.delete_objects(
                        Bucket=self.spec.name, Delete={"Objects": batch, "Quiet": True}
                    )
                    deleted += len(batch)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, f"deleting {prefix!r}") from None
        return deleted
