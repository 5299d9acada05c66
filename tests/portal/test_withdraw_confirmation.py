"""Withdrawing a claim asks for confirmation with a checkbox (no script needed), and nobody but the
claim's managing users can withdraw it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent
from tests.factories import claim_in
from tests.portal.claim_page_html import page
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

S = Claim.Status


def test_withdraw_asks_for_confirmation_without_javascript(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.UNDER_REVIEW, partner=manager.membership.partner, by=manager)
    html = page(manager_client, claim)
    withdraw = html[html.index('id="withdraw"') :]
    withdraw = withdraw[: withdraw.index("</details>")]
    assert 'name="withdraw-confirm"' in withdraw and 'type="checkbox"' in withdraw
    assert "onclick" not in withdraw and "<script" not in withdraw
    url = reverse("claims:withdraw", args=[claim.pk])
    response = manager_client.post(url, {"withdraw-reason": "wrong_activity"})
    assert response.status_code == 400
    assert "Tick the box to confirm that you withdraw the claim." in response.content.decode()
    assert 'id="withdraw" class="action" open' in response.content.decode()  # the form is open again
    assert Claim.objects.get(pk=claim.pk).status == S.UNDER_REVIEW
    assert not ClaimEvent.objects.filter(claim=claim, action="withdraw").exists()
    response = manager_client.post(url, {"withdraw-reason": "wrong_activity", "withdraw-confirm": "on"})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == S.REJECTED and claim.rejection_reason == "partner_request"
    assert ClaimEvent.objects.filter(claim=claim, action="withdraw", actor=manager).exists()


@pytest.mark.parametrize("who", ["member", "outsider", "anonymous"])
def test_withdraw_by_anyone_else_changes_nothing(who: str, manager: Any, member: Any, outsider: Any) -> None:
    claim = claim_in(S.UNDER_REVIEW, partner=manager.membership.partner, by=manager)
    client = client_for({"member": member, "outsider": outsider, "anonymous": None}[who])
    response = client.post(
        reverse("claims:withdraw", args=[claim.pk]),
        {"withdraw-reason": "wrong_mpn", "withdraw-confirm": "on"},
    )
    assert response.status_code == {"member": 403, "outsider": 404, "anonymous": 302}[who]
    assert Claim.objects.get(pk=claim.pk).status == S.UNDER_REVIEW
