"""Findings of the code review, each pinned by a test: no 500s on edits, nothing leaked to the
partner, no account on both sides, no stale consent link, no hand-off for an ended association."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims import workflow
from claims.models import Claim, ClaimEvent, Membership, Product, Tenant, TenantDomain, membership_of
from claims.workflow import SYSTEM, TransitionRefused
from consent import services
from consent.models import AssessmentHandoff, ConsentRequest
from consent.tasks import close_consent_windows
from tests.factories import claim_in, draft, manager_of, partner_user, reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_switching_a_draft_to_microsoft_365_drops_its_subscription_instead_of_failing() -> None:
    claim = draft(subscription_id=uuid.uuid4())
    manager = manager_of(claim)
    data = {
        "solution_area": "microsoft_365",
        "name": claim.name,
        "mpn": claim.mpn_id,
        "activity": "usage",
        "customer_name": claim.customer_name,
        "customer_domain": claim.customer_domain,
        "customer_tenant_id": str(claim.customer_tenant_id),
        "products": [Product.objects.get(code="m365-teams").pk],
        "customer_contact_name": "Nina North",
        "customer_contact_email": "nina@northwind.example",
        "customer_contact_language": "en",
        "partner_contact_name": "Paula",
        "partner_contact_email": "paula@partner.example",
        "work_description": "Teams roll-out.",
    }
    response = client_for(manager).post(reverse("claims:edit", args=[claim.pk]) + "?area=microsoft_365", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    claim.refresh_from_db()
    assert claim.solution_area == "microsoft_365" and claim.subscription_id is None
    edit = ClaimEvent.objects.get(claim=claim, action="edit")
    assert edit.diff["subscription_id"][1] is None


def test_an_error_on_a_locked_field_is_shown_not_a_500() -> None:
    claim = claim_in(S.SUBMITTED)
    # The registry learns the tenant after submission, with other domains only.
    tenant = Tenant.objects.create(tenant_id=claim.customer_tenant_id, name="Northwind")
    TenantDomain.objects.create(tenant=tenant, domain="northwind-other.example")
    manager = manager_of(claim)
    data = {
        "mpn": claim.mpn_id,
        "products": [p.pk for p in claim.products.all()],
        "customer_contact_name": "Nora New",
        "customer_contact_email": "nora@northwind.example",
        "customer_contact_language": "en",
        "technical_contact_name": "Tom",
        "technical_contact_email": "tom@northwind.example",
        "partner_contact_name": "Paula",
        "partner_contact_email": "paula@partner.example",
    }
    response = client_for(manager).post(reverse("claims:edit", args=[claim.pk]), data)
    assert response.status_code == 400
    assert "is not a verified domain" in response.content.decode()
    claim.refresh_from_db()
    assert claim.customer_contact_name == "Nina North"


def test_a_reviewer_resending_to_another_contact_does_not_show_it_to_the_partner() -> None:
    claim = claim_in(S.APPROVED)
    services.resend_notice(claim, by=reviewer(), email="ceo-private@northwind.example")
    visible = ClaimEvent.objects.filter(claim=claim, partner_visible=True).values_list("note", flat=True)
    assert not any("ceo-private" in note for note in visible)
    page = client_for(manager_of(claim)).get(reverse("claims:detail", args=[claim.pk]))
    assert page.status_code == 200 and b"ceo-private" not in page.content


def test_a_staff_account_is_never_a_partner_user() -> None:
    claim = draft()
    staff = reviewer()
    Membership.objects.create(user=staff, partner=claim.partner, role=Membership.Role.INCENTIVES_ADMIN)
    staff.refresh_from_db()
    assert membership_of(staff) is None
    with pytest.raises(TransitionRefused):
        workflow.transition(claim, "submit", by=staff)
    assert client_for(staff).get(reverse("claims:detail", args=[claim.pk])).status_code in (403, 404)


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


def test_withdrawing_an_association_takes_it_off_the_assessment_queue() -> None:
    claim = claim_in(S.APPROVED)
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        assert close_consent_windows() == 1
    assert AssessmentHandoff.objects.filter(claim=claim).exists()
    workflow.transition(claim, "withdraw", by=manager_of(claim), reason="no_longer_working")
    assert not AssessmentHandoff.objects.filter(claim=claim).exists()


@pytest.mark.parametrize("query", ["status=x%00", "product=x%00", "solution_area__exact=x%00", "q=%00"])
def test_a_nul_in_a_query_string_is_a_400_everywhere(query: str) -> None:
    lead = reviewer(lead=True)
    partner = partner_user(draft().partner)
    assert client_for(lead).get(f"/admin/claims/claim/?{query}").status_code == 400
    assert client_for(partner).get(f"/claims/?{query}").status_code == 400


def test_an_alternate_contact_who_denies_gets_the_confirmation() -> None:
    from django.core import mail

    from cpor import outbox
    from cpor.models import OutboundEmail

    claim = claim_in(S.APPROVED)
    notice = services.resend_notice(
        claim, by=reviewer(), name="Ayşe", email="ayse@northwind.example", language="tr"
    )
    assert services.deny(notice, reason="Not our partner.")
    for row in OutboundEmail.objects.filter(kind="consent_denied_customer"):
        assert outbox.deliver(row.pk)
    confirmations = {
        m.to[0]: m for m in mail.outbox if m.to[0] in ("ayse@northwind.example", claim.customer_contact_email)
    }
    assert set(confirmations) == {"ayse@northwind.example", claim.customer_contact_email}
    assert "Merhaba Ayşe" in confirmations["ayse@northwind.example"].body
