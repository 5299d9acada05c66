"""Other apps' panels on the reviewer's claim page come through `claims.contributions`: consent's
notices are there because consent registered them, and the page shows whatever is registered."""

from __future__ import annotations

from typing import Any

import pytest

from claims.contributions import ClaimPagePanel, claim_page_panels, register_claim_page_panel
from claims.models import Claim
from consent.claim_page import PANEL as CONSENT_PANEL
from reviews.claim_page import review_page
from tests.factories import claim_in, reviewer

from .admin_pages import consent_url

pytestmark = pytest.mark.django_db
S = Claim.Status


def _no_rows(claim: Claim, user: Any) -> dict[str, Any]:
    return {"rows": []}


def test_consent_registers_its_panel_at_start_up_and_the_page_links_its_action() -> None:
    claim = claim_in(S.APPROVED)

    (panel,) = [p for p in review_page(claim, reviewer()).panels if p.template == CONSENT_PANEL.template]

    assert CONSENT_PANEL in claim_page_panels()
    assert panel.action_url == consent_url(claim)
    assert [notice.claim_id for notice in panel.context["requests"]] == [claim.pk]
    assert panel.context["form"] is not None


def test_the_page_shows_every_registered_panel_in_order_and_one_without_action_has_no_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from claims import contributions

    monkeypatch.setattr(contributions, "_panels", dict(contributions._panels))
    read_only = ClaimPagePanel(name="read_only_rows", template="rows.html", read=_no_rows)
    register_claim_page_panel(read_only)
    claim = claim_in(S.UNDER_REVIEW)

    panels = review_page(claim, reviewer()).panels

    assert [p.template for p in panels] == [CONSENT_PANEL.template, "rows.html"]
    assert (panels[1].context, panels[1].action_url) == ({"rows": []}, "")
    assert panels[0].context["form"] is None  # consent offers its resend form only while approved


def test_a_panel_registers_once_and_a_second_panel_cannot_take_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from claims import contributions

    monkeypatch.setattr(contributions, "_panels", dict(contributions._panels))

    register_claim_page_panel(CONSENT_PANEL)
    with pytest.raises(ValueError, match="consent_notice"):
        register_claim_page_panel(ClaimPagePanel(name="consent_notice", template="other.html", read=_no_rows))

    assert claim_page_panels().count(CONSENT_PANEL) == 1
    assert [p.template for p in claim_page_panels()] == [CONSENT_PANEL.template]
