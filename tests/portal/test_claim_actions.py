"""The claim page's actions for a managing user: submit with the checklist, edit, resubmit, withdraw,
dispute, start a new claim, delete a draft, comment — each through the workflow, each in history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, ClaimEvent, Comment, Product
from cpor.models import OutboundEmail
from tests.factories import claim_in, draft, manager_of, pdf_upload, reviewer

pytestmark = pytest.mark.django_db

S = Claim.Status
CHECKLIST = {
    f"submit-{name}": "on" for name in ("customer_signature", "dates", "solution", "products", "tenant")
}


def page(client: Client, claim: Claim) -> str:
    response = client.get(reverse("claims:detail", args=[claim.pk]))
    assert response.status_code == 200
    return response.content.decode()


def offered(html: str, action: str, claim: Claim) -> bool:
    target = reverse(f"claims:{action}", args=[claim.pk])
    return f'action="{target}"' in html or f'href="{target}"' in html


def post(client: Client, name: str, claim: Claim, data: dict[str, Any] | None = None) -> Any:
    return client.post(reverse(name, args=[claim.pk]), data or {})


def test_submit_needs_every_box_of_the_checklist(manager: Any, manager_client: Client) -> None:
    claim = draft(by=manager)
    html = page(manager_client, claim)
    assert "customer&#x27;s signature" in html and offered(html, "submit", claim)

    partly = dict(CHECKLIST)
    del partly["submit-dates"]
    response = post(manager_client, "claims:submit", claim, partly)
    assert response.status_code == 400
    assert "Tick this once the PoE shows it." in response.content.decode()
    assert Claim.objects.get(pk=claim.pk).status == S.EDITING

    response = post(manager_client, "claims:submit", claim, CHECKLIST)
    assert response.status_code == 302 and response["Location"] == reverse("claims:detail", args=[claim.pk])
    claim.refresh_from_db()
    assert claim.status == S.SUBMITTED and claim.review_start_due_at is not None
    assert ClaimEvent.objects.filter(claim=claim, action="submit", actor=manager).exists()
    html = manager_client.get(response["Location"]).content.decode()
    assert "Your claim is submitted" in html
    assert "Review should start within 5 business days" in html


def test_submit_of_an_incomplete_draft_says_what_is_missing(manager: Any, manager_client: Client) -> None:
    claim = draft(by=manager, document=False)
    html = page(manager_client, claim)
    assert "Upload at least one proof-of-execution document." in html
    response = post(manager_client, "claims:submit", claim, CHECKLIST)
    assert response.status_code == 409
    assert "Upload at least one proof-of-execution document." in response.content.decode()
    assert Claim.objects.get(pk=claim.pk).status == S.EDITING


def test_only_the_actions_allowed_now_are_offered(manager: Any, manager_client: Client) -> None:
    editing = draft(by=manager, name="A draft")
    html = page(manager_client, editing)
    for action in ("submit", "delete", "edit", "upload"):
        assert offered(html, action, editing)
    for action in ("resubmit", "withdraw", "dispute", "copy", "comment"):
        assert not offered(html, action, editing)

    approved = claim_in(S.APPROVED, partner=manager.membership.partner, by=manager)
    html = page(manager_client, approved)
    assert reverse("claims:withdraw", args=[approved.pk]) in html
    for action in ("submit", "resubmit", "dispute", "copy", "delete", "edit", "upload"):
        assert not offered(html, action, approved)


def test_forged_actions_not_offered_change_nothing(manager: Any, manager_client: Client) -> None:
    approved = claim_in(S.APPROVED, partner=manager.membership.partner, by=manager)
    events = approved.events.count()
    for name, data in [
        ("claims:submit", CHECKLIST),
        ("claims:resubmit", {"resubmit-comment": "again"}),
        ("claims:dispute", {"dispute-justification": "no"}),
        ("claims:copy", {}),
        ("claims:delete", {}),
    ]:
        response = post(manager_client, name, approved, data)
        assert response.status_code == 409, name
        assert "error-summary" in response.content.decode()
    response = manager_client.post(reverse("claims:edit", args=[approved.pk]), {"name": "Renamed"})
    assert response.status_code == 409
    approved.refresh_from_db()
    assert approved.status == S.APPROVED and approved.name != "Renamed"
    assert approved.events.count() == events
    assert Claim.objects.count() == 1


def test_edit_after_submit_changes_only_the_allowed_fields(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.SUBMITTED, partner=manager.membership.partner, by=manager)
    form = manager_client.get(reverse("claims:edit", args=[claim.pk])).content.decode()
    assert 'name="customer_contact_name"' in form
    assert 'name="customer_name"' not in form and 'name="work_description"' not in form
    data = {
        "mpn": claim.mpn_id,
        "products": [Product.objects.get(code="d365-sales").pk, Product.objects.get(code="power-apps").pk],
        "customer_contact_name": "Nora New",
        "customer_contact_title": "CTO",
        "customer_contact_email": "nora@northwind.example",
        "customer_contact_language": "tr",
        "technical_contact_name": "Tom Tech",
        "technical_contact_email": "tom@northwind.example",
        "technical_contact_phone": "",
        "partner_contact_name": "Paula Partner",
        "partner_contact_email": "paula@partner.example",
        "partner_contact_phone": "",
        # Forged: fields that are fixed once submitted are ignored.
        "customer_name": "Forged Inc.",
        "work_description": "Forged",
    }
    response = manager_client.post(reverse("claims:edit", args=[claim.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    claim.refresh_from_db()
    assert claim.customer_contact_name == "Nora New" and claim.customer_contact_language == "tr"
    assert claim.customer_name == "Northwind Traders" and claim.work_description.startswith("Deployed")
    assert sorted(claim.products.values_list("code", flat=True)) == ["d365-sales", "power-apps"]
    edit = ClaimEvent.objects.get(claim=claim, action="edit")
    assert edit.diff["customer_contact_name"] == ["Nina North", "Nora New"]
    html = page(manager_client, claim)
    assert "Nora New" in html and "Customer contact name" in html  # the diff in History


def test_resubmit_needs_a_comment_or_a_document(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.PARTNER_ACTION_REQUIRED, partner=manager.membership.partner, by=manager)
    html = page(manager_client, claim)
    assert "Please name Sales in the PoE." in html  # the reviewer's partner-visible comment
    assert "Missing products" in html  # the reason code, in words
    assert "business days left to respond" in html or "Last day to respond" in html

    response = post(manager_client, "claims:resubmit", claim, {"resubmit-comment": ""})
    assert response.status_code == 409
    assert "Add a comment or a new PoE document" in response.content.decode()
    assert Claim.objects.get(pk=claim.pk).status == S.PARTNER_ACTION_REQUIRED

    response = post(
        manager_client,
        "claims:resubmit",
        claim,
        {"resubmit-comment": "Sales is on page 2 now.", "resubmit-files": [pdf_upload("signed.pdf")]},
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == S.UNDER_REVIEW
    assert claim.documents.filter(original_name="signed.pdf").exists()
    assert Comment.objects.filter(claim=claim, body="Sales is on page 2 now.", author=manager).exists()


def test_withdraw_needs_a_reason(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.SUBMITTED, partner=manager.membership.partner, by=manager)
    response = post(manager_client, "claims:withdraw", claim, {"withdraw-reason": "because"})
    assert response.status_code == 400
    assert Claim.objects.get(pk=claim.pk).status == S.SUBMITTED
    response = post(manager_client, "claims:withdraw", claim, {"withdraw-reason": "no_longer_working"})
    assert response.status_code == 400
    assert "Tick the box to confirm that you withdraw the claim." in response.content.decode()
    assert Claim.objects.get(pk=claim.pk).status == S.SUBMITTED
    response = post(
        manager_client,
        "claims:withdraw",
        claim,
        {"withdraw-reason": "no_longer_working", "withdraw-confirm": "on"},
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == S.REJECTED and claim.rejection_reason == "partner_request"
    assert claim.rejection_sub_reasons == ["no_longer_working"]
    html = page(manager_client, claim)
    assert "No longer working with the customer" in html
    # A withdrawn claim cannot be disputed, but a new claim can start from it at once.
    assert not offered(html, "dispute", claim)
    assert offered(html, "copy", claim)


def test_dispute_within_30_days_with_justification_or_poe(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.REJECTED, partner=manager.membership.partner, by=manager)
    html = page(manager_client, claim)
    assert offered(html, "dispute", claim)
    assert "days left to dispute" in html
    response = post(manager_client, "claims:dispute", claim, {"dispute-justification": "  "})
    assert response.status_code == 400
    assert "Give a business justification or upload updated PoE" in response.content.decode()
    response = post(manager_client, "claims:dispute", claim, {"dispute-files": [pdf_upload("new-poe.pdf")]})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == S.DISPUTED and claim.dispute_response_due_at is not None
    assert claim.documents.filter(original_name="new-poe.pdf").exists()


def test_after_the_dispute_window_a_new_claim_starts_from_the_rejected_one(
    manager: Any, manager_client: Client
) -> None:
    claim = claim_in(S.REJECTED, partner=manager.membership.partner, by=manager)
    assert post(manager_client, "claims:copy", claim).status_code == 409  # window still open
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        manager_client.force_login(manager)  # the old session has expired by then
        html = page(manager_client, claim)
        assert "The dispute window has passed" in html
        assert not offered(html, "dispute", claim)
        assert offered(html, "copy", claim)
        assert (
            post(manager_client, "claims:dispute", claim, {"dispute-justification": "late"}).status_code
            == 409
        )
        response = post(manager_client, "claims:copy", claim)
    assert response.status_code == 302
    copy = Claim.objects.get(copied_from=claim)
    assert response["Location"] == reverse("claims:edit", args=[copy.pk])
    assert copy.status == S.EDITING
    assert f"#{claim.pk}" in page(manager_client, copy)


def test_delete_a_draft(manager: Any, manager_client: Client) -> None:
    claim = draft(by=manager)
    response = post(manager_client, "claims:delete", claim)
    assert response.status_code == 302 and response["Location"] == reverse("claims:dashboard")
    assert not Claim.objects.filter(pk=claim.pk).exists()


def test_a_reply_is_posted_and_emails_the_assigned_reviewer(manager: Any, manager_client: Client) -> None:
    rita = reviewer(email="rita@cpor.example")
    claim = claim_in(S.UNDER_REVIEW, partner=manager.membership.partner, by=manager, review_by=rita)
    response = post(manager_client, "claims:comment", claim, {"comment-body": "The SOW is signed on page 3."})
    assert response.status_code == 302
    assert Comment.objects.filter(claim=claim, author=manager, partner_visible=True).count() == 1
    assert OutboundEmail.objects.filter(to="rita@cpor.example").exists()
    assert "The SOW is signed on page 3." in page(manager_client, claim)
    assert post(manager_client, "claims:comment", claim, {"comment-body": "   "}).status_code == 400


def test_history_and_comments_show_only_what_partners_may_see(manager: Any, manager_client: Client) -> None:
    from claims import workflow

    rita = reviewer(email="rita@cpor.example")
    claim = claim_in(S.UNDER_REVIEW, partner=manager.membership.partner, by=manager, review_by=rita)
    workflow.add_comment(claim, by=rita, body="Internal: the partner looks legit", partner_visible=False)
    workflow.add_comment(claim, by=rita, body="Could you add the signed page?", partner_visible=True)
    html = page(manager_client, claim)
    assert "Could you add the signed page?" in html
    assert "Internal: the partner looks legit" not in html
    assert "rita@cpor.example" not in html  # reviewers are shown by role
    assert "PoE reviewer" in html
    # History: the transitions, by whom, with the state change.
    assert "Submitted" in html and "Review started" in html
    assert (
        html.count('<li>\n      <p class="meta">')
        == ClaimEvent.objects.filter(claim=claim, partner_visible=True).count()
    )


def test_the_status_explains_what_happens_next(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.APPROVED, partner=manager.membership.partner, by=manager)
    html = page(manager_client, claim)
    assert "may opt out during a seven-day window" in html
    assert "Customer opt-out window closes in" in html


def test_manager_of_factory_is_the_claim_creator(manager: Any) -> None:
    assert manager_of(draft(by=manager)) == manager
