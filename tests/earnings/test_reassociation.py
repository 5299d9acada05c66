"""An association that ends and comes back (its rejection disputed, the review reopened, approved,
the window closed again) earns again from its new association month; and an association assessed
late (a row moved from consent/) records its subscription's channel and seats, which the ledger
reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims import workflow
from claims.models import Claim, ClaimEvent, Membership, Subscription
from claims.workflow import SYSTEM
from earnings.assessment import assess_outstanding
from earnings.ledger import assess_month
from earnings.models import AssessmentHandoff, EarningsLine, Metric
from tests.earnings.ledger_helpers import association, rule, subscription, tenant
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status
DEC, JAN, FEB = dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)


def test_an_association_restored_after_a_dispute_is_assessed_again_and_earns(time_machine: Any) -> None:
    time_machine.move_to(timezone.make_aware(dt.datetime(2026, 1, 12, 10, 0)), tick=False)
    rule(effective_from=dt.date(2025, 1, 1), metric=Metric.ONE_TIME_FEE, rate="250")
    manager = partner_user(PartnerFactory(), Membership.Role.GLOBAL_ADMIN)
    claim = claim_in(S.APPROVED, by=manager)
    time_machine.move_to(claim.consent_window_ends_at, tick=False)
    claim = workflow.transition(claim, "close_consent_window", by=SYSTEM)
    claim = workflow.transition(claim, "supersede", by=SYSTEM)
    ended = AssessmentHandoff.objects.get(claim=claim)
    assert ended.ended_at is not None

    claim = workflow.transition(claim, "dispute", by=manager, justification="We still serve them.")
    lead = reviewer(lead=True)
    claim = workflow.transition(claim, "reopen", by=lead)
    claim = workflow.transition(claim, "approve", by=lead)
    window_end = claim.consent_window_ends_at
    time_machine.move_to(window_end, tick=False)
    claim = workflow.transition(claim, "close_consent_window", by=SYSTEM)

    restored = AssessmentHandoff.objects.get(claim=claim)
    assert claim.status == S.ASSOCIATED
    assert (restored.pk, restored.ended_at, restored.queued_at) == (
        ended.pk,
        None,
        window_end,
    )
    assert restored.eligible is True and restored.assessed_at == restored.queued_at
    assert sorted(restored.products.values_list("pk", flat=True)) == sorted(
        claim.products.values_list("pk", flat=True)
    )
    assert ClaimEvent.objects.filter(claim=claim, action="assessed").count() == 2
    month = restored.association_month
    time_machine.move_to(timezone.make_aware(dt.datetime(2026, 3, 10, 9)), tick=False)
    assess_month(month)
    (line,) = EarningsLine.objects.filter(assessment=restored, kind="earning")
    assert (line.month, line.amount) == (month, Decimal("250.00"))


def test_an_association_assessed_late_records_its_channel_and_seats_for_the_ledger() -> None:
    rule(effective_from=DEC, metric=Metric.NEW_SEATS, rate="10", excluded_channels=["csp"])
    customer = tenant()
    named = subscription(customer, seats=100)
    moved = association(
        queued_at=timezone.make_aware(dt.datetime(2026, 1, 10, 12)),
        tenant_row=customer,
        subscription_row=named,
    )
    # As migration 0002 left the rows moved from consent/: never assessed, nothing of the subscription.
    AssessmentHandoff.objects.filter(pk=moved.pk).update(
        eligible=None, reasons=[], assessed_at=None, channel="", baseline_seats=None
    )
    now = timezone.make_aware(dt.datetime(2026, 3, 5, 12))
    assert assess_outstanding(now=now) == 1
    moved.refresh_from_db()
    assert (moved.eligible, moved.channel, moved.baseline_seats) == (True, "direct", 100)
    Subscription.objects.filter(pk=named.pk).update(seats=160)
    assess_month(JAN, now=now)
    (line,) = EarningsLine.objects.filter(assessment=moved)
    assert (line.units, line.amount) == (60, Decimal("600.00"))


@pytest.mark.parametrize(
    ("role", "reasons_shown"),
    [
        (Membership.Role.GLOBAL_ADMIN, True),
        (Membership.Role.BILLING_ADMIN, True),
        (Membership.Role.INCENTIVES_ADMIN, True),
        (Membership.Role.MEMBER, False),
    ],
)
def test_a_member_reads_the_assessment_in_history_without_its_reasons(
    time_machine: Any, role: str, reasons_shown: bool
) -> None:
    time_machine.move_to(timezone.make_aware(dt.datetime(2026, 1, 12, 10, 0)), tick=False)
    rule(effective_from=dt.date(2025, 1, 1), workloads=("d365-finance",))
    partner = PartnerFactory()
    claim = claim_in(S.APPROVED, by=partner_user(partner, Membership.Role.GLOBAL_ADMIN))
    time_machine.move_to(claim.consent_window_ends_at, tick=False)
    workflow.transition(claim, "close_consent_window", by=SYSTEM)
    client = Client()
    client.force_login(partner_user(partner, role))
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "OSU (usage): not eligible." in page
    reason = "None of the claimed workloads is eligible under the programme."
    assert (reason in page) is reasons_shown
    assert ("Terms in force from" in page) is reasons_shown
