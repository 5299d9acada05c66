"""A signed-in customer sees their own tenant's associations from approval on, and nothing else.

Not another tenant's (list or by id), not their own tenant's drafts or claims under review, and
never partner-only data: PoE files, comments, internal notes, reviewers, the partner's contacts.
A customer is not a partner or staff user, and a partner or staff user is not a customer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from claims import workflow
from claims.models import Claim, PoeDocument
from consent.tasks import close_consent_windows
from tests.consent.portal_helpers import association, signed_in, tenant
from tests.factories import PartnerFactory, claim_in, partner_user, pdf_upload, reviewer

pytestmark = pytest.mark.django_db

SECRETS = (
    "INTERNAL-NOTE-7731",
    "PARTNER-REPLY-5512",
    "REVIEWER-VISIBLE-4410",
    "APPROVAL-COMMENT-9021",
    "secret-sow-8841.pdf",
    "Paula Partner",
    "paula@partner.example",
    "Tom Tech",
    "tom@",
)


def association_url(claim: Claim) -> str:
    return reverse("consent:customer_association", args=[claim.pk])


@pytest.fixture
def world() -> dict[str, Any]:
    northwind = tenant("Northwind Traders", "northwind.example")
    contoso = tenant("Contoso", "contoso.example")
    fabrikam, litware = PartnerFactory(name="Fabrikam"), PartnerFactory(name="Litware")
    rita = reviewer()
    # Approved a week ago: the window has closed and the association stands.
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) - dt.timedelta(days=8)):
        associated = association(northwind, Claim.Status.APPROVED, partner=litware, products=("d365-sales",))
    close_consent_windows()
    # Under review, with everything partner-only the customer must never see; then approved.
    approved = association(
        northwind, Claim.Status.EDITING, partner=fabrikam, products=("power-bi", "power-automate")
    )
    manager = approved.partner.memberships.first().user
    workflow.add_document(approved, by=manager, upload=pdf_upload("secret-sow-8841.pdf"))
    approved = workflow.transition(approved, "submit", by=manager)
    approved = workflow.transition(approved, "start_review", by=rita)
    workflow.add_comment(approved, by=rita, body="INTERNAL-NOTE-7731", partner_visible=False)
    workflow.add_comment(approved, by=rita, body="REVIEWER-VISIBLE-4410", partner_visible=True)
    workflow.add_comment(approved, by=manager, body="PARTNER-REPLY-5512")
    approved = workflow.transition(approved, "approve", by=rita, comment="APPROVAL-COMMENT-9021")
    return {
        "approved": approved,
        "associated": Claim.objects.get(pk=associated.pk),
        "draft": association(northwind, Claim.Status.EDITING, partner=litware, products=("d365-finance",)),
        "under_review": association(
            northwind, Claim.Status.UNDER_REVIEW, partner=litware, products=("power-apps",)
        ),
        "rejected_before_approval": association(
            northwind, Claim.Status.REJECTED, partner=fabrikam, products=("d365-finance",)
        ),
        "other_tenant": association(contoso, Claim.Status.APPROVED, partner=fabrikam, name="Contoso rollout"),
        "manager": manager,
        "reviewer": rita,
    }


def test_the_list_holds_the_tenants_associations_from_approval_on_only(world) -> None:
    client = signed_in("it@northwind.example")
    page = client.get("/customer/")
    assert page.status_code == 200
    html = page.content.decode()
    for visible in ("approved", "associated"):
        assert association_url(world[visible]) in html, visible
    for hidden in ("draft", "under_review", "rejected_before_approval", "other_tenant"):
        assert association_url(world[hidden]) not in html, hidden
    assert "Contoso" not in html
    assert "Opt-out window open until" in html and "Associated since" in html


@pytest.mark.parametrize("which", ["draft", "under_review", "rejected_before_approval", "other_tenant"])
def test_a_claim_not_shown_is_not_found_by_id_either(world, which: str) -> None:
    client = signed_in("it@northwind.example")
    claim = world[which]
    assert client.get(association_url(claim)).status_code == 404
    event = claim.events.order_by("-id").first()
    assert client.get(reverse("consent:customer_receipt", args=[claim.pk, event.pk])).status_code == 404


def test_the_other_tenants_customer_sees_only_theirs(world) -> None:
    client = signed_in("cio@contoso.example")
    html = client.get("/customer/").content.decode()
    assert association_url(world["other_tenant"]) in html
    assert association_url(world["approved"]) not in html
    assert client.get(association_url(world["approved"])).status_code == 404
    assert client.get(association_url(world["other_tenant"])).status_code == 200


def test_no_partner_only_data_reaches_the_customers_pages(world) -> None:
    client = signed_in("it@northwind.example")
    approved, associated = world["approved"], world["associated"]
    receipt = associated.events.get(action="close_consent_window")
    pages = [
        client.get("/customer/"),
        client.get(association_url(approved)),
        client.get(association_url(associated)),
        client.get(reverse("consent:customer_receipt", args=[associated.pk, receipt.pk])),
    ]
    document = PoeDocument.objects.get(claim=approved, original_name="secret-sow-8841.pdf")
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        for secret in (*SECRETS, world["reviewer"].email, world["manager"].email, document.file.name):
            assert secret not in html, secret
        assert "/documents/" not in html and "/admin/" not in html


def test_a_partner_or_staff_user_is_not_a_customer(world) -> None:
    for user in (world["manager"], world["reviewer"], reviewer(lead=True, is_superuser=True)):
        client = Client()
        client.force_login(user)
        home = client.get("/customer/")
        assert home.status_code == 200 and b"Email me a sign-in link" in home.content
        assert association_url(world["approved"]).encode() not in home.content
        assert client.get(association_url(world["approved"])).status_code == 403


def test_a_customer_is_not_a_partner_or_staff_user(world) -> None:
    client = signed_in("it@northwind.example")
    dashboard = client.get(reverse("claims:dashboard"))
    assert dashboard.status_code == 302 and dashboard["Location"].startswith(reverse("login"))
    claim_page = client.get(reverse("claims:detail", args=[world["approved"].pk]))
    assert claim_page.status_code in (302, 404)
    admin = client.get(reverse("admin:claims_claim_changelist"))
    assert admin.status_code == 302 and "login" in admin["Location"]
    assert client.get(reverse("admin:claims_claim_change", args=[world["approved"].pk])).status_code == 302


def test_signing_in_as_a_customer_signs_the_partner_out(world) -> None:
    client = Client()
    client.force_login(world["manager"])
    assert client.get(reverse("claims:dashboard")).status_code == 200
    signed_in("it@northwind.example", client)
    assert client.get(reverse("claims:dashboard")).status_code == 302
    assert client.get("/customer/").status_code == 200


def test_a_partner_signing_in_afterwards_ends_the_customer_sign_in(world) -> None:
    client = signed_in("it@northwind.example")
    client.force_login(world["manager"])
    ended = client.get(association_url(world["approved"]))
    assert ended.status_code == 403 and b"Your sign-in has ended" in ended.content
    assert client.get(reverse("claims:dashboard")).status_code == 200


def test_the_list_costs_the_same_queries_for_two_associations_or_ten(
    world, django_assert_max_num_queries
) -> None:
    northwind = world["approved"].customer_tenant_id
    registered = tenant_of(northwind)
    # Another partner's approval of Power BI supersedes the first: one association that ended,
    # whose workloads come from its events, on each list.
    association(registered, Claim.Status.APPROVED, partner=PartnerFactory(), products=("power-bi",))
    client = signed_in("it@northwind.example")
    client.get("/customer/")  # warm the session's seen time
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        html = client.get("/customer/").content.decode()
    assert html.count('<li class="panel">') == 3 and "Ended on" in html
    for _ in range(8):
        association(registered, Claim.Status.APPROVED, partner=PartnerFactory(), products=("power-bi",))
    with CaptureQueriesContext(connection) as many:
        html = client.get("/customer/").content.decode()
    assert html.count('<li class="panel">') == 11
    assert len(many) == len(few), "\n".join(q["sql"][:300] for q in many.captured_queries)


def tenant_of(tenant_id: Any) -> Any:
    from claims.models import Tenant

    return Tenant.objects.get(tenant_id=tenant_id)


def test_a_second_partner_user_of_the_same_domain_is_still_not_a_customer(world) -> None:
    # A partner user whose address is at the customer's domain has a user session, not a scope.
    insider = partner_user(world["approved"].partner, email="spy@northwind.example", username="spy")
    client = Client()
    client.force_login(insider)
    assert client.get(association_url(world["approved"])).status_code == 403


def test_claim_in_is_used_for_other_tenants_only_through_the_helper() -> None:
    # Guard for this module's fixture: an unregistered tenant's claim is never listed anywhere.
    claim = claim_in(Claim.Status.APPROVED)
    tenant("Northwind Traders", "northwind.example")
    client = signed_in("it@northwind.example")
    assert association_url(claim).encode() not in client.get("/customer/").content


def test_the_associations_the_customer_can_act_on_come_first(world) -> None:
    client = signed_in("it@northwind.example")
    newer_ended = association(
        tenant_of(world["approved"].customer_tenant_id), Claim.Status.APPROVED, products=("power-pages",)
    )
    workflow.transition(
        newer_ended, "withdraw", by=newer_ended.partner.memberships.first().user, reason="wrong_mpn"
    )
    html = client.get("/customer/").content.decode()
    order = [html.index(association_url(world[name])) for name in ("approved", "associated")]
    assert order[0] < order[1] < html.index(association_url(newer_ended))
