"""The customer's pages: where each association stands, its decisions, and a printable receipt of each.

A receipt states who decided what, when (with the time zone), on which workloads, and its
reference; only decisions have one. Every page is valid HTML in English and Turkish, and no input
answers with a 500.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from claims import workflow
from claims.models import AssociationEndRequest, Claim, Product
from claims.workflow import CUSTOMER
from consent.tasks import close_consent_windows
from tests.conftest import IN_CI
from tests.consent.portal_helpers import ask_for_link, association, delivered_link, signed_in, tenant
from tests.factories import PartnerFactory, reviewer
from tests.test_html_valid import _checker_problem, nu_errors

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)  # a Wednesday
EMAIL = "it@northwind.example"


def receipt_url(claim: Claim, action: str) -> str:
    event = claim.events.get(action=action)
    return reverse("consent:customer_receipt", args=[claim.pk, event.pk])


def page_url(claim: Claim) -> str:
    return reverse("consent:customer_association", args=[claim.pk])


@pytest.fixture
def northwind():
    return tenant("Northwind Traders", "northwind.example")


def two_workloads(northwind, **kwargs) -> Claim:
    return association(
        northwind, Claim.Status.APPROVED, products=("d365-sales", "d365-customer-service"), **kwargs
    )


def test_a_partial_decline_has_a_receipt_naming_who_when_and_which_workloads(northwind) -> None:
    with time_machine.travel(NOON, tick=False):
        claim = two_workloads(northwind, partner=PartnerFactory(name="Fabrikam"))
        workflow.decline_workloads(
            claim,
            [Product.objects.get(code="d365-customer-service")],
            by=CUSTOMER,
            customer_email=EMAIL,
            reason="We run Customer Service ourselves.",
        )
        client = signed_in(EMAIL)
        association_page = client.get(page_url(claim)).content.decode()
        url = receipt_url(claim, "workloads_declined")
        assert url in association_page
        receipt = client.get(url)

    assert receipt.status_code == 200
    html = receipt.content.decode()
    event = claim.events.get(action="workloads_declined")
    assert "Some workloads declined" in html
    assert f"<dd>{EMAIL}</dd>" in html
    assert "4 March 2026, 12:00:00 UTC" in html
    declined, kept = html.split("Workloads kept in the association")
    assert "Dynamics 365 Customer Service" in declined and "Dynamics 365 Sales" not in declined
    assert "Dynamics 365 Sales" in kept and "Customer Service" not in kept
    assert f"CPOR-{claim.pk}-{event.pk}" in html and "Fabrikam" in html
    assert 'href="/static/css/customer.css"' in html  # the print rules: no navigation on paper
    assert "We run Customer Service ourselves." not in html  # the reason is the partner's mail's


def test_declining_everything_the_window_closing_and_an_ending_each_have_a_receipt(northwind) -> None:
    lead = reviewer(lead=True)
    with time_machine.travel(NOON, tick=False):
        declined = two_workloads(northwind)
        # Declining every workload is `deny_consent`, with the customer's address as who decided.
        workflow.transition(
            declined, "deny_consent", by=CUSTOMER, via={"channel": "customer", "email": EMAIL}
        )
        kept = association(northwind, Claim.Status.APPROVED, products=("power-bi",))
    with time_machine.travel(NOON + dt.timedelta(days=7, minutes=1), tick=False):
        close_consent_windows()
        workflow.request_end_association(
            kept, by=CUSTOMER, customer_email=EMAIL, language="en", reason="We changed partner."
        )
    with time_machine.travel(NOON + dt.timedelta(days=9), tick=False):
        workflow.transition(kept, "end_association", by=lead, comment="The customer asked to end it.")
        client = signed_in(EMAIL)
        listing = client.get("/customer/").content.decode()
        declined_receipt = client.get(receipt_url(declined, "deny_consent")).content.decode()
        associated_receipt = client.get(receipt_url(kept, "close_consent_window")).content.decode()
        ended_receipt = client.get(receipt_url(kept, "end_association")).content.decode()

    assert "Declined on 4 March 2026" in listing and "Ended on 13 March 2026" in listing
    assert "ended it at your organization&#x27;s request" in listing
    assert "Association declined" in declined_receipt and f"<dd>{EMAIL}</dd>" in declined_receipt
    assert "Dynamics 365 Sales" in declined_receipt and "Dynamics 365 Customer Service" in declined_receipt
    assert "Automatically, when the 7-day opt-out window closed" in associated_receipt
    assert "11 March 2026, 12:01:00 UTC" in associated_receipt and "Power BI" in associated_receipt
    assert "The review team, at your organization&#x27;s request" in ended_receipt
    assert lead.email not in ended_receipt and "The customer asked to end it." not in ended_receipt


def test_a_withdrawal_after_approval_ends_the_association_with_a_receipt(northwind) -> None:
    claim = association(northwind, Claim.Status.APPROVED, partner=PartnerFactory(name="Litware"))
    manager = claim.partner.memberships.first().user
    workflow.transition(claim, "withdraw", by=manager, reason="no_longer_working")
    client = signed_in(EMAIL)
    assert "Ended on" in client.get("/customer/").content.decode()
    receipt = client.get(receipt_url(claim, "withdraw")).content.decode()
    assert "Association ended" in receipt and "The partner, Litware" in receipt
    assert manager.email not in receipt


def test_only_decisions_have_receipts(northwind) -> None:
    claim = two_workloads(northwind)
    client = signed_in(EMAIL)
    for event in claim.events.exclude(action__in=["workloads_declined", "deny_consent"]):
        url = reverse("consent:customer_receipt", args=[claim.pk, event.pk])
        assert client.get(url).status_code == 404, event.action
    other = two_workloads(northwind)
    workflow.decline_workloads(other, list(other.products.all())[:1], by=CUSTOMER, customer_email=EMAIL)
    event = other.events.get(action="workloads_declined")
    # A receipt of another claim, through this claim's address.
    assert client.get(reverse("consent:customer_receipt", args=[claim.pk, event.pk])).status_code == 404


def test_the_open_association_offers_the_decline_and_the_associated_one_the_end_request(northwind) -> None:
    with time_machine.travel(NOON - dt.timedelta(days=8)):
        associated = association(northwind, Claim.Status.APPROVED, products=("power-bi",))
    close_consent_windows()
    open_one = two_workloads(northwind)
    client = signed_in(EMAIL)
    open_page = client.get(page_url(open_one)).content.decode()
    assert reverse("consent:customer_decline", args=[open_one.pk]) in open_page
    assert reverse("consent:customer_request_end", args=[open_one.pk]) not in open_page
    associated_page = client.get(page_url(associated)).content.decode()
    assert reverse("consent:customer_request_end", args=[associated.pk]) in associated_page
    assert reverse("consent:customer_decline", args=[associated.pk]) not in associated_page
    assert "not access to your data" in associated_page and "not a contract" in associated_page


@pytest.mark.parametrize(
    "path",
    [
        "/customer/associations/99999999999999999999999/",
        "/customer/associations/0/",
        "/customer/associations/-1/",
        "/customer/associations/abc/",
        "/customer/associations/1/receipts/99999999999999999999999/",
        "/customer/associations/%E2%80%AE/",
        "/customer/" + "a" * 5000 + "/",
    ],
)
def test_junk_addresses_are_not_found(northwind, path: str) -> None:
    client = signed_in(EMAIL)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "email",
    [
        "x\x00@northwind.example",
        "é" * 300,
        "🙂@northwind.example",
        "a@" + "b" * 300 + ".example",
        " ",
        "a@b@c",
    ],
)
def test_junk_addresses_get_the_form_again(northwind, email: str) -> None:
    response = ask_for_link(Client(), email)
    assert response.status_code in (200, 400)
    assert b"Check your email" not in response.content


def test_posting_to_a_read_only_page_is_refused(northwind) -> None:
    claim = two_workloads(northwind)
    client = signed_in(EMAIL)
    assert client.post(page_url(claim)).status_code == 405
    assert client.get(page_url(claim) + "?lang=%00").status_code == 400


def test_the_pages_speak_turkish_when_the_browser_does(northwind) -> None:
    two_workloads(northwind)
    client = Client(HTTP_ACCEPT_LANGUAGE="tr")
    assert "Bana oturum açma bağlantısı gönder" in client.get("/customer/").content.decode()
    signed_in(EMAIL, client)
    listing = client.get("/customer/").content.decode()
    assert "Northwind Traders iş ortağı ilişkilendirmeleri" in listing and "İtiraz süresi" in listing


def test_every_customer_page_is_valid_html(northwind, tmp_path: Path) -> None:
    problem = _checker_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI checks every page with the Nu HTML checker, but {problem}")
        pytest.skip(problem)
    with time_machine.travel(NOON - dt.timedelta(days=8)):
        associated = association(northwind, Claim.Status.APPROVED, products=("power-bi",))
    close_consent_windows()
    partial = two_workloads(northwind)
    workflow.decline_workloads(partial, list(partial.products.all())[:1], by=CUSTOMER, customer_email=EMAIL)
    files: list[Path] = []
    for language in ("en", "tr"):
        visitor = Client()
        visitor.cookies["django_language"] = language
        pages = {"sign-in": visitor.get("/customer/"), "sign-in-errors": ask_for_link(visitor, "nope")}
        pages["check-mail"] = ask_for_link(visitor, EMAIL)
        path, _token = delivered_link(EMAIL)
        pages["link"] = visitor.get(path)
        visitor.post(path)
        pages["link-used"] = visitor.get(path)
        pages["link-unknown"] = visitor.get("/customer/sign-in/nothing-here/")
        pages["associations"] = visitor.get("/customer/")
        pages["association-open"] = visitor.get(page_url(partial))
        pages["association-associated"] = visitor.get(page_url(associated))
        pages["receipt-partial"] = visitor.get(receipt_url(partial, "workloads_declined"))
        pages["receipt-associated"] = visitor.get(receipt_url(associated, "close_consent_window"))
        pages["not-signed-in"] = Client().get(page_url(partial))
        visitor.post(reverse("consent:customer_sign_out"))
        for name, response in pages.items():
            assert response["Content-Type"].startswith("text/html"), name
            file = tmp_path / f"{language}-{name}.html"
            file.write_bytes(response.content)
            files.append(file)
    errors = nu_errors(files)
    listing = "\n".join(
        f"{Path(m.get('url', '?')).name}:{m.get('lastLine', '?')}: {m['message']}" for m in errors
    )
    assert not errors, listing


def test_an_end_request_overtaken_by_a_withdrawal_no_longer_shows_as_waiting(northwind) -> None:
    with time_machine.travel(NOON - dt.timedelta(days=8)):
        claim = association(northwind, Claim.Status.APPROVED, products=("power-bi",))
    close_consent_windows()
    workflow.request_end_association(
        claim, by=CUSTOMER, customer_email=EMAIL, language="en", reason="We changed partner."
    )
    client = signed_in(EMAIL)
    assert "the review team is deciding" in client.get("/customer/").content.decode()
    assert "Waiting for a review lead" in client.get(page_url(claim)).content.decode()

    workflow.transition(
        claim, "withdraw", by=claim.partner.memberships.first().user, reason="no_longer_working"
    )

    assert "the review team is deciding" not in client.get("/customer/").content.decode()
    page = client.get(page_url(claim)).content.decode()
    assert "Waiting for a review lead" not in page
    assert reverse("consent:customer_request_end", args=[claim.pk]) not in page
    # The workflow settled it; the page says so in the request's own words, not "Association ended".
    assert claim.end_requests.get().outcome == AssociationEndRequest.Outcome.SETTLED
    assert "<strong>No longer needed: the association ended</strong>" in page
    turkish = client.get(page_url(claim), HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    with translation.override("tr"):
        settled_tr = str(AssociationEndRequest.Outcome.SETTLED.label)
    assert (
        settled_tr != "No longer needed: the association ended"
        and f"<strong>{settled_tr}</strong>" in turkish
    )
