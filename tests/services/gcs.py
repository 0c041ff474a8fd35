"""Google Cloud Storage for the tests: the GCS emulator and a stand-in for Google's OAuth2 token endpoint."""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ._base import LOCALHOST, ServiceProcess, _http_ok, _popen_logged, free_port, wait_until

# --------------------------------------------------------------------------------------------- GCS emulator


@dataclass(eq=False)
class GcsEmulator(ServiceProcess):
    """``gcp-storage-emulator`` (in memory) on ``endpoint``: the GCS JSON API, any credentials accepted.

    It does not enforce ``ifGenerationMatch`` preconditions and does not serve the XML API's
    listing, HEAD or DELETE, which Icechunk's GCS client (Rust ``object_store``) uses.
    """

    endpoint: str = ""

    def create_bucket(self, name: str) -> str:
        """Create bucket ``name`` and return the name."""
        response = httpx.post(f"{self.endpoint}/storage/v1/b", json={"name": name}, trust_env=False)
        response.raise_for_status()
        return name

    def list_keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Names of the objects in ``bucket`` under ``prefix``."""
        response = httpx.get(
            f"{self.endpoint}/storage/v1/b/{bucket}/o", params={"prefix": prefix}, trust_env=False
        )
        response.raise_for_status()
        return sorted(item["name"] for item in response.json().get("items", []))

    def put(self, bucket: str, name: str, data: bytes) -> None:
        """Store one object (a plain media upload)."""
        response = httpx.post(
            f"{self.endpoint}/upload/storage/v1/b/{bucket}/o",
            params={"uploadType": "media", "name": name},
            content=data,
            trust_env=False,
        )
        response.raise_for_status()


def start_gcs_emulator(log_dir: Path, timeout: float = 30.0) -> GcsEmulator:
    """Start ``python -m gcp_storage_emulator start --in-memory`` on a free port (log in ``log_dir``)."""
    port = free_port()
    log_path = Path(log_dir) / f"gcs-emulator-{port}.log"
    cmd = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", LOCALHOST, "--port", str(port)]
    cmd.append("--in-memory")
    server = GcsEmulator(_popen_logged(cmd, log_path), log_path, endpoint=f"http://{LOCALHOST}:{port}")
    try:
        wait_until(
            lambda: _http_ok(f"{server.endpoint}/"), timeout, server.process, log_path, what="GCS emulator"
        )
    except BaseException:
        server.stop()
        raise
    return server


# --------------------------------------------------------------------------------------------- OAuth token endpoint

# Stands in for Google's OAuth2 server (https://oauth2.googleapis.com): POST /token takes the
# RS256-signed JWT a service account sends (grant type jwt-bearer), checks its signature against
# the registered public keys, and answers {"access_token", "expires_in", "token_type"};
# GET /tokeninfo?access_token=... says whose token it is and for which scope, like Google's.
_TOKEN_ENDPOINT_SRC = r"""
import base64, json, secrets, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

PORT, KEYS_PATH, EXPIRES_IN = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
TOKENS, LOCK = {}, threading.Lock()
GOOGLE = "https://oauth2.googleapis.com/token"


