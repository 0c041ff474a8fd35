"""The S3 family: AWS S3, S3-compatible stores, Cloudflare R2 and Tigris.

``config`` validates bucket configs, ``credentials`` vends keys (STS for ``aws_sts``),
``adapter`` builds Icechunk storages, ``store`` is the server's boto3 handle (loaded lazily).
"""

from floe.storage.s3.adapter import R2Adapter, S3Adapter, TigrisAdapter
from floe.storage.s3.config import DEFAULT_REGION
from floe.storage.s3.credentials import ReaderKeysMissing, assume_role, hmac_credentials

__all__ = [
    "DEFAULT_REGION",
    "R2Adapter",
    "ReaderKeysMissing",
    "S3Adapter",
    "TigrisAdapter",
    "assume_role",
    "hmac_credentials",
]
