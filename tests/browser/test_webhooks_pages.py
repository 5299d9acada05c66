"""The webhook pages in a real browser (Debian's chromium through Playwright, against live_server).

alice, an Incentives admin, finds "Webhooks" in the main navigation, sends the add form with errors,
adds an endpoint that points at a receiver on 127.0.0.1, copies the secret from the page that shows
it once, sees the endpoint disabled after a failure, sends a test event, reads the delivery log and
re-enables the endpoint; then the same pages in Turkish. The receiver verifies each request with the
secret read from the page. Screenshots at 1280 and 390 px land in the artifacts folder; no page
breaks the Content-Security-Policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from api.models import WebhookDelivery, WebhookEndpoint
from api.webhooks import delivery as webhook_delivery
from api.webhooks.events import EVENT_TYPE_CODES
from claims import workflow
from claims.models import Membership
from tests.factories import MpnFactory, PartnerFactory, draft, partner_user
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"


class Shots:
    """Full-page screenshots at 1280 and 390 px; CSP violations reported in the console."""

    def __init__(self, page: Any, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.violations: list[str] = []
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"{self.page.url}: {message.text}")

    def take(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        self.page.screenshot(path=str(self.folder / f"webhooks-{name}.png"), full_page=True)
        self.page.set_viewport_size({"width": 390, "height": 844})
        # Nothing may stick out sideways on a phone (a long URL or the secret would).
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow}px wider than a 390px screen"
        self.page.screenshot(path=str(self.folder / f"webhooks-{name}-phone.png"), full_page=True)
        self.page.set_viewport_size({"width": 1280, "height": 900})


def test_alice_adds_an_endpoint_tests_it_and_reads_the_log(
    live_server: Any, page: Any, artifacts: Path, receiver: Receiver, settings: Any
) -> None:
    settings.CPOR_WEBHOOK_DISABLE_AFTER = 1
    contoso = PartnerFactory(name="Contoso")
    MpnFactory(partner=contoso)
    alice = partner_user(contoso, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example")
    base = live_server.url
    shots = Shots(page, artifacts)

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill("alice@contoso.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Add endpoint").click()

    # Every event is ticked at first; untick them all and give a plain http URL: two errors.
    boxes = page.locator("input[name=event_types]")
    assert boxes.count() == len(EVENT_TYPE_CODES)
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    for i in range(boxes.count()):
        boxes.nth(i).uncheck()
    page.get_by_label("URL").fill("http://crm.contoso.example/cpor")
    page.get_by_role("button", name="Add endpoint").click()
    summary = page.locator(".error-summary")
    assert summary.is_visible() and summary.evaluate("el => el === document.activeElement")
    assert "The URL must start with https://." in summary.inner_text()
    assert "Choose at least one event type." in page.locator("#id_event_types_error").inner_text()
    assert WebhookEndpoint.objects.count() == 0
    shots.take("form-errors")

    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("CRM production")
    page.get_by_label("Claim submitted").check()
    page.get_by_label("Information requested").check()
    page.get_by_role("button", name="Add endpoint").click()
    page.wait_for_selector("h1:has-text('Webhook endpoint added')")
    secret = page.locator("#webhook-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    shots.take("secret")
    page.get_by_role("link", name="Done").click()
    assert secret not in page.content()

    # A submitted claim's event meets a failing receiver: the endpoint is disabled.
    endpoint = WebhookEndpoint.objects.get()
    receiver.statuses = [503]
    workflow.transition(draft(contoso, by=alice, name="Northwind — Sales rollout"), "submit", by=alice)
    (failing,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    webhook_delivery.deliver(failing.pk)
    page.reload()
    row = page.locator("table.webhooks tbody tr")
    assert "Disabled" in row.inner_text() and "HTTP 503" in row.inner_text()
    shots.take("list-disabled")

    row.get_by_role("button", name="Send test event").click()
    page.wait_for_selector("text=A test event is on its way")
    test_delivery = WebhookDelivery.objects.get(endpoint=endpoint, event__type="webhook.test")
    assert webhook_delivery.deliver(test_delivery.pk) is True
    headers, body, _status = receiver.calls[-1]
    assert Webhook(secret).verify(body, headers)["type"] == "webhook.test"
    page.reload()
    log = page.locator("table.deliveries tbody")
    assert "Delivered" in log.locator("tr").first.inner_text()
    assert "Northwind — Sales rollout" in log.inner_text() and "HTTP 503" in log.inner_text()
    shots.take("log")

    page.get_by_role("button", name="Re-enable").click()
    page.wait_for_selector("text=is active again")
    endpoint.refresh_from_db()
    assert endpoint.is_active
    shots.take("list")

    # The same pages in Turkish.
    page.get_by_label("Language").select_option("tr")
    page.locator(".lang-form button").click()
    page.wait_for_selector("html[lang=tr]")
    shots.take("list-tr")
    page.goto(f"{base}/webhooks/{endpoint.pk}/")
    shots.take("log-tr")
    page.goto(f"{base}/webhooks/new/")
    page.locator("#id_url").fill("https://10.0.0.7/cpor")
    page.locator("form.panel button[type=submit]").click()
    page.wait_for_selector(".error-summary")
    shots.take("form-errors-tr")
    page.locator("#id_url").fill("https://crm.contoso.example/cpor")
    page.locator("form.panel button[type=submit]").click()
    page.wait_for_selector("#webhook-secret")
    shots.take("secret-tr")
    assert WebhookEndpoint.objects.count() == 2

    assert not shots.violations, shots.violations
