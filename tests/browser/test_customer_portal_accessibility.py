"""The customer portal passes axe-core's WCAG 2.1 A and AA rules in chromium, in English and
Turkish, at desktop and phone width: the sign-in pages, the list, an association in its window (the
decline form, with and without an error), one after it (the request to end it), a receipt, and the
consent link's page.

axe-core is the pinned npm package `.ci/install-axe` puts in .ci/axe (git-ignored); without it the
test is skipped outside CI and fails in CI, like the Nu HTML checker.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext

from claims import workflow
from claims.models import Claim, ClaimEvent, Product
from consent import signin
from cpor import outbox
from cpor.models import OutboundEmail
from tests.conftest import IN_CI
from tests.consent.portal_helpers import association, tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = Path(os.environ.get("CPOR_AXE_JS", ROOT / ".ci/axe/node_modules/axe-core/axe.min.js"))
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
NINA = "nina@northwind.example"
LINK = re.compile(r"https?://\S+?(/(?:customer/sign-in|consent)/[A-Za-z0-9_\-]+/)")


@pytest.fixture
def axe() -> Path:
    if not AXE_JS.exists():
        if IN_CI:
            pytest.fail(f"axe-core is not installed at {AXE_JS} (run .ci/install-axe)")
        pytest.skip(f"axe-core is not installed at {AXE_JS} (run .ci/install-axe)")
    return AXE_JS


def violations(page: Any, axe_js: Path) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, at both widths."""
    found = []
    for width, height in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": height})
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(axe_js))
        result = page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
        )
        found += [
            {
                "width": width,
                "rule": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
            }
            for v in result["violations"]
        ]
    page.set_viewport_size({"width": 1280, "height": 900})
    return found


def mailed_link(kind: str, to: str) -> str:
    # A sign-in request is checked and mailed by the worker (its task or the beat re-drive).
    signin.send_requested_links(waited=dt.timedelta(0))
    row = OutboundEmail.objects.filter(kind=kind, to=to).order_by("-pk").first()
    assert row is not None, f"no {kind} mail to {to}"
    assert outbox.deliver(row.pk)
    sent = [m for m in mail.outbox if m.to == [to]]
    return LINK.search(sent[-1].body).group(1)


@pytest.mark.parametrize("language", ["en", "tr"])
def test_every_customer_page_passes_the_wcag_rules(
    live_server: Any, browser: Any, axe: Path, settings: Any, language: str
) -> None:
    settings.SITE_URL = live_server.url
    northwind = tenant()
    # The consent link's page speaks the contact's language, which the partner gave.
    in_window = association(
        northwind,
        products=("d365-sales", "power-bi"),
        customer_contact_email=NINA,
        customer_contact_language=language,
    )
    with time_machine.travel(timezone.now() - dt.timedelta(days=8)):
        associated = association(northwind, products=("d365-finance",))
    associated = workflow.transition(associated.pk, "close_consent_window", by=workflow.SYSTEM)
    assert associated.status == Claim.Status.ASSOCIATED
    # Other workloads each: approving a claim on the same workload would supersede the others.
    partly = association(northwind, products=("d365-field-service", "d365-commerce"))
    workflow.decline_workloads(
        partly, [Product.objects.get(code="d365-commerce")], by=workflow.CUSTOMER, customer_email=NINA
    )
    receipt = ClaimEvent.objects.get(claim=partly, action=ClaimEvent.Action.WORKLOADS_DECLINED)
    mail.outbox.clear()

    # bypass_csp lets the test add axe-core's script; the pages themselves allow no inline script.
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="tr-TR" if language == "tr" else "en-GB",
        bypass_csp=True,
    )
    page = context.new_page()
    seen: dict[str, list[dict[str, Any]]] = {}

    def check(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == language, name
        seen[name] = violations(page, axe)

    with translation.override(language):
        page.goto(f"{live_server.url}/customer/")
        check("sign-in form")
        page.get_by_label(gettext("Your work email address")).fill(NINA)
        with page.expect_navigation():
            page.get_by_role("button", name=gettext("Email me a sign-in link")).click()
        check("check your mail")

        page.goto(live_server.url + mailed_link("customer_sign_in", NINA))
        check("sign-in link")
        with page.expect_navigation():
            page.get_by_role("button", name=gettext("Sign in"), exact=True).click()
        check("associations")

        page.goto(f"{live_server.url}/customer/associations/{in_window.pk}/")
        check("association in its window")
        page.get_by_label(gettext("Only the workloads I choose")).check()
        with page.expect_navigation():
            page.get_by_role("button", name=gettext("Send my decision")).click()
        assert page.locator("[role=alert], .errorlist, .field-error").count() > 0
        check("decline form with an error")

        page.goto(f"{live_server.url}/customer/associations/{associated.pk}/")
        check("association after its window")

        page.goto(f"{live_server.url}/customer/associations/{partly.pk}/receipts/{receipt.pk}/")
        check("receipt")

        page.goto(live_server.url + mailed_link("consent_notice", NINA))
        check("consent link")
    context.close()

    assert {name: found for name, found in seen.items() if found} == {}, json.dumps(seen, indent=1)


def test_the_check_finds_what_it_looks_for(browser: Any, axe: Path) -> None:
    """The same check on a page with an unlabelled field, an image without text and no language
    reports each, so an empty report above means something."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_content(
        "<!doctype html><html><head><title>t</title></head><body><main>"
        '<img src="data:,"><form><input type="text" name="email"></form></main></body></html>'
    )
    rules = {v["rule"] for v in violations(page, axe)}
    context.close()
    assert {"html-has-lang", "image-alt", "label"} <= rules
