"""The partner's own reference on a claim: set and changed through the API and the portal form,
unique per partner (a field error naming the other claim), filterable, shown on the claim page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent, Product
from tests.api.conftest import ApiClient
from tests.api.test_partner_api import assert_problem, new_claim_body
from tests.factories import claim_in, draft

pytestmark = pytest.mark.django_db


def test_create_get_list_and_filter_by_reference(api: ApiClient, admin: Any) -> None:
    created = api.post("/claims", new_claim_body(external_reference="  CRM-0042 "))
    assert created.status_code == 201, created.content
    claim_id = created.json()["id"]
    assert created.json()["external_reference"] == "CRM-0042"
    assert Claim.objects.get(pk=claim_id).external_reference == "CRM-0042"
    other = draft(by=admin)  # no reference

    assert api.get(f"/claims/{claim_id}").json()["external_reference"] == "CRM-0042"
    listed = {item["id"]: item["external_reference"] for item in api.get("/claims").json()["items"]}
    assert listed == {claim_id: "CRM-0042", other.pk: ""}
    found = api.get("/claims", external_reference="CRM-0042").json()["items"]
    assert [item["id"] for item in found] == [claim_id]
    assert api.get("/claims", external_reference="CRM-0043").json()["items"] == []
    refused = assert_problem(api.get("/claims", external_reference="a\x00b"), 422, "validation_error")
    assert list(refused["errors"]) == ["external_reference"]
    created_event = ClaimEvent.objects.get(claim_id=claim_id, action="create")
    assert created_event.diff["external_reference"] == [None, "CRM-0042"]


def test_a_duplicate_reference_is_a_field_error_naming_the_other_claim(api: ApiClient, admin: Any) -> None:
    first = draft(by=admin, name="Contoso Sales", external_reference="CRM-7")
    count = Claim.objects.count()

    body = assert_problem(
        api.post("/claims", new_claim_body(external_reference="CRM-7")), 422, "validation_error"
    )
    assert body["errors"]["external_reference"] == [
        f"Your claim “Contoso Sales” (#{first.pk}) already has this reference."
    ]
    assert Claim.objects.count() == count

    second = draft(by=admin)
    body = assert_problem(
        api.patch(f"/claims/{second.pk}", {"external_reference": "CRM-7"}), 422, "validation_error"
    )
    assert f"#{first.pk}" in body["errors"]["external_reference"][0]
    second.refresh_from_db()
    assert second.external_reference == ""
    # Its own reference again is no conflict; an empty one is shared by any number of claims.
    assert api.patch(f"/claims/{first.pk}", {"external_reference": "CRM-7"}).status_code == 200
    assert api.patch(f"/claims/{second.pk}", {"external_reference": ""}).status_code == 200


def test_another_partner_may_use_the_same_reference_and_never_sees_ours(
    api: ApiClient, outsider_api: ApiClient, admin: Any
) -> None:
    draft(by=admin, external_reference="CRM-1")
    mpn = outsider_api.get("/mpns").json()[0]["number"]
    created = outsider_api.post("/claims", new_claim_body(mpn=mpn, external_reference="CRM-1"))
    assert created.status_code == 201, created.content
    assert [i["id"] for i in outsider_api.get("/claims", external_reference="CRM-1").json()["items"]] == [
        created.json()["id"]
    ]
    assert created.json()["id"] not in [
        i["id"] for i in api.get("/claims", external_reference="CRM-1").json()["items"]
    ]


@pytest.mark.parametrize("bad", ["CRM\n42", "CRM\t42", "x" * 101])
def test_a_reference_is_one_short_line(api: ApiClient, bad: str) -> None:
    count = Claim.objects.count()
    body = assert_problem(
        api.post("/claims", new_claim_body(external_reference=bad)), 422, "validation_error"
    )
    assert "external_reference" in body["errors"]
    assert Claim.objects.count() == count


def test_the_reference_is_editable_while_the_partner_holds_the_claim(api: ApiClient, admin: Any) -> None:
    submitted = claim_in("submitted", by=admin)
    changed = api.patch(f"/claims/{submitted.pk}", {"external_reference": "CRM-9"})
    assert changed.status_code == 200 and changed.json()["external_reference"] == "CRM-9"
    assert "external_reference" in changed.json()["editable_fields"]

    approved = claim_in("approved", by=admin)
    assert_problem(
        api.patch(f"/claims/{approved.pk}", {"external_reference": "CRM-10"}), 409, "transition_refused"
    )
    approved.refresh_from_db()
    assert approved.external_reference == ""


def test_a_new_claim_started_from_a_rejected_one_does_not_take_its_reference(admin: Any) -> None:
    from claims import workflow

    rejected = claim_in("rejected", by=admin, external_reference="CRM-5")
    Claim.objects.filter(pk=rejected.pk).update(dispute_window_ends_at=None)
    copy = workflow.copy_claim(rejected.pk, by=admin)
    assert copy.external_reference == "" and Claim.objects.get(pk=rejected.pk).external_reference == "CRM-5"


def portal_form(admin: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "solution_area": "business_applications",
        "name": "Portal claim",
        "mpn": admin.membership.partner.mpn_ids.first().pk,
        "activity": "usage",
        "products": [Product.objects.get(code="d365-sales").pk],
        "customer_name": "Northwind Traders",
        "customer_domain": "northwind.example",
        "customer_tenant_id": "6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e4f",
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


def test_the_portal_form_sets_the_reference_refuses_a_duplicate_and_the_page_shows_it(admin: Any) -> None:
    client = Client()
    client.force_login(admin)
    form = client.get("/claims/new/", {"solution_area": "business_applications"}).content.decode()
    assert 'name="external_reference"' in form and "Your reference" in form

    response = client.post("/claims/new/", portal_form(admin, external_reference="CRM-77"))
    assert response.status_code == 302, response.content.decode()[:2000]
    claim = Claim.objects.get(external_reference="CRM-77")
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "Your reference" in page and "CRM-77" in page

    count = Claim.objects.count()
    response = client.post(
        "/claims/new/",
        portal_form(
            admin, external_reference="CRM-77", customer_tenant_id="7f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e4f"
        ),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f"Your claim “Portal claim” (#{claim.pk}) already has this reference." in html
    assert Claim.objects.count() == count

    other = draft(by=admin)
    edit = client.get(reverse("claims:edit", args=[other.pk])).content.decode()
    assert 'name="external_reference"' in edit
