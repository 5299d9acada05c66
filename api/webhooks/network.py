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
import threading
import time
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


def _connect(host: str, port: int, timeout: float, deadline: float) -> socket.socket:
    last_error: OSError | None = None
    for family, address in vetted_addresses(host, port):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out connecting")
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(min(timeout, remaining))
        try:
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error or OSError(f"cannot connect to {host}")


class _Deadline:
    """One deadline for a whole call: a timer cuts the connection off when it passes, however
    slowly the other end dribbles its answer (a socket timeout bounds each read, not their sum)."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.passed = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.passed:
                self._shutdown()

    def _cut(self) -> None:
        with self._lock:
            self.passed = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            try:
                # The plain socket's shutdown, also under TLS: it wakes a read blocked in another
                # thread without touching the TLS object that read is using.
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
            except OSError:
                pass


class _VettedHTTPConnection(http.client.HTTPConnection):
    deadline: _Deadline

    def connect(self) -> None:
        sock = _connect(self.host, self.port, self.timeout, self.deadline.at)  # type: ignore[arg-type]
        self.deadline.watch(sock)
        self.sock = sock


class _VettedHTTPSConnection(http.client.HTTPSConnection):
    deadline: _Deadline

    def connect(self) -> None:
        sock = _connect(self.host, self.port, self.timeout, self.deadline.at)  # type: ignore[arg-type]
        self.deadline.watch(sock)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Response:
    status: int


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Response:
    """POST `body` to `url` through the address checks; the response's status (no redirects).

    `timeout` bounds the whole call (connect, TLS, sending, the status line, headers and a bounded
    body), not each socket operation. Raises AddressRefused, TimeoutError when the deadline
    passes, or OSError / http.client.HTTPException on other network trouble.
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
    with _Deadline(timeout) as deadline:
        connection.deadline = deadline  # type: ignore[attr-defined]
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(MAX_RESPONSE_BYTES)
            status = response.status
        except (OSError, http.client.HTTPException, ValueError):
            if deadline.passed:
                raise TimeoutError(f"no complete answer within {timeout:g} s") from None
            raise
        finally:
            connection.close()
        if deadline.passed:  # cut off mid-answer reads as an early end: it is not an answer
            raise TimeoutError(f"no complete answer within {timeout:g} s")
    return Response(status=status)
