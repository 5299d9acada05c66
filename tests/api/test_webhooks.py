"""Signed webhooks: endpoints, events written with each change, delivery to a real local receiver."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from standardwebhooks import Webhook

from api import webhooks
from api.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.webhooks import delivery, encryption
from api.webhooks.events import ACTION_EVENT, moment
from claims import workflow
from claims.models import Claim, Membership
from tests.factories import PartnerFactory, claim_in, draft, partner_user, reviewer
from tests.webhook_receiver import Receiver

START = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)  # a Wednesday


@pytest.fixture
def contoso(db: Any) -> Any:
    return PartnerFactory(name="Contoso")


@pytest.fixture
def alice(contoso: Any) -> Any:
    return partner_user(contoso, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example")


def subscribe(partner: Any, by: Any, url: str, types: list[str] | None = None) -> tuple[WebhookEndpoint, str]:
    return webhooks.create_endpoint(
        partner=partner, by=by, url=url, event_types=types or [code for code, _label in webhooks.EVENT_TYPES]
    )


def run_due() -> int:
    return delivery.redeliver_pending()


def test_every_transition_is_an_event_type() -> None:
    assert set(ACTION_EVENT) == set(workflow.TRANSITIONS)
    assert set(ACTION_EVENT.values()) <= set(webhooks.EVENT_TYPE_CODES)


def test_submit_is_delivered_signed(receiver: Receiver, alice: Any, contoso: Any) -> None:
    with time_machine.travel(START, tick=False):
        endpoint, secret = subscribe(contoso, alice, receiver.url)
        assert secret.startswith("whsec_")
        assert secret not in endpoint.encrypted_secret
        assert encryption.decrypt(WebhookEndpoint.objects.get().encrypted_secret) == secret
        claim = draft(contoso, by=alice)
        workflow.transition(claim, "submit", by=alice)
        (event,) = WebhookEvent.objects.all()
        assert event.type == "claim.submitted"
        (row,) = WebhookDelivery.objects.all()
        assert delivery.deliver(row.pk) is True
    ((headers, body),) = receiver.accepted()
    assert headers["webhook-id"] == event.pk
    with time_machine.travel(START, tick=False):
        payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "claim.submitted"
    assert payload["id"] == event.pk
    assert payload["data"]["claim"]["id"] == claim.pk
    assert payload["data"]["claim"]["status"] == "submitted"
    assert payload["data"]["claim"]["deadline"]["field"] == "review_start_due_at"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 204)


def test_the_event_shows_the_claim_as_the_api_does(receiver: Receiver, alice: Any, contoso: Any) -> None:
    from api.models import ApiKey
    from tests.api.conftest import ApiClient

    _key, secret = ApiKey.issue(name="CRM", partner=contoso, created_by=alice, scope="write")
    subscribe(contoso, alice, receiver.url, ["claim.information_requested"])
    claim = claim_in(Claim.Status.UNDER_REVIEW, partner=contoso, by=alice)
    lead = reviewer()
    workflow.transition(
        claim, "request_information", by=lead, reasons=["missing_products"], comment="Name Sales in the PoE."
    )
    shown = ApiClient(secret).get(f"/claims/{claim.pk}").json()
    (event,) = WebhookEvent.objects.all()
    data = event.payload["data"]
    # The deadline's words count from the moment they are computed: compare the rest exactly.
    assert data["claim"]["deadline"].pop("words") and shown["deadline"].pop("words")
    assert data["claim"] == shown
    assert data["claim"]["information_request_reasons"] == ["missing_products"]
    assert data["claim"]["allowed_actions"] == ["resubmit", "withdraw"]
    assert data["comment"] == "Name Sales in the PoE."
    assert (data["from_status"], data["to_status"]) == ("under_review", "partner_action_required")


def test_a_receiver_failing_three_times_gets_each_event_once(
    receiver: Receiver, alice: Any, contoso: Any
) -> None:
    receiver.statuses = [500, 503, 502]
    with time_machine.travel(START, tick=False) as clock:
        subscribe(contoso, alice, receiver.url, ["claim.submitted", "claim.withdrawn"])
        claim = draft(contoso, by=alice)
        workflow.transition(claim, "submit", by=alice)
        first = WebhookDelivery.objects.get()
        assert delivery.deliver(first.pk) is False  # the after-commit task's attempt: 500
        assert delivery.deliver(first.pk) is False  # a duplicate task within the backoff sends nothing
        assert len(receiver.calls) == 1
        clock.shift(dt.timedelta(seconds=5))
        assert run_due() == 0  # 503
        workflow.transition(claim, "withdraw", by=alice, reason="wrong_mpn")
        clock.shift(dt.timedelta(seconds=30))
        assert run_due() == 0  # the first event fails (502); the 2nd waits for its own task a minute
        clock.shift(dt.timedelta(minutes=2))
        assert run_due() == 2  # both go through, oldest first
        clock.shift(dt.timedelta(hours=2))
        assert run_due() == 0
    accepted = receiver.accepted()
    assert [json.loads(body)["type"] for _headers, body in accepted] == ["claim.submitted", "claim.withdrawn"]
    ids = [headers["webhook-id"] for headers, _body, _status in receiver.calls]
    assert ids.count(ids[0]) == 4  # every attempt of one event carries its id
    rows = {row.event.type: row for row in WebhookDelivery.objects.select_related("event")}
    assert (rows["claim.submitted"].status, rows["claim.submitted"].attempts) == ("delivered", 4)
    assert WebhookEndpoint.objects.get().consecutive_failures == 0


def test_the_endpoint_is_disabled_after_the_failure_run_and_the_admins_are_mailed(
    receiver: Receiver, alice: Any, contoso: Any, settings: Any
) -> None:
    from cpor import outbox
    from cpor.models import OutboundEmail

    settings.CPOR_WEBHOOK_DISABLE_AFTER = 3
    carol = partner_user(contoso, Membership.Role.GLOBAL_ADMIN, email="carol@contoso.example")
    partner_user(contoso, Membership.Role.BILLING_ADMIN, email="bill@contoso.example")
    contoso.language = "tr"
    contoso.save()
    receiver.statuses = [500] * 10
    with time_machine.travel(START, tick=False) as clock:
        endpoint, _secret = subscribe(contoso, alice, receiver.url, ["claim.submitted"])
        for _ in range(2):
            workflow.transition(draft(contoso, by=alice), "submit", by=alice)
        for _ in range(4):
            clock.shift(dt.timedelta(minutes=15))
            run_due()
        endpoint.refresh_from_db()
        assert not endpoint.is_active
        assert endpoint.consecutive_failures == 3
        assert len(receiver.calls) == 3
        (mail,) = OutboundEmail.objects.filter(kind="webhook_disabled")
        assert sorted(mail.recipients) == ["alice@contoso.example", "carol@contoso.example"]
        subject, body = outbox.render(mail)
        assert "durdurdu" in subject and receiver.url in body
        assert f"/webhooks/{endpoint.pk}/" in body
        # Disabled: nothing is attempted, and events meanwhile are not written for it.
        clock.shift(dt.timedelta(hours=3))
        assert run_due() == 0
        assert len(receiver.calls) == 3
        pending = WebhookDelivery.objects.filter(status="pending").count()
        receiver.statuses = []
        webhooks.enable_endpoint(endpoint, by=carol)
        endpoint.refresh_from_db()
        assert endpoint.is_active and endpoint.consecutive_failures == 0
        assert run_due() == pending == 2
    assert len(receiver.accepted()) == 2


def test_a_read_only_member_or_an_outsider_cannot_manage_endpoints(alice: Any, contoso: Any) -> None:
    bob = partner_user(contoso, Membership.Role.MEMBER, email="bob@contoso.example")
    billing = partner_user(contoso, Membership.Role.BILLING_ADMIN)
    outsider = partner_user(PartnerFactory(name="Fabrikam"), Membership.Role.GLOBAL_ADMIN)
    for user in (bob, billing, outsider, reviewer()):
        with pytest.raises(PermissionDenied):
            subscribe(contoso, user, "https://crm.contoso.example/hooks")
    endpoint, _secret = subscribe(contoso, alice, "https://crm.contoso.example/hooks")
    for user in (bob, outsider):
        with pytest.raises(PermissionDenied):
            webhooks.delete_endpoint(endpoint, by=user)
        with pytest.raises(PermissionDenied):
            webhooks.send_test_event(endpoint, by=user)
    assert WebhookEndpoint.objects.count() == 1
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://crm.contoso.example/hooks", "https://"),
        ("https://user:pw@crm.contoso.example/hooks", "password"),
        ("https://crm.contoso.example/" + "a" * 2000, "2000"),
        ("ftp://crm.contoso.example/", "https://"),
        ("https://10.1.2.3/hooks", "private"),
        ("https://[::1]/hooks", "private"),
        ("https://localhost/hooks", "private"),
        ("https://169.254.169.254/latest", "private"),
        ("https://crm.contoso.example/a b", "spaces"),
        ("https://bücher.example/hooks", "xn--"),
        ("", "Enter"),
    ],
)
def test_endpoint_urls_are_checked(alice: Any, contoso: Any, url: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        subscribe(contoso, alice, url)
    assert words in " ".join(caught.value.message_dict["url"])
    assert not WebhookEndpoint.objects.exists()


def test_event_types_are_checked(alice: Any, contoso: Any) -> None:
    for types in ([], ["claim.exploded"], "claim.submitted"):
        with pytest.raises(ValidationError) as caught:
            webhooks.create_endpoint(
                partner=contoso, by=alice, url="https://crm.example/h", event_types=types
            )
        assert "event_types" in caught.value.message_dict
    endpoint, _secret = webhooks.create_endpoint(
        partner=contoso,
        by=alice,
        url="https://crm.example/h",
        event_types=["claim.reminder", "claim.submitted"],
    )
    assert endpoint.event_types == ["claim.submitted", "claim.reminder"]


def test_no_endpoint_no_rows_and_only_subscribed_types(alice: Any, contoso: Any) -> None:
    claim = draft(contoso, by=alice)
    workflow.transition(claim, "submit", by=alice)
    assert not WebhookEvent.objects.exists()
    subscribe(contoso, alice, "https://crm.contoso.example/hooks", ["claim.approved"])
    workflow.transition(claim, "start_review", by=reviewer())
    assert not WebhookEvent.objects.exists()
    other = PartnerFactory(name="Fabrikam")
    other_admin = partner_user(other, Membership.Role.GLOBAL_ADMIN)
    subscribe(other, other_admin, "https://crm.fabrikam.example/hooks", ["claim.submitted"])
    workflow.transition(draft(contoso, by=alice), "submit", by=alice)
    assert not WebhookEvent.objects.exists()


def test_a_transition_that_fails_writes_no_event(alice: Any, contoso: Any) -> None:
    subscribe(contoso, alice, "https://crm.contoso.example/hooks")
    claim = draft(contoso, by=alice)

    def later_step_fails(context: Any) -> None:
        raise RuntimeError("a later step of the same transaction failed")

    workflow.register_step("submit", later_step_fails)
    try:
        with pytest.raises(RuntimeError):
            workflow.transition(claim, "submit", by=alice)
    finally:
        workflow._steps["submit"] = [r for r in workflow._steps["submit"] if r.one is not later_step_fails]
    claim.refresh_from_db()
    assert claim.status == Claim.Status.EDITING
    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    with pytest.raises(workflow.TransitionRefused):
        workflow.transition(claim, "approve", by=reviewer())
    assert not WebhookEvent.objects.exists()


def test_comments_partner_visible_reviewer_comments_only(alice: Any, contoso: Any) -> None:
    subscribe(contoso, alice, "https://crm.contoso.example/hooks", ["claim.comment_added"])
    claim = claim_in(Claim.Status.UNDER_REVIEW, partner=contoso, by=alice)
    rita = reviewer()
    workflow.add_comment(claim, by=rita, body="Internal: check the SOW date.", partner_visible=False)
    workflow.add_comment(claim, by=alice, body="We attached the SOW.")
    assert not WebhookEvent.objects.exists()
    comment = workflow.add_comment(claim, by=rita, body="Which page names Sales?")
    (event,) = WebhookEvent.objects.all()
    assert event.type == "claim.comment_added"
    assert event.payload["data"]["comment"]["id"] == comment.pk
    assert event.payload["data"]["comment"]["body"] == "Which page names Sales?"
    assert event.payload["data"]["comment"]["author"] == "PoE reviewer"


def test_the_reminder_is_an_event(alice: Any, contoso: Any) -> None:
    subscribe(contoso, alice, "https://crm.contoso.example/hooks", ["claim.reminder"])
    with time_machine.travel(START, tick=False):
        claim = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED, partner=contoso, by=alice)
    claim.refresh_from_db()
    with time_machine.travel(claim.partner_reminder_at + dt.timedelta(minutes=1), tick=False):
        assert workflow.send_due_reminders() == 1
        assert workflow.send_due_reminders() == 0
    (event,) = WebhookEvent.objects.all()
    assert event.type == "claim.reminder"
    assert event.payload["data"]["deadline"] == moment(claim.partner_response_due_at)
    assert event.payload["data"]["reasons"] == ["missing_products"]


def test_the_expiry_sweep_writes_one_event_per_claim_for_subscribers_only(contoso: Any, alice: Any) -> None:
    from claims.tasks import expire_partner_action_claims

    fabrikam = PartnerFactory(name="Fabrikam")
    carol = partner_user(fabrikam, Membership.Role.GLOBAL_ADMIN)
    northwind = PartnerFactory(name="Northwind")
    subscribe(contoso, alice, "https://crm.contoso.example/hooks", ["claim.rejected"])
    subscribe(contoso, alice, "https://backup.contoso.example/hooks", ["claim.rejected", "claim.approved"])
    subscribe(fabrikam, carol, "https://crm.fabrikam.example/hooks", ["claim.approved"])
    lead = reviewer()
    with time_machine.travel(START, tick=False):
        ours = [
            claim_in(Claim.Status.PARTNER_ACTION_REQUIRED, partner=contoso, by=alice, review_by=lead)
            for _ in range(3)
        ]
        theirs = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED, partner=fabrikam, by=carol, review_by=lead)
        unsubscribed = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED, partner=northwind, review_by=lead)
    with time_machine.travel(START + dt.timedelta(days=14), tick=False):
        assert expire_partner_action_claims() == 5
        assert expire_partner_action_claims() == 0
    events = list(WebhookEvent.objects.order_by("claim_id"))
    assert [e.claim_id for e in events] == [c.pk for c in ours]
    assert {e.type for e in events} == {"claim.rejected"}
    assert {e.payload["data"]["claim"]["rejection_reason"] for e in events} == {"no_partner_response"}
    assert WebhookDelivery.objects.count() == 6  # two endpoints each
    assert not WebhookEvent.objects.filter(claim__in=[theirs, unsubscribed]).exists()
    assert Claim.objects.get(pk=theirs.pk).status == Claim.Status.REJECTED


def test_a_receiver_that_is_down_fails_quietly(alice: Any, contoso: Any, settings: Any) -> None:
    settings.CPOR_WEBHOOK_ALLOW_LOOPBACK = True
    import socket

    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscribe(contoso, alice, f"http://127.0.0.1:{port}/hooks")
    workflow.transition(draft(contoso, by=alice), "submit", by=alice)
    row = WebhookDelivery.objects.get()
    assert delivery.deliver(row.pk) is False
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1 and row.last_status_code is None
    assert "ConnectionRefused" in row.last_error
    assert row.next_attempt_at is not None


def test_approving_a_competitor_tells_the_superseded_partner(alice: Any, contoso: Any) -> None:
    import uuid

    tenant = uuid.uuid4()
    fabrikam = PartnerFactory(name="Fabrikam")
    carol = partner_user(fabrikam, Membership.Role.GLOBAL_ADMIN)
    subscribe(contoso, alice, "https://crm.contoso.example/hooks", ["claim.superseded", "claim.approved"])
    subscribe(fabrikam, carol, "https://crm.fabrikam.example/hooks", ["claim.superseded", "claim.approved"])
    loser = claim_in(Claim.Status.SUBMITTED, partner=contoso, by=alice, customer_tenant_id=tenant)
    winner = claim_in(Claim.Status.UNDER_REVIEW, partner=fabrikam, by=carol, customer_tenant_id=tenant)
    workflow.transition(winner, "approve", by=reviewer())
    events = {(e.partner_id, e.type, e.claim_id) for e in WebhookEvent.objects.all()}
    assert events == {
        (fabrikam.pk, "claim.approved", winner.pk),
        (contoso.pk, "claim.superseded", loser.pk),
    }
    superseded = WebhookEvent.objects.get(type="claim.superseded")
    assert superseded.payload["data"]["claim"]["rejection_reason"] == "superseded"
    assert superseded.payload["data"]["claim"]["allowed_actions"] == ["dispute"]


def test_secrets_rotate_to_a_new_key(settings: Any) -> None:
    from cryptography.fernet import InvalidToken

    settings.CPOR_ENCRYPTION_KEYS = ["the old key, long and random"]
    token = encryption.encrypt("whsec_c2VjcmV0")
    settings.CPOR_ENCRYPTION_KEYS = ["the new key, long and random", "the old key, long and random"]
    assert encryption.decrypt(token) == "whsec_c2VjcmV0"
    moved = encryption.reencrypt(token)
    settings.CPOR_ENCRYPTION_KEYS = ["the new key, long and random"]
    assert encryption.decrypt(moved) == "whsec_c2VjcmV0"
    with pytest.raises(InvalidToken):
        encryption.decrypt(token)


def test_a_secret_no_key_opens_is_a_failed_attempt(
    receiver: Receiver, alice: Any, contoso: Any, settings: Any
) -> None:
    subscribe(contoso, alice, receiver.url, ["claim.submitted"])
    workflow.transition(draft(contoso, by=alice), "submit", by=alice)
    settings.CPOR_ENCRYPTION_KEYS = ["a key the secret was not encrypted with"]
    row = WebhookDelivery.objects.get()
    assert delivery.deliver(row.pk) is False
    row.refresh_from_db()
    assert "cannot be decrypted" in row.last_error
    assert receiver.calls == []


def test_old_events_are_purged_unless_still_waiting(alice: Any, contoso: Any, settings: Any) -> None:
    from api.tasks import purge_old_webhook_events

    settings.CPOR_WEBHOOK_RETENTION_DAYS = 30
    subscribe(
        contoso, alice, "https://crm.contoso.example/hooks", ["claim.submitted", "claim.review_started"]
    )
    with time_machine.travel(START, tick=False):
        claim = draft(contoso, by=alice)
        workflow.transition(claim, "submit", by=alice)  # will have been delivered
        workflow.transition(claim, "start_review", by=reviewer())  # still waiting
        WebhookDelivery.objects.filter(event__type="claim.submitted").update(status="delivered")
    with time_machine.travel(START + dt.timedelta(days=20), tick=False):
        recent = draft(contoso, by=alice)
        workflow.transition(recent, "submit", by=alice)
        WebhookDelivery.objects.filter(event__claim=recent).update(status="delivered")
    with time_machine.travel(START + dt.timedelta(days=31), tick=False):
        assert purge_old_webhook_events() == 1
        assert purge_old_webhook_events() == 0
    assert sorted(WebhookEvent.objects.values_list("type", "claim_id")) == [
        ("claim.review_started", claim.pk),
        ("claim.submitted", recent.pk),
    ]
    assert WebhookDelivery.objects.count() == 2


def test_the_rotation_command_moves_every_secret_to_the_new_key(
    alice: Any, contoso: Any, settings: Any
) -> None:
    from django.core.management import call_command

    settings.CPOR_ENCRYPTION_KEYS = ["the old key, long and random"]
    secrets = [subscribe(contoso, alice, f"https://crm.contoso.example/{n}")[1] for n in range(3)]
    settings.CPOR_ENCRYPTION_KEYS = ["the new key, long and random", "the old key, long and random"]
    call_command("reencrypt_webhook_secrets")
    settings.CPOR_ENCRYPTION_KEYS = ["the new key, long and random"]
    stored = [encryption.decrypt(e.encrypted_secret) for e in WebhookEndpoint.objects.order_by("pk")]
    assert stored == secrets
