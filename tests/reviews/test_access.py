"""Who gets into each reviewer admin page and button: reviewers and leads in, partners and strangers out.

Every page is tried by a reviewer, a review lead, a partner's Global admin, a partner's read-only
member and an anonymous visitor; a refused visitor changes nothing, and no GET changes anything.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from claims.models import Claim
from tests.factories import claim_in

from .admin_pages import (
    assign_url,
    button,
    checklist_url,
    client_for,
    comment_url,
    consent_url,
    document_url,
    is_admin_login_redirect,
    page,
    person,
    queue,
    sla_url,
    stored,
)

pytestmark = pytest.mark.django_db
S = Claim.Status

GET_PAGES: dict[str, Callable[[Claim], str]] = {
    "queue": lambda claim: queue(),
    "queue, breached filter": lambda claim: queue() + "?sla=breached&assigned=me&competing=yes",
    "claim page": page,
    "request information form": lambda claim: button(claim, "request_information"),
    "reject form": lambda claim: button(claim, "reject"),
    "document download": lambda claim: document_url(claim.documents.get()),
    "document preview": lambda claim: document_url(claim.documents.get()) + "?inline=1",
    "SLA overview": lambda claim: sla_url(),
}
POST_BUTTONS: dict[str, tuple[Callable[[Claim], str], dict[str, object]]] = {
    "approve": (lambda claim: button(claim, "approve"), {"seen_status": S.UNDER_REVIEW}),
    "reject": (
        lambda claim: button(claim, "reject"),
        {"sub_reasons": ["poe_unavailable"], "comment": "No PoE.", "seen_status": S.UNDER_REVIEW},
    ),
    "request information": (
        lambda claim: button(claim, "request_information"),
        {"reasons": ["missing_products"], "comment": "Name the products.", "seen_status": S.UNDER_REVIEW},
    ),
    "comment": (comment_url, {"body": "Looks fine.", "visibility": "partner"}),
    "checklist": (checklist_url, {"passed": ["missing_all_poe"]}),
    "assign to me": (assign_url, {"to": "me"}),
    "consent notice": (consent_url, {"email": "someone@northwind.example"}),
}


@pytest.fixture
def claim() -> Claim:
    return claim_in(S.UNDER_REVIEW, name="Reviewed claim")


@pytest.mark.parametrize("who", ["reviewer", "lead"])
def test_reviewers_open_every_page_and_no_get_changes_anything(claim: Claim, who: str) -> None:
    client = client_for(person(who))
    before = stored()

    answers = {name: client.get(url(claim)) for name, url in GET_PAGES.items()}

    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "queue": 200,
        "queue, breached filter": 200,
        "claim page": 200,
        "request information form": 200,
        "reject form": 200,
        "document download": 200,
        "document preview": 200,
        "SLA overview": 200 if who == "lead" else 403,
    }
    assert "Reviewed claim" in answers["queue"].content.decode()
    assert b"".join(answers["document download"].streaming_content).startswith(b"%PDF-")
    assert stored() == before


@pytest.mark.parametrize("who", ["partner_admin", "partner_member", "anonymous"])
def test_partners_and_strangers_are_sent_to_the_admin_login_and_change_nothing(
    claim: Claim, who: str
) -> None:
    client = client_for(person(who, claim))
    before = stored()

    for name, url in GET_PAGES.items():
        assert is_admin_login_redirect(client.get(url(claim))), name
    for name, (url, data) in POST_BUTTONS.items():
        assert is_admin_login_redirect(client.post(url(claim), data)), name
    assert is_admin_login_redirect(
        client.post(queue(), {"action": "start_review_action", "_selected_action": [claim.pk]})
    )

    assert stored() == before


@pytest.mark.parametrize("who", ["staff_without_group", "superuser"])
def test_staff_outside_the_reviewer_groups_cannot_press_a_button(claim: Claim, who: str) -> None:
    client = client_for(person(who))
    before = stored()

    for name, (url, data) in POST_BUTTONS.items():
        assert client.post(url(claim), data).status_code == 403, name
    assert client.get(document_url(claim.documents.get())).status_code == 403
    queue_status = client.get(queue()).status_code

    assert queue_status == (200 if who == "superuser" else 403)
    assert stored() == before


@pytest.mark.parametrize("who", ["reviewer", "lead"])
def test_a_get_on_a_button_changes_nothing(claim: Claim, who: str) -> None:
    client = client_for(person(who))
    before = stored()

    approve = client.get(button(claim, "approve"))
    start = client.get(button(claim, "start_review"))
    for url in (comment_url(claim), checklist_url(claim), assign_url(claim), consent_url(claim)):
        assert client.get(url).status_code == 405, url

    assert approve.status_code == 200  # the confirmation page; only its POST approves
    assert start.status_code == 302 and start["Location"] == page(claim)
    assert stored() == before


def test_a_draft_is_the_partners_alone() -> None:
    draft_claim = claim_in(S.EDITING, name="Private draft")
    client = client_for(person("lead"))

    listed = client.get(queue()).content.decode()
    opened = client.get(page(draft_claim))
    file = client.get(document_url(draft_claim.documents.get()))

    assert "Private draft" not in listed
    assert opened.status_code == 302  # the admin's "does not exist" redirect to the index
    assert file.status_code == 404


def test_unknown_and_non_reviewer_actions_have_no_button(claim: Claim) -> None:
    client = client_for(person("lead"))
    before = stored()

    for action in ("withdraw", "supersede", "expire", "deny_consent", "submit", "no_such_thing"):
        assert client.post(button(claim, action), {"seen_status": claim.status}).status_code == 404, action

    assert stored() == before
