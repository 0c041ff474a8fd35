"""One TLS client context per process for Floe's HTTP clients.

httpx builds a new ``ssl.SSLContext`` for every client, transport and module-level call
(``httpx.get``), and loading the CA bundle into it takes several milliseconds of CPU each time --
more than a request to a nearby server. Floe's clients share the context this module makes instead:
the one httpx would make by default (the ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` bundle when set,
else certifi's), made once per bundle.
"""

from __future__ import annotations

import os
import ssl
import threading

import httpx

_CONTEXTS: dict[tuple[str | None, str | None], ssl.SSLContext] = {}
_LOCK = threading.Lock()


def ssl_context() -> ssl.SSLContext:
    """The verifying TLS context httpx uses by default, shared by every caller in this process.

    The CA bundle is read from the environment at each call, so a changed ``SSL_CERT_FILE`` or
    ``SSL_CERT_DIR`` gets its own context.
    """
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    with _LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            context = _CONTEXTS[key] = httpx.create_ssl_context()
        return context
