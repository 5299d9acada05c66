"""The new-claim form marks the contacts a submission needs, and only those."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_contacts_needed_to_submit_are_marked(manager: Any, manager_client: Client) -> None:
    html = manager_client.get(reverse("claims:new") + "?solution_area=business_applications").content.decode()

    def marked(field: str) -> bool:
        label = re.search(rf'<label for="id_{field}">(.*?)</label>', html, re.S)
        assert label, field
        return "needed to submit" in label.group(1)

    for field in (
        "customer_contact_name",
        "customer_contact_email",
        "partner_contact_name",
        "partner_contact_email",
    ):
        assert marked(field), field
    for field in ("customer_contact_title", "partner_contact_phone", "technical_contact_phone"):
        assert not marked(field), field
