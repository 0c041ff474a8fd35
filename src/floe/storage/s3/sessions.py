"""boto3 sessions that share one botocore data loader.

A new ``boto3.session.Session()`` parses the S3 service model and endpoint rules from botocore's
JSON files again (about 0.1 s of CPU for every store handle or STS client). Sessions made here
share one loader, which keeps what it parsed, so a client costs a few milliseconds; each session is
still new, so credentials from the environment are resolved afresh every time.
"""

from __future__ import annotations

import functools

import boto3
import botocore.loaders
import botocore.session


@functools.cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def new_session() -> boto3.session.Session:
    """A fresh boto3 session whose service models come from the shared, parsed-once loader."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader())
    return boto3.session.Session(botocore_session=core)
