"""No page breaks the Content-Security-Policy: Debian's chromium records every violation (the
`securitypolicyviolation` event, in every frame, and the console's CSP messages) while a partner,
a customer and a review lead go through their pages, the scripted upload and the PDF preview
included. The live server sends the same header as production (the middleware is on everywhere).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail

from claims.demo_pdf import one_page_pdf
from claims.models import Claim, Membership
from consent.models import ConsentRequest
from cpor import outbox
from tests.factories import MpnFactory, PartnerFactory, claim_in, draft, partner_user, reviewer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"
RECORD = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
  console.error("CSP violation: " + e.violatedDirective);
});
"""


class Violations:
    """What the browser reported, page by page."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.seen: list[str] = []
        page.context.add_init_script(RECORD)
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "CSP violation" in message.text:
            self.seen.append(f"{self.page.url}: {message.text}")

    def visit(self, url: str, *, shot: Path | None = None) -> None:
        response = self.page.goto(url)
        assert response.status == 200, url
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
        self.page.wait_for_load_state("networkidle")
        self.collect()
        if shot:
            self.page.screenshot(path=str(shot), full_page=True)

    def collect(self) -> None:
        for frame in self.page.frames:
            try:
                found = frame.evaluate("window.__csp || []")
            except Exception:  # the PDF viewer's own frames are not the page's to read
                continue
            if found:
                self.seen += [f"{frame.url}: {line}" for line in found]
                frame.evaluate("window.__csp.length = 0")


def sign_in(page: Any, url: str, email: str, *, admin: bool = False) -> None:
    page.goto(url)
    page.get_by_label("Email address" if not admin else "Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form [type=submit]").last.click()
    page.wait_for_load_state("networkidle")


def test_no_page_violates_the_content_security_policy(
    live_server: Any, page: Any, browser: Any, artifacts: Path, tmp_path: Path, settings: Any
) -> None:
    settings.SITE_URL = live_server.url
    base = live_server.url
    contoso = PartnerFactory(name="Contoso")
    MpnFactory(partner=contoso, number="1234567", location="Seattle, US")
    alice = partner_user(
        contoso, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example", username="alice"
    )
    editing = draft(contoso, by=alice, name="Northwind draft")
    action = claim_in(Claim.Status.PARTNER_ACTION_REQUIRED, partner=contoso, by=alice, name="Wingtip pilot")
    approved = claim_in(Claim.Status.APPROVED, partner=contoso, by=alice, name="Tailspin Teams")
    review = claim_in(Claim.Status.UNDER_REVIEW, partner=contoso, by=alice, name="Fourth Coffee")
    reviewer(lead=True, email="leo@cpor.example", username="leo@cpor.example")

    violations = Violations(page)
    sign_in(page, f"{base}/accounts/login/", "alice@contoso.example")
    violations.visit(f"{base}/claims/", shot=artifacts / "csp-dashboard.png")
    violations.visit(f"{base}/claims/{action.pk}/", shot=artifacts / "csp-claim.png")
    violations.visit(f"{base}/claims/new/")
    page.get_by_label("Business Applications").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / "csp-new-claim.png"), full_page=True)
    violations.collect()
    # The scripted upload: one XMLHttpRequest per file with a progress bar, then a reload.
    violations.visit(f"{base}/claims/{editing.pk}/")
    poe = tmp_path / "signed-sow.pdf"
    poe.write_bytes(one_page_pdf(["Statement of work", "Signed by Nina North"]))
    page.get_by_label("Proof-of-execution files").set_input_files(str(poe))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()
    assert page.get_by_role("link", name="signed-sow.pdf").is_visible()
    violations.collect()

    notice = ConsentRequest.objects.get(claim=approved)
    assert outbox.deliver(notice.email_id)
    (message,) = [m for m in mail.outbox if m.to == [approved.customer_contact_email]]
    link = re.search(r"https?://\S+/consent/\S+/", message.body).group(0)
    customer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    customer_violations = Violations(customer)
    customer_violations.visit(link, shot=artifacts / "csp-consent.png")
    customer.context.close()

    lead = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    lead_violations = Violations(lead)
    admin = f"{base}/{django_settings.ADMIN_PATH}"
    sign_in(lead, f"{admin}login/", "leo@cpor.example", admin=True)
    lead_violations.visit(f"{admin}claims/claim/", shot=artifacts / "csp-admin-queue.png")
    lead_violations.visit(f"{admin}claims/claim/{review.pk}/change/", shot=artifacts / "csp-admin-claim.png")
    assert lead.frame_locator("iframe.poe-preview").locator("body").count() == 1  # the preview is framed
    lead_violations.visit(f"{admin}claims/claim/sla/", shot=artifacts / "csp-admin-sla.png")
    lead_violations.visit(f"{admin}")

    assert violations.seen == []
    assert customer_violations.seen == []
    assert lead_violations.seen == []

    # The recorder works: an inline style set by a script is blocked and reported.
    lead.evaluate("document.body.setAttribute('style', 'color: red')")
    lead.wait_for_timeout(200)
    lead_violations.collect()
    assert any("style-src" in line for line in lead_violations.seen)
    lead.context.close()
