"""A consent link belongs to one approval: once the claim has been superseded, disputed, reopened
and approved again, the link from the earlier approval no longer works."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from claims import workflow
from claims.models import Claim
from claims.workflow import SYSTEM
from consent import services
from consent.models import ConsentRequest
from tests.factories import claim_in, manager_of, reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status


def test_a_link_from_an_earlier_approval_stops_working_when_the_claim_is_approved_again() -> None:
    lead, rita = reviewer(lead=True), reviewer()
    claim = claim_in(S.APPROVED, review_by=rita)
    first = ConsentRequest.objects.get(claim=claim)
    manager = manager_of(claim)
    workflow.transition(claim, "withdraw", by=manager, reason="wrong_activity")
    # A withdrawn claim cannot be disputed; go the long way: a rejection, a dispute, a reopen.
    other = claim_in(S.UNDER_REVIEW, partner=claim.partner, by=manager, review_by=rita, activity="presales")
    workflow.transition(other, "approve", by=rita)
    old = ConsentRequest.objects.get(claim=other)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1)):
        workflow.transition(other, "supersede", by=SYSTEM, comment="Another partner won.")
        workflow.transition(other, "dispute", by=manager, justification="Our PoE is newer.")
        workflow.transition(other, "reopen", by=lead)
        workflow.transition(other, "approve", by=lead)
        old.refresh_from_db()
        assert services.notice_state(old) == services.NoticeState.ENDED
        assert not services.deny(old)
    other.refresh_from_db()
    assert other.status == S.APPROVED
    assert first.claim_id == claim.pk
