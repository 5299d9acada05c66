"""A partner acting on a stale claim page: each action form sends the status the page showed, and
an action on a claim that has moved on since is refused with a clear message and changes nothing,
instead of being applied to a state the partner never saw."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent
from claims.workflow import transition
from tests.factories import claim_in, reviewer

pytestmark = pytest.mark.django_db

S = Claim.Status
STALE = "Someone changed this claim while you were looking at it: it is now"


def seen_statuses(client: Client, claim: Claim) -> dict[str, str]:
    """Each action form on the claim page → the status it sends as `seen_status`."""
    html = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    forms = re.findall(r'<form method="post" action="/[^"]*/(\w+)/"[^>]*>(.*?)</form>', html, re.S)
    found = {}
    for action, body in forms:
        seen = re.search(r'<input type="hidden" name="seen_status" value="(\w+)">', body)
        if seen:
            found[action] = seen.group(1)
    return found


def fingerprint(claim: Claim) -> tuple[Any, ...]:
    fresh = Claim.objects.get(pk=claim.pk)
    return fresh.status, fresh.updated_at, ClaimEvent.objects.filter(claim=claim).count()


def test_every_transition_form_sends_the_status_the_page_shows(manager: Any, manager_client: Client) -> None:
    draft_claim = claim_in(S.EDITING, by=manager)
    assert seen_statuses(manager_client, draft_claim) == {"submit": S.EDITING}

    waiting = claim_in(S.PARTNER_ACTION_REQUIRED, by=manager)
    assert seen_statuses(manager_client, waiting) == {
        "resubmit": S.PARTNER_ACTION_REQUIRED,
        "withdraw": S.PARTNER_ACTION_REQUIRED,
    }

    rejected = claim_in(S.REJECTED, by=manager)
    assert seen_statuses(manager_client, rejected) == {"dispute": S.REJECTED}


def test_a_withdrawal_from_a_page_that_showed_another_status_is_refused(
    manager: Any, manager_client: Client
) -> None:
    claim = claim_in(S.SUBMITTED, by=manager)
    assert seen_statuses(manager_client, claim)["withdraw"] == S.SUBMITTED
    # While the partner reads the page, a reviewer starts the review: withdrawing is still allowed
    # in the new state, so only the page's status tells that the partner decided on an old one.
    transition(claim, "start_review", by=reviewer())
    before = fingerprint(claim)

    response = manager_client.post(
        reverse("claims:withdraw", args=[claim.pk]),
        {"withdraw-reason": "wrong_mpn", "withdraw-confirm": "on", "seen_status": S.SUBMITTED},
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert f"{STALE} Under review." in html
    assert fingerprint(claim) == before
    # The page the partner gets back shows the claim as it is now, so acting again is deliberate.
    assert seen_statuses(manager_client, claim)["withdraw"] == S.UNDER_REVIEW


def test_the_same_withdrawal_goes_through_when_the_page_was_current(
    manager: Any, manager_client: Client
) -> None:
    claim = claim_in(S.UNDER_REVIEW, by=manager)
    response = manager_client.post(
        reverse("claims:withdraw", args=[claim.pk]),
        {"withdraw-reason": "wrong_mpn", "withdraw-confirm": "on", "seen_status": S.UNDER_REVIEW},
    )
    assert response.status_code == 302
    assert Claim.objects.get(pk=claim.pk).status == S.REJECTED


def test_an_answer_to_a_request_the_partner_already_answered_elsewhere_is_refused_clearly(
    manager: Any, manager_client: Client
) -> None:
    claim = claim_in(S.PARTNER_ACTION_REQUIRED, by=manager)
    transition(claim, "resubmit", by=manager, comment="Answered from another tab.")
    before = fingerprint(claim)

    response = manager_client.post(
        reverse("claims:resubmit", args=[claim.pk]),
        {"resubmit-comment": "The signed SOW is attached.", "seen_status": S.PARTNER_ACTION_REQUIRED},
    )

    assert response.status_code == 409
    assert f"{STALE} Under review." in response.content.decode()
    assert fingerprint(claim) == before


def test_a_form_posted_without_the_status_is_not_checked(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.UNDER_REVIEW, by=manager)
    response = manager_client.post(
        reverse("claims:withdraw", args=[claim.pk]),
        {"withdraw-reason": "wrong_mpn", "withdraw-confirm": "on"},
    )
    assert response.status_code == 302
    assert Claim.objects.get(pk=claim.pk).status == S.REJECTED