def b64(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check(assertion, token_url):
    head, body, sig = assertion.split(".")
    header, claims = json.loads(b64(head)), json.loads(b64(body))
    with open(KEYS_PATH) as fh:
        known = json.load(fh).get(header.get("kid", ""))
    if header.get("alg") != "RS256" or known is None:
        return None, "Invalid JWT: unknown key id"
    public = serialization.load_pem_public_key(known["public_key"].encode())
    try:
        public.verify(b64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return None, "Invalid JWT Signature."
    now = time.time()
    # google-auth always sends Google's token URL as the audience, whatever the key's token_uri
    if claims.get("iss") != known["client_email"] or claims.get("aud") not in (token_url, GOOGLE):
        return None, "Invalid JWT: wrong iss or aud"
    if not claims.get("iat", 0) - 60 <= now < claims.get("exp", 0) or not claims.get("scope"):
        return None, "Invalid JWT: expired, not yet valid, or no scope"
    return claims, None


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/health":
            return self.reply(200, {"ok": True})
        if url.path != "/tokeninfo":
            return self.reply(404, {"error": "not_found"})
        token = parse_qs(url.query).get("access_token", [""])[0]
        with LOCK:
            info = TOKENS.get(token)
        if info is None or info["exp"] <= time.time():
            return self.reply(400, {"error": "invalid_token", "error_description": "Invalid Value"})
        remaining = str(int(info["exp"] - time.time()))
        self.reply(200, {"azp": info["email"], "email": info["email"], "scope": info["scope"], "expires_in": remaining})

    def do_POST(self):
        if urlparse(self.path).path != "/token":
            return self.reply(404, {"error": "not_found"})
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return self.reply(400, {"error": "unsupported_grant_type"})
        try:
            claims, problem = check(form.get("assertion", [""])[0], f"http://127.0.0.1:{PORT}/token")
        except (ValueError, KeyError):
            claims, problem = None, "Invalid JWT"
        if claims is None:
            print(f"refused: {problem}", flush=True)
            return self.reply(400, {"error": "invalid_grant", "error_description": problem})
        token = "ya29.test-" + secrets.token_urlsafe(24)
        with LOCK:
            TOKENS[token] = {"email": claims["iss"], "scope": claims["scope"], "exp": time.time() + EXPIRES_IN}
        print(f"issued a token for {claims['iss']} scope {claims['scope']}", flush=True)
        self.reply(200, {"access_token": token, "expires_in": EXPIRES_IN, "token_type": "Bearer"})

    def log_message(self, fmt, *args):
        print(fmt % args, flush=True)


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
"""


@dataclass(eq=False)
class GcsTokenEndpoint(ServiceProcess):
    """A stand-in for Google's OAuth2 token endpoint at ``token_uri``; keys are registered in ``keys_path``."""

    url: str = ""
    keys_path: Path = field(default_factory=Path)
    expires_in: int = 3600

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def service_account_key(self, client_email: str, *, register: bool = True) -> dict[str, str]:
        """A new service-account key file (dict) whose ``token_uri`` is this endpoint.

        With ``register`` its public key is known here, so tokens are issued for it; without,
        the endpoint refuses it as Google refuses a deleted key.
        """
        import json

        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_id = uuid.uuid4().hex
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        if register:
            public = private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            keys = json.loads(self.keys_path.read_text())
            keys[key_id] = {"client_email": client_email, "public_key": public.decode()}
            staged = self.keys_path.with_suffix(".tmp")
            staged.write_text(json.dumps(keys))
            staged.replace(self.keys_path)
        return {
            "type": "service_account",
            "project_id": "floe-test",
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": client_email,
            "client_id": str(uuid.uuid4().int)[:21],
            "token_uri": self.token_uri,
        }

    def token_info(self, access_token: str) -> dict | None:
        """What the endpoint knows of a token it issued (``email``, ``scope``, ``expires_in``), or None."""
        response = httpx.get(f"{self.url}/tokeninfo", params={"access_token": access_token}, trust_env=False)
        return response.json() if response.status_code == 200 else None


def start_gcs_token_endpoint(
    log_dir: Path, *, expires_in: int = 3600, timeout: float = 30.0
) -> GcsTokenEndpoint:
    """Start the OAuth2 token endpoint stand-in on a free port; tokens live ``expires_in`` seconds."""
    port = free_port()
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    keys_path = log_dir / f"gcs-token-keys-{port}.json"
    keys_path.write_text("{}")
    log_path = log_dir / f"gcs-token-endpoint-{port}.log"
    cmd = [sys.executable, "-c", _TOKEN_ENDPOINT_SRC, str(port), str(keys_path), str(expires_in)]
    server = GcsTokenEndpoint(
        _popen_logged(cmd, log_path),
        log_path,
        url=f"http://{LOCALHOST}:{port}",
        keys_path=keys_path,
        expires_in=expires_in,
    )
    try:
        wait_until(
            lambda: _http_ok(f"{server.url}/health"), timeout, server.process, log_path, what="token endpoint"
        )
    except BaseException:
        server.stop()
        raise
    return server
