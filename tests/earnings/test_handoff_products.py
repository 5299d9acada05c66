"""The assessment hand-off queues the workloads the claim holds when its window closes: all of them
after a full association, only the rest after the customer declined some; a review lead ending the
association takes it off the queue; and a sweep batch queues its products in a fixed number of
queries, however many claims it moves."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims import workflow
from claims.models import AssociationEndRequest, Claim, ClaimEvent, Product
from claims.workflow import CUSTOMER
from consent.tasks import close_consent_windows
from earnings.models import AssessmentHandoff
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status
TWO = ("d365-sales", "power-bi")


def queued_codes(claim: Claim) -> list[str]:
    return sorted(AssessmentHandoff.objects.get(claim=claim).products.values_list("code", flat=True))


def close_windows() -> int:
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        return close_consent_windows()


def test_a_full_association_queues_every_workload_of_the_claim() -> None:
    claim = claim_in(S.APPROVED, products=TWO)
    assert close_windows() == 1
    assert queued_codes(claim) == sorted(TWO)


def test_the_one_path_queues_the_workloads_too() -> None:
    claim = claim_in(S.APPROVED, products=TWO)
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        workflow.transition(claim, "close_consent_window", by=workflow.SYSTEM)
    assert queued_codes(claim) == sorted(TWO)


def test_after_a_partial_decline_only_the_remaining_workload_is_queued() -> None:
    claim = claim_in(S.APPROVED, products=TWO)
    workflow.decline_workloads(
        claim,
        [Product.objects.get(code="power-bi")],
        by=CUSTOMER,
        customer_email="nina@northwind.example",
        reason="We run Power BI ourselves.",
    )
    assert close_windows() == 1
    assert queued_codes(claim) == ["d365-sales"]


def test_ending_the_association_takes_it_off_the_assessment_queue() -> None:
    claim = claim_in(S.APPROVED, products=TWO)
    assert close_windows() == 1
    lead = reviewer(lead=True)
    with time_machine.travel(timezone.now() + dt.timedelta(days=9)):
        workflow.request_end_association(
            claim, by=CUSTOMER, customer_email="nina@northwind.example", language="en", reason="No longer."
        )
        workflow.transition(claim, "end_association", by=lead, comment="The customer asked.")
    claim.refresh_from_db()
    assert claim.status == S.REJECTED
    assert AssociationEndRequest.objects.get(claim=claim).outcome == AssociationEndRequest.Outcome.GRANTED
    # It stays queued as a record (the ledger refers to it) but no longer earns.
    assert AssessmentHandoff.objects.get(claim=claim).ended_at == (
        ClaimEvent.objects.get(claim=claim, action="end_association").created_at
    )


def _sweep_queries(count: int) -> tuple[int, int, int]:
    """Close `count` windows: (all queries, queries on the hand-off tables, products queued)."""
    partner = PartnerFactory()
    manager, rita = partner_user(partner), reviewer()
    for _ in range(count):
        claim_in(S.APPROVED, partner=partner, by=manager, review_by=rita, products=TWO)
    with CaptureQueriesContext(connection) as queries:
        assert close_windows() == count
    handoff_queries = sum("earnings_assessmenthandoff" in q["sql"] for q in queries.captured_queries)
    return len(queries.captured_queries), handoff_queries, AssessmentHandoff.products.through.objects.count()


def test_a_sweep_queues_the_products_of_one_claim_or_five_in_the_same_queries() -> None:
    one, one_handoff, queued_one = _sweep_queries(1)
    assert queued_one == 2
    assert one_handoff > 0  # the rows, their ids beside the products, the products (and counts on SQLite)
    AssessmentHandoff.objects.all().delete()
    Claim.objects.filter(status=S.ASSOCIATED).delete()
    five, five_handoff, queued_five = _sweep_queries(5)
    assert queued_five == 10
    assert (five, five_handoff) == (one, one_handoff)
