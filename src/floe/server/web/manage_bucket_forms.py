"""The bucket config form of each platform: its location fields, its credential methods and their fields,
and how a submitted form becomes a :class:`BucketCreate` request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from floe.errors import ValidationError
from floe.models import BucketCreate
from floe.server.redaction import SECRET_FIELDS


@dataclass(frozen=True)
class Field:
    """One input of the form: ``key`` is the form field (and the extra_config or auth_config key)."""

    key: str
    label: str
    hint: str = ""
    kind: str = "text"  # text, secret, secret_json, number, flag (yes/no/auto), check
    required: bool = False


@dataclass(frozen=True)
class PlatformForm:
    platform: str
    label: str
    name_label: str
    name_hint: str
    extra: tuple[Field, ...]
    methods: tuple[str, ...]
    prefix: bool = True
    doc: str = ""


_ENDPOINT = Field(
    "endpoint_url", "Endpoint URL", "the store's S3 endpoint, e.g. https://s3.example.org", required=True
)
_REGION_OPTIONAL = Field("region_name", "Region", "optional; us-east-1 is used for signing otherwise")
_USE_SSL = Field("use_ssl", "Use TLS", "auto: from the endpoint's scheme", kind="flag")
_PATH_STYLE = Field("force_path_style", "Path-style addressing", "auto: on without TLS", kind="flag")
_S3_METHODS = ("hmac", "aws_sts", "from_env", "anonymous")

PLATFORMS: dict[str, PlatformForm] = {
    p.platform: p
    for p in (
        PlatformForm(
            "s3",
            "AWS S3",
            "Bucket",
            "the S3 bucket name",
            (Field("region_name", "Region", "the bucket's region, e.g. eu-west-2", required=True),),
            _S3_METHODS,
            doc="aws-s3.md",
        ),
        PlatformForm(
            "s3-compatible",
            "S3-compatible store (JASMIN, IBM COS, Ceph …)",
            "Bucket",
            "the bucket name",
            (_ENDPOINT, _REGION_OPTIONAL, _USE_SSL, _PATH_STYLE),
            _S3_METHODS,
            doc="minio-ceph.md",
        ),
        PlatformForm(
            "minio",
            "MinIO",
            "Bucket",
            "the bucket name",
            (_ENDPOINT, _REGION_OPTIONAL, _USE_SSL, _PATH_STYLE),
            _S3_METHODS,
            doc="minio-ceph.md",
        ),
        PlatformForm(
            "r2",
            "Cloudflare R2",
            "Bucket",
            "the R2 bucket name",
            (
                Field("account_id", "Account id", "your Cloudflare account id (or give the endpoint)"),
                Field("endpoint_url", "Endpoint URL", "optional with an account id"),
            ),
            ("hmac", "anonymous"),
            doc="r2.md",
        ),
        PlatformForm(
            "tigris",
            "Tigris",
            "Bucket",
            "the Tigris bucket name",
            (
                Field("region_name", "Region", "a Tigris region, e.g. iad", required=True),
                Field("endpoint_url", "Endpoint URL", "optional"),
            ),
            ("hmac", "anonymous"),
            doc="tigris.md",
        ),
        PlatformForm(
            "gs",
            "Google Cloud Storage",
            "Bucket",
            "the GCS bucket name",
            (Field("endpoint_url", "Endpoint URL", "optional: only for emulators and private endpoints"),),
            ("gcs_service_account", "from_env", "anonymous"),
            doc="gcs.md",
        ),
        PlatformForm(
            "azure",
            "Azure Blob Storage",
            "Container",
            "the blob container name",
            (
                Field(
                    "account_name", "Storage account", "the account that holds the container", required=True
                ),
                Field("endpoint_url", "Endpoint URL", "optional: the account's blob service URL"),
            ),
            ("azure_account_key", "azure_sas", "from_env", "anonymous"),
            doc="azure.md",
        ),
        PlatformForm(
            "file",
            "A folder on the server",
            "Directory",
            "an absolute path inside this org's folder of the server's file roots",
            (),
            ("none",),
            prefix=False,
            doc="local.md",
        ),
        PlatformForm(
            "memory",
            "Memory of the client process (tests, demos)",
            "Name",
            "any name; each client process has its own memory",
            (),
            ("none",),
            doc="memory.md",
        ),
    )
}

METHOD_LABELS = {
    "hmac": "access key id and secret",
    "aws_sts": "AWS STS (short-lived credentials)",
    "gcs_service_account": "service-account key",
    "azure_account_key": "account key (short-lived SAS tokens)",
    "azure_sas": "a SAS token",
    "from_env": "from the environment",
    "anonymous": "anonymous (public, read-only)",
    "none": "none",
}

AUTH_FIELDS: dict[str, tuple[Field, ...]] = {
    "hmac": (
        Field("access_key_id", "Access key id", required=True),
        Field("secret_access_key", "Secret access key", kind="secret", required=True),
        Field(
            "read_access_key_id",
            "Read-only access key id",
            "optional: readers get this pair, never the keys above",
        ),
        Field("read_secret_access_key", "Read-only secret access key", kind="secret"),
        Field(
            "readers_get_write_keys",
            "Readers get the write keys when there is no read-only pair",
            kind="check",
        ),
    ),
    "aws_sts": (
        Field("role_arn", "Role ARN", "arn:aws:iam::ACCOUNT:role/NAME", required=True),
        Field("access_key_id", "Access key id", "long-lived keys that may assume the role", required=True),
        Field("secret_access_key", "Secret access key", kind="secret", required=True),
        Field("external_id", "External id", "optional"),
        Field(
            "duration_seconds", "Credential lifetime (seconds)", "900 to 43200; 3600 if empty", kind="number"
        ),
        Field("sts_endpoint_url", "STS endpoint URL", "optional: for S3-compatible stores with STS"),
    ),
    "gcs_service_account": (
        Field(
            "service_account_key",
            "Service-account key (JSON)",
            "the key file's contents",
            kind="secret_json",
            required=True,
        ),
    ),
    "azure_account_key": (
        Field("account_key", "Account key", kind="secret", required=True),
        Field("duration_seconds", "SAS lifetime (seconds)", "300 to 604800; 3600 if empty", kind="number"),
    ),
    "azure_sas": (Field("sas_token", "SAS token", kind="secret", required=True),),
    "from_env": (),
    "anonymous": (),
    "none": (),
}

SECRET_INPUTS = frozenset(
    f.key for fields in AUTH_FIELDS.values() for f in fields if f.kind.startswith("secret")
)
assert SECRET_INPUTS <= SECRET_FIELDS  # the API redacts exactly these


class BucketForm(BaseModel):
    """Every field any platform's form posts (unknown ones are ignored)."""

    csrf: str = ""
    platform: str = ""
    method: str = ""
    nickname: str = ""
    name: str = ""
    prefix: str = ""
    region_name: str = ""
    endpoint_url: str = ""
    use_ssl: str = ""
    force_path_style: str = ""
    account_id: str = ""
    account_name: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    read_access_key_id: str = ""
    read_secret_access_key: str = ""
    readers_get_write_keys: str = ""
    role_arn: str = ""
    external_id: str = ""
    duration_seconds: str = ""
    sts_endpoint_url: str = ""
    service_account_key: str = ""
    account_key: str = ""
    sas_token: str = ""


def request_body(form: BucketForm, spec: PlatformForm, method: str) -> BucketCreate:
    extra: dict[str, Any] = {}
    for field in spec.extra:
        value = getattr(form, field.key).strip()
        if value:
            extra[field.key] = value
    auth: dict[str, Any] = {"method": method}
    for field in AUTH_FIELDS[method]:
        value = getattr(form, field.key)
        if field.kind == "check":
            if value:
                auth[field.key] = True
        elif field.kind == "secret_json":
            if value.strip():
                try:
                    auth[field.key] = json.loads(value)
                except json.JSONDecodeError:
                    raise ValidationError(
                        f"{field.label}: not valid JSON; paste the whole key file"
                    ) from None
        elif field.kind == "secret":
            if value:
                auth[field.key] = value
        elif value.strip():
            auth[field.key] = value.strip()
    if method in ("azure_account_key", "azure_sas") and form.account_name.strip():
        auth["account_name"] = form.account_name.strip()
    return BucketCreate(
        nickname=form.nickname,
        platform=spec.platform,
        name=form.name.strip(),
        prefix=form.prefix if spec.prefix else "",
        extra_config=extra,
        auth_config=auth,
    )
