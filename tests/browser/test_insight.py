"""Customer insight in a real browser: the overview and one customer's chart, at 1280 and 390 px, in
English and Turkish, with the CSP the site sends (no inline script; the chart is inline SVG)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_portal import PASSWORD, catalogue, contoso, sign_in  # noqa: F401 (fixtures)
from tests.factories import partner_user
from tests.portal.test_insight import DECEMBER, associate, tenant, usage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_insight_pages_at_two_widths_in_two_languages(
    live_server: Any,
    page: Any,
    artifacts: Path,
    contoso: Any,  # noqa: F811
) -> None:
    alice = partner_user(contoso, email="alice@contoso.example", password=PASSWORD)
    claims = []
    for i, name in enumerate(("Northwind Traders", "Adventure Works", "Tailspin Toys")):
        customer = tenant(name)
        claims.append(associate(contoso, alice, customer, products=("d365-sales", "d365-finance")))
        for code in ("d365-sales", "d365-finance"):
            month = dt.date(2025, 11, 1)
            for m in range(4):
                usage(customer, code, month, 40 + i * 25 + m * (5 + i * 3) + (code == "d365-finance") * 7)
                month = (month + dt.timedelta(days=32)).replace(day=1)
    assert DECEMBER.month == 12
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(page, live_server.url, "alice@contoso.example")
    page.get_by_role("link", name="Customer insight").click()
    page.wait_for_selector("table.insight")
    assert page.locator("table.insight tbody tr").count() == 3
    for language in ("en", "tr"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        for width, suffix in ((1280, ""), (390, "-phone")):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{live_server.url}/insight/?sort=-growth_pct")
            page.screenshot(path=str(artifacts / f"insight-{language}{suffix}.png"), full_page=True)
            page.goto(f"{live_server.url}/insight/{claims[0].pk}/")
            assert page.locator("svg rect.bar").count() == 6
            page.screenshot(path=str(artifacts / f"insight-customer-{language}{suffix}.png"), full_page=True)
    assert page.locator("h2", has_text="Dynamics 365 Sales").is_visible()
    assert "Temel değer" in page.content()
    assert not errors, errors
