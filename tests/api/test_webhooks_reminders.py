"""The reminder sweep writes its webhook events for a batch at once: the queries on the webhook
tables do not grow with the number of claims reminded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api import webhooks
from api.models import WebhookDelivery, WebhookEvent
from claims import workflow
from claims.models import Claim, Membership
from tests.api.test_webhooks import START
from tests.factories import PartnerFactory, claim_in, partner_user


def _remind(count: int) -> tuple[int, int]:
    """Remind `count` claims of a subscribed partner: (queries on webhook tables, events written)."""
    partner = PartnerFactory()
    admin = partner_user(partner, Membership.Role.GLOBAL_ADMIN)
    webhooks.create_endpoint(
        partner=partner, by=admin, url="https://crm.example/hooks", event_types=["claim.reminder"]
    )
    with time_machine.travel(START, tick=False):
        claims = [
            claim_in(Claim.Status.PARTNER_ACTION_REQUIRED, partner=partner, by=admin) for _ in range(count)
        ]
    due = max(Claim.objects.get(pk=c.pk).partner_reminder_at for c in claims)
    before = WebhookEvent.objects.count()
    with (
        time_machine.travel(due + dt.timedelta(minutes=1), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert workflow.send_due_reminders() == count
    webhook_queries = sum("api_webhook" in q["sql"] for q in queries.captured_queries)
    return webhook_queries, WebhookEvent.objects.count() - before


@pytest.mark.django_db
def test_reminders_write_their_events_with_constant_queries(settings: Any) -> None:
    few = _remind(2)
    many = _remind(6)
    assert few[1] == 2 and many[1] == 6
    assert few[0] == many[0]
    assert WebhookDelivery.objects.count() == 8
    assert set(WebhookEvent.objects.values_list("type", flat=True)) == {"claim.reminder"}
