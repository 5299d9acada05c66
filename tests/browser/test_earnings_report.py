"""The earnings report in a real browser: a Billing admin signs in, opens Earnings from the
navigation, filters by tenant, programme and month, meets a malformed month, and the page is
photographed at 1280 and 390 px in English and Turkish (with the CSP the site sends)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import time_machine

from claims.models import Membership, Programme
from tests.browser.test_portal import PASSWORD, catalogue, sign_in  # noqa: F401 (fixtures)
from tests.earnings.test_report import NOW, Scene
from tests.factories import partner_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_billing_admin_filters_the_earnings_report(live_server: Any, page: Any, artifacts: Path) -> None:
    with time_machine.travel(NOW, tick=False):
        scene = Scene()
        partner_user(
            scene.partner, Membership.Role.BILLING_ADMIN, email="beth@contoso.example", password=PASSWORD
        )
        partner_user(scene.partner, Membership.Role.MEMBER, email="max@contoso.example", password=PASSWORD)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(page, live_server.url, "beth@contoso.example")
    page.get_by_role("link", name="Earnings", exact=True).click()
    page.wait_for_selector("table.earnings-lines")
    rows = page.locator("table.earnings-lines tbody tr")
    assert rows.count() == 6
    assert page.get_by_text("175.00 USD", exact=True).first.is_visible()

    page.get_by_label("Tenant ID").fill(str(scene.north.tenant_id))
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/earnings/?tenant=*")
    assert rows.count() == 2 and "Northwind Traders" in rows.first.inner_text()
    assert page.locator("table.associations tbody tr").count() == 1

    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Programme").select_option(Programme.OSA)
    page.get_by_label("From month").fill("2025-12")
    page.get_by_label("To month").fill("2025-12")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**programme=osa**")
    assert rows.count() == 1 and "Tailspin Toys" in rows.first.inner_text()
    assert page.get_by_text("250.00 EUR", exact=True).first.is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download.value.path()).read_text()
    assert "Tailspin Toys" in exported and "Northwind" not in exported

    page.get_by_label("From month").fill("2025-13")
    page.get_by_role("button", name="Apply").click()
    error = page.locator("#id_from_error")
    assert error.is_visible() and "YYYY-MM" in error.inner_text()
    assert page.locator("table.earnings-lines").count() == 0

    for language in ("en", "tr"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        for width, suffix in ((1280, ""), (390, "-phone")):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{live_server.url}/earnings/")
            page.wait_for_selector("table.earnings-lines")
            page.screenshot(path=str(artifacts / f"earnings-{language}{suffix}.png"), full_page=True)
            page.goto(f"{live_server.url}/earnings/?from=2026-99")
            page.screenshot(
                path=str(artifacts / f"earnings-bad-filter-{language}{suffix}.png"), full_page=True
            )
    assert "Kazançlar" in page.content()
    assert not errors, errors

    # A member sees eligibility only.
    page.context.clear_cookies()
    page.set_viewport_size({"width": 390, "height": 900})
    sign_in(page, live_server.url, "max@contoso.example")
    page.goto(f"{live_server.url}/earnings/")
    assert page.locator("table.earnings-lines").count() == 0
    assert page.locator("table.associations tbody tr").count() == 5
    page.screenshot(path=str(artifacts / "earnings-member-phone.png"), full_page=True)
