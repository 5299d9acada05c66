"""An event that fails every attempt is not dropped in silence: the endpoint is disabled and its
admins mailed, however rarely it is used, and the event waits for it to be enabled again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from api import webhooks
from api.models import WebhookDelivery, WebhookEndpoint
from api.webhooks import delivery
from claims import workflow
from claims.models import Membership
from cpor import outbox
from cpor.models import OutboundEmail
from tests.api.test_webhooks import START
from tests.factories import PartnerFactory, draft, partner_user
from tests.webhook_receiver import Receiver


@pytest.mark.django_db
def test_one_event_failing_all_its_attempts_disables_the_endpoint(receiver: Receiver, settings: Any) -> None:  # noqa: F811
    settings.CPOR_WEBHOOK_MAX_ATTEMPTS = 3
    settings.CPOR_WEBHOOK_DISABLE_AFTER = 20  # far more than one event's attempts
    partner = PartnerFactory(name="Contoso")
    alice = partner_user(partner, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example")
    receiver.statuses = [503] * 3
    with time_machine.travel(START, tick=False) as clock:
        endpoint, _secret = webhooks.create_endpoint(
            partner=partner, by=alice, url=receiver.url, event_types=["claim.submitted"]
        )
        workflow.transition(draft(partner, by=alice), "submit", by=alice)
        for _ in range(6):
            clock.shift(dt.timedelta(hours=1))
            delivery.redeliver_pending()
        assert len(receiver.calls) == 3
        endpoint.refresh_from_db()
        assert not endpoint.is_active
        assert endpoint.consecutive_failures == 3
        assert endpoint.disabled_reason == "an event failed 3 attempts in a row"
        row = WebhookDelivery.objects.get()
        assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 3, None)
        (mail,) = OutboundEmail.objects.filter(kind=delivery.DISABLED_MAIL)
        assert mail.recipients == ["alice@contoso.example"]
        _subject, body = outbox.render(mail)
        assert " 3 times in a row" in body and receiver.url in body
        # Enabled again (the receiver is fixed): the event is tried anew and delivered.
        webhooks.enable_endpoint(endpoint, by=alice)
        assert delivery.redeliver_pending() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("delivered", 4)
    assert len(receiver.accepted()) == 1
    assert WebhookEndpoint.objects.get().is_active


@pytest.mark.django_db
def test_a_test_event_failing_all_its_attempts_fails_and_leaves_the_endpoint_alone(
    receiver: Receiver,  # noqa: F811
    settings: Any,
) -> None:
    settings.CPOR_WEBHOOK_MAX_ATTEMPTS = 2
    partner = PartnerFactory(name="Contoso")
    alice = partner_user(partner, Membership.Role.INCENTIVES_ADMIN)
    receiver.statuses = [500] * 2
    with time_machine.travel(START, tick=False) as clock:
        endpoint, _secret = webhooks.create_endpoint(
            partner=partner, by=alice, url=receiver.url, event_types=["claim.submitted"]
        )
        webhooks.send_test_event(endpoint, by=alice)
        for _ in range(3):
            clock.shift(dt.timedelta(hours=1))
            delivery.redeliver_pending()
    assert WebhookDelivery.objects.get().status == "failed"
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert not OutboundEmail.objects.exists()
