"""The printable statement and the statements admin in a real browser, at 1280 and 390 px, in
English and Turkish, under the CSP the site sends (no inline script or style): screenshots in
test-artifacts/ to look at, and finance approving and recording a payment with the buttons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from claims.models import Membership
from earnings.models import Currency, Statement
from tests.browser.conftest import CHROMIUM
from tests.browser.test_portal import PASSWORD, catalogue, sign_in  # noqa: F401 (fixtures)
from tests.earnings.statement_helpers import (
    finance_user,
    handoff,
    line,
    reversal,
    rule_version,
    statement_for,
)
from tests.factories import PartnerFactory, partner_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
]

WIDTHS = ((1280, ""), (390, "-phone"))


def a_statement() -> Statement:
    partner = PartnerFactory(name="Contoso")
    # A month long past, whatever day the suite runs: approving needs the month to have ended.
    statement = statement_for(partner, month=dt.date(2025, 3, 1))
    example = rule_version(effective_from=dt.date(2025, 1, 1), is_example=True, currency=Currency.EUR)
    first = line(statement, "30.00", currency=Currency.EUR, rule=example, cap_applied=True)
    line(statement, "12.35", currency=Currency.EUR, rule=example)
    line(
        statement,
        "1500.00",
        currency=Currency.TRY,
        association=handoff(partner, customer_name="Adventure Works Türkiye"),
        rule=rule_version(programme="osa", effective_from=dt.date(2025, 2, 1), currency=Currency.TRY),
    )
    reversal(first, statement)
    return statement


def test_the_printable_statement_and_the_admin_at_two_widths_in_two_languages(
    live_server: Any,
    page: Any,  # noqa: F811
    artifacts: Path,
) -> None:
    statement = a_statement()
    partner_user(
        statement.partner, Membership.Role.BILLING_ADMIN, email="bill@contoso.example", password=PASSWORD
    )
    finance_user(email="fiona@cpor.example", password=PASSWORD)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    sign_in(page, live_server.url, "bill@contoso.example")
    print_url = f"{live_server.url}/earnings/statements/{statement.pk}/print/"
    for language in ("en", "tr"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        for width, suffix in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(print_url)
            assert page.locator("table.statement-lines tbody tr").count() == 4
            assert page.locator(".draft-mark").is_visible()
            page.screenshot(path=str(artifacts / f"statement-print-{language}{suffix}.png"), full_page=True)
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(print_url)
        assert not page.locator("header.top").is_visible()
        assert page.locator(".print-only").first.is_visible()
        page.screenshot(path=str(artifacts / f"statement-print-{language}-paper.png"), full_page=True)
        page.emulate_media(media="screen")
    assert page.locator("button[data-print]").is_visible()  # the script ran under the CSP
    page.context.clear_cookies()

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "fiona@cpor.example")
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    change = f"{live_server.url}/admin/earnings/statement/{statement.pk}/change/"
    for language in ("en", "tr"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        for width, suffix in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{live_server.url}/admin/earnings/statement/")
            page.screenshot(
                path=str(artifacts / f"statement-admin-list-{language}{suffix}.png"), full_page=True
            )
            page.goto(change)
            page.screenshot(path=str(artifacts / f"statement-admin-{language}{suffix}.png"), full_page=True)

    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(change)
    page.locator("form.statement-approve input[type=submit]").click()
    page.wait_for_selector("text=Statement approved")
    page.fill("#id_reference", "   ")
    page.locator("form.statement-payment input[type=submit]").click()
    page.wait_for_selector("text=Enter the payment reference.")
    page.fill("#id_reference", "SEPA-2025-03-0042")
    page.locator("form.statement-payment input[type=submit]").click()
    page.wait_for_selector("text=Payment recorded.")
    page.screenshot(path=str(artifacts / "statement-admin-paid.png"), full_page=True)
    statement.refresh_from_db()
    assert statement.status == Statement.Status.PAID
    assert statement.payment_reference == "SEPA-2025-03-0042"
    assert not errors, errors
