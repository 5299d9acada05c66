"""The portal's edit form with a change it cannot store as sent: switching a draft's solution area
drops what no longer fits, and a rule broken by a field the state still allows is a form error on
the page, never a 500."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from claims.models import Claim, ClaimEvent, Product, Tenant, TenantDomain
from tests.factories import claim_in, draft, manager_of
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db
S = Claim.Status


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
