"""Answering an information request on the claim page: "Partner action required" leads with one
place to answer (a comment, PoE, resubmit), a read-only member sees the request without a form, a
comment alone is told the claim still waits, and nobody else's comment changes anything."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, ClaimEvent, Comment
from cpor.models import OutboundEmail
from tests.factories import claim_in, pdf_upload, reviewer
from tests.portal.claim_page_html import forms_posting_to, page, section
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

S = Claim.Status


def test_partner_action_required_leads_with_one_way_to_answer(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.PARTNER_ACTION_REQUIRED, partner=manager.membership.partner, by=manager)
    html = page(manager_client, claim)
    request = section(html, "request-heading")
    assert request, "the request panel is missing"
    # The panel comes first, before the status explanation.
    assert html.index('aria-labelledby="request-heading"') < html.index('aria-labelledby="status-heading"')
    assert "Missing products" in request  # the reason, as a label
    assert "Please name Sales in the PoE." in request  # the reviewer's comment
    assert "business day" in request and "<time datetime=" in request  # the deadline
    # One answer box, one upload, Resubmit — and no second comment form or upload form elsewhere.
    assert forms_posting_to(html, "claims:resubmit", claim) == 1
    assert 'name="resubmit-comment"' in request and 'name="resubmit-files"' in request
    assert forms_posting_to(html, "claims:comment", claim) == 0
    assert forms_posting_to(html, "claims:upload", claim) == 0
    assert html.count("<textarea") == 2  # the answer, and the optional withdraw comment
    assert 'name="comment-body"' not in html


def test_a_read_only_member_sees_the_request_without_a_form(member_client: Client, manager: Any) -> None:
    claim = claim_in(S.PARTNER_ACTION_REQUIRED, partner=manager.membership.partner, by=manager)
    html = page(member_client, claim)
    request = section(html, "request-heading")
    assert "Please name Sales in the PoE." in request
    assert "<form" not in request and "An admin of your organization answers" in request


def test_answer_and_resubmit_from_the_request_panel(manager: Any, manager_client: Client) -> None:
    rita = reviewer(email="rita@cpor.example")
    claim = claim_in(
        S.PARTNER_ACTION_REQUIRED, partner=manager.membership.partner, by=manager, review_by=rita
    )
    response = manager_client.post(
        reverse("claims:resubmit", args=[claim.pk]),
        {"resubmit-comment": "Sales is named on page 2.", "resubmit-files": [pdf_upload("named.pdf")]},
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == S.UNDER_REVIEW
    assert Comment.objects.filter(claim=claim, body="Sales is named on page 2.", author=manager).exists()
    assert claim.documents.filter(original_name="named.pdf").exists()
    assert OutboundEmail.objects.filter(to__contains="rita@cpor.example").exists()
    assert not section(page(manager_client, claim), "request-heading")


def test_a_comment_alone_is_told_the_claim_still_waits(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.PARTNER_ACTION_REQUIRED, partner=manager.membership.partner, by=manager)
    response = manager_client.post(
        reverse("claims:comment", args=[claim.pk]), {"comment-body": "We are on it."}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("claims:detail", args=[claim.pk]) + "#answer"
    html = response.content.decode()
    assert "the claim still waits on you" in html and "only when you resubmit, by" in html
    local = timezone.localtime(claim.partner_response_due_at)
    assert str(local.year) in html.split("the claim still waits on you", 1)[1][:300]
    assert forms_posting_to(html, "claims:resubmit", claim) == 1  # Resubmit is right there
    claim.refresh_from_db()
    assert claim.status == S.PARTNER_ACTION_REQUIRED
    assert Comment.objects.filter(claim=claim, body="We are on it.").exists()


def test_a_comment_in_another_state_is_just_posted(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.UNDER_REVIEW, partner=manager.membership.partner, by=manager)
    response = manager_client.post(
        reverse("claims:comment", args=[claim.pk]), {"comment-body": "FYI"}, follow=True
    )
    html = response.content.decode()
    assert "Your comment is posted; the reviewer is told by email." in html
    assert "still waits on you" not in html


@pytest.mark.parametrize("who", ["member", "outsider", "anonymous"])
def test_a_comment_by_anyone_else_changes_nothing(
    who: str, manager: Any, member: Any, outsider: Any, django_user_model: Any
) -> None:
    claim = claim_in(S.PARTNER_ACTION_REQUIRED, partner=manager.membership.partner, by=manager)
    client = client_for({"member": member, "outsider": outsider, "anonymous": None}[who])
    events = ClaimEvent.objects.count()
    response = client.post(reverse("claims:comment", args=[claim.pk]), {"comment-body": "sneaky"})
    assert response.status_code == {"member": 403, "outsider": 404, "anonymous": 302}[who]
    assert not Comment.objects.filter(body="sneaky").exists()
    assert ClaimEvent.objects.count() == events
