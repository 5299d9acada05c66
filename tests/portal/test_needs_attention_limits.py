"""'What needs you now' lists the soonest NEEDS_LIMIT of each kind, however many wait: the query ranks
each list itself (issue 16), and picks exactly the claims the whole list would have shown first."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine

from claims import selectors
from claims.models import Claim, RejectionReason
from tests.factories import claim_in

pytestmark = pytest.mark.django_db
S = Claim.Status
NOW = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)  # a Tuesday
LIMIT = selectors.NEEDS_LIMIT


def copies(claim: Claim, count: int, **fields: Any) -> list[Claim]:
    """`count` copies of a claim written directly, each with `fields` (callables get the index)."""
    made = []
    for index in range(count):
        copy = Claim.objects.get(pk=claim.pk)
        copy.pk = None
        copy.name = f"{claim.status} {index}"
        copy.customer_tenant_id = uuid.uuid4()
        for name, value in fields.items():
            setattr(copy, name, value(index) if callable(value) else value)
        made.append(copy)
    return Claim.objects.bulk_create(made)


def test_each_list_holds_its_soonest_claims_whatever_waits_in_the_other(manager: Any) -> None:
    partner = manager.membership.partner
    with time_machine.travel(NOW - dt.timedelta(days=3), tick=False):
        waiting = claim_in(S.PARTNER_ACTION_REQUIRED, partner=partner, by=manager)
        rejected = claim_in(S.REJECTED, partner=partner, by=manager, customer_tenant_id=uuid.uuid4())
    hour = dt.timedelta(hours=1)
    # Deadlines interleaved across the two kinds, written out of order, with ties broken by id.
    answers = copies(waiting, 2 * LIMIT, partner_response_due_at=lambda i: NOW + (2 * LIMIT - i // 2) * hour)
    closing = copies(
        rejected,
        2 * LIMIT,
        rejection_reason=RejectionReason.INSUFFICIENT_POE,
        dispute_window_ends_at=lambda i: NOW + (2 * LIMIT - i) * hour + dt.timedelta(minutes=30),
    )
    # Not in the lists: a window already closed, one closing later than seven days, a decline.
    copies(rejected, 3, dispute_window_ends_at=NOW - hour)
    copies(rejected, 3, dispute_window_ends_at=NOW + dt.timedelta(days=8))
    copies(rejected, 3, rejection_reason=RejectionReason.CUSTOMER_DECLINE, dispute_window_ends_at=NOW + hour)
    waiting.delete()
    rejected.delete()

    def soonest(claims: list[Claim], field: str) -> list[int]:
        return [c.pk for c in sorted(claims, key=lambda c: (getattr(c, field), c.pk))][:LIMIT]

    with time_machine.travel(NOW, tick=False):
        needs = selectors.needs_attention(partner.pk)

    assert [item.pk for item in needs.answer] == soonest(answers, "partner_response_due_at")
    assert [item.pk for item in needs.disputes_closing] == soonest(closing, "dispute_window_ends_at")
    assert all(item.deadline is not None for item in needs.answer + needs.disputes_closing)
