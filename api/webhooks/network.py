"""Outbound HTTP for webhooks that cannot be pointed at our own network (SSRF).

The host is resolved when connecting and every address it resolves to is checked: private,
loopback, link-local, multicast, reserved, unspecified and shared addresses are refused, IPv4 and
IPv6 alike, including IPv4 inside IPv6 (mapped, 6to4, NAT64;
Teredo and site-local are refused outright). The connection then goes to the
checked address itself, so a DNS answer that changes between the check and the connect (DNS
rebinding) gains nothing; the request still names the host (Host header, TLS SNI and certificate
check). Redirects are never followed. CPOR_WEBHOOK_ALLOW_LOOPBACK lets 127.0.0.0/8 and ::1 through
(development and tests) and nothing else.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Enough of a response to read its status; the body is not used.
MAX_RESPONSE_BYTES = 4096
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
# Ranges refused by name, whatever `ipaddress` thinks of them in this Python version: site-local
# (deprecated, still routed inside some networks), Teredo (a tunnel to whatever IPv4 host it
# names), local-use NAT64, unique-local, CGNAT, benchmarking, "this network", class E, broadcast.
REFUSED_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = (
    (ipaddress.IPv6Network("fec0::/10"), "site-local"),
    (ipaddress.IPv6Network("2001::/32"), "Teredo"),
    (ipaddress.IPv6Network("64:ff9b:1::/48"), "local NAT64"),
    (ipaddress.IPv6Network("fc00::/7"), "unique-local"),
    (ipaddress.IPv6Network("ff00::/8"), "multicast"),
    (ipaddress.IPv4Network("100.64.0.0/10"), "shared (CGNAT)"),
    (ipaddress.IPv4Network("198.18.0.0/15"), "benchmarking"),
    (ipaddress.IPv4Network("0.0.0.0/8"), "this-network"),
    (ipaddress.IPv4Network("240.0.0.0/4"), "reserved"),
)


class AddressRefused(Exception):  # noqa: N818 (it is the refusal)
    """The URL's host is, or resolves to, an address webhooks may not reach."""


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        # IPv4-compatible (::a.b.c.d, deprecated): the upper 96 bits are zero.
        if address in NAT64:  # 64:ff9b::a.b.c.d
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if int(address) >> 32 == 0 and int(address) > 1:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _allowed_loopback(address: IPAddress) -> bool:
    if not settings.CPOR_WEBHOOK_ALLOW_LOOPBACK:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.IPv4Network("127.0.0.0/8")
    return address == ipaddress.IPv6Address("::1")


def address_refusal(address: IPAddress) -> str | None:
    """Why webhooks may not connect to `address`, or None when they may."""
    if _allowed_loopback(address):
        return None
    for network, word in REFUSED_NETWORKS:
        if address.version == network.version and address in network:
            return f"{address} is a {word} address"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        # The IPv4 inside decides, and loopback in disguise is never allowed.
        reason = _refusal(embedded)
        return reason or None
    return _refusal(address)


def _refusal(address: IPAddress) -> str | None:
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not public"),
    )
    for failed, word in checks:
        if failed:
            return f"{address} is a {word} address"
    return None


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback


def vetted_addresses(host: str, port: int) -> list[tuple[int, str]]:
    """(family, address) for every address of `host`; AddressRefused if any of them is refused.

    Refusing the whole host when one of its addresses is refused keeps a name that mixes a public
    and a private answer from being tried at the private one.
    """
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from None
    found: list[tuple[int, str]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        raw = str(sockaddr[0]).split("%", 1)[0]
        address = ipaddress.ip_address(raw)
        reason = address_refusal(address)
        if reason:
            raise AddressRefused(f"refused: {host} resolves to {reason}")
        if (family, raw) not in found:
            found.append((family, raw))
    if not found:
        raise OSError(f"cannot resolve {host}")
    return found


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    last_error: OSError | None = None
    for family, address in vetted_addresses(host, port):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error or OSError(f"cannot connect to {host}")


class _VettedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = _connect(self.host, self.port, self.timeout)  # type: ignore[arg-type]


class _VettedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = _connect(self.host, self.port, self.timeout)  # type: ignore[arg-type]
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Response:
    status: int


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Response:
    """POST `body` to `url` through the address checks; the response's status (no redirects).

    Raises AddressRefused, or OSError / http.client.HTTPException on network trouble.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = _VettedHTTPSConnection(
            host, parts.port or 443, timeout=timeout, context=ssl.create_default_context()
        )
    elif parts.scheme == "http" and settings.CPOR_WEBHOOK_ALLOW_LOOPBACK and is_loopback_host(host):
        connection = _VettedHTTPConnection(host, parts.port or 80, timeout=timeout)
    else:
        raise AddressRefused("refused: only https:// URLs receive events")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return Response(status=response.status)
    finally:
        connection.close()
