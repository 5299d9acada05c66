"""The assessment hand-off lasts only as long as the association: a claim withdrawn after its
opt-out window closed leaves the assessment queue."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from claims import workflow
from claims.models import Claim
from consent.tasks import close_consent_windows
from earnings.models import AssessmentHandoff
from tests.factories import claim_in, manager_of

pytestmark = pytest.mark.django_db
S = Claim.Status


def test_withdrawing_an_association_takes_it_off_the_assessment_queue() -> None:
    claim = claim_in(S.APPROVED)
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        assert close_consent_windows() == 1
    assert AssessmentHandoff.objects.filter(claim=claim).exists()
    workflow.transition(claim, "withdraw", by=manager_of(claim), reason="no_longer_working")
    assert AssessmentHandoff.objects.get(claim=claim).ended_at is not None
