"""A customer signs in from the captured mail, declines one workload of two and reads the receipt.

In English and in Turkish (the browser's language picks the page's), at desktop and phone width;
the screenshots are saved as artifacts (test-artifacts/customer-portal-<lang>-<step>-<width>.png).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from claims.models import Claim, ClaimEvent, Product
from consent import signin
from cpor import outbox
from cpor.models import OutboundEmail
from tests.consent.portal_helpers import association, tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NINA = "nina@northwind.example"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
SIGN_IN = re.compile(r"https?://\S+/customer/sign-in/\S+/")


def shots(page: Any, artifacts: Any, language: str, step: str) -> None:
    """The page as it is now, at both widths; back at desktop width after."""
    for name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"customer-portal-{language}-{step}-{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def mailed_sign_in_link() -> str:
    # The worker checks the request and writes the mail (what its task or the beat re-drive does).
    signin.send_requested_links(waited=dt.timedelta(0))
    row = OutboundEmail.objects.filter(kind="customer_sign_in", to=NINA).order_by("-pk").first()
    assert row is not None, "no sign-in mail was written"
    outbox.deliver(row.pk)
    (message,) = [m for m in mail.outbox if m.to == [NINA]]
    return SIGN_IN.search(message.body).group(0)


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_customer_declines_one_workload_of_two_and_reads_the_receipt(
    live_server: Any, browser: Any, artifacts: Any, settings: Any, language: str
) -> None:
    settings.SITE_URL = live_server.url
    claim = association(tenant(), products=("d365-sales", "power-bi"), customer_contact_email=NINA)
    power_bi, sales = Product.objects.get(code="power-bi"), Product.objects.get(code="d365-sales")
    mail.outbox.clear()
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="tr-TR" if language == "tr" else "en-GB"
    )
    page = context.new_page()
    with translation.override(language):
        # 1. Ask for a link with the work email; the mail as sent carries it.
        page.goto(f"{live_server.url}/customer/")
        assert page.locator("html").get_attribute("lang") == language
        page.get_by_label(gettext("Your work email address")).fill(NINA)
        page.get_by_role("button", name=gettext("Email me a sign-in link")).click()
        page.wait_for_load_state()
        link = mailed_sign_in_link()
        assert link.startswith(live_server.url)

        # 2. The link shows a button (opening it signs nobody in); pressing it does.
        page.goto(link)
        with page.expect_navigation():
            page.get_by_role("button", name=gettext("Sign in"), exact=True).click()
        page.get_by_role("link", name=claim.partner.name).first.click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name=gettext("Decline this association")).is_visible()
        shots(page, artifacts, language, "association")

        # 3. Decline Power BI only, with a reason.
        page.get_by_label(gettext("Only the workloads I choose")).check()
        page.get_by_label(power_bi.name).check()
        page.get_by_label(gettext("Why do you decline? (optional)")).fill("Power BI is run in-house.")
        with page.expect_navigation():
            page.get_by_role("button", name=gettext("Send my decision")).click()
        message = page.locator(".messages")
        assert power_bi.name in message.inner_text()
        shots(page, artifacts, language, "declined")

        claim.refresh_from_db()
        assert claim.status == Claim.Status.APPROVED
        assert list(claim.products.values_list("code", flat=True)) == ["d365-sales"]
        event = ClaimEvent.objects.get(claim=claim, action=ClaimEvent.Action.WORKLOADS_DECLINED)
        assert event.actor_kind == "customer"

        # 4. The receipt names the declined workload, not the kept one, who and when.
        with page.expect_navigation():
            message.get_by_role("link", name=gettext("Open the receipt")).click()
        receipt = page.locator("article.receipt")
        declined = receipt.locator("dt", has_text=gettext("Workloads declined")).locator(
            "xpath=following-sibling::dd[1]"
        )
        assert declined.inner_text().strip() == power_bi.name
        assert sales.name not in declined.inner_text()
        assert NINA in receipt.inner_text()
        when = receipt.locator("time")
        stamp = when.get_attribute("datetime")
        assert stamp.startswith(event.created_at.strftime("%Y-%m-%dT%H:%M"))
        shots(page, artifacts, language, "receipt")
    context.close()
