"""The client's IP address: the one function sign-in lockouts and rate limits ask.

Behind a reverse proxy every request comes from the proxy, so its `X-Forwarded-For` names the
client. That header is written by whoever sent the request, so it is read only when the request
came from a proxy listed in `CPOR_TRUSTED_PROXIES`, and only from the right: each trusted proxy
appends the address it received the request from, so the first address from the right that is not
a trusted proxy is the client. Whatever a client puts further left is ignored, and a client that
reaches the app directly is judged by its own address whatever headers it sends.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _address(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # "::ffff:192.0.2.1" is 192.0.2.1: one client, one lock
    return address


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as text, or None when the request names no valid one."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    trusted = _networks(tuple(settings.CPOR_TRUSTED_PROXIES))

    def is_trusted(address: IPAddress) -> bool:
        return any(address in network for network in trusted)

    client = peer
    if is_trusted(peer):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        for entry in reversed(forwarded.split(",")):
            hop = _address(entry)
            if hop is None:
                break  # not written by a proxy of ours: the last trusted hop is all we know
            client = hop
            if not is_trusted(hop):
                break
    return str(client)
