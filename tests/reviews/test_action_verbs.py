"""Reviewer decisions read as verbs on buttons, and approving asks first (a page, no script)."""

from __future__ import annotations

import re

import pytest

from claims.models import Claim, ClaimEvent
from tests.factories import claim_in, mail_to, reviewer

from .admin_pages import button, client_for, page, stored

pytestmark = pytest.mark.django_db
S = Claim.Status
ACTION = re.compile(r'class="[^"]*\breview-action\b[^"]*"[^>]*>([^<]+)<')


@pytest.mark.parametrize(
    ("status", "labels"),
    [
        (S.SUBMITTED, ["Start review"]),
        (S.UNDER_REVIEW, ["Approve…", "Request information…", "Reject…"]),
        (S.DISPUTED, ["Accept dispute and reopen…", "Uphold rejection…"]),
    ],
)
def test_the_decisions_are_verbs_styled_as_buttons(status: str, labels: list[str]) -> None:
    claim = claim_in(status)

    html = client_for(reviewer(lead=True)).get(page(claim)).content.decode()

    assert ACTION.findall(html) == labels
    status_tags = {str(label) for label in S.labels} | {str(label) for label in ClaimEvent.Action.labels}
    assert not status_tags & set(ACTION.findall(html))


def test_approve_asks_for_confirmation_and_names_the_consent_mail() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer())
    before = stored()

    response = client.get(button(claim, "approve"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Approve this claim?" in html
    assert (
        "The customer contact, Nina North &lt;nina@northwind.example&gt;, will be emailed the consent "
        "notice now" in html
    )
    assert f'action="{button(claim, "approve")}"' in html
    assert '<input type="submit" class="default" value="Approve">' in html
    # Works under a strict CSP: no inline script, no onclick-style confirm.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "onclick" not in html and "confirm(" not in html
    assert stored() == before


def test_confirming_approves_and_queues_the_consent_notice() -> None:
    claim = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer())

    response = client.post(button(claim, "approve"), {"seen_status": S.UNDER_REVIEW})

    assert response.status_code == 302 and response["Location"] == page(claim)
    claim.refresh_from_db()
    assert claim.status == S.APPROVED
    assert mail_to(claim.customer_contact_email, kind="consent_notice") is not None
