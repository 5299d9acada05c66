"""After the opt-out window a signed-in customer asks the review team to end an association: a
reason is required, only an associated claim takes it, and a second request is refused politely."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from claims.models import AssociationEndRequest, Claim, ClaimEvent
from consent.tasks import close_consent_windows
from cpor.models import OutboundEmail
from tests.consent.portal_helpers import association, signed_in, tenant
from tests.factories import reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status
NINA = "nina@northwind.example"


def fingerprint(claim: Claim) -> tuple[Any, ...]:
    claim.refresh_from_db()
    return (
        claim.status,
        list(AssociationEndRequest.objects.filter(claim=claim).values_list("pk", "outcome")),
        list(ClaimEvent.objects.filter(claim=claim).values_list("pk", flat=True)),
        OutboundEmail.objects.count(),
    )


@pytest.fixture
def after_the_window() -> Any:
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)) as traveller:
        yield traveller


@pytest.fixture
def associated(after_the_window: Any) -> Claim:
    reviewer(lead=True)  # someone to tell
    with time_machine.travel(timezone.now() - dt.timedelta(days=8)):
        claim = association(tenant())
    assert close_consent_windows() == 1
    claim.refresh_from_db()
    assert claim.status == S.ASSOCIATED
    return claim


def ask(client: Client, claim: Claim, reason: str | None) -> Any:
    data = {} if reason is None else {"reason": reason}
    return client.post(reverse("consent:customer_request_end", args=[claim.pk]), data)


def test_the_request_goes_to_the_review_team_and_the_page_says_so(associated: Claim) -> None:
    nina = signed_in(NINA)
    page = nina.get(reverse("consent:customer_association", args=[associated.pk])).content.decode()
    assert "Ask to end this association" in page
    response = ask(nina, associated, "We stopped working with this partner in March.")
    assert response.status_code == 302
    request = AssociationEndRequest.objects.get(claim=associated)
    assert request.outcome == "pending" and request.requested_by_email == NINA
    assert request.reason == "We stopped working with this partner in March."
    assert (
        ClaimEvent.objects.filter(claim=associated, action="end_requested", actor_kind="customer").count()
        == 1
    )
    assert set(
        OutboundEmail.objects.filter(kind__startswith="end_requested").values_list("kind", flat=True)
    ) == {
        "end_requested_leads",
        "end_requested_partner",
    }
    page = nina.get(response["Location"]).content.decode()
    assert "Your request is with the review team; you will get an email with the decision." in page
    assert "Ask to end this association" not in page  # the form gives way to the pending request
    associated.refresh_from_db()
    assert associated.status == S.ASSOCIATED  # a lead decides; asking changes nothing yet


@pytest.mark.parametrize("reason", [None, "", "   ", "x" * 2001, "bell\x07", "del\x7f", "c1\x9bend"])
def test_a_reason_is_required_and_checked(associated: Claim, reason: str | None) -> None:
    nina = signed_in(NINA)
    before = fingerprint(associated)
    response = ask(nina, associated, reason)
    assert response.status_code == 400
    text = response.content.decode()
    assert "Nothing was changed" in text
    assert 'aria-invalid="true"' in text  # the error sits at the field
    assert fingerprint(associated) == before


def test_a_second_request_is_refused_politely(associated: Claim) -> None:
    nina = signed_in(NINA)
    assert ask(nina, associated, "First.").status_code == 302
    before = fingerprint(associated)
    again = ask(nina, associated, "Second.")
    assert again.status_code == 409
    assert "Your request is already with the review team." in again.content.decode()
    # With the form gone from the page, an empty reason is told at the top, not lost.
    empty = ask(nina, associated, "")
    assert empty.status_code == 400
    assert "Nothing was changed: Tell the review team why" in empty.content.decode()
    assert fingerprint(associated) == before


def test_an_association_in_its_window_is_declined_instead() -> None:
    claim = association(tenant())
    nina = signed_in(NINA)
    before = fingerprint(claim)
    response = ask(nina, claim, "Please end it.")
    assert response.status_code == 409
    assert "decline its workloads instead" in response.content.decode()
    assert fingerprint(claim) == before


def test_an_ended_association_has_nothing_to_ask_for() -> None:
    claim = association(tenant())
    nina = signed_in(NINA)
    from claims import workflow

    workflow.decline_workloads(claim, decline_all=True, customer_email=NINA)
    before = fingerprint(claim)
    response = ask(nina, claim, "")
    # The form's error would sit in a form no longer on the page: it is told at the top instead.
    assert response.status_code == 400
    assert "Nothing was changed: Tell the review team why" in response.content.decode()
    assert fingerprint(claim) == before
    response = ask(nina, claim, "Please end it.")
    assert response.status_code == 409 and "nothing to ask for" in response.content.decode()
    assert fingerprint(claim) == before


def test_other_tenants_outsiders_and_get(associated: Claim) -> None:
    tenant("Contoso Customer", "customer.contoso.example")
    outsider, nina = signed_in("it@customer.contoso.example"), signed_in(NINA)
    before = fingerprint(associated)
    assert ask(outsider, associated, "Mine?").status_code == 404
    assert ask(Client(), associated, "Anyone?").status_code == 403
    url = reverse("consent:customer_request_end", args=[associated.pk])
    assert nina.get(url).status_code == 405
    assert fingerprint(associated) == before


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "The partner and the review team will read your reason."),
        ("tr", "Gerekçenizi iş ortağı ve inceleme ekibi okuyacak."),
    ],
)
def test_the_customer_is_told_who_reads_the_reason_in_both_decisions(
    associated: Claim, language: str, words: str
) -> None:
    """The partner reads a customer's reason (it may dispute an ending), so each form says so beside
    its field, and the field points to that sentence for screen readers."""
    nina = signed_in(NINA)
    nina.cookies["django_language"] = language
    page = nina.get(reverse("consent:customer_association", args=[associated.pk])).content.decode()
    assert words in page
    assert f'aria-describedby="end-reason-help-{associated.pk}"' in page
    with time_machine.travel(timezone.now() - dt.timedelta(days=8)):
        in_window = association(tenant("Fabrikam", "fabrikam.example"))
        page = signed_in("ana@fabrikam.example")
        page.cookies["django_language"] = language
        text = page.get(reverse("consent:customer_association", args=[in_window.pk])).content.decode()
    assert words in text
    assert f'aria-describedby="decline-{in_window.pk}-reason-help"' in text
