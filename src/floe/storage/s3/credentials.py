"""S3 credentials: the keys of an ``hmac`` config, STS ``AssumeRole`` for ``aws_sts``, Icechunk's form."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import icechunk

from floe.errors import PermissionDeniedError, StorageError
from floe.models import S3Credentials
from floe.storage import timeouts
from floe.storage.base import BucketSpec


class ReaderKeysMissing(PermissionDeniedError):
    """An ``hmac`` bucket config with no read-only key pair: readers get no keys."""


def hmac_credentials(auth: dict[str, Any] | Any, *, read_only: bool) -> S3Credentials:
    """The keys a caller receives from an ``hmac`` config: readers get the read-only pair.

    Without a read-only pair, readers get the write keys only where an org admin allowed it
    (``readers_get_write_keys``); otherwise :class:`ReaderKeysMissing` says how to fix it.
    """
    if read_only and auth.get("read_access_key_id"):
        return S3Credentials(
            aws_access_key_id=auth["read_access_key_id"], aws_secret_access_key=auth["read_secret_access_key"]
        )
    if read_only and not auth.get("readers_get_write_keys"):
        raise ReaderKeysMissing(
            "this repo's bucket config holds only keys that can write, and readers never receive those: "
            "an org admin can add a read-only key pair (`floe bucket modify NICKNAME --access-key-id ... "
            "--read-access-key-id ...`), or allow readers the write keys for that bucket config "
            "(`floe bucket modify NICKNAME --access-key-id ... --readers-get-write-keys`)"
        )
    return S3Credentials(
        aws_access_key_id=auth["access_key_id"], aws_secret_access_key=auth["secret_access_key"]
    )


def static_credentials(creds: S3Credentials) -> icechunk.S3StaticCredentials:
    """Floe's S3 credentials as Icechunk's (what the refresh callable returns)."""
    return icechunk.S3StaticCredentials(
        access_key_id=creds.aws_access_key_id,
        secret_access_key=creds.aws_secret_access_key,
        session_token=creds.aws_session_token,
        expires_after=creds.expiration.astimezone(UTC) if creds.expiration else None,
    )


def session_policy(bucket: str, prefix: str | None, read_only: bool) -> str | None:
    """An IAM session policy narrowing STS credentials to ``prefix`` (and to reading)."""
    if not prefix:
        return None
    actions = ["s3:GetObject"] if read_only else ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"]},
                {
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}"],
                    "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
                },
            ],
        }
    )


def assume_role(
    spec: BucketSpec, settings: dict[str, Any], *, prefix: str | None, read_only: bool
) -> S3Credentials:
    """Vend short-lived credentials with STS ``AssumeRole`` using the server's long-lived keys."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

    from floe.storage.s3.sessions import new_session

    auth = spec.auth or {}
    limits = timeouts.current()
    sts = new_session().client(
        "sts",
        endpoint_url=auth.get("sts_endpoint_url") or settings["endpoint_url"],
        region_name=settings["region"],
        aws_access_key_id=auth["access_key_id"],
        aws_secret_access_key=auth["secret_access_key"],
        config=Config(
            connect_timeout=limits.connect,
            read_timeout=limits.read,
            retries={"max_attempts": 2, "mode": "standard"},
        ),
    )
    kwargs: dict[str, Any] = {
        "RoleArn": auth["role_arn"],
        "RoleSessionName": f"floe-{'read' if read_only else 'write'}",
        "DurationSeconds": int(auth.get("duration_seconds", 3600)),
    }
    policy = session_policy(spec.name, prefix, read_only)
    if policy:
        kwargs["Policy"] = policy
    if auth.get("external_id"):
        kwargs["ExternalId"] = auth["external_id"]
    try:
        creds = sts.assume_role(**kwargs)["Credentials"]
    except ReadTimeoutError:
        raise timeouts.no_answer("the STS endpoint", "vending credentials (AssumeRole)") from None
    except (ClientError, BotoCoreError) as exc:
        code = (
            exc.response.get("Error", {}).get("Code", "")
            if isinstance(exc, ClientError)
            else type(exc).__name__
        )
        raise StorageError(
            f"STS AssumeRole on {auth['role_arn']} failed ({code}); check role_arn and the keys"
        ) from None
    return S3Credentials(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        expiration=creds["Expiration"],
    )
