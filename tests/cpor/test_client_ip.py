"""The client's IP (`cpor.client_ip`): X-Forwarded-For read only from trusted proxies, from the right.
The consent page's and password reset's rate limits count by it too."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse

from cpor.client_ip import client_ip
from tests.factories import PartnerFactory, partner_user

PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.9", "", "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not from a proxy: the header is the client's word
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "1.2.3.4, 198.51.100.1", "198.51.100.1"),  # a spoofed left part is ignored
        ("10.0.0.2", "198.51.100.1, 10.9.9.9", "198.51.100.1"),  # two proxies of ours
        ("10.0.0.2", "10.1.1.1, 10.9.9.9", "10.1.1.1"),  # all ours: the leftmost is the client
        ("10.0.0.2", "not-an-ip, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1, not-an-ip", "10.0.0.2"),  # garbage where a proxy writes: stop there
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", "198.51.100.1:4711", "198.51.100.1"),
        ("10.0.0.2", "[2001:db8::7]:443", "2001:db8::7"),
        ("2001:db8:ffff::1", "2001:db8::7", "2001:db8::7"),
        ("::ffff:203.0.113.9", "", "203.0.113.9"),
        ("", "198.51.100.1", None),
        ("garbage", "", None),
    ],
)
def test_the_client_is_the_first_untrusted_address_from_the_right(
    settings: Any, remote: str, forwarded: str, expected: str | None
) -> None:
    settings.CPOR_TRUSTED_PROXIES = PROXIES
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_without_trusted_proxies_the_header_is_never_read(settings: Any) -> None:
    settings.CPOR_TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_ip(request) == "10.0.0.2"


@pytest.mark.django_db
def test_rate_limits_count_the_forwarded_client_not_the_proxy(settings: Any) -> None:
    partner_user(PartnerFactory(), email="alice@contoso.example", username="alice")
    settings.CPOR_TRUSTED_PROXIES = PROXIES
    settings.CPOR_CONSENT_RATE_LIMIT = 2
    cache.clear()

    def consent(forwarded: str) -> int:
        return (
            Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
            .get("/consent/unknown/")
            .status_code
        )

    assert [consent(f"192.0.2.{n}, 198.51.100.1") for n in range(3)] == [404, 404, 429]
    assert consent("198.51.100.2") == 404  # another client behind the same proxy

    from claims import views

    def reset(forwarded: str) -> Any:
        client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
        return client.post(reverse("claims:password_reset"), {"email": "alice@contoso.example"})

    for _ in range(views.PASSWORD_RESETS_PER_IP):
        assert reset("198.51.100.1").status_code == 302
    assert "Too many reset requests" in reset("198.51.100.1").content.decode()
    assert reset("198.51.100.2").status_code == 302
