"""A receipt is a function of its event: the workloads a decision concerned are recorded in the
event, so a dispute that reopens an ended association to the partner's edits changes no receipt,
and the customer's list shows such a claim as reviewed again, with the workloads of its last
decision, never the partner's unreviewed edits.

Also: the window passed and the closing job not yet run (the page says so and offers no form), and
events written before decisions recorded their workloads still give the right receipt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from claims import workflow
from claims.models import Claim, ClaimEvent, Membership
from claims.workflow import CUSTOMER, SYSTEM
from claims.workflow.events import ASSOCIATION_STATUSES, DECISION_ACTIONS
from consent.tasks import close_consent_windows
from tests.consent.portal_helpers import association, signed_in, tenant
from tests.factories import PartnerFactory, partner_user, reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status

NOON = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)  # a Wednesday
EMAIL = "it@northwind.example"
BI_AND_AUTOMATE = ("power-bi", "power-automate")


@pytest.fixture
def northwind() -> Any:
    return tenant("Northwind Traders", "northwind.example")


def receipt_html(client: Any, claim: Claim, action: str) -> str:
    event = claim.events.get(action=action)
    response = client.get(reverse("consent:customer_receipt", args=[claim.pk, event.pk]))
    assert response.status_code == 200
    return response.content.decode()


def page_html(client: Any, claim: Claim) -> str:
    response = client.get(reverse("consent:customer_association", args=[claim.pk]))
    assert response.status_code == 200
    return response.content.decode()


def ended_then_reopened_and_edited(northwind: Any) -> tuple[Claim, Any]:
    """The review's scenario: the customer asked to end, a lead ended it, the partner disputed,
    another lead reopened it, asked for information, and the partner changed the products."""
    partner = PartnerFactory(name="Fabrikam")
    manager = partner_user(partner, Membership.Role.GLOBAL_ADMIN)
    ender, other = reviewer(lead=True), reviewer(lead=True)
    with time_machine.travel(NOON, tick=False) as clock:
        claim = association(northwind, S.APPROVED, partner=partner, by=manager, products=BI_AND_AUTOMATE)
        clock.move_to(claim.consent_window_ends_at, tick=False)
        assert close_consent_windows() == 1
        clock.shift(dt.timedelta(days=10))
        workflow.request_end_association(
            claim, by=CUSTOMER, customer_email=EMAIL, language="en", reason="We do this ourselves now."
        )
        workflow.transition(claim, "end_association", by=ender, comment="Ended as the customer asked.")
        clock.shift(dt.timedelta(days=2))
        workflow.transition(claim, "dispute", by=manager, justification="The customer renewed with us.")
        workflow.transition(claim, "reopen", by=other)
        workflow.transition(
            claim, "request_information", by=other, reasons=["missing_products"], comment="Which products?"
        )
        workflow.edit_claim(claim, by=manager, changes={"products": ["d365-sales"]})
    claim.refresh_from_db()
    assert claim.status == S.PARTNER_ACTION_REQUIRED
    return claim, clock


def test_a_reopened_association_keeps_its_receipts_and_hides_the_partners_edits(northwind: Any) -> None:
    claim, _clock = ended_then_reopened_and_edited(northwind)
    client = signed_in(EMAIL)

    ending = receipt_html(client, claim, "end_association")
    assert "Power BI" in ending and "Power Automate" in ending
    assert "Dynamics 365 Sales" not in ending
    associated = receipt_html(client, claim, "close_consent_window")
    assert "Power BI" in associated and "Dynamics 365 Sales" not in associated

    listing = client.get("/customer/").content.decode()
    assert "Being reviewed again after the partner&#x27;s dispute" in listing
    assert "Ended on" not in listing
    assert "Dynamics 365 Sales" not in listing and "Power BI" in listing

    page = page_html(client, claim)
    assert "the review team is looking at it again" in page
    assert "Dynamics 365 Sales" not in page and "Power Automate" in page
    assert 'name="reason"' not in page  # no decision form on a claim under review


def test_reopened_in_turkish_too(northwind: Any) -> None:
    claim, _clock = ended_then_reopened_and_edited(northwind)
    client = signed_in(EMAIL)
    client.cookies["django_language"] = "tr"
    listing = client.get("/customer/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "Being reviewed again" not in listing
    assert "itiraz" in listing  # the partner's dispute, in Turkish


def test_every_decision_on_a_standing_association_records_its_workloads(northwind: Any) -> None:
    partner = PartnerFactory()
    manager = partner_user(partner, Membership.Role.GLOBAL_ADMIN)
    with time_machine.travel(NOON, tick=False) as clock:
        declined = association(northwind, S.APPROVED, partner=partner, by=manager, products=BI_AND_AUTOMATE)
        workflow.transition(declined, "deny_consent", by=CUSTOMER)
        withdrawn = association(northwind, S.APPROVED, partner=partner, by=manager, products=("d365-sales",))
        workflow.transition(withdrawn, "withdraw", by=manager, reason="no_longer_working")
        before_approval = association(northwind, S.UNDER_REVIEW, partner=partner, by=manager)
        workflow.transition(before_approval, "withdraw", by=manager, reason="wrong_mpn")
        swept = association(northwind, S.APPROVED, partner=partner, by=manager, products=("power-apps",))
        clock.move_to(swept.consent_window_ends_at, tick=False)
        assert close_consent_windows() == 1

    def products_of(claim: Claim, action: str) -> Any:
        return claim.events.get(action=action).diff.get("products")

    assert products_of(declined, "deny_consent") == [["power-automate", "power-bi"]] * 2
    assert products_of(withdrawn, "withdraw") == [["d365-sales"], ["d365-sales"]]
    assert products_of(swept, "close_consent_window") == [["power-apps"], ["power-apps"]]
    # A withdrawal before approval decided nothing about an association: nothing recorded.
    assert products_of(before_approval, "withdraw") is None
    # The partner's history does not show an unchanged list of products as a change.
    from claims.history import history_entries

    (entry,) = [e for e in history_entries(withdrawn.events.all()) if e.event.action == "withdraw"]
    assert not [change for change in entry.changes if "roduct" in change.label]


def test_the_decisions_are_every_transition_out_of_a_standing_association() -> None:
    # Read from the state machine: a transition added later (like `lapse`) is included by itself.
    for name in ("deny_consent", "close_consent_window", "withdraw", "supersede", "end_association"):
        assert name in DECISION_ACTIONS
    for name in ("approve", "reject", "dispute", "reopen", "expire", "submit"):
        assert name not in DECISION_ACTIONS
    assert set(ASSOCIATION_STATUSES) == {S.APPROVED, S.ASSOCIATED}


def test_an_older_event_without_workloads_still_gets_the_workloads_it_decided(northwind: Any) -> None:
    claim, _clock = ended_then_reopened_and_edited(northwind)
    # As events were written before decisions recorded their workloads.
    for event in claim.events.filter(action__in=DECISION_ACTIONS):
        event.diff.pop("products", None)
        ClaimEvent.objects.filter(pk=event.pk).update(diff=event.diff)
    client = signed_in(EMAIL)
    ending = receipt_html(client, claim, "end_association")
    # The partner's edit recorded what it changed: the ending's workloads are what it started from.
    assert "Power BI" in ending and "Power Automate" in ending and "Dynamics 365 Sales" not in ending
    listing = client.get("/customer/").content.decode()
    assert "Dynamics 365 Sales" not in listing and "Power BI" in listing


def test_window_passed_before_the_closing_job_says_it_is_being_confirmed(northwind: Any) -> None:
    with time_machine.travel(NOON, tick=False) as clock:
        claim = association(northwind, S.APPROVED, products=BI_AND_AUTOMATE)
        clock.move_to(claim.consent_window_ends_at + dt.timedelta(minutes=3), tick=False)
        client = signed_in(EMAIL)
        page = page_html(client, claim)
        listing = client.get("/customer/").content.decode()
        assert "the association is being confirmed" in listing
        assert "Associated since" not in listing and "Opt-out window open" not in listing
        assert "The association is being confirmed" in page
        assert 'name="reason"' not in page and 'name="scope"' not in page  # no decline, no end request
        # Once the job ran, the customer may ask to end it.
        assert close_consent_windows() == 1
        page = page_html(client, claim)
    assert "Associated since" in page and 'name="reason"' in page


def test_the_sweep_records_workloads_with_the_same_queries_for_one_claim_or_five(northwind: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def close(count: int) -> tuple[int, list[Any]]:
        with time_machine.travel(NOON, tick=False) as clock:
            claims = [
                association(northwind, S.APPROVED, partner=PartnerFactory(), products=(code,))
                for code in ("power-bi", "power-apps", "power-automate", "d365-sales", "d365-finance")[:count]
            ]
            clock.move_to(claims[0].consent_window_ends_at, tick=False)
            with CaptureQueriesContext(connection) as queries:
                assert close_consent_windows() == count
        for claim in claims:
            codes = sorted(claim.products.values_list("code", flat=True))
            assert claim.events.get(action="close_consent_window").diff["products"] == [codes, codes]
        return len(queries), claims

    one, _ = close(1)
    five, _ = close(5)
    assert one == five


def test_a_system_decision_by_the_one_path_records_the_same_workloads_as_the_sweep(northwind: Any) -> None:
    with time_machine.travel(NOON, tick=False) as clock:
        claim = association(northwind, S.APPROVED, products=BI_AND_AUTOMATE)
        clock.move_to(claim.consent_window_ends_at, tick=False)
        workflow.transition(claim, "close_consent_window", by=SYSTEM)
    event = claim.events.get(action="close_consent_window")
    assert event.diff["products"] == [["power-automate", "power-bi"], ["power-automate", "power-bi"]]


def test_the_new_states_are_valid_html_in_both_languages(northwind: Any, tmp_path: Any) -> None:
    from pathlib import Path

    from tests.conftest import IN_CI
    from tests.test_html_valid import _checker_problem, nu_errors

    problem = _checker_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI checks every page with the Nu HTML checker, but {problem}")
        pytest.skip(problem)
    reopened, _clock = ended_then_reopened_and_edited(northwind)
    with time_machine.travel(NOON, tick=False) as clock:
        confirming = association(northwind, S.APPROVED, products=("power-apps",))
        clock.move_to(confirming.consent_window_ends_at + dt.timedelta(minutes=3), tick=False)
        files = []
        for language in ("en", "tr"):
            client = signed_in(EMAIL)
            client.cookies["django_language"] = language
            pages = {
                "list": client.get("/customer/"),
                "reopened": client.get(reverse("consent:customer_association", args=[reopened.pk])),
                "confirming": client.get(reverse("consent:customer_association", args=[confirming.pk])),
            }
            for name, response in pages.items():
                assert response.status_code == 200, name
                file = Path(tmp_path) / f"{language}-{name}.html"
                file.write_bytes(response.content)
                files.append(file)
    errors = nu_errors(files)
    assert not errors, "\n".join(
        f"{m.get('url', '?')}:{m.get('lastLine', '?')}: {m['message']}" for m in errors
    )
