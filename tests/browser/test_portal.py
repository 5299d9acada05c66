"""The partner portal in a real browser (Debian's chromium through Playwright, against live_server).

alice creates a claim, uploads a PDF with the JavaScript uploader, ticks the checklist, submits and
sees it Submitted on the dashboard; bob (read-only) sees no action buttons; switching to Turkish
shows Turkish labels. Screenshots land in the artifacts folder.
"""

from __future__ import annotations

import importlib
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from claims.demo_pdf import one_page_pdf
from claims.models import Claim, ClaimEvent, Membership
from tests.factories import MpnFactory, PartnerFactory, claim_in, partner_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"


@pytest.fixture(autouse=True)
def catalogue() -> None:
    """A transactional test before this one emptied the tables: reload what the data migrations hold."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from claims.models import LEAD_GROUP, REVIEWER_GROUP

    importlib.import_module("claims.migrations.0002_product_catalogue").load(apps, None)
    for name in (REVIEWER_GROUP, LEAD_GROUP):
        Group.objects.get_or_create(name=name)


@pytest.fixture
def contoso() -> Any:
    partner = PartnerFactory(name="Contoso")
    MpnFactory(partner=partner, number="1234567", location="Seattle, US")
    return partner


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_alice_creates_uploads_ticks_and_submits(
    live_server: Any, page: Any, artifacts: Path, contoso: Any, tmp_path: Path
) -> None:
    partner_user(contoso, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example", username="alice")
    base = live_server.url
    sign_in(page, base, "alice@contoso.example")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="New claim").click()
    page.get_by_label("Business Applications").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Claim name").fill("Northwind — Sales rollout")
    page.get_by_label("Usage", exact=True).check()
    page.get_by_label("Dynamics 365 Sales").check()
    page.get_by_label("Customer name").fill("Northwind Traders")
    page.get_by_label("Customer domain").fill("northwind.example")
    page.get_by_label("Customer tenant ID").fill(str(uuid.uuid4()))
    page.get_by_label("Customer contact name").fill("Nina North")
    page.get_by_label("Customer contact email").fill("nina@northwind.example")
    page.get_by_label("Technical contact name").fill("Tom Tech")
    page.get_by_label("Technical contact email").fill("tom@northwind.example")
    page.get_by_label("Partner contact name").fill("Paula Partner")
    page.get_by_label("Description of the work done").fill("Deployed Dynamics 365 Sales for 200 sellers.")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_selector("text=Your claim is saved as a draft")
    claim = Claim.objects.get()
    assert claim.status == Claim.Status.EDITING

    poe = tmp_path / "signed-sow.pdf"
    poe.write_bytes(one_page_pdf(["Statement of work", "Signed by Nina North, Northwind Traders"]))
    page.get_by_label("Proof-of-execution files").set_input_files(str(poe))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()  # the JavaScript uploader reloads when done
    assert page.get_by_role("link", name="signed-sow.pdf").is_visible()
    assert claim.documents.get().original_name == "signed-sow.pdf"

    for box in page.locator("#submit input[type=checkbox]").all():
        box.check()
    page.screenshot(path=str(artifacts / "portal-claim-before-submit.png"), full_page=True)
    page.get_by_role("button", name="Submit claim").click()
    page.wait_for_selector("text=Your claim is submitted")
    page.screenshot(path=str(artifacts / "portal-claim.png"), full_page=True)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED
    assert ClaimEvent.objects.filter(claim=claim, action="submit").exists()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customer associations").click()
    row = page.locator("table.claims tbody tr", has_text="Northwind — Sales rollout")
    assert row.locator(".chip").inner_text() == "Submitted"
    assert "Review should start within 5 business days" in row.inner_text()
    page.screenshot(path=str(artifacts / "portal-dashboard.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "portal-dashboard-phone.png"), full_page=True)


def test_bob_sees_no_action_buttons(live_server: Any, page: Any, artifacts: Path, contoso: Any) -> None:
    alice = partner_user(
        contoso, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example", username="alice"
    )
    partner_user(contoso, Membership.Role.MEMBER, email="bob@contoso.example", username="bob")
    claim = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED, partner=contoso, by=alice, name="Wingtip pilot")
    sign_in(page, live_server.url, "bob@contoso.example")
    # The claim is listed in the table and, as it waits on the partner, in "What needs you now".
    listed = page.locator("table").get_by_role("link", name="Wingtip pilot")
    assert listed.is_visible()
    assert page.locator("section.needs").get_by_role("link", name="Wingtip pilot").count() == 1
    assert page.get_by_role("link", name="New claim").count() == 0
    listed.click()
    page.wait_for_url(re.compile(rf".*/claims/{claim.pk}/$"))
    main = page.locator("main")
    assert main.locator("#comments").get_by_text("Please name Sales in the PoE.").is_visible()
    assert main.get_by_role("button").count() == 0
    assert main.locator("form").count() == 0
    assert main.get_by_role("link", name="poe.pdf").is_visible()  # reading is allowed
    page.screenshot(path=str(artifacts / "portal-claim-read-only.png"), full_page=True)


def test_switching_to_turkish_shows_turkish_labels(
    live_server: Any, page: Any, artifacts: Path, contoso: Any
) -> None:
    alice = partner_user(
        contoso, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example", username="alice"
    )
    claim_in(Claim.Status.SUBMITTED, partner=contoso, by=alice, name="Tailspin Teams")
    sign_in(page, live_server.url, "alice@contoso.example")
    page.get_by_label("Language").select_option("tr")
    page.get_by_role("button", name="Change language").click()
    page.wait_for_selector("html[lang=tr]")
    assert page.get_by_role("heading", name="Müşteri ilişkilendirmeleri").is_visible()
    assert page.get_by_role("link", name="Yeni talep").first.is_visible()
    assert page.locator("table.claims .chip").first.inner_text() == "Gönderildi"
    assert page.get_by_label("Durum", exact=True).is_visible()
    page.screenshot(path=str(artifacts / "portal-dashboard-tr.png"), full_page=True)
    # The choice is remembered: a new page load (and a new session) stays Turkish.
    page.goto(f"{live_server.url}/claims/new/")
    assert page.get_by_role("heading", name="Yeni talep").is_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["django_language"]["value"] == "tr" and cookies["django_language"]["expires"] > 0
