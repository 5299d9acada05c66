"""`/api/v1/webhooks`: register, list, test, log, delete — scoped to the key's partner."""

from __future__ import annotations

from typing import Any

from api.models import IdempotentRequest, WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.webhooks import EVENT_TYPES, encryption
from tests.api.conftest import ApiClient

HOOK = {"url": "https://crm.contoso.example/hooks", "event_types": ["claim.submitted", "claim.approved"]}


def fingerprint() -> list[tuple[Any, ...]]:
    return [
        *WebhookEndpoint.objects.values_list("pk", "url", "is_active", "event_types"),
        *WebhookEvent.objects.values_list("pk"),
        *WebhookDelivery.objects.values_list("pk", "status"),
    ]


def test_event_types_left_out_mean_every_event_type(api: ApiClient) -> None:
    created = api.post("/webhooks", {"url": HOOK["url"]})
    assert created.status_code == 201, created.content
    every = [code for code, _label in EVENT_TYPES]
    assert created.json()["event_types"] == every
    assert WebhookEndpoint.objects.get().event_types == every


def test_create_shows_the_secret_once_and_a_retry_shows_the_same(api: ApiClient) -> None:
    headers = {"Idempotency-Key": "hook-1"}
    created = api.post("/webhooks", HOOK, headers=headers)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["claim.submitted", "claim.approved"]
    assert created["Cache-Control"] == "no-store"
    again = api.post("/webhooks", HOOK, headers=headers)
    assert again.status_code == 201
    assert again.json() == body
    assert again["Idempotent-Replayed"] == "true"
    assert WebhookEndpoint.objects.count() == 1
    endpoint = WebhookEndpoint.objects.get()
    assert encryption.decrypt(endpoint.encrypted_secret) == body["secret"]
    # Neither the stored idempotent response nor the row holds the secret in the clear.
    stored = bytes(IdempotentRequest.objects.get().response_body)
    assert body["secret"].encode() not in stored
    assert body["secret"] not in endpoint.encrypted_secret
    listed = api.get("/webhooks").json()
    assert [hook["id"] for hook in listed] == [body["id"]]
    assert "secret" not in listed[0]


def test_invalid_endpoints_are_validation_problems(api: ApiClient) -> None:
    for payload in (
        {**HOOK, "url": "http://crm.contoso.example/hooks"},
        {**HOOK, "url": "https://10.0.0.5/hooks"},
        {**HOOK, "event_types": ["claim.nope"]},
        {**HOOK, "event_types": []},
        {"url": "https://crm.contoso.example/\x00", "event_types": ["claim.submitted"]},
        {"url": 5, "event_types": "x"},
    ):
        response = api.post("/webhooks", payload)
        assert response.status_code == 422, (payload, response.content)
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
    assert not WebhookEndpoint.objects.exists()


def test_test_event_and_delivery_log(api: ApiClient) -> None:
    hook = api.post("/webhooks", HOOK).json()
    sent = api.post(f"/webhooks/{hook['id']}/test")
    assert sent.status_code == 202, sent.content
    event_id = sent.json()["event_id"]
    assert event_id.startswith("msg_")
    log = api.get(f"/webhooks/{hook['id']}/deliveries").json()
    assert [(d["event_id"], d["event_type"], d["status"], d["attempts"]) for d in log] == [
        (event_id, "webhook.test", "pending", 0)
    ]


def test_delete(api: ApiClient) -> None:
    hook = api.post("/webhooks", HOOK).json()
    assert api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=api._headers(None)).status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=api._headers(None)).status_code == 404


def test_another_partners_key_sees_and_changes_nothing(api: ApiClient, outsider_api: ApiClient) -> None:
    hook = api.post("/webhooks", HOOK).json()
    api.post(f"/webhooks/{hook['id']}/test")
    before = fingerprint()
    assert outsider_api.get("/webhooks").json() == []
    for response in (
        outsider_api.get(f"/webhooks/{hook['id']}/deliveries"),
        outsider_api.post(f"/webhooks/{hook['id']}/test"),
        outsider_api.post(f"/webhooks/{hook['id']}/enable"),
        outsider_api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=outsider_api._headers(None)),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert fingerprint() == before


def test_a_read_key_lists_but_changes_nothing(api: ApiClient, read_api: ApiClient) -> None:
    hook = api.post("/webhooks", HOOK).json()
    before = fingerprint()
    assert [h["id"] for h in read_api.get("/webhooks").json()] == [hook["id"]]
    for response in (
        read_api.post("/webhooks", HOOK),
        read_api.post(f"/webhooks/{hook['id']}/test"),
        read_api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=read_api._headers(None)),
    ):
        assert response.status_code == 403
    assert fingerprint() == before


def test_no_key_is_401(db: Any) -> None:
    assert ApiClient(None).get("/webhooks").status_code == 401
    assert ApiClient("cpor_nonsense").post("/webhooks", HOOK).status_code == 401


def test_the_schema_lists_the_webhook_operations(api: ApiClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {
        "/api/v1/webhooks",
        "/api/v1/webhooks/{endpoint_id}",
        "/api/v1/webhooks/{endpoint_id}/test",
    } <= set(paths)


def test_a_receiver_that_is_down_gives_no_500(api: ApiClient, settings: Any) -> None:
    import socket

    from api.webhooks import delivery

    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = True
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = api.post("/webhooks", {**HOOK, "url": f"http://127.0.0.1:{port}/hooks"}).json()
    sent = api.post(f"/webhooks/{hook['id']}/test")
    assert sent.status_code == 202
    assert delivery.deliver(sent.json()["delivery"]["id"]) is False
    (logged,) = api.get(f"/webhooks/{hook['id']}/deliveries").json()
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == ("pending", 1, None)
    assert "ConnectionRefused" in logged["last_error"]
    assert logged["next_attempt_at"] is not None
    listed = api.get("/webhooks").json()
    assert listed[0]["is_active"] is True
    assert listed[0]["consecutive_failures"] == 0  # a test event does not count towards disabling
