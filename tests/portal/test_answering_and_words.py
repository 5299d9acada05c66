"""The claim page in "Partner action required" answers in one place; words fit each state; withdrawing
asks for confirmation; every state shows an actions panel only when it holds an action."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims import workflow
from claims.actors import SYSTEM
from claims.models import Claim, ClaimEvent, Comment
from cpor.models import OutboundEmail
from tests.factories import claim_in, pdf_upload, reviewer
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

S = Claim.Status


def page(client: Client, claim: Claim) -> str:
    response = client.get(reverse("claims:detail", args=[claim.pk]))
    assert response.status_code == 200
    return response.content.decode()


def forms_posting_to(html: str, name: str, claim: Claim) -> int:
    return html.count(f'action="{reverse(name, args=[claim.pk])}"')


def section(html: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by `heading_id` ("" when there is none)."""
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', html, re.S)
    return match.group(0) if match else ""


# ---------------------------------------------------------------------------------------------
# Item 4: answering an information request


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


# ---------------------------------------------------------------------------------------------
# Item 5: words true to the state; never an empty "What you can do now"


def test_an_upheld_dispute_is_final_not_a_passed_window(manager: Any, manager_client: Client) -> None:
    rita = reviewer(email="rita@cpor.example")
    leo = reviewer(lead=True, email="leo@cpor.example")
    claim = claim_in(S.DISPUTED, partner=manager.membership.partner, by=manager, review_by=rita)
    workflow.transition(claim, "uphold_rejection", by=leo, comment="The SOW does not name the customer.")
    html = page(manager_client, claim)
    assert "the rejection stands after your dispute" in html
    assert "This decision is final" in html
    assert "The SOW does not name the customer." in html
    assert "The dispute window has passed" not in html
    assert forms_posting_to(html, "claims:dispute", claim) == 0
    assert forms_posting_to(html, "claims:copy", claim) == 1


def test_a_disputed_claim_says_who_decides_and_shows_no_empty_panel(
    manager: Any, manager_client: Client
) -> None:
    claim = claim_in(S.DISPUTED, partner=manager.membership.partner, by=manager)
    html = page(manager_client, claim)
    assert "A review lead decides the dispute: never the reviewer who rejected the claim." in html
    assert "What you can do now" not in html


def _claims_in_every_state(manager: Any) -> dict[str, Claim]:
    partner = manager.membership.partner
    rita = reviewer(email="rita@cpor.example")
    leo = reviewer(lead=True, email="leo@cpor.example")
    claims = {
        status: claim_in(status, partner=partner, by=manager, review_by=rita, name=f"In {status}")
        for status in S.values
        if status != S.ASSOCIATED
    }
    associated = claim_in(S.APPROVED, partner=partner, by=manager, review_by=rita, name="Associated")
    with time_machine.travel(associated.consent_window_ends_at + dt.timedelta(minutes=1)):
        claims[S.ASSOCIATED] = workflow.transition(associated, "close_consent_window", by=SYSTEM)
    upheld = claim_in(S.DISPUTED, partner=partner, by=manager, review_by=rita, name="Upheld")
    claims["upheld"] = workflow.transition(upheld, "uphold_rejection", by=leo, comment="Stands.")
    withdrawn = claim_in(S.SUBMITTED, partner=partner, by=manager, name="Withdrawn")
    claims["withdrawn"] = workflow.transition(withdrawn, "withdraw", by=manager, reason="wrong_mpn")
    return claims


def test_no_state_and_role_shows_an_empty_actions_panel(
    manager: Any, manager_client: Client, member_client: Client
) -> None:
    claims = _claims_in_every_state(manager)
    for state, claim in claims.items():
        for role, client in (("manager", manager_client), ("member", member_client)):
            html = page(client, claim)
            panel = section(html, "actions-heading")
            if panel:
                assert "<form" in panel or 'class="button"' in panel, (state, role)
            if role == "member":
                assert "<form" not in panel, (state, role)
    # What a manager can do where it matters.
    assert section(page(manager_client, claims[S.EDITING]), "actions-heading")
    assert section(page(manager_client, claims["upheld"]), "actions-heading")  # start a new claim


# ---------------------------------------------------------------------------------------------
# Item 6: withdrawing asks for confirmation (no script needed)


def test_withdraw_asks_for_confirmation_without_javascript(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.UNDER_REVIEW, partner=manager.membership.partner, by=manager)
    html = page(manager_client, claim)
    withdraw = html[html.index('id="withdraw"') :]
    withdraw = withdraw[: withdraw.index("</details>")]
    assert 'name="withdraw-confirm"' in withdraw and 'type="checkbox"' in withdraw
    assert "onclick" not in withdraw and "<script" not in withdraw
    url = reverse("claims:withdraw", args=[claim.pk])
    response = manager_client.post(url, {"withdraw-reason": "wrong_activity"})
    assert response.status_code == 400
    assert "Tick the box to confirm that you withdraw the claim." in response.content.decode()
    assert 'id="withdraw" class="action" open' in response.content.decode()  # the form is open again
    assert Claim.objects.get(pk=claim.pk).status == S.UNDER_REVIEW
    assert not ClaimEvent.objects.filter(claim=claim, action="withdraw").exists()
    response = manager_client.post(url, {"withdraw-reason": "wrong_activity", "withdraw-confirm": "on"})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == S.REJECTED and claim.rejection_reason == "partner_request"
    assert ClaimEvent.objects.filter(claim=claim, action="withdraw", actor=manager).exists()


@pytest.mark.parametrize("who", ["member", "outsider", "anonymous"])
def test_withdraw_by_anyone_else_changes_nothing(who: str, manager: Any, member: Any, outsider: Any) -> None:
    claim = claim_in(S.UNDER_REVIEW, partner=manager.membership.partner, by=manager)
    client = client_for({"member": member, "outsider": outsider, "anonymous": None}[who])
    response = client.post(
        reverse("claims:withdraw", args=[claim.pk]),
        {"withdraw-reason": "wrong_mpn", "withdraw-confirm": "on"},
    )
    assert response.status_code == {"member": 403, "outsider": 404, "anonymous": 302}[who]
    assert Claim.objects.get(pk=claim.pk).status == S.UNDER_REVIEW
