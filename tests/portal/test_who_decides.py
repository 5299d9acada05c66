"""Partners read who decided their dispute: a review lead, never "PoE reviewer" for a lead's decision."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from claims import workflow
from claims.models import Claim
from tests.factories import claim_in, reviewer

pytestmark = pytest.mark.django_db

S = Claim.Status


def page(client: Client, claim: Claim, language: str = "en") -> str:
    client.cookies["django_language"] = language
    response = client.get(reverse("claims:detail", args=[claim.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_an_upheld_dispute_and_the_leads_comment_name_a_review_lead(
    manager: Any, manager_client: Client
) -> None:
    rita, leo = reviewer(), reviewer(lead=True)
    claim = claim_in(S.DISPUTED, partner=manager.membership.partner, by=manager, review_by=rita)
    workflow.add_comment(claim, by=leo, body="We are looking at the signed SOW again.")
    workflow.add_comment(claim, by=rita, body="I rejected it for the missing date.")
    workflow.transition(claim, "uphold_rejection", by=leo, comment="The SOW does not name the customer.")

    html = page(manager_client, claim)
    lead_comment = html.split("We are looking at the signed SOW again.")[0].rsplit('class="meta"', 1)[1]
    rita_comment = html.split("I rejected it for the missing date.")[0].rsplit('class="meta"', 1)[1]
    assert "Review lead" in lead_comment and "PoE reviewer" not in lead_comment
    assert "PoE reviewer" in rita_comment
    history = html.split('id="history"', 1)[1]
    upheld = history.split("Rejection upheld", 1)[0].rsplit("<li", 1)[1]
    assert "Review lead" in upheld

    turkish = page(manager_client, claim, "tr")
    assert "İnceleme sorumlusu" in turkish


def test_the_leads_label_costs_no_query_per_comment(manager: Any, manager_client: Client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    leo = reviewer(lead=True)
    claim = claim_in(S.UNDER_REVIEW, partner=manager.membership.partner, by=manager, review_by=leo)
    workflow.add_comment(claim, by=leo, body="First.")
    with CaptureQueriesContext(connection) as one:
        page(manager_client, claim)
    for n in range(5):
        workflow.add_comment(claim, by=reviewer(lead=n % 2 == 0), body=f"More {n}.")
    with CaptureQueriesContext(connection) as six:
        page(manager_client, claim)
    assert len(six.captured_queries) == len(one.captured_queries)


def test_a_filed_dispute_says_a_review_lead_answers(manager: Any, manager_client: Client) -> None:
    claim = claim_in(S.REJECTED, partner=manager.membership.partner, by=manager)
    response = manager_client.post(
        reverse("claims:dispute", args=[claim.pk]),
        {"dispute-justification": "Page 2 names the customer."},
        follow=True,
    )
    html = response.content.decode()
    assert Claim.objects.get(pk=claim.pk).status == S.DISPUTED
    assert "A review lead answers within five business days." in html
    assert "Reviewers answer" not in html
