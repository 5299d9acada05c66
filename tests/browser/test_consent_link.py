"""A customer opens the link from the captured consent email, reads the claim and denies it."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from claims.models import Claim, ClaimEvent
from consent.models import ConsentRequest
from cpor import outbox
from tests.factories import claim_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_denies_from_the_emailed_link(live_server, page, artifacts, settings) -> None:
    settings.SITE_URL = live_server.url
    claim = claim_in(Claim.Status.APPROVED)
    notice = ConsentRequest.objects.get(claim=claim)
    assert outbox.deliver(notice.email_id)
    (message,) = [m for m in mail.outbox if m.to == [claim.customer_contact_email]]
    link = re.search(r"https?://\S+/consent/\S+/", message.body).group(0)
    assert link.startswith(live_server.url)

    page.goto(link)
    assert page.get_by_role("heading", name="Partner association notice").is_visible()
    assert page.get_by_text(claim.partner.name).first.is_visible()
    claim.refresh_from_db()
    assert claim.status == Claim.Status.APPROVED  # opening the link changed nothing

    page.get_by_label("Why do you deny this association? (optional)").fill("We have not worked with them.")
    page.get_by_role("button", name="Deny this association").click()
    page.wait_for_selector("text=Your answer is recorded")
    page.screenshot(path=str(artifacts / "consent-denied.png"), full_page=True)

    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED
    assert claim.rejection_reason == "customer_decline"
    assert ClaimEvent.objects.get(claim=claim, action="deny_consent").note == "We have not worked with them."
