"""The monthly job writes lines only for the partners whose draft statements its batch made and
locked: an association that turns eligible between the batch's lock and its INSERT (another
process committing an assessment) waits for the next run instead of landing on no statement or on
one the batch never locked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from earnings import ledger
from earnings.models import AssessmentHandoff, EarningsLine, Statement
from tests.earnings.ledger_helpers import association, rule, tenant, usage

pytestmark = pytest.mark.django_db
DEC, JAN = dt.date(2025, 12, 1), dt.date(2026, 1, 1)
NOW = timezone.make_aware(dt.datetime(2026, 3, 5, 12))


def test_an_association_turning_eligible_mid_batch_waits_for_the_next_run(monkeypatch: Any) -> None:
    rule(effective_from=DEC, rate="10")
    customer = tenant()
    queued = timezone.make_aware(dt.datetime(2026, 1, 10, 12))
    locked = association(queued_at=queued, tenant_row=customer)
    late = association(queued_at=queued, tenant_row=customer, eligible=False)
    usage(customer, DEC, 0)
    usage(customer, JAN, 5)
    lock_candidates = ledger._lock_candidates

    def a_commit_lands_after_the_lock(*args: Any, **kwargs: Any) -> set[int]:
        partners = lock_candidates(*args, **kwargs)
        # What another process committing `assess_outstanding` looks like to the INSERT's snapshot.
        AssessmentHandoff.objects.filter(pk=late.pk).update(eligible=True)
        return partners

    monkeypatch.setattr(ledger, "_lock_candidates", a_commit_lands_after_the_lock)
    assert ledger.assess_month(JAN, now=NOW).written == 1
    assert list(EarningsLine.objects.values_list("assessment_id", flat=True)) == [locked.pk]
    monkeypatch.undo()
    assert ledger.assess_month(JAN, now=NOW).written == 1
    assert sorted(EarningsLine.objects.values_list("assessment_id", flat=True)) == sorted(
        [locked.pk, late.pk]
    )
    for line in EarningsLine.objects.select_related("statement"):
        assert (line.statement.partner_id, line.statement.status) == (line.partner_id, Statement.Status.DRAFT)
