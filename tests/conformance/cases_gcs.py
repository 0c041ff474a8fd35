"""Google Cloud Storage cases for the conformance suite.

The case is real (a bucket in the GCS emulator, a service-account key whose token endpoint is a
local stand-in for Google's), but skipped: Icechunk's GCS client cannot work against the only
emulator installable from PyPI. ``tests/test_gcs.py`` covers what can be covered, and its
``test_icechunk_still_cannot_use_the_emulator`` fails as soon as the emulator catches up, to say
that the skip below should go.
"""

from __future__ import annotations

import pytest

from .cases import Case, Storage

SKIP_REASON = (
    "Icechunk cannot use gcp-storage-emulator (the GCS emulator on PyPI, 2026.7.19): Icechunk's GCS "
    "client (Rust object_store, pointed at the emulator with config google_base_url) speaks the XML "
    "API, and the emulator answers Repository.create's first request, GET /{bucket}?list-type=2&prefix=..., "
    "with 501 Not Implemented; object reads (GET /{bucket}/{object}) come back without the "
    "Last-Modified header object_store requires ('Last-Modified Header missing from response'); HEAD and "
    "DELETE are 501; bucket names with '-' are 501 on every XML request (object_store sends %2D); and "
    "ifGenerationMatch / x-goog-if-generation-match are ignored. Covered in tests/test_gcs.py instead: "
    "token minting, the server's object-store handle, the catalog round trip with vended tokens, and "
    "Icechunk's requests up to the wire (bearer token, refresh)."
)


def gcs_service_account(request: pytest.FixtureRequest) -> Storage:
    emulator = request.getfixturevalue("gcs_emulator")
    bucket = request.getfixturevalue("gcs_bucket")
    tokens = request.getfixturevalue("gcs_token_endpoint")
    key = tokens.service_account_key("floe-conformance@floe-test.iam.gserviceaccount.com")
    return Storage(
        bucket_config={
            "uri": f"gs://{bucket}/lab",
            "extra_config": {"endpoint_url": emulator.endpoint},
            "auth_config": {"method": "gcs_service_account", "service_account_key": key},
        },
        list_keys=lambda prefix: emulator.list_keys(bucket, prefix),
        expiring=True,
        enforces_conditions=False,  # the emulator ignores ifGenerationMatch (tests/test_gcs.py checks 412s)
    )


CASES = [Case("gcs-service-account", gcs_service_account, skip_reason=SKIP_REASON)]
