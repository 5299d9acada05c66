"""The claim page's words are true to the state (an upheld dispute is final, a disputed claim says
who decides), and no state and role shows an empty "What you can do now" panel."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from claims import workflow
from claims.actors import SYSTEM
from claims.models import Claim
from tests.factories import claim_in, reviewer
from tests.portal.claim_page_html import forms_posting_to, page, section

pytestmark = pytest.mark.django_db

S = Claim.Status


def test_an_upheld_dispute_is_final_not_a_passed_window(manager: Any, manager_client: Client) -> None:
    rita = reviewer(email="rita@cpor.example")
    leo = reviewer(lead=True, email="leo@cpor.example")
    claim = claim_in(S.DISPUTED, partner=manager.membership.partner, by=manager, review_by=rita)
    workflow.transition(claim, "uphold_rejection", by=leo, comment="The SOW does not name the customer.")
    html = page(manager_client, claim)
    assert "the rejection stands after your dispute" in html
    assert "This decision is final" in html
    assert "The SOW does not name the customer." in html
    assert "The dispute window has passed" not in html
    assert forms_posting_to(html, "claims:dispute", claim) == 0
    assert forms_posting_to(html, "claims:copy", claim) == 1


def test_a_disputed_claim_says_who_decides_and_shows_no_empty_panel(
    manager: Any, manager_client: Client
) -> None:
    claim = claim_in(S.DISPUTED, partner=manager.membership.partner, by=manager)
    html = page(manager_client, claim)
    assert "A review lead decides the dispute: never the reviewer who rejected the claim." in html
    assert "What you can do now" not in html


def _claims_in_every_state(manager: Any) -> dict[str, Claim]:
    partner = manager.membership.partner
    rita = reviewer(email="rita@cpor.example")
    leo = reviewer(lead=True, email="leo@cpor.example")
    claims = {
        status: claim_in(status, partner=partner, by=manager, review_by=rita, name=f"In {status}")
        for status in S.values
        if status != S.ASSOCIATED
    }
    associated = claim_in(S.APPROVED, partner=partner, by=manager, review_by=rita, name="Associated")
    with time_machine.travel(associated.consent_window_ends_at + dt.timedelta(minutes=1)):
        claims[S.ASSOCIATED] = workflow.transition(associated, "close_consent_window", by=SYSTEM)
    upheld = claim_in(S.DISPUTED, partner=partner, by=manager, review_by=rita, name="Upheld")
    claims["upheld"] = workflow.transition(upheld, "uphold_rejection", by=leo, comment="Stands.")
    withdrawn = claim_in(S.SUBMITTED, partner=partner, by=manager, name="Withdrawn")
    claims["withdrawn"] = workflow.transition(withdrawn, "withdraw", by=manager, reason="wrong_mpn")
    return claims


def test_no_state_and_role_shows_an_empty_actions_panel(
    manager: Any, manager_client: Client, member_client: Client
) -> None:
    claims = _claims_in_every_state(manager)
    for state, claim in claims.items():
        for role, client in (("manager", manager_client), ("member", member_client)):
            html = page(client, claim)
            panel = section(html, "actions-heading")
            if panel:
                assert "<form" in panel or 'class="button"' in panel, (state, role)
            if role == "member":
                assert "<form" not in panel, (state, role)
    # What a manager can do where it matters.
    assert section(page(manager_client, claims[S.EDITING]), "actions-heading")
    assert section(page(manager_client, claims["upheld"]), "actions-heading")  # start a new claim
