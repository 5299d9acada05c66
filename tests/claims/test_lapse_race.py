"""Two lapse jobs at once (two beat workers, or a manual run beside the scheduled one).

PostgreSQL with real commits. Both run `lapse_inactive_subscriptions` over the same lapsed
associations, in small batches so that their batches interleave: every claim lapses exactly once,
with one `lapse` event, one mail to its partner and one webhook event, and the counts the two runs
return add up to the claims there were.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
import time_machine
from django.db import connection

from api import webhooks
from api.models import WebhookEvent
from claims import workflow
from claims.models import Claim, ClaimEvent, Membership, Product, Subscription, Tenant
from claims.tasks import lapse_inactive_subscriptions
from claims.workflow import SYSTEM, sweeps
from cpor.models import OutboundEmail
from earnings.models import AssessmentHandoff
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BASE = dt.datetime(2025, 3, 5, 10, 0, tzinfo=dt.UTC)
CLAIMS = 40


def test_two_lapse_jobs_at_once_lapse_each_claim_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweeps, "SWEEP_BATCH", 3)
    with time_machine.travel(BASE, tick=False) as clock:
        partner = PartnerFactory()
        manager = partner_user(partner, Membership.Role.GLOBAL_ADMIN)
        rita = reviewer()
        claims = []
        for _ in range(CLAIMS):
            clock.move_to(BASE, tick=False)
            claim = claim_in(Claim.Status.APPROVED, by=manager, review_by=rita, subscription_id=uuid.uuid4())
            clock.move_to(claim.consent_window_ends_at, tick=False)
            claims.append(workflow.transition(claim, "close_consent_window", by=SYSTEM))
        product = Product.objects.get(code="d365-sales")
        for claim in claims:
            Subscription.objects.create(
                subscription_id=claim.subscription_id,
                tenant=Tenant.objects.create(tenant_id=claim.customer_tenant_id, name=claim.customer_name),
                product=product,
                channel=Subscription.Channel.EA,
                status=Subscription.Status.DELETED,
                seats=10,
                start_date=dt.date(2024, 1, 1),
                inactive_since=BASE + dt.timedelta(days=8),
            )
        webhooks.create_endpoint(
            partner=partner, by=manager, url="https://crm.example/h", event_types=["claim.lapsed"]
        )
        clock.move_to(BASE + dt.timedelta(days=40), tick=False)

        barrier = threading.Barrier(2, timeout=30)
        moved: list[int] = []
        crashes: list[BaseException] = []

        def run() -> None:
            try:
                barrier.wait()
                moved.append(lapse_inactive_subscriptions())
            except BaseException as exc:
                crashes.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert crashes == []
    assert sum(moved) == CLAIMS
    ids = [claim.pk for claim in claims]
    assert set(Claim.objects.filter(pk__in=ids).values_list("status", "rejection_reason")) == {
        ("rejected", "subscription_inactive")
    }
    lapses: Any = ClaimEvent.objects.filter(claim_id__in=ids, action="lapse")
    assert sorted(lapses.values_list("claim_id", flat=True)) == sorted(ids)
    mails = OutboundEmail.objects.filter(kind="claim_rejected", claimevent__claim_id__in=ids)
    assert sorted(mails.values_list("claimevent__claim_id", flat=True)) == sorted(ids)
    events = WebhookEvent.objects.filter(type="claim.lapsed")
    assert sorted(events.values_list("claim_id", flat=True)) == sorted(ids)
    ended = AssessmentHandoff.objects.filter(claim_id__in=ids)
    assert ended.count() == len(ids) and not ended.filter(ended_at=None).exists()
