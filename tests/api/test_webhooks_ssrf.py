"""Webhook delivery cannot be aimed at our own network: addresses are checked when connecting."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from api.models import WebhookDelivery, WebhookEndpoint
from api.webhooks import delivery, encryption, network
from api.webhooks.endpoints import new_secret
from claims import workflow
from claims.models import Membership
from tests.factories import PartnerFactory, draft, partner_user
from tests.webhook_receiver import Receiver

REFUSED = [
    "10.0.0.1",
    "10.255.1.2",
    "172.16.5.4",
    "192.168.1.10",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # noqa: S104 (an address under test)
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "127.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "2002:a00:1::",  # 6to4 around 10.0.0.1
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
    "64:ff9b::c0a8:101",  # NAT64 around 192.168.1.1
    "64:ff9b:1::808:808",  # local-use NAT64
    "fec0::1",  # site-local
    "feff::1",  # site-local, top of the range
    "fd12:3456::1",  # unique-local
    "ff05::2",  # site-local multicast
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo around a public client address
    "2002:c0a8:101::1",  # 6to4 around 192.168.1.1
    "2002:6440:1::1",  # 6to4 around 100.64.0.1
    "198.18.0.1",  # benchmarking
    "198.19.255.254",
    "0.1.2.3",  # this network
    "255.255.255.254",
    "192.0.0.1",
    "2001:db8::1",  # documentation
]


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_special_addresses_are_refused(address: str, settings: Any) -> None:
    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = False
    assert network.address_refusal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert network.address_refusal(ipaddress.ip_address(address)) is None


def test_the_loopback_setting_allows_loopback_alone(settings: Any) -> None:
    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = True
    for allowed in ("127.0.0.1", "127.9.9.9", "::1"):
        assert network.address_refusal(ipaddress.ip_address(allowed)) is None
    for refused in ("::ffff:127.0.0.1", "10.0.0.1", "192.168.0.1", "169.254.169.254", "0.0.0.0"):  # noqa: S104
        assert network.address_refusal(ipaddress.ip_address(refused))


@pytest.fixture
def contoso_admin(db: Any) -> Any:
    return partner_user(PartnerFactory(name="Contoso"), Membership.Role.INCENTIVES_ADMIN)


def endpoint_at(admin: Any, url: str) -> WebhookEndpoint:
    """An endpoint stored as is: the check that matters is the one at connect time (DNS can change
    after registration), so these URLs skip the registration's checks."""
    return WebhookEndpoint.objects.create(
        partner=admin.membership.partner,
        url=url,
        event_types=["claim.submitted"],
        encrypted_secret=encryption.encrypt(new_secret()),
        created_by=admin,
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hooks",
        "https://192.168.1.20:8443/hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://localhost/hooks",  # a name that resolves to 127.0.0.1
        "http://10.0.0.1/hooks",
    ],
)
def test_delivery_refuses_and_logs_without_raising(contoso_admin: Any, url: str, settings: Any) -> None:
    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = False
    endpoint_at(contoso_admin, url)
    workflow.transition(draft(by=contoso_admin), "submit", by=contoso_admin)
    row = WebhookDelivery.objects.get()
    assert delivery.deliver(row.pk) is False
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1 and row.last_status_code is None
    assert row.last_error.startswith("refused")


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(
    receiver: Receiver,  # noqa: F811
    settings: Any,
) -> None:
    """The receiver listens on 127.0.0.1; `localhost` names it. With loopback off nothing connects."""
    port = receiver.url.split(":")[2].split("/")[0]
    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(network.AddressRefused):
        network.post(f"https://localhost:{port}/hooks", b"{}", {}, timeout=2)
    with pytest.raises(network.AddressRefused):
        network.post(f"http://localhost:{port}/hooks", b"{}", {}, timeout=2)
    assert receiver.calls == []


def test_a_name_with_one_private_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS that mixes a public and a private answer (or rebinds) gets nothing through."""

    def answers(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", answers)
    with pytest.raises(network.AddressRefused, match="10.0.0.7"):
        network.vetted_addresses("crm.contoso.example", 443)


def test_connects_to_the_vetted_address_and_names_the_host(
    receiver: Receiver,  # noqa: F811
    settings: Any,
) -> None:
    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = True
    port = receiver.url.split(":")[2].split("/")[0]
    response = network.post(f"http://localhost:{port}/hooks?x=1", b"{}", {"X-Test": "1"}, timeout=2)
    assert response.status == 204
    ((headers, body, _status),) = receiver.calls
    assert headers["host"] == f"localhost:{port}"
    assert body == b"{}"


def test_a_redirect_is_a_failure_not_followed(receiver: Receiver, contoso_admin: Any) -> None:  # noqa: F811
    receiver.statuses = [302]
    endpoint_at(contoso_admin, receiver.url)
    workflow.transition(draft(by=contoso_admin), "submit", by=contoso_admin)
    row = WebhookDelivery.objects.get()
    assert delivery.deliver(row.pk) is False
    row.refresh_from_db()
    assert (row.last_status_code, row.last_error) == (302, "HTTP 302")
    assert len(receiver.calls) == 1
