"""Names, titles and contact names hold one line: a line break or another control character is a
form error on the new-claim and edit forms and a validation error in the workflow, and changes
nothing (rows, statuses, events, mail)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from claims import workflow
from claims.models import Claim, MpnId
from tests.factories import claim_in
from tests.portal.test_active_pdfs import state
from tests.portal.test_new_claim import form_data

pytestmark = pytest.mark.django_db


BREAKS = ["Northwind\r\nBcc: eve@evil.example", "Northwind\nTraders", "Nina\rNorth", "Tab\there", "x\u2028y"]


ONE_LINE = [
    "name",
    "customer_name",
    "customer_contact_name",
    "customer_contact_title",
    "partner_contact_name",
]


@pytest.mark.parametrize("value", BREAKS)
@pytest.mark.parametrize("field", ONE_LINE)
def test_new_claim_refuses_control_characters_in_one_line_fields(
    field: str, value: str, manager_client: Client, own_mpn: MpnId
) -> None:
    before = state()
    response = manager_client.post("/claims/new/", form_data(own_mpn, **{field: value}))
    assert response.status_code == 400
    assert "Write this on one line" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("field", ["customer_contact_name", "customer_contact_title", "partner_contact_name"])
def test_edits_refuse_a_line_break_in_forms_and_in_the_workflow(
    field: str, manager: Any, manager_client: Client
) -> None:
    claim = claim_in(Claim.Status.SUBMITTED, partner=manager.membership.partner, by=manager)
    before = state()
    data = {
        "mpn": claim.mpn_id,
        "products": [p.pk for p in claim.products.all()],
        "customer_contact_name": "Nina",
        "customer_contact_title": "CIO",
        "customer_contact_email": "nina@northwind.example",
        "customer_contact_language": "en",
        "technical_contact_name": "Tom",
        "technical_contact_email": "tom@northwind.example",
        "partner_contact_name": "Paula",
        "partner_contact_email": "paula@partner.example",
        field: "Nina\r\nX-Injected: yes",
    }
    response = manager_client.post(reverse("claims:edit", args=[claim.pk]), data)
    assert response.status_code == 400
    assert "Write this on one line" in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        workflow.edit_claim(claim, by=manager, changes={field: "Nina\nNorth"})
    assert field in refused.value.message_dict
    assert state() == before
