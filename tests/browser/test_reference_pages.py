"""The partner's reference on the claim form and the claim page, in English and Turkish, on a desktop
and a phone: the field is labelled, a duplicate is shown next to it, and nothing overflows."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from claims.models import Membership
from tests.factories import MpnFactory, PartnerFactory, draft, partner_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"
WORDS = {
    "en": {"label": "Your reference", "taken": "already has this reference"},
    "tr": {"label": "Referansınız", "taken": "talebinizde bu referans zaten var"},
}


@pytest.fixture(autouse=True)
def catalogue() -> None:
    """A transactional test before this one emptied the tables: reload what the data migrations hold."""
    from django.apps import apps

    importlib.import_module("claims.migrations.0002_product_catalogue").load(apps, None)


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("width", [1280, 390])
def test_reference_on_the_form_and_the_page(
    live_server: Any, browser: Any, artifacts: Path, language: str, width: int
) -> None:
    partner = PartnerFactory(name="Contoso")
    MpnFactory(partner=partner, number="1234567")
    alice = partner_user(partner, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example")
    alice.set_password(PASSWORD)
    alice.save()
    first = draft(by=alice, name="Northwind — Sales rollout", external_reference="CRM-0042")
    second = draft(by=alice, name="Fabrikam — Teams")
    base = live_server.url
    host = base.split("//", 1)[1].split(":", 1)[0]

    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "django_language", "value": language, "domain": host, "path": "/"}])
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=username]").fill("alice@contoso.example")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/claims/{first.pk}/")
    summary = page.locator("dl.summary")
    assert WORDS[language]["label"] in summary.inner_text() and "CRM-0042" in summary.inner_text()
    summary.screenshot(path=str(artifacts / f"reference-page-{language}-{width}.png"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(f"{base}/claims/{second.pk}/edit/")
    field = page.get_by_label(WORDS[language]["label"])
    field.fill("CRM-0042")
    field.press("Enter")  # submits the claim form it belongs to
    error = page.locator(f"#{field.get_attribute('id')}_error")
    assert WORDS[language]["taken"] in error.inner_text() and f"#{first.pk}" in error.inner_text()
    field.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"reference-form-{language}-{width}.png"), full_page=False)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
