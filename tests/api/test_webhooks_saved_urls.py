"""What an endpoint is saved with, through the API and the portal alike: a one-line description, and a
URL whose host is a name or an IP address written the usual way, never one of the private ranges.

Numeric hosts other than a dotted quad (`2130706433`, `127.1`, `0x7f.1`, `0177.0.0.1`, a trailing
dot) are read as IPv4 by URL parsers and resolvers, so they are refused when the endpoint is saved,
with a field error, not only when a delivery connects.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from api.models import WebhookEndpoint
from api.webhooks.endpoints import validate_url
from tests.api.conftest import ApiClient
from tests.api.test_webhooks_api import HOOK

pytestmark = pytest.mark.django_db

NUMERIC_FORMS = [
    "2130706433",  # 127.0.0.1 as one number
    "0x7f000001",
    "127.1",
    "0x7f.1",
    "0177.0.0.1",  # octal
    "127.0.0.01",
    "10.0.0.5.",  # a trailing dot
    "1.2.3",
    "example.123",  # a numeric last label makes it an IPv4 address to a URL parser
    "example.0x1f",
    "0",
]
PRIVATE_LITERALS = [
    "10.0.0.5",
    "169.254.169.254",
    "100.64.0.1",
    "[fec0::1]",
    "[::ffff:10.0.0.1]",
    "[fd00::1]",
]
ALLOWED = ["crm.contoso.example", "8.8.8.8", "[2606:4700:4700::1111]", "1e2.example", "crm.contoso.example."]


@pytest.mark.parametrize("host", NUMERIC_FORMS)
def test_numeric_host_forms_are_refused_on_save(api: ApiClient, host: str) -> None:
    response = api.post("/webhooks", {**HOOK, "url": f"https://{host}/hooks"})
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"]["url"] == [
        "Write an IP address as four decimal numbers (e.g. 203.0.113.10), or use a host name."
    ]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("host", PRIVATE_LITERALS)
def test_literal_private_addresses_are_refused_on_save(api: ApiClient, host: str) -> None:
    response = api.post("/webhooks", {**HOOK, "url": f"https://{host}/hooks"})
    assert response.status_code == 422, response.content
    assert response.json()["errors"]["url"] == [
        "Events cannot be sent to a private, loopback or reserved address."
    ]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "host", ["%31%32%37.0.0.1", "crm%2econtoso.example", "crm!.example", "[fe80::1%25eth0]"]
)
def test_a_host_with_other_characters_is_not_a_valid_url(host: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_url(f"https://{host}/hooks")
    assert refused.value.message_dict["url"]


@pytest.mark.parametrize("host", ALLOWED)
def test_names_and_public_addresses_are_saved(api: ApiClient, host: str) -> None:
    response = api.post("/webhooks", {**HOOK, "url": f"https://{host}/hooks"})
    assert response.status_code == 201, response.content
    assert WebhookEndpoint.objects.get().url == f"https://{host}/hooks"


@pytest.mark.parametrize(
    "description", ["CRM\nsync", "CRM\rsync", "CRM\tsync", "CRM\x1bsync", "CRM\u2028sync"]
)
def test_a_description_is_one_line_without_control_characters(api: ApiClient, description: str) -> None:
    response = api.post("/webhooks", {**HOOK, "description": description})
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == {"description": ["Use one line without control characters."]}
    assert not WebhookEndpoint.objects.exists()


def test_a_description_is_stripped_and_kept(api: ApiClient, admin: Any) -> None:
    response = api.post("/webhooks", {**HOOK, "description": "  CRM production  "})
    assert response.status_code == 201, response.content
    assert WebhookEndpoint.objects.get().description == "CRM production"
