"""The reviewer's claim page: documents, the PoE checklist, competing claims, comments, consent notices,
assignment and the full history — each kept through the workflow and shown back."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from django.core import mail
from django.urls import reverse
from storages.backends.s3 import S3Storage

from claims import workflow
from claims.models import Claim, ClaimEvent, Comment, PoeDocument
from consent.models import ConsentRequest
from cpor import outbox
from cpor.models import OutboundEmail
from reviews.models import CHECKLIST_ITEMS, ReviewChecklist
from tests.factories import claim_in, docx_upload, manager_of, png_upload, reviewer

from .admin_pages import (
    assign_url,
    button,
    checklist_url,
    client_for,
    comment_url,
    consent_url,
    document_url,
    messages_of,
    page,
    stored,
)

pytestmark = pytest.mark.django_db
S = Claim.Status


def test_the_claim_fields_are_read_only_on_the_page() -> None:
    claim = claim_in(S.UNDER_REVIEW, name="Read-only claim", customer_name="Northwind Traders")

    html = client_for(reviewer()).get(page(claim)).content.decode()

    assert "Read-only claim" in html and "Northwind Traders" in html
    assert 'name="name"' not in html and 'name="customer_name"' not in html
    assert 'name="_save"' not in html


# ---------------------------------------------------------------------------------------------
# Documents


def test_documents_are_previewed_inline_and_downloaded_by_reviewers() -> None:
    claim = claim_in(S.SUBMITTED)
    manager = manager_of(claim)
    workflow.add_document(claim, by=manager, upload=png_upload("site-photo.png"))
    workflow.add_document(claim, by=manager, upload=docx_upload("sow.docx"))
    pdf, png, docx = PoeDocument.objects.filter(claim=claim).order_by("pk")
    client = client_for(reviewer())

    html = client.get(page(claim)).content.decode()
    pdf_inline = client.get(document_url(pdf) + "?inline=1")
    pdf_download = client.get(document_url(pdf))
    png_inline = client.get(document_url(png) + "?inline=1")
    docx_inline = client.get(document_url(docx) + "?inline=1")

    assert f'<iframe class="poe-preview" src="{document_url(pdf)}?inline=1"' in html
    assert f'<img class="poe-preview" src="{document_url(png)}?inline=1"' in html
    assert f'src="{document_url(docx)}?inline=1"' not in html
    assert f'href="{document_url(docx)}"' in html
    assert pdf_inline["Content-Type"] == "application/pdf"
    assert pdf_inline["Content-Disposition"].startswith("inline")
    assert pdf_download["Content-Disposition"].startswith('attachment; filename="poe.pdf"')
    assert b"".join(pdf_inline.streaming_content) == pdf.file.open("rb").read()
    assert png_inline["Content-Type"] == "image/png" and png_inline["Content-Disposition"].startswith(
        "inline"
    )
    assert docx_inline["Content-Disposition"].startswith('attachment; filename="sow.docx"')


def test_a_document_is_found_only_under_its_own_claim() -> None:
    claim = claim_in(S.SUBMITTED)
    other = claim_in(S.SUBMITTED)
    document = other.documents.get()
    client = client_for(reviewer())

    wrong_claim = client.get(reverse("admin:claims_claim_document", args=[claim.pk, document.pk]))

    assert wrong_claim.status_code == 404


def test_with_s3_the_download_is_a_short_pre_signed_redirect(monkeypatch: pytest.MonkeyPatch) -> None:
    claim = claim_in(S.SUBMITTED)
    document = claim.documents.get()
    bucket = S3Storage(
        bucket_name="cpor-poe-test",
        region_name="eu-west-1",
        access_key="AKIATESTTESTTESTTEST",
        secret_key="test-secret",
        querystring_auth=True,
        querystring_expire=60,
        default_acl="private",
    )
    monkeypatch.setattr(PoeDocument._meta.get_field("file"), "storage", bucket)

    response = client_for(reviewer()).get(document_url(document) + "?inline=1")

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("https://cpor-poe-test.s3")
    assert document.file.name in location
    assert "Signature=" in location
    expires = int(location.rsplit("Expires=", 1)[1].split("&")[0])
    assert 0 < expires - time.time() <= 61  # querystring_expire: a minute
    assert "response-content-disposition=inline" in location


# ---------------------------------------------------------------------------------------------
# PoE checklist


def test_the_checklist_is_kept_recorded_internally_and_feeds_the_information_request() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    rita = reviewer()
    client = client_for(rita)

    marks = {"passed": ["missing_all_poe", "missing_partner_solution"], "missing": ["missing_or_old_dates"]}
    saved = client.post(checklist_url(claim), marks)
    again = client.post(checklist_url(claim), marks)
    html = client.get(page(claim)).content.decode()
    form = client.get(button(claim, "request_information")).content.decode()

    assert saved.status_code == again.status_code == 302
    checklist = ReviewChecklist.objects.get(claim=claim)
    assert (checklist.passed, checklist.missing, checklist.updated_by) == (
        ["missing_all_poe", "missing_partner_solution"],
        ["missing_or_old_dates"],
        rita,
    )
    events = ClaimEvent.objects.filter(claim=claim, action="checklist")
    assert events.count() == 1  # saving the same ticks again records nothing
    assert events.get().partner_visible is False
    assert 'value="missing_all_poe" id="id_passed_0" checked' in html
    assert 'value="missing_products" id="id_passed_4" checked' not in html
    assert 'value="missing_or_old_dates" id="id_missing_2" checked' in html
    # Only what was marked missing is suggested: neither the passed nor the unmarked checks.
    assert ticked_reasons(form) == ["missing_or_old_dates"]


def ticked_reasons(html: str) -> list[str]:
    return re.findall(r'name="reasons" value="([a-z_]+)"[^>]*checked', html)


def test_with_nothing_marked_missing_the_information_request_suggests_no_reason() -> None:
    untouched = claim_in(S.UNDER_REVIEW)
    all_passed = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer())
    client.post(checklist_url(all_passed), {"passed": list(CHECKLIST_ITEMS)})

    for claim in (untouched, all_passed):
        form = client.get(button(claim, "request_information")).content.decode()
        assert 'name="reasons"' in form
        assert ticked_reasons(form) == []


def test_a_check_cannot_both_pass_and_be_missing() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer())
    before = stored()

    response = client.post(
        checklist_url(claim), {"passed": ["missing_products"], "missing": ["missing_products"]}
    )

    assert messages_of(response) == ["A check cannot both pass and be missing."]
    assert stored() == before


def test_an_unknown_checklist_item_is_refused() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer())
    before = stored()

    response = client.post(checklist_url(claim), {"passed": ["looks_nice"]})

    assert messages_of(response) == ["Choose checklist items from the list."]
    assert stored() == before


# ---------------------------------------------------------------------------------------------
# Comments


def test_a_partner_visible_comment_mails_the_partner_and_an_internal_note_does_not() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer())
    mails_before = OutboundEmail.objects.filter(kind="partner_comment").count()

    client.post(comment_url(claim), {"body": "Please add the signed SOW.", "visibility": "partner"})
    client.post(
        comment_url(claim), {"body": "The partner had this customer last year too.", "visibility": "internal"}
    )
    html = client.get(page(claim)).content.decode()

    visible = Comment.objects.get(claim=claim, body="Please add the signed SOW.")
    internal = Comment.objects.get(claim=claim, body="The partner had this customer last year too.")
    assert (visible.partner_visible, internal.partner_visible) == (True, False)
    partner_mail = OutboundEmail.objects.filter(kind="partner_comment")
    assert partner_mail.count() == mails_before + 1  # one message, to the partner's people together
    newest = partner_mail.order_by("-pk").first()
    assert set(newest.recipients) == {claim.partner_contact_email, manager_of(claim).email}
    _subject, body = outbox.render(newest)
    assert "Please add the signed SOW." in body
    assert not any("last year too" in outbox.render(m)[1] for m in OutboundEmail.objects.all())
    assert "Please add the signed SOW." in html and "The partner had this customer last year too." in html
    assert "internal note" in html


def test_an_empty_comment_is_a_message_not_a_row() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer())
    before = stored()

    response = client.post(comment_url(claim), {"body": "  ", "visibility": "partner"})

    assert response.status_code == 302
    assert messages_of(response) == ["This field is required."]
    assert stored() == before


# ---------------------------------------------------------------------------------------------
# Competing claims and history


def test_other_partners_live_claims_on_the_same_tenant_and_product_are_linked() -> None:
    tenant = uuid.uuid4()
    rival = claim_in(S.APPROVED, customer_tenant_id=tenant, products=("power-bi",), name="Rival association")
    claim = claim_in(S.UNDER_REVIEW, customer_tenant_id=tenant, products=("d365-sales", "power-bi"))
    other_product = claim_in(
        S.SUBMITTED, customer_tenant_id=tenant, products=("d365-finance",), name="Unrelated"
    )
    other_tenant = claim_in(S.SUBMITTED, products=("power-bi",), name="Elsewhere")
    rejected = claim_in(S.REJECTED, customer_tenant_id=tenant, products=("power-bi",), name="Ended earlier")

    html = client_for(reviewer()).get(page(claim)).content.decode()
    section = html[
        html.index('id="competing-title"') : html.index("</section>", html.index('id="competing-title"'))
    ]

    assert f'href="{page(rival)}">#{rival.pk} Rival association</a>' in section
    assert rival.partner.name in section
    for unrelated in (other_product, other_tenant, rejected):
        assert page(unrelated) not in section
    assert "Approving ends 1 competing claim of another partner" in html


def test_the_history_shows_every_event_internal_ones_included() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    rita = reviewer()
    workflow.add_comment(claim, by=rita, body="Internal hunch.", partner_visible=False)
    workflow.assign_reviewer(claim, by=rita, to=rita)

    html = client_for(reviewer()).get(page(claim)).content.decode()
    section = html[html.index('id="history-title"') :]

    for label in (
        "Created",
        "Document uploaded",
        "Submitted",
        "Review started",
        "Comment",
        "Assigned",
        "Notification",
    ):
        assert f"<td>{label}</td>" in section, label
    assert "Internal hunch." in section
    assert "reviewers only" in section and "partner and reviewers" in section


# ---------------------------------------------------------------------------------------------
# Assignment


def test_assign_to_me_and_a_lead_assigns_anyone() -> None:
    claim = claim_in(S.SUBMITTED)
    rita, other, leo = reviewer(), reviewer(), reviewer(lead=True)

    client_for(rita).post(assign_url(claim), {"to": "me"})
    claim.refresh_from_db()
    assert claim.assigned_reviewer == rita

    lead_page = client_for(leo).get(page(claim)).content.decode()
    client_for(leo).post(assign_url(claim), {"reviewer": other.pk})
    claim.refresh_from_db()
    assert claim.assigned_reviewer == other
    client_for(leo).post(assign_url(claim), {"reviewer": ""})
    claim.refresh_from_db()
    assert claim.assigned_reviewer is None

    assert '<select name="reviewer"' in lead_page
    assignments = ClaimEvent.objects.filter(claim=claim, action="assign")
    assert assignments.count() == 3 and not assignments.filter(partner_visible=True).exists()


def test_a_reviewer_cannot_assign_someone_else() -> None:
    claim = claim_in(S.SUBMITTED)
    rita, other = reviewer(), reviewer()
    client = client_for(rita)
    before = stored()

    html = client.get(page(claim)).content.decode()
    forged = client.post(assign_url(claim), {"reviewer": other.pk})

    assert '<select name="reviewer"' not in html and "Assign to me" in html
    assert messages_of(forged) == ["Only review leads assign claims to other reviewers."]
    assert stored() == before


# ---------------------------------------------------------------------------------------------
# Consent notices


def test_the_consent_notices_show_their_delivery_and_can_be_sent_again() -> None:
    claim = claim_in(S.APPROVED)
    first = ConsentRequest.objects.get(claim=claim)
    client = client_for(reviewer())

    html = client.get(page(claim)).content.decode()
    resent = client.post(
        consent_url(claim), {"email": "cio@northwind.example", "name": "Nora", "language": "tr"}
    )

    assert first.contact_email in html and "Queued" in html
    assert 'action="' + consent_url(claim) + '"' in html
    assert messages_of(resent) == ["Consent notice sent to cio@northwind.example."]
    second = ConsentRequest.objects.exclude(pk=first.pk).get(claim=claim)
    assert (second.contact_email, second.language, second.contact_name) == (
        "cio@northwind.example",
        "tr",
        "Nora",
    )
    assert outbox.deliver(second.email_id)
    assert mail.outbox[-1].to == ["cio@northwind.example"]


def test_a_consent_notice_is_refused_outside_the_opt_out_window_or_to_a_bad_address() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    approved = claim_in(S.APPROVED)
    client = client_for(reviewer())
    before = stored()

    html = client.get(page(claim)).content.decode()
    response = client.post(consent_url(claim), {"email": "cio@northwind.example"})
    bad_address = client.post(consent_url(approved), {"email": "not-an-address"})

    assert 'action="' + consent_url(claim) + '"' not in html
    assert (
        messages_of(response)[-1] == "The consent notice can be sent only while the opt-out window is open."
    )
    assert messages_of(bad_address)[-1] == "Enter a valid email address."
    assert stored() == before
