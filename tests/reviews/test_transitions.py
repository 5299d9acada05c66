"""The decision buttons: exactly the transitions the reviewer may make now, each through the workflow.

Someone acting first, a stale page, a forged button, a missing reason: each is a message on the
claim page and changes nothing — never a 500.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail

from claims import workflow
from claims.models import Claim, ClaimEvent, Comment, RejectionReason
from cpor import outbox
from tests.factories import DETAILS, claim_in, mail_to, manager_of, reviewer

from .admin_pages import button, client_for, messages_of, page, stored

pytestmark = pytest.mark.django_db
S = Claim.Status
BUTTON = re.compile(r'/review/([a-z_]+)/"')


def buttons_on(html: str) -> set[str]:
    return set(BUTTON.findall(html))


def history(claim: Claim) -> list[tuple[str, str, str]]:
    return list(
        ClaimEvent.objects.filter(claim=claim)
        .exclude(action=ClaimEvent.Action.NOTIFICATION)
        .values_list("action", "from_status", "to_status")
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (S.SUBMITTED, {"start_review"}),
        (S.UNDER_REVIEW, {"approve", "request_information", "reject"}),
        (S.PARTNER_ACTION_REQUIRED, set()),
        (S.APPROVED, set()),
        (S.REJECTED, set()),
        (S.DISPUTED, {"reopen", "uphold_rejection"}),
    ],
)
@pytest.mark.parametrize("lead", [False, True])
def test_the_page_offers_exactly_the_reviewer_transitions_of_the_state(
    status: str, expected: set[str], lead: bool
) -> None:
    claim = claim_in(status)
    client = client_for(reviewer(lead=lead))

    html = client.get(page(claim)).content.decode()

    # Disputes are a review lead's to decide.
    if status == S.DISPUTED and not lead:
        expected = set()
    assert buttons_on(html) == expected


def test_start_review_assigns_the_reviewer_and_starts_the_review_sla() -> None:
    claim = claim_in(S.SUBMITTED)
    rita = reviewer()
    client = client_for(rita)

    response = client.post(button(claim, "start_review"), {"seen_status": S.SUBMITTED})

    assert response.status_code == 302 and response["Location"] == page(claim)
    claim.refresh_from_db()
    assert (claim.status, claim.assigned_reviewer) == (S.UNDER_REVIEW, rita)
    assert claim.sla_due_at == claim.review_due_at is not None
    assert history(claim)[-1] == ("start_review", S.SUBMITTED, S.UNDER_REVIEW)
    assert messages_of(response) == [f"Claim #{claim.pk}: Review started."]


def test_approve_moves_the_claim_and_mails_the_partner() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer())

    client.post(button(claim, "approve"), {"seen_status": S.UNDER_REVIEW})

    claim.refresh_from_db()
    assert claim.status == S.APPROVED
    assert history(claim)[-1] == ("approve", S.UNDER_REVIEW, S.APPROVED)
    approved = mail_to(claim.partner_contact_email, kind="claim_approved")
    assert outbox.deliver(approved.pk)
    assert claim.partner_contact_email in approved.recipients
    assert [m.to for m in mail.outbox] == [approved.recipients]


def test_request_information_opens_a_form_and_needs_reasons_and_a_comment() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer())
    before = stored()

    form = client.get(button(claim, "request_information"))
    empty = client.post(button(claim, "request_information"), {"seen_status": S.UNDER_REVIEW, "comment": " "})

    assert form.status_code == 200
    html = form.content.decode()
    assert 'name="reasons" value="missing_customer_acknowledgment"' in html
    assert '<textarea name="comment"' in html
    assert empty.status_code == 200
    assert "Choose at least one reason for the request." in empty.content.decode()
    assert stored() == before

    done = client.post(
        button(claim, "request_information"),
        {
            "seen_status": S.UNDER_REVIEW,
            "reasons": ["missing_products", "missing_or_old_dates"],
            "comment": "Name Dynamics 365 Sales in the PoE and date it.",
        },
    )

    assert done.status_code == 302
    claim.refresh_from_db()
    assert claim.status == S.PARTNER_ACTION_REQUIRED
    assert claim.information_request_reasons == ["missing_products", "missing_or_old_dates"]
    assert Comment.objects.filter(claim=claim, body__startswith="Name Dynamics 365").exists()
    requested = mail_to(claim.partner_contact_email, kind="information_requested")
    subject, body = outbox.render(requested)
    assert "Name Dynamics 365 Sales in the PoE and date it." in body
    assert "Missing products" in body


def test_reject_needs_sub_reasons_and_tells_the_partner_how_to_dispute() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    rita = reviewer()
    client = client_for(rita)

    refused = client.post(button(claim, "reject"), {"seen_status": S.UNDER_REVIEW, "comment": "No."})
    done = client.post(
        button(claim, "reject"),
        {"seen_status": S.UNDER_REVIEW, "sub_reasons": ["poe_unavailable"], "comment": "The PDF is empty."},
    )

    assert refused.status_code == 200 and "Choose at least one rejection reason." in refused.content.decode()
    assert done.status_code == 302
    claim.refresh_from_db()
    assert (claim.status, claim.rejection_reason, claim.rejected_by) == (
        S.REJECTED,
        RejectionReason.INSUFFICIENT_POE,
        rita,
    )
    assert claim.rejection_sub_reasons == ["poe_unavailable"]
    rejected = mail_to(claim.partner_contact_email, kind="claim_rejected")
    _subject, body = outbox.render(rejected)
    assert "The PDF is empty." in body and "dispute this rejection until" in body


def test_a_review_lead_decides_a_dispute_by_reopening_or_upholding() -> None:
    rejecter = reviewer()
    reopened = claim_in(S.DISPUTED, review_by=rejecter)
    upheld = claim_in(S.DISPUTED, review_by=rejecter)
    other = reviewer(lead=True)
    client = client_for(other)

    form = client.get(button(reopened, "reopen"))
    client.post(
        button(reopened, "reopen"), {"seen_status": S.DISPUTED, "comment": "The SOW on page 2 counts."}
    )
    no_comment = client.post(button(upheld, "uphold_rejection"), {"seen_status": S.DISPUTED, "comment": ""})
    client.post(
        button(upheld, "uphold_rejection"),
        {"seen_status": S.DISPUTED, "comment": "The SOW does not name the customer."},
    )

    assert form.status_code == 200 and '<textarea name="comment"' in form.content.decode()
    assert no_comment.status_code == 200
    reopened.refresh_from_db()
    upheld.refresh_from_db()
    assert (reopened.status, reopened.assigned_reviewer) == (S.UNDER_REVIEW, other)
    assert upheld.status == S.REJECTED
    assert history(upheld)[-1] == ("uphold_rejection", S.DISPUTED, S.REJECTED)


def test_separation_of_duties_no_dispute_buttons_for_the_rejecting_reviewer_and_forged_posts_fail() -> None:
    rejecter = reviewer()
    claim = claim_in(S.DISPUTED, review_by=rejecter)
    client = client_for(rejecter)
    before = stored()

    html = client.get(page(claim)).content.decode()
    form = client.get(button(claim, "reopen"))
    forged_reopen = client.post(button(claim, "reopen"), {"seen_status": S.DISPUTED, "comment": "Mine."})
    forged_uphold = client.post(
        button(claim, "uphold_rejection"), {"seen_status": S.DISPUTED, "comment": "Still mine."}
    )

    assert buttons_on(html) == set()
    assert "another reviewer decides its dispute" in html
    assert form.status_code == 302
    assert forged_reopen.status_code == forged_uphold.status_code == 302
    assert messages_of(forged_reopen)[-1] == "You are not allowed to do this on this claim."
    assert stored() == before
    claim.refresh_from_db()
    assert claim.status == S.DISPUTED

    lead_html = client_for(reviewer(lead=True)).get(page(claim)).content.decode()
    assert buttons_on(lead_html) == {"reopen", "uphold_rejection"}


def test_two_reviewers_press_conflicting_buttons_one_wins_the_other_is_told() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    first, second = reviewer(), reviewer()
    stale_page = client_for(second).get(page(claim)).content.decode()
    assert buttons_on(stale_page) == {"approve", "request_information", "reject"}

    workflow.transition(claim, "approve", by=first)
    after_first = stored()
    response = client_for(second).post(
        button(claim, "reject"),
        {"seen_status": S.UNDER_REVIEW, "sub_reasons": ["poe_unavailable"], "comment": "Too late."},
    )

    assert response.status_code == 302 and response["Location"] == page(claim)
    assert messages_of(response) == [
        "Someone changed this claim while you were looking at it: it is now "
        "Approved (customer opt-out window open)."
    ]
    assert stored() == after_first
    claim.refresh_from_db()
    assert claim.status == S.APPROVED


def test_a_button_without_the_seen_state_is_still_refused_by_the_state_machine() -> None:
    claim = claim_in(S.SUBMITTED)
    first, second = reviewer(), reviewer()
    workflow.transition(claim, "start_review", by=first)
    after_first = stored()

    response = client_for(second).post(button(claim, "start_review"))

    assert messages_of(response) == ["“Review started” is not possible while the claim is Under review."]
    assert stored() == after_first
    claim.refresh_from_db()
    assert claim.assigned_reviewer == first


def test_a_stale_page_is_refused_even_when_the_claim_came_back_to_the_same_action() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    stale = S.UNDER_REVIEW
    first = reviewer()
    workflow.transition(claim, "request_information", by=first, **DETAILS["request_information"])
    partner = manager_of(claim)
    workflow.add_comment(claim, by=partner, body="Uploaded the signed SOW.")
    workflow.transition(claim, "resubmit", by=partner)
    client = client_for(reviewer())
    claim.refresh_from_db()
    assert claim.status == stale

    fresh = client.post(button(claim, "approve"), {"seen_status": S.SUBMITTED})

    assert messages_of(fresh) == [
        "Someone changed this claim while you were looking at it: it is now Under review."
    ]
    claim.refresh_from_db()
    assert claim.status == S.UNDER_REVIEW


def test_an_input_form_for_a_move_that_is_no_longer_possible_sends_back_with_a_message() -> None:
    claim = claim_in(S.APPROVED)
    client = client_for(reviewer())

    response = client.get(button(claim, "reject"))

    assert response.status_code == 302 and response["Location"] == page(claim)
    assert "not possible for you on this claim now" in messages_of(response)[0]
