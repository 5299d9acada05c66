"""An endpoint deleted while an API enable or test on it runs: a 404 problem, never a 500.

The deletion happens in the window between the handler's fetch of the endpoint and its change, as a
second request deleting it at that moment would; the tests commit (transaction=True), so the foreign
key of the test event's delivery is checked as in production.
"""

from __future__ import annotations

from typing import Any

import pytest

from api import webhook_api
from api.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.api.conftest import ApiClient
from tests.api.test_webhooks_api import HOOK

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def deleted_once_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    fetch = webhook_api._endpoint

    def fetch_then_lose(request: Any, endpoint_id: int) -> WebhookEndpoint:
        endpoint = fetch(request, endpoint_id)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()  # another request deletes it now
        return endpoint

    monkeypatch.setattr(webhook_api, "_endpoint", fetch_then_lose)


@pytest.mark.parametrize("operation", ["enable", "test"])
@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "race-1"}])
def test_enable_or_test_on_an_endpoint_deleted_meanwhile_is_a_404(
    api: ApiClient, operation: str, headers: dict[str, str], deleted_once_fetched: None
) -> None:
    hook = api.post("/webhooks", HOOK).json()
    if operation == "enable":
        WebhookEndpoint.objects.filter(pk=hook["id"]).update(is_active=False, disabled_reason="failures")
    response = api.post(f"/webhooks/{hook['id']}/{operation}", headers=headers)
    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not WebhookEvent.objects.filter(type="webhook.test").exists()
