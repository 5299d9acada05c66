"""The guided new-claim form: solution area first, then only what fits it; saved as a draft."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent, MpnId, Product, Tenant, TenantDomain
from tests.factories import claim_in

pytestmark = pytest.mark.django_db

NEW = "/claims/new/"
TENANT = "6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e4f"


def form_data(mpn: MpnId, **overrides: Any) -> dict[str, Any]:
    data = {
        "solution_area": "business_applications",
        "name": "Northwind — Sales rollout",
        "mpn": mpn.pk,
        "activity": "usage",
        "products": [Product.objects.get(code="d365-sales").pk],
        "customer_name": "Northwind Traders",
        "customer_domain": "northwind.example",
        "customer_tenant_id": TENANT,
        "subscription_id": "",
        "customer_contact_name": "Nina North",
        "customer_contact_title": "CIO",
        "customer_contact_email": "nina@northwind.example",
        "customer_contact_language": "en",
        "technical_contact_name": "Tom Tech",
        "technical_contact_email": "tom@northwind.example",
        "technical_contact_phone": "",
        "partner_contact_name": "Paula Partner",
        "partner_contact_email": "paula@contoso.example",
        "partner_contact_phone": "",
        "work_description": "Deployed Dynamics 365 Sales for 200 sellers.",
    }
    data.update(overrides)
    return data


def test_step_one_asks_for_the_solution_area(manager_client: Client) -> None:
    html = manager_client.get(NEW).content.decode()
    assert 'name="solution_area"' in html and 'type="radio"' in html
    assert 'name="activity"' not in html
    response = manager_client.get(NEW, {"solution_area": "mainframes"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_step_two_offers_only_the_activities_and_products_of_the_area(manager_client: Client) -> None:
    m365 = manager_client.get(NEW, {"solution_area": "microsoft_365"}).content.decode()
    assert (
        'value="usage"' in m365
        and 'value="presales"' not in m365
        and 'value="revenue_association"' not in m365
    )
    assert "Microsoft Teams" in m365 and "Dynamics 365 Sales" not in m365
    assert 'name="subscription_id"' not in m365
    ba = manager_client.get(NEW, {"solution_area": "business_applications"}).content.decode()
    assert 'value="presales"' in ba and 'value="revenue_association"' in ba
    assert "Dynamics 365 Sales" in ba and "Microsoft Teams" not in ba
    # Each activity is explained in one sentence.
    assert "You advised the customer before they bought the products" in ba
    assert "Business Influencer: revenue credit, no incentive payment" in ba


def test_the_mpn_list_holds_only_the_partners_own(
    manager_client: Client, own_mpn: MpnId, other_partner: Any
) -> None:
    html = manager_client.get(NEW, {"solution_area": "business_applications"}).content.decode()
    assert own_mpn.number in html and "7654321" not in html


def test_a_valid_claim_is_saved_as_a_draft(manager: Any, manager_client: Client, own_mpn: MpnId) -> None:
    response = manager_client.post(NEW, form_data(own_mpn))
    claim = Claim.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("claims:detail", args=[claim.pk])
    assert claim.status == Claim.Status.EDITING and claim.partner == manager.membership.partner
    assert claim.created_by == manager and claim.mpn == own_mpn
    assert list(claim.products.values_list("code", flat=True)) == ["d365-sales"]
    assert ClaimEvent.objects.filter(claim=claim, action="create").exists()


def test_tenant_id_and_domain_are_checked(manager_client: Client, own_mpn: MpnId) -> None:
    response = manager_client.post(NEW, form_data(own_mpn, customer_tenant_id="not-a-guid"))
    assert response.status_code == 400 and "Enter a valid UUID." in response.content.decode()
    response = manager_client.post(NEW, form_data(own_mpn, customer_domain="not a domain"))
    assert (
        response.status_code == 400
        and "Enter a domain name such as contoso.com." in response.content.decode()
    )
    tenant = Tenant.objects.create(tenant_id=uuid.UUID(TENANT), name="Northwind")
    TenantDomain.objects.create(tenant=tenant, domain="northwind.example")
    response = manager_client.post(NEW, form_data(own_mpn, customer_domain="tailspin.example"))
    assert response.status_code == 400
    assert "is not a verified domain of tenant" in response.content.decode()
    assert not Claim.objects.exists()


def test_a_duplicate_names_the_existing_claim_with_a_link(
    manager: Any, manager_client: Client, own_mpn: MpnId
) -> None:
    existing = claim_in(
        Claim.Status.SUBMITTED,
        partner=manager.membership.partner,
        by=manager,
        customer_tenant_id=uuid.UUID(TENANT),
    )
    response = manager_client.post(NEW, form_data(own_mpn))
    assert response.status_code == 400
    html = response.content.decode()
    assert "You already have a live claim for this customer, activity and product" in html
    assert f'href="{reverse("claims:detail", args=[existing.pk])}"' in html
    assert Claim.objects.count() == 1


def test_an_error_summary_heads_the_form_and_links_to_the_fields(
    manager_client: Client, own_mpn: MpnId
) -> None:
    response = manager_client.post(NEW, form_data(own_mpn, name="", customer_contact_email="nope"))
    html = response.content.decode()
    assert response.status_code == 400
    summary = html.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert 'href="#id_name"' in summary and 'href="#id_customer_contact_email"' in summary
    assert 'aria-invalid="true"' in html and 'aria-describedby="id_name_error"' in html
    assert '<label for="id_name">' in html


def test_a_read_only_member_and_strangers_cannot_create(
    member_client: Client, outsider: Any, client: Client, own_mpn: MpnId
) -> None:
    assert member_client.post(NEW, form_data(own_mpn)).status_code == 403
    assert client.post(NEW, form_data(own_mpn)).status_code == 302
    from tests.portal.conftest import client_for

    # Another partner's admin cannot use our MPN ID.
    response = client_for(outsider).post(NEW, form_data(own_mpn))
    assert response.status_code == 400
    assert not Claim.objects.exists()


def test_editing_a_draft_can_change_the_solution_area(
    manager: Any, manager_client: Client, own_mpn: MpnId
) -> None:
    manager_client.post(NEW, form_data(own_mpn))
    claim = Claim.objects.get()
    edit = reverse("claims:edit", args=[claim.pk])
    html = manager_client.get(edit, {"solution_area": "microsoft_365"}).content.decode()
    assert " Microsoft Teams</label>" in html and " Dynamics 365 Sales</label>" not in html
    data = form_data(
        own_mpn,
        solution_area="microsoft_365",
        products=[Product.objects.get(code="m365-teams").pk],
        subscription_id=None,
    )
    data.pop("subscription_id")
    response = manager_client.post(edit, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    claim.refresh_from_db()
    assert claim.solution_area == "microsoft_365"
    assert list(claim.products.values_list("code", flat=True)) == ["m365-teams"]
