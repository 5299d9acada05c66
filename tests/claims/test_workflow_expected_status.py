"""The stale-page guard of the one path: `transition(..., expected_status=...)`.

A person decides on a page that shows the claim in one status. When the claim has moved on since,
their action is refused, even if it would be possible in the status the claim has now, and nothing
changes.
"""

from __future__ import annotations

import pytest
from django.utils import translation

from claims import workflow
from claims.models import Claim, ClaimEvent
from tests.factories import claim_in, reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status


def test_the_status_the_actor_saw_lets_the_transition_through() -> None:
    claim = claim_in(S.SUBMITTED)

    moved = workflow.transition(claim, "start_review", by=reviewer(), expected_status=S.SUBMITTED)

    assert moved.status == S.UNDER_REVIEW


def test_a_page_that_shows_an_older_status_is_refused_and_changes_nothing() -> None:
    # The reviewer's page still shows "submitted"; a colleague started the review since. Approving
    # is possible under review, but not on the strength of a page that no longer shows the claim.
    claim = claim_in(S.UNDER_REVIEW)
    events = ClaimEvent.objects.filter(claim=claim).count()

    with pytest.raises(workflow.TransitionRefused) as refused:
        workflow.transition(claim, "approve", by=reviewer(), expected_status=S.SUBMITTED)

    assert (
        str(refused.value)
        == "Someone changed this claim while you were looking at it: it is now Under review."
    )
    claim.refresh_from_db()
    assert claim.status == S.UNDER_REVIEW
    assert ClaimEvent.objects.filter(claim=claim).count() == events


def test_the_refusal_speaks_the_actors_language() -> None:
    claim = claim_in(S.UNDER_REVIEW)

    with translation.override("tr"), pytest.raises(workflow.TransitionRefused) as refused:
        workflow.transition(claim, "approve", by=reviewer(), expected_status=S.SUBMITTED)

    assert (
        str(refused.value) == "Siz bakarken biri bu talebi değiştirdi: talep şu anda “İnceleniyor” durumunda."
    )


def test_without_an_expected_status_the_current_one_is_taken_as_it_is() -> None:
    claim = claim_in(S.UNDER_REVIEW)

    assert workflow.transition(claim, "approve", by=reviewer()).status == S.APPROVED
