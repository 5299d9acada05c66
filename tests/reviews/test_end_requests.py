"""A customer's request to end an association, on the review leads' side of the admin.

The queue flags the associated claims whose customer asked to end them, and filters them; the claim
page shows the request and its history; a review lead ends the association (`end_association`) or
declines the request, each through the workflow; a plain reviewer sees the request and decides
nothing. An ended association is disputed like any rejection, and the lead who ended it does not
decide the dispute.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import workflow
from claims.models import AssociationEndRequest, Claim, ClaimEvent, RejectionReason
from cpor import outbox
from tests.factories import PartnerFactory, claim_in, mail_to, manager_of, reviewer

from .admin_pages import (
    button,
    client_for,
    is_admin_login_redirect,
    messages_of,
    page,
    person,
    queue,
    sla_url,
    stored,
)

pytestmark = pytest.mark.django_db
S = Claim.Status
Outcome = AssociationEndRequest.Outcome
# A Tuesday in March: the 30-day dispute window and the business days around it cross no US holiday.
T0 = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)
BUTTON = re.compile(r'/review/([a-z_]+)/"')
CUSTOMER_EMAIL = "it-admin@northwind.example"
CUSTOMER_REASON = "We stopped working with this partner in January; our own staff run Sales now."


@pytest.fixture(autouse=True)
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def associated(**fields: Any) -> Claim:
    """An approved claim whose opt-out window closed: associated, through the workflow."""
    claim = claim_in(S.APPROVED, **fields)
    with time_machine.travel(claim.consent_window_ends_at + dt.timedelta(seconds=1), tick=False):
        workflow.transition(claim.pk, "close_consent_window", by=workflow.SYSTEM)
    claim.refresh_from_db()
    assert claim.status == S.ASSOCIATED
    return claim


def asked_to_end(claim: Claim, reason: str = CUSTOMER_REASON) -> AssociationEndRequest:
    return workflow.request_end_association(
        claim.pk, customer_email=CUSTOMER_EMAIL, language="en", reason=reason
    )


def end_requests() -> list[tuple[Any, ...]]:
    return list(
        AssociationEndRequest.objects.order_by("pk").values_list(
            "pk", "claim_id", "outcome", "decided_by_id", "decision_note"
        )
    )


def everything() -> dict[str, list[Any]]:
    return {**stored(), "end_requests": end_requests()}


def decline_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_decline_end_request", args=[claim.pk])


def listed(response: Any) -> list[int]:
    return [claim.pk for claim in response.context["cl"].result_list]


def buttons_on(html: str) -> set[str]:
    return set(BUTTON.findall(html))


# ---------------------------------------------------------------------------------------------
# The queue


def test_the_queue_flags_a_waiting_request_and_the_filter_lists_only_those() -> None:
    waiting = associated(name="Northwind Sales rollout")
    asked_to_end(waiting)
    quiet = associated()
    declined = associated()
    asked_to_end(declined)
    workflow.decline_end_request(declined.pk, by=reviewer(lead=True), reason="The SOW runs to June.")
    under_review = claim_in(S.UNDER_REVIEW)
    client = client_for(reviewer(lead=True))

    html = client.get(queue()).content.decode()
    filtered = client.get(queue() + "?end_request=waiting")

    assert html.count('class="end-request-flag"') == 1
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*#{waiting.pk} Northwind Sales rollout.*?</tr>", html, re.S)
    assert row and "Customer asked to end" in row.group(0)
    assert listed(filtered) == [waiting.pk]
    assert {quiet.pk, declined.pk, under_review.pk} <= set(listed(client.get(queue())))
    # The filter is in the sidebar under its own title.
    assert "Customer asked to end the association" in html
    assert 'href="?end_request=waiting"' in html


def test_a_lead_finds_the_waiting_requests_from_the_top_of_the_queue() -> None:
    first, second = associated(), associated()
    lead, plain = client_for(reviewer(lead=True)), client_for(reviewer())
    link = f'href="{queue()}?end_request=waiting"'

    assert link not in lead.get(queue()).content.decode()  # nothing waits: no link
    asked_to_end(first)
    one = lead.get(queue()).content.decode()
    asked_to_end(second)
    two = lead.get(queue()).content.decode()

    assert link in one and "A customer asked to end an association" in one
    assert link in two and "Customers asked to end 2 associations" in two
    # Reviewers see the flag and the filter; deciding is a lead's, so the link is a lead's.
    html = plain.get(queue()).content.decode()
    assert link not in html and html.count('class="end-request-flag"') == 2


def clone_associated(claim: Claim, count: int, *, asked: bool) -> None:
    """`count` copies of an associated claim (and of its pending request, when `asked`), written
    directly: the queue reads them, nothing moves them."""
    partners = [PartnerFactory() for _ in range(3)]
    copies = []
    for index in range(count):
        copy = Claim.objects.get(pk=claim.pk)
        copy.pk = None
        copy.partner = partners[index % 3]
        copy.name = f"Copy {index}"
        copy.customer_tenant_id = uuid.uuid4()
        copies.append(copy)
    Claim.objects.bulk_create(copies)
    through = Claim.products.through
    products = list(claim.products.values_list("pk", flat=True))
    through.objects.bulk_create(through(claim_id=c.pk, product_id=p) for c in copies for p in products)
    if asked:
        AssociationEndRequest.objects.bulk_create(
            AssociationEndRequest(claim=c, requested_by_email=CUSTOMER_EMAIL, reason=CUSTOMER_REASON)
            for c in copies
        )


def queries_for(client: Any, url: str) -> list[str]:
    client.get(url)  # warm the session and the user's permission caches alike
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("query", ["", "?end_request=waiting"])
def test_the_queue_runs_as_many_queries_for_10_requests_as_for_1(query: str) -> None:
    first = associated()
    asked_to_end(first)
    clone_associated(first, 5, asked=False)
    client = client_for(reviewer(lead=True))
    one = queries_for(client, queue() + query)
    clone_associated(first, 9, asked=True)
    ten = queries_for(client, queue() + query)

    assert AssociationEndRequest.objects.filter(outcome=Outcome.PENDING).count() == 10
    assert len(one) == len(ten)
    html = client.get(queue() + query).content.decode()
    assert html.count('class="end-request-flag"') == 10


# ---------------------------------------------------------------------------------------------
# The claim page


def test_a_lead_sees_the_request_and_both_decisions() -> None:
    claim = associated()
    asked_to_end(claim)

    html = client_for(reviewer(lead=True)).get(page(claim)).content.decode()

    assert "Customer's request to end the association" in html
    assert CUSTOMER_EMAIL in html and CUSTOMER_REASON in html
    assert "Waiting for a review lead" in html
    assert buttons_on(html) == {"end_association"}
    assert "End association…" in html
    assert f'action="{decline_url(claim)}"' in html
    assert '<textarea name="reason"' in html and "Decline the request" in html


def test_a_plain_reviewer_sees_the_request_and_no_decision() -> None:
    claim = associated()
    asked_to_end(claim)

    html = client_for(reviewer()).get(page(claim)).content.decode()

    assert CUSTOMER_EMAIL in html and CUSTOMER_REASON in html
    assert "A review lead decides this request." in html
    assert buttons_on(html) == set()
    assert decline_url(claim) not in html and "Decline the request" not in html


def test_no_end_button_without_a_request() -> None:
    claim = associated()

    html = client_for(reviewer(lead=True)).get(page(claim)).content.decode()

    assert buttons_on(html) == set()
    assert "request to end the association" not in html


# ---------------------------------------------------------------------------------------------
# Ending the association


def test_a_lead_ends_the_association_through_the_admin(clock: Any) -> None:
    claim = associated()
    request = asked_to_end(claim)
    leo = reviewer(lead=True)
    client = client_for(leo)
    before = everything()

    form = client.get(button(claim, "end_association"))
    without_comment = client.post(
        button(claim, "end_association"), {"seen_status": S.ASSOCIATED, "comment": " "}
    )

    assert form.status_code == 200
    html = form.content.decode()
    assert CUSTOMER_EMAIL in html and CUSTOMER_REASON in html
    assert '<textarea name="comment"' in html and 'value="End association"' in html
    assert (
        without_comment.status_code == 200 and "This field is required." in without_comment.content.decode()
    )
    assert everything() == before

    clock.move_to(T0 + dt.timedelta(hours=2))
    done = client.post(
        button(claim, "end_association"),
        {"seen_status": S.ASSOCIATED, "comment": "The customer ended the engagement in January."},
    )

    assert done.status_code == 302 and done["Location"] == page(claim)
    claim.refresh_from_db()
    request.refresh_from_db()
    ended_at = T0 + dt.timedelta(hours=2)
    assert (claim.status, claim.rejection_reason, claim.rejected_by) == (
        S.REJECTED,
        RejectionReason.CUSTOMER_REQUEST,
        leo,
    )
    assert claim.dispute_window_ends_at == ended_at + dt.timedelta(days=30)
    assert (request.outcome, request.decided_by, request.decided_at) == (Outcome.GRANTED, leo, ended_at)
    assert request.decision_note == "The customer ended the engagement in January."
    assert (
        ClaimEvent.objects.filter(claim=claim, action="end_association").values_list(
            "from_status", "to_status"
        )
    ).get() == (S.ASSOCIATED, S.REJECTED)
    assert messages_of(done) == [f"Claim #{claim.pk}: Association ended at the customer's request."]
    told = mail_to(claim.partner_contact_email, kind="claim_rejected")
    assert "The customer ended the engagement in January." in outbox.render(told)[1]
    assert mail_to(CUSTOMER_EMAIL, kind="end_request_granted_customer")

    # The page now shows the request among the decided ones, and no decision is left.
    html = client.get(page(claim)).content.decode()
    assert "Earlier requests" in html and "Association ended" in html
    assert buttons_on(html) == set() and decline_url(claim) not in html


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_plain_reviewer_cannot_end_an_association(method: str) -> None:
    claim = associated()
    asked_to_end(claim)
    client = client_for(reviewer())
    before = everything()

    response = getattr(client, method)(
        button(claim, "end_association"), {"seen_status": S.ASSOCIATED, "comment": "Ending it."}
    )

    assert response.status_code == 302 and response["Location"] == page(claim)
    assert everything() == before
    refusal = {
        "get": "“End association” is not possible for you on this claim now "
        "(it is Approved · sent for incentive assessment).",
        "post": "You are not allowed to do this on this claim.",
    }
    assert messages_of(response) == [refusal[method]]


@pytest.mark.parametrize("method", ["get", "post"])
def test_no_association_ends_without_a_pending_request(method: str) -> None:
    claim = associated()
    client = client_for(reviewer(lead=True))
    before = everything()

    response = getattr(client, method)(
        button(claim, "end_association"), {"seen_status": S.ASSOCIATED, "comment": "Ending it."}
    )

    assert response.status_code == 302 and response["Location"] == page(claim)
    assert everything() == before
    assert messages_of(response) == ["The customer has not asked to end this association."]


# ---------------------------------------------------------------------------------------------
# Declining the request


def test_a_lead_declines_the_request_and_the_customer_is_told_why() -> None:
    claim = associated()
    request = asked_to_end(claim)
    leo = reviewer(lead=True)
    client = client_for(leo)

    response = client.post(decline_url(claim), {"reason": "Your SOW with the partner runs until June."})

    assert response.status_code == 302 and response["Location"] == page(claim)
    request.refresh_from_db()
    claim.refresh_from_db()
    assert claim.status == S.ASSOCIATED
    assert (request.outcome, request.decided_by, request.decided_at) == (Outcome.DECLINED, leo, T0)
    assert request.decision_note == "Your SOW with the partner runs until June."
    assert ClaimEvent.objects.filter(claim=claim, action="end_request_declined").count() == 1
    told = mail_to(CUSTOMER_EMAIL, kind="end_request_declined_customer")
    assert "Your SOW with the partner runs until June." in outbox.render(told)[1]
    assert messages_of(response) == [
        f"Claim #{claim.pk}: the request to end the association is declined; the customer is told why."
    ]
    html = client.get(page(claim)).content.decode()
    assert "Request declined" in html and buttons_on(html) == set() and decline_url(claim) not in html


@pytest.mark.parametrize(
    ("who", "data", "message"),
    [
        ("lead", {"reason": "  "}, "Write the reason the customer will read."),
        ("lead", {}, "Write the reason the customer will read."),
        ("lead", {"reason": "x" * 5001}, "Ensure this value has at most 5000 characters (it has 5001)."),
        ("lead", {"reason": "null\x00byte"}, "Null characters are not allowed."),
        (
            "reviewer",
            {"reason": "It stays."},
            "Only a review lead can decide a request to end an association.",
        ),
    ],
)
def test_a_decline_is_refused_with_a_message_and_changes_nothing(who: str, data: dict, message: str) -> None:
    claim = associated()
    asked_to_end(claim)
    client = client_for(person(who))
    before = everything()

    response = client.post(decline_url(claim), data)

    assert response.status_code == 302 and response["Location"] == page(claim)
    assert messages_of(response) == [message]
    assert everything() == before


def test_declining_twice_or_without_a_request_is_a_message() -> None:
    claim = associated()
    client = client_for(reviewer(lead=True))
    before = everything()

    response = client.post(decline_url(claim), {"reason": "It stays."})

    assert messages_of(response) == ["There is no pending request to end this association."]
    assert everything() == before


@pytest.mark.parametrize("who", ["partner_admin", "partner_member", "anonymous", "staff_without_group"])
def test_outsiders_cannot_decline(who: str) -> None:
    claim = associated()
    asked_to_end(claim)
    client = client_for(person(who, claim))
    before = everything()

    response = client.post(decline_url(claim), {"reason": "It stays."})

    if who == "staff_without_group":
        assert response.status_code == 403
    else:
        assert is_admin_login_redirect(response)
    assert everything() == before


def test_decline_is_post_only_and_a_draft_or_unknown_claim_is_not_found() -> None:
    claim = associated()
    asked_to_end(claim)
    draft_claim = claim_in(S.EDITING)
    client = client_for(reviewer(lead=True))
    before = everything()

    assert client.get(decline_url(claim)).status_code == 405
    assert client.head(decline_url(claim)).status_code == 405
    assert client.post(decline_url(draft_claim), {"reason": "x"}).status_code == 404
    assert (
        client.post(f"/admin/claims/claim/{10**9}/end-request/decline/", {"reason": "x"}).status_code == 404
    )
    assert everything() == before


def test_decline_needs_the_csrf_token() -> None:
    from django.test import Client

    claim = associated()
    asked_to_end(claim)
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer(lead=True))
    before = everything()

    assert client.post(decline_url(claim), {"reason": "It stays."}).status_code == 403
    assert everything() == before


# ---------------------------------------------------------------------------------------------
# The dispute of an ended association


def ended_and_disputed(leo: Any, **fields: Any) -> Claim:
    claim = associated(**fields)
    asked_to_end(claim)
    workflow.transition(claim.pk, "end_association", by=leo, comment="Ended at the customer's request.")
    claim = workflow.transition(
        claim.pk, "dispute", by=manager_of(claim), justification="The customer renewed with us in February."
    )
    assert claim.status == S.DISPUTED
    return claim


def test_the_lead_who_ended_it_does_not_decide_its_dispute() -> None:
    leo = reviewer(lead=True)
    claim = ended_and_disputed(leo)
    client = client_for(leo)

    html = client.get(page(claim)).content.decode()
    before = everything()
    refused = client.post(button(claim, "reopen"), {"seen_status": S.DISPUTED})
    refused_form = client.get(button(claim, "uphold_rejection"))

    assert buttons_on(html) == set()
    assert "You ended this association, so another review lead decides its dispute" in html
    assert everything() == before
    assert refused.status_code == refused_form.status_code == 302
    claim.refresh_from_db()
    assert claim.status == S.DISPUTED


@pytest.mark.parametrize(
    ("action", "data", "status"),
    [
        ("reopen", {}, S.UNDER_REVIEW),
        ("uphold_rejection", {"comment": "The customer's request stands."}, S.REJECTED),
    ],
)
def test_another_lead_decides_the_dispute(action: str, data: dict, status: str) -> None:
    claim = ended_and_disputed(reviewer(lead=True))
    ann = reviewer(lead=True)
    client = client_for(ann)

    html = client.get(page(claim)).content.decode()
    response = client.post(button(claim, action), {"seen_status": S.DISPUTED, **data})

    assert buttons_on(html) == {"reopen", "uphold_rejection"}
    assert "You ended this association" not in html
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == status
    assert ClaimEvent.objects.filter(claim=claim, action=action, actor=ann).count() == 1


# ---------------------------------------------------------------------------------------------
# The SLA overview, valid HTML


def test_the_sla_overview_leads_to_the_waiting_requests() -> None:
    lead = client_for(reviewer(lead=True))
    link = f'href="{queue()}?end_request=waiting"'
    assert link not in lead.get(sla_url()).content.decode()

    asked_to_end(associated())

    html = lead.get(sla_url()).content.decode()
    assert link in html and "A customer asked to end an association" in html


def pages_of_end_requests() -> dict[str, tuple[Any, str]]:
    """(who looks, URL) for every page this feature adds to or changes."""
    leo, ann, rita = reviewer(lead=True), reviewer(lead=True), reviewer()
    # Names that are no message of the catalogue, so what the check finds is the page's own words.
    fields = {
        "customer_name": "Northwind Traders",
        "partner_contact_name": "Pınar Kaya",
        "technical_contact_name": "Tolga Tekin",
        "work_description": "Dynamics 365 Sales kuruldu, ekip eğitildi.",
    }
    waiting = associated(name="Kuzey yaygınlaştırma", **fields)
    asked_to_end(waiting)
    declined = associated(name="Güney yaygınlaştırma", **fields)
    asked_to_end(declined)
    workflow.decline_end_request(declined.pk, by=leo, reason="Sözleşme haziran ayına kadar sürüyor.")
    asked_to_end(declined, reason="Hâlâ sonlandırılmasını istiyoruz.")
    disputed = ended_and_disputed(leo, **fields)
    return {
        "queue": (leo, queue()),
        "queue, filtered": (leo, queue() + "?end_request=waiting"),
        "claim page, lead": (leo, page(waiting)),
        "claim page, reviewer": (rita, page(waiting)),
        "claim page, asked again": (leo, page(declined)),
        "end association form": (leo, button(waiting, "end_association")),
        "claim page, disputed, the lead who ended it": (leo, page(disputed)),
        "claim page, disputed, another lead": (ann, page(disputed)),
        "SLA overview": (leo, sla_url()),
    }


def test_the_pages_are_valid_html(tmp_path: Any) -> None:
    from tests.conftest import IN_CI
    from tests.test_html_valid import _checker_problem, nu_errors

    problem = _checker_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI checks every page with the Nu HTML checker, but {problem}")
        pytest.skip(problem)
    files = []
    for name, (who, url) in pages_of_end_requests().items():
        client = client_for(who)
        for language in ("en", "tr"):
            client.cookies["django_language"] = language
            response = client.get(url)
            assert response.status_code == 200, (name, language)
            path = tmp_path / f"{language}-{name.replace(' ', '-').replace(',', '')}.html"
            path.write_bytes(response.content)
            files.append(path)

    errors = nu_errors(files)
    assert not errors, "\n".join(f"{e.get('url')}:{e.get('lastLine')}: {e['message']}" for e in errors)
