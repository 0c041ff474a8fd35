"""Where the server may send requests: the operator's outbound-request (egress) policy.

Bucket configs name endpoints (an S3 endpoint, an STS endpoint, a GCS token URI, an Azure
blob service), so without a policy any org admin could make the server send signed requests
to its own loopback interface, to private networks or to a cloud metadata service. The rule:

- only ``http``/``https`` URLs, with no user info, whitespace or control characters;
- every address a host name resolves to must be public, unless it lies in a network the
  operator allows (``floe serve --allow-endpoint-network CIDR``, ``FLOE_ALLOWED_ENDPOINT_NETWORKS``);
- the rule is applied before anything is sent (:func:`check_url`) and again on every
  connection the server's Python HTTP stacks make while :func:`guarded` is active: the
  addresses handed to the socket layer are the checked ones, so a DNS answer that changes
  between the check and the connection (DNS rebinding) is caught too.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from floe.errors import ValidationError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SETTING = "`floe serve --allow-endpoint-network CIDR` (or FLOE_ALLOWED_ENDPOINT_NETWORKS)"
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class EndpointRefused(ValidationError):
    """An endpoint the operator's policy does not allow; nothing was sent to it."""


class ConnectionBlocked(ConnectionRefusedError):
    """A connection the policy refused at connect time (HTTP libraries report it as unreachable)."""


@dataclass(frozen=True)
class EgressPolicy:
    """Networks the server may reach besides public addresses."""

    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, cidrs: Iterable[str]) -> EgressPolicy:
        """From CIDR strings such as ``10.0.0.0/8`` or ``127.0.0.1``; ``ValueError`` naming a bad one."""
        networks = []
        for raw in cidrs:
            text = raw.strip()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise ValueError(
                    f"invalid network {text!r} in the endpoint allow-list: give CIDRs such as 10.0.0.0/8 or 127.0.0.1/32"
                ) from None
        return cls(tuple(networks))

    def allows(self, address: IPAddress) -> bool:
        """Whether the server may connect to ``address``."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in net for net in self.allowed_networks):
            return True
        return not _is_internal(address)


def _is_internal(address: IPAddress) -> bool:
    """Loopback, private (RFC 1918, fc00::/7, CGNAT), link-local (cloud metadata), unspecified,
    multicast or reserved: not somewhere a tenant may point the server."""
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or address in ipaddress.ip_network("100.64.0.0/10")
    )


def check_url_syntax(url: str, field: str) -> tuple[str, int]:
    """The host and port of an endpoint URL; ``EndpointRefused`` for odd schemes, user info or
    control characters (which could smuggle headers into a request)."""
    if not isinstance(url, str) or _CONTROL.search(url):
        raise EndpointRefused(f"invalid {field} {url!r}: URLs may not contain spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise EndpointRefused(f"invalid {field} {url!r}: only http:// and https:// endpoints are allowed")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise EndpointRefused(
            f"invalid {field}: the URL carries user info ('user@host'); give credentials in auth_config instead"
        )
    if not parts.hostname:
        raise EndpointRefused(f"invalid {field} {url!r}: the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise EndpointRefused(f"invalid {field} {url!r}: the port is not a number from 1 to 65535") from None
    return parts.hostname, port


def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to; none when it does not resolve."""
    try:
        infos = _original_getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url(url: str, policy: EgressPolicy, field: str = "endpoint") -> None:
    """Refuse (4xx, naming the setting) an endpoint URL the policy does not allow.

    A host that does not resolve passes: nothing can be sent to it, and the connection-time
    check (:func:`guarded`) still applies if it resolves later.
    """
    host, port = check_url_syntax(url, field)
    for address in resolve(host, port):
        if not policy.allows(address):
            raise EndpointRefused(
                f"{field} {url!r} resolves to {address}, an internal address this server does not send "
                f"requests to; an operator can allow that network with {SETTING}"
            )


# --- connection-time check -------------------------------------------------------------------

_ACTIVE: contextvars.ContextVar[EgressPolicy | None] = contextvars.ContextVar("floe_egress", default=None)
_original_getaddrinfo = socket.getaddrinfo


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
    infos = _original_getaddrinfo(host, port, *args, **kwargs)
    policy = _ACTIVE.get()
    if policy is None:
        return infos
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not policy.allows(address):
            raise ConnectionBlocked(
                f"refused to connect to {host} ({address}): an internal address this server does not send "
                f"requests to; an operator can allow that network with {SETTING}"
            )
    return infos


def _install() -> None:
    # socket.create_connection (httpx/httpcore) and urllib3 (boto3, azure-core, requests) both
    # resolve through socket.getaddrinfo and connect to exactly the addresses it returns.
    if socket.getaddrinfo is not _guarded_getaddrinfo:
        socket.getaddrinfo = _guarded_getaddrinfo


@contextlib.contextmanager
def guarded(policy: EgressPolicy | None) -> Iterator[None]:
    """Check every connection made in this context (and thread) against ``policy``."""
    if policy is None:
        yield
        return
    _install()
    token = _ACTIVE.set(policy)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
