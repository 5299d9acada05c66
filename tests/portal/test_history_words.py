"""History in people's words, on the partner's claim page and the reviewer's admin page: product
names, activity, status and reason labels, "old → new"; never codes or Python lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from claims import workflow
from claims.history import history_entries
from claims.models import Claim, ClaimEvent, Product
from tests.factories import claim_in, reviewer
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

S = Claim.Status


def history_html(html: str) -> str:
    return html[html.index('id="history"') :]


def edited_claim(manager: Any) -> Claim:
    claim = claim_in(S.SUBMITTED, partner=manager.membership.partner, by=manager)
    workflow.edit_claim(
        claim,
        by=manager,
        changes={
            "products": list(Product.objects.filter(code__in=["d365-sales", "power-bi"])),
            "partner_contact_name": "Pat Partner",
        },
    )
    return claim


def test_portal_history_shows_labels_not_codes(manager: Any, manager_client: Client) -> None:
    rita = reviewer(email="rita@cpor.example")
    claim = edited_claim(manager)
    workflow.transition(claim, "start_review", by=rita)
    workflow.transition(
        claim,
        "request_information",
        by=rita,
        reasons=["missing_products", "missing_or_old_dates"],
        comment="x",
    )
    html = history_html(manager_client.get(reverse("claims:detail", args=[claim.pk])).content.decode())
    sales, power_bi = Product.objects.get(code="d365-sales").name, Product.objects.get(code="power-bi").name
    assert f"<del>{sales}</del> → <ins>{', '.join(sorted([sales, power_bi]))}</ins>" in html
    assert "<del>Paula Partner</del> → <ins>Pat Partner</ins>" in html
    assert "Missing products, Missing or old dates" in html
    assert "Under review → Partner action required" in html
    for code in ("d365-sales", "power-bi", "missing_products", "partner_action_required", "['", "usage"):
        assert code not in html, code


def test_rejection_and_withdraw_reasons_are_labels(manager: Any, manager_client: Client) -> None:
    rejected = claim_in(S.REJECTED, partner=manager.membership.partner, by=manager)
    withdrawn = claim_in(S.SUBMITTED, partner=manager.membership.partner, by=manager, name="W")
    workflow.transition(withdrawn, "withdraw", by=manager, reason="no_longer_working")
    html = history_html(manager_client.get(reverse("claims:detail", args=[rejected.pk])).content.decode())
    assert "Insufficient proof of execution" in html and "PoE unavailable" in html
    assert "poe_unavailable" not in html and "insufficient_poe" not in html
    html = history_html(manager_client.get(reverse("claims:detail", args=[withdrawn.pk])).content.decode())
    assert "Partner request" in html and "No longer working with the customer" in html


def test_started_from_is_translated_for_each_reader(manager: Any, manager_client: Client) -> None:
    rejected = claim_in(S.REJECTED, partner=manager.membership.partner, by=manager)
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        with translation.override("tr"):
            copy = workflow.copy_claim(rejected, by=manager)  # made by someone reading Turkish
    event = ClaimEvent.objects.get(claim=copy, action="create")
    assert event.note == f"Started from claim #{rejected.pk}."  # stored as the stable English key
    assert event.diff["copied_from"] == [None, rejected.pk]
    with translation.override("tr"):
        (entry,) = history_entries([event])
        assert entry.note == f"#{rejected.pk} numaralı talepten başlatıldı."
    client_for(manager)
    html = manager_client.get(reverse("claims:detail", args=[copy.pk]), HTTP_ACCEPT_LANGUAGE="en").content
    assert f"Started from claim #{rejected.pk}." in html.decode()
    manager_client.cookies["django_language"] = "tr"
    html = manager_client.get(reverse("claims:detail", args=[copy.pk])).content.decode()
    assert f"#{rejected.pk} numaralı talepten başlatıldı." in html
    assert "Started from claim" not in html


def test_admin_history_uses_the_same_words(manager: Any) -> None:
    rita = reviewer(email="rita@cpor.example")
    claim = edited_claim(manager)
    workflow.transition(claim, "start_review", by=rita)
    workflow.transition(claim, "request_information", by=rita, reasons=["missing_products"], comment="x")
    client = client_for(rita)
    response = client.get(reverse("admin:claims_claim_change", args=[claim.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    html = html[html.index('id="history-title"') :]
    sales = Product.objects.get(code="d365-sales").name
    assert f"Products: {sales} → " in html
    assert "Partner contact name: Paula Partner → Pat Partner" in html
    assert "Reasons for the request: Missing products" in html
    assert "Under review → Partner action required" in html
    assert "Information requested" in html
    for code in ("['", "<code>products</code>", "under_review →", "missing_products"):
        assert code not in html, code


def test_admin_history_is_for_reviewers_only(manager: Any) -> None:
    claim = claim_in(S.SUBMITTED, partner=manager.membership.partner, by=manager)
    url = reverse("admin:claims_claim_change", args=[claim.pk])
    response = client_for(manager).get(url)
    assert response.status_code == 302 and "login" in response["Location"]
    assert client_for(None).get(url).status_code == 302


def test_mail_lines_say_what_the_mail_was_about(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.PARTNER_ACTION_REQUIRED, partner=manager.membership.partner, by=manager)
    portal = history_html(manager_client.get(reverse("claims:detail", args=[claim.pk])).content.decode())
    assert "Receipt of the submitted claim" in portal
    assert "The reviewer&#x27;s request for information" in portal
    assert "claim_submitted" not in portal and "information_requested" not in portal

    staff = client_for(reviewer())
    admin = staff.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert "Receipt of the submitted claim" in admin and "claim_submitted" not in admin

    manager_client.cookies["django_language"] = "tr"
    turkish = history_html(manager_client.get(reverse("claims:detail", args=[claim.pk])).content.decode())
    assert "Gönderilen talebin alındı bildirimi" in turkish
