"""The dashboard's body is cached for a minute under the partner's claims version: a repeat visit
reads it from the cache, every change the page shows is seen at once, time moves deadlines within a
minute, and what differs by role, language or filter is never shared."""

from __future__ import annotations

import datetime as dt
import re
import uuid
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
from claims.models import Claim
from tests.factories import claim_in, draft, pdf_upload

pytestmark = pytest.mark.django_db
S = Claim.Status
URL = reverse("claims:dashboard")


@pytest.fixture(autouse=True)
def _clock_held_within_a_minute() -> Iterator[None]:
    """A cached body is used within its minute: the clock stands still, so two visits never fall on
    either side of a minute's turn (the test that moves time does so itself)."""
    with time_machine.travel(timezone.now().replace(second=1, microsecond=0), tick=False):
        yield


def visit(client: Client, url: str = URL) -> tuple[str, int]:
    """The page's HTML and the number of queries it took."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(captured)


def body(html: str) -> str:
    """The page below the header (the header holds the sign-out form's per-session CSRF token)."""
    return html[html.index("</header>") :]


def claims_table(html: str) -> str:
    return html[html.index('<table class="claims">') :]


def needs_section(html: str) -> str:
    match = re.search(r'<section class="needs.*?</section>', html, re.S)
    assert match
    return match.group(0)


def test_a_repeat_visit_reads_the_body_from_the_cache(manager: Any, manager_client: Client) -> None:
    draft(by=manager, name="First draft")
    first, rendered = visit(manager_client)
    again, cached = visit(manager_client)
    assert body(again) == body(first)
    # The session, the user and the membership with its partner (and so its claims version).
    assert cached <= 3 < rendered


def test_every_change_the_page_shows_is_seen_at_once(manager: Any, manager_client: Client) -> None:
    claim = draft(by=manager, name="Before the edit", document=False)
    html, _ = visit(manager_client)
    assert "Before the edit" in html and "Drafts ready to submit" not in html

    workflow.edit_claim(claim, by=manager, changes={"name": "After the edit"})
    html, _ = visit(manager_client)
    assert "After the edit" in html and "Before the edit" not in html

    document = workflow.add_document(claim, by=manager, upload=pdf_upload())
    html, _ = visit(manager_client)
    assert f"{reverse('claims:detail', args=[claim.pk])}#submit" in needs_section(html)

    workflow.remove_document(claim, by=manager, document_id=document.pk)
    html, _ = visit(manager_client)
    assert "Drafts ready to submit" not in html

    workflow.add_document(claim, by=manager, upload=pdf_upload())
    workflow.transition(claim, "submit", by=manager)
    html, _ = visit(manager_client)
    assert "Drafts ready to submit" not in html
    assert '<span class="chip status-submitted">' in html

    second = draft(by=manager, name="Second draft", customer_tenant_id=uuid.uuid4())
    html, _ = visit(manager_client)
    assert "Second draft" in html
    workflow.delete_draft(second, by=manager)
    html, _ = visit(manager_client)
    assert "Second draft" not in html


def test_a_deadline_moves_with_the_clock_within_a_minute(manager: Any, manager_client: Client) -> None:
    start = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        claim = claim_in(S.PARTNER_ACTION_REQUIRED, by=manager, name="Waiting on us")
    due = Claim.objects.get(pk=claim.pk).partner_response_due_at
    before_due = due - dt.timedelta(seconds=30)
    with time_machine.travel(before_due, tick=False):
        html, _ = visit(manager_client)
        assert 'class="overdue"' not in needs_section(html)
        again, cached = visit(manager_client)
        assert body(again) == body(html) and cached <= 3
    # Past the deadline the overdue mark shows, from the next minute on at the latest.
    with time_machine.travel(before_due + dt.timedelta(seconds=60), tick=False):
        html, rendered = visit(manager_client)
        assert rendered > 3
        assert 'class="overdue"' in needs_section(html)


def test_roles_and_languages_never_share_a_body(
    manager: Any, manager_client: Client, member_client: Client
) -> None:
    draft(by=manager)
    managing, _ = visit(manager_client)
    assert f'href="{reverse("claims:new")}"' in managing
    reading, _ = visit(member_client)
    assert f'href="{reverse("claims:new")}"' not in reading
    assert "you can see your organization's claims but not change them" in reading

    manager_client.cookies["django_language"] = "tr"
    turkish, _ = visit(manager_client)
    assert "Müşteri ilişkilendirmeleri" in turkish and turkish != managing


def test_each_status_sort_and_page_has_its_own_body(manager: Any, manager_client: Client) -> None:
    claim_in(S.SUBMITTED, by=manager, name="Submitted one")
    draft(by=manager, name="Still a draft", customer_tenant_id=uuid.uuid4())
    everything, _ = visit(manager_client)
    assert "Submitted one" in everything and "Still a draft" in everything
    drafts, _ = visit(manager_client, f"{URL}?status=editing")
    assert "Still a draft" in drafts and "Submitted one" not in drafts
    oldest, _ = visit(manager_client, f"{URL}?sort=oldest")
    table = claims_table(oldest)
    assert table.index("Submitted one") < table.index("Still a draft")


@pytest.mark.parametrize(
    "query",
    [
        "q=Contoso",  # free text
        "activity=presales",  # a filter outside the cached states
        "status=editing&utm_source=mail",  # a parameter the page does not know
        "status=editing&status=submitted",  # a repeated one
        "page=6",  # past the first pages
        "status=not-a-status",  # an invalid value (its error is shown)
    ],
)
def test_other_requests_are_rendered_every_time(manager: Any, manager_client: Client, query: str) -> None:
    draft(by=manager)
    visit(manager_client, f"{URL}?{query}")  # fills the caches the page may use (counts, products)
    _, second = visit(manager_client, f"{URL}?{query}")
    _, third = visit(manager_client, f"{URL}?{query}")
    assert third == second > 3


def test_no_body_is_cached_when_the_setting_is_zero(
    manager: Any, manager_client: Client, settings: Any
) -> None:
    settings.CPOR_PAGE_CACHE_SECONDS = 0
    draft(by=manager)
    visit(manager_client)
    _, second = visit(manager_client)
    _, third = visit(manager_client)
    assert third == second > 3
