"""Parse storage URIs such as ``s3://bucket/prefix`` or ``file:///srv/data``."""

from __future__ import annotations

from urllib.parse import urlparse

from floe.models import check_prefix

SCHEMES = {
    "s3": "s3",
    "gs": "gs",
    "gcs": "gs",
    "az": "azure",
    "azure": "azure",
    "abfs": "azure",
    "r2": "r2",
    "tigris": "tigris",
    "file": "file",
    "memory": "memory",
}


def parse_uri(uri: str, *, endpoint_url: str | None = None) -> tuple[str, str, str]:
    """Split a storage URI into ``(platform, bucket name, prefix)``.

    ``s3://`` with an ``endpoint_url`` means an S3-compatible store, as in the arraylake
    client. ``file://`` URIs name an absolute directory, which becomes the bucket name.
    """
    if not isinstance(uri, str) or "://" not in uri:
        raise ValueError(
            f"invalid uri {uri!r}: expected platform://bucket[/prefix], e.g. s3://my-bucket/data "
            "or file:///srv/floe/storage"
        )
    parsed = urlparse(uri)
    platform = SCHEMES.get(parsed.scheme.lower())
    if platform is None:
        raise ValueError(
            f"invalid uri {uri!r}: unknown scheme {parsed.scheme!r}; use one of "
            + ", ".join(f"{s}://" for s in sorted(SCHEMES))
        )
    if platform == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(f"invalid uri {uri!r}: file URIs need an absolute path, e.g. file:///srv/data")
        path = parsed.path.rstrip("/") or "/"
        if not path.startswith("/"):
            raise ValueError(f"invalid uri {uri!r}: file URIs need an absolute path, e.g. file:///srv/data")
        return platform, path, ""
    if platform == "memory":
        return platform, parsed.netloc or "memory", check_prefix(parsed.path.strip("/"))
    if not parsed.netloc:
        raise ValueError(f"invalid uri {uri!r}: missing bucket name after {parsed.scheme}://")
    if platform == "s3" and endpoint_url:
        platform = "s3-compatible"
    try:
        prefix = check_prefix(parsed.path.strip("/"))
    except ValueError as exc:
        raise ValueError(f"invalid uri {uri!r}: {exc}") from None
    return platform, parsed.netloc, prefix
