"""The claim page's body is cached for a minute per user, claim and partner claims version: a
repeat visit reads it from the cache, every change the page shows is seen at once, its forms carry
the visitor's own CSRF token, and a page answering a form is never cached."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from claims import workflow
from claims.models import Claim, Membership
from tests.factories import claim_in, draft, pdf_upload, reviewer
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db
S = Claim.Status
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _clock_held_within_a_minute() -> Iterator[None]:
    """A cached body is used within its minute: the clock stands still, so two visits never fall on
    either side of a minute's turn (the test that moves time does so itself)."""
    with time_machine.travel(timezone.now().replace(second=1, microsecond=0), tick=False):
        yield


def visit(client: Client, claim: Claim) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("claims:detail", args=[claim.pk]))
    assert response.status_code == 200
    return response.content.decode(), len(captured)


def body(html: str) -> str:
    """Below the header, with the per-request masking of the CSRF token taken out."""
    return TOKEN.sub('name="csrfmiddlewaretoken" value=""', html[html.index("</header>") :])


def test_a_repeat_visit_reads_the_body_from_the_cache(manager: Any, manager_client: Client) -> None:
    claim = draft(by=manager, name="Cached claim")
    first, rendered = visit(manager_client, claim)
    again, cached = visit(manager_client, claim)
    assert body(again) == body(first)
    assert "<title>#" in again and "Cached claim" in again
    assert cached <= 3 < rendered
    assert "csrf-slot-" not in again  # every slot was replaced by a token


def test_a_cached_page_posts_with_the_visitors_own_token(manager: Any) -> None:
    claim = claim_in(S.UNDER_REVIEW, by=manager)
    warm = client_for(manager)
    visit(warm, claim)  # cached by this user's first session
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager)
    html, cached = visit(strict, claim)
    assert cached <= 3
    # The sign-out form in the header and the claim's own forms below it, each with a token.
    tokens = TOKEN.findall(html)
    assert len(tokens) >= 2 and all(tokens)
    response = strict.post(
        reverse("claims:comment", args=[claim.pk]),
        {"comment-body": "Posted from a cached page", "csrfmiddlewaretoken": tokens[-1]},
    )
    assert response.status_code == 302
    html, _ = visit(strict, claim)
    assert "Posted from a cached page" in html


def test_every_change_the_page_shows_is_seen_at_once(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.UNDER_REVIEW, by=manager)
    visit(manager_client, claim)

    workflow.add_comment(claim, by=manager, body="Our note to the reviewer")
    html, _ = visit(manager_client, claim)
    assert "Our note to the reviewer" in html

    rita = reviewer()
    workflow.add_comment(claim, by=rita, body="The reviewer's question", partner_visible=True)
    html, _ = visit(manager_client, claim)
    assert "The reviewer&#x27;s question" in html

    workflow.transition(
        claim, "request_information", by=rita, reasons=["missing_products"], comment="Name it"
    )
    html, _ = visit(manager_client, claim)
    assert '<span class="chip status-partner_action_required">' in html

    workflow.add_document(claim, by=manager, upload=pdf_upload("second-poe.pdf"))
    html, _ = visit(manager_client, claim)
    assert "second-poe.pdf" in html


def test_users_never_share_a_body(manager: Any, manager_client: Client, member_client: Client) -> None:
    claim = draft(by=manager)
    managing, _ = visit(manager_client, claim)
    assert reverse("claims:submit", args=[claim.pk]) in managing
    reading, _ = visit(member_client, claim)
    assert reverse("claims:submit", args=[claim.pk]) not in reading


def test_another_partners_claim_stays_unknown(
    manager: Any, manager_client: Client, outsider_client: Client
) -> None:
    claim = draft(by=manager)
    visit(manager_client, claim)
    assert outsider_client.get(reverse("claims:detail", args=[claim.pk])).status_code == 404


def test_a_page_answering_a_form_is_never_cached(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.UNDER_REVIEW, by=manager)
    visit(manager_client, claim)
    refused = manager_client.post(reverse("claims:comment", args=[claim.pk]), {"comment-body": ""})
    assert refused.status_code == 400
    assert 'class="error-summary"' in refused.content.decode()
    html, _ = visit(manager_client, claim)
    assert 'class="error-summary"' not in html


def test_no_body_is_cached_when_the_setting_is_zero(
    manager: Any, manager_client: Client, settings: Any
) -> None:
    settings.CPOR_PAGE_CACHE_SECONDS = 0
    claim = draft(by=manager)
    _, first = visit(manager_client, claim)
    _, second = visit(manager_client, claim)
    assert second == first > 3


def test_a_customers_end_request_is_seen_at_once(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.APPROVED, by=manager)
    with time_machine.travel(claim.consent_window_ends_at + dt.timedelta(seconds=1), tick=False):
        workflow.transition(claim.pk, "close_consent_window", by=workflow.SYSTEM)
        visit(manager_client, claim)
        workflow.request_end_association(
            claim.pk,
            customer_email=claim.customer_contact_email,
            language="en",
            reason="We work with another partner now",
        )
        html, _ = visit(manager_client, claim)
    assert "We work with another partner now" in html


def test_a_role_changed_is_seen_at_once(manager: Any, manager_client: Client) -> None:
    claim = draft(by=manager)
    managing, _ = visit(manager_client, claim)
    assert reverse("claims:submit", args=[claim.pk]) in managing
    Membership.objects.filter(user=manager).update(role=Membership.Role.MEMBER)
    reading, _ = visit(manager_client, claim)
    assert reverse("claims:submit", args=[claim.pk]) not in reading
