"""The customer declines some workloads of an approved claim while its opt-out window is open.

The declined workloads leave the claim in one event (the customer as actor, the products named,
who decided), the partner is mailed which went and which remain, partners' CRMs hear of it, and
the hand-off after the window queues only what remains. Declining every workload is
`deny_consent`. Anything else is refused and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError

from api import webhooks
from api.models import WebhookEvent
from claims import workflow
from claims.history import history_entries
from claims.models import Claim, ClaimEvent, Membership, Product, RejectionReason
from claims.workflow import CUSTOMER, SYSTEM, TransitionRefused
from consent.tasks import close_consent_windows
from cpor import outbox
from cpor.models import OutboundEmail
from earnings.models import AssessmentHandoff
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status

BASE = dt.datetime(2025, 3, 5, 10, 0, tzinfo=dt.UTC)  # a Wednesday
CUSTOMER_EMAIL = "ines@northwind.example"


@pytest.fixture
def clock(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    time_machine.move_to(BASE, tick=False)
    return time_machine


@pytest.fixture
def manager() -> Any:
    return partner_user(PartnerFactory(), Membership.Role.GLOBAL_ADMIN)


@pytest.fixture
def claim(clock: Any, manager: Any) -> Claim:
    return claim_in(S.APPROVED, by=manager, products=("d365-sales", "power-bi"))


def product(code: str) -> Product:
    return Product.objects.get(code=code)


def codes(claim: Claim) -> list[str]:
    return sorted(Claim.objects.get(pk=claim.pk).products.values_list("code", flat=True))


def fingerprint(claim: Claim) -> tuple[Any, ...]:
    fresh = Claim.objects.get(pk=claim.pk)
    return (
        fresh.status,
        fresh.rejection_reason,
        codes(claim),
        ClaimEvent.objects.filter(claim=claim).count(),
        OutboundEmail.objects.count(),
        WebhookEvent.objects.count(),
    )


def test_declining_one_workload_of_two_keeps_the_other_in_one_event_and_tells_the_partner(
    claim: Claim, manager: Any, clock: Any
) -> None:
    webhooks.create_endpoint(
        partner=claim.partner,
        by=manager,
        url="https://crm.example/hooks",
        event_types=["claim.workloads_declined"],
    )
    events_before = ClaimEvent.objects.filter(claim=claim).count()
    clock.shift(dt.timedelta(hours=1))

    result = workflow.decline_workloads(
        claim,
        [product("power-bi")],
        by=CUSTOMER,
        customer_email=CUSTOMER_EMAIL,
        reason="We report with another tool.",
        expected_status=S.APPROVED,
    )

    assert result.status == S.APPROVED
    assert codes(claim) == ["d365-sales"]
    assert Claim.objects.get(pk=claim.pk).updated_at > claim.updated_at  # an API sync sees it again
    (event,) = ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.WORKLOADS_DECLINED)
    assert event.actor_kind == ClaimEvent.ActorKind.CUSTOMER and event.actor is None
    assert event.diff["products"] == [["d365-sales", "power-bi"], ["d365-sales"]]
    assert event.diff["via"] == {"channel": "customer", "email": CUSTOMER_EMAIL}
    assert "Power BI" in event.note and "We report with another tool." in event.note
    assert event.partner_visible
    # The event, and the partner's mail and its history line: nothing else.
    assert ClaimEvent.objects.filter(claim=claim).count() == events_before + 2

    mail = OutboundEmail.objects.get(kind="workloads_declined_partner")
    assert set(mail.recipients) == {"paula@partner.example", manager.email}
    for language, declined, kept in (("en", "Declined", "Still associated"), ("tr", "Reddedilen", "süren")):
        mail.language = language
        subject, body = outbox.render(mail)
        assert "“Sales rollout”" in subject
        declined_line = next(line for line in body.splitlines() if line.startswith(declined))
        kept_line = next(line for line in body.splitlines() if kept in line)
        assert "Power BI" in declined_line and "Dynamics 365 Sales" not in declined_line
        assert "Dynamics 365 Sales" in kept_line and "Power BI" not in kept_line
        assert "We report with another tool." in body

    (hook,) = WebhookEvent.objects.filter(claim=claim)
    assert hook.type == "claim.workloads_declined"
    assert hook.payload["data"]["declined_products"] == ["power-bi"]
    assert hook.payload["data"]["remaining_products"] == ["d365-sales"]
    assert CUSTOMER_EMAIL not in str(hook.payload)


def test_history_names_the_declined_workload_and_shows_who_only_to_reviewers(claim: Claim) -> None:
    workflow.decline_workloads(claim, [product("power-bi").pk], by=CUSTOMER, customer_email=CUSTOMER_EMAIL)
    event = ClaimEvent.objects.get(claim=claim, action=ClaimEvent.Action.WORKLOADS_DECLINED)

    (partner_entry,) = history_entries([event])
    assert partner_entry.who == "Customer"
    assert partner_entry.action == "Customer declined some workloads"
    (change,) = partner_entry.changes
    assert (change.before, change.after) == ("Dynamics 365 Sales, Power BI", "Dynamics 365 Sales")
    assert CUSTOMER_EMAIL not in str(partner_entry)

    (reviewer_entry,) = history_entries([event], reviewer_view=True)
    assert reviewer_entry.who == f"Customer · {CUSTOMER_EMAIL}"


def test_declining_the_whole_association_is_the_customers_decline_of_it(claim: Claim) -> None:
    workflow.decline_workloads(
        claim,
        decline_all=True,
        by=CUSTOMER,
        customer_email=CUSTOMER_EMAIL,
        customer_language="tr",
        reason="Not this partner.",
    )

    fresh = Claim.objects.get(pk=claim.pk)
    assert fresh.status == S.REJECTED
    assert fresh.rejection_reason == RejectionReason.CUSTOMER_DECLINE
    assert not fresh.is_disputable
    assert codes(claim) == ["d365-sales", "power-bi"]  # the claim keeps what was declined
    (event,) = ClaimEvent.objects.filter(claim=claim, action="deny_consent")
    assert event.actor_kind == ClaimEvent.ActorKind.CUSTOMER
    assert event.note == "Not this partner."
    assert event.diff["via"]["email"] == CUSTOMER_EMAIL
    assert not ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.WORKLOADS_DECLINED).exists()
    assert {"consent_denied_partner", "consent_denied_customer"} <= set(
        OutboundEmail.objects.values_list("kind", flat=True)
    )
    # The contact (nina@, English) is confirmed, and so is the address that decided (ines@, Turkish).
    confirmations = OutboundEmail.objects.filter(kind="consent_denied_customer").order_by("pk")
    assert [(row.recipients, row.language) for row in confirmations] == [
        (["nina@northwind.example"], "en"),
        ([CUSTOMER_EMAIL], "tr"),
    ]
    assert not ClaimEvent.objects.get(email_id=confirmations[1].pk).partner_visible


def test_the_contact_declining_the_whole_association_is_confirmed_once(claim: Claim) -> None:
    workflow.decline_workloads(claim, decline_all=True, by=CUSTOMER, customer_email="NINA@northwind.example")
    assert OutboundEmail.objects.filter(kind="consent_denied_customer").count() == 1


def test_a_list_of_every_workload_left_is_not_taken_for_the_whole_association(claim: Claim) -> None:
    """The scope is the customer's explicit choice: "only these" naming all that is left (a page
    that no longer shows what the claim holds) is refused, not guessed into a denial."""
    before = fingerprint(claim)
    with pytest.raises(ValidationError, match="all the workloads left"):
        workflow.decline_workloads(
            claim,
            [str(product("power-bi").pk), product("d365-sales")],
            by=CUSTOMER,
            customer_email=CUSTOMER_EMAIL,
        )
    assert fingerprint(claim) == before
    with pytest.raises(ValueError):
        workflow.decline_workloads(claim, [product("power-bi")], decline_all=True, by=CUSTOMER)
    assert fingerprint(claim) == before


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        pytest.param([], "Choose at least one workload to decline.", id="nothing"),
        pytest.param(
            ["m365-exchange-online"], "“Exchange Online” is not part of this association.", id="foreign"
        ),
        pytest.param(["power-bi", "m365-exchange-online"], "“Exchange Online” is not part", id="one-foreign"),
        pytest.param([987654], "A chosen workload is not part of this association.", id="unknown-id"),
        pytest.param(["'; drop table"], "A chosen workload is not part of this association.", id="junk"),
        pytest.param(["9" * 30], "A chosen workload is not part of this association.", id="huge-id"),
        pytest.param([-3, None], "A chosen workload is not part of this association.", id="negative"),
    ],
)
def test_a_bad_choice_is_refused_and_changes_nothing(claim: Claim, chosen: list[Any], message: str) -> None:
    before = fingerprint(claim)
    picked = [
        product(c) if isinstance(c, str) and Product.objects.filter(code=c).exists() else c for c in chosen
    ]
    with pytest.raises(ValidationError) as refused:
        workflow.decline_workloads(claim, picked, by=CUSTOMER, customer_email=CUSTOMER_EMAIL)
    assert message in " ".join(refused.value.messages)
    assert fingerprint(claim) == before


@pytest.mark.parametrize(
    ("reason", "email"),
    [
        pytest.param("x" * 2001, CUSTOMER_EMAIL, id="reason-too-long"),
        pytest.param("bell\x07", CUSTOMER_EMAIL, id="control-character"),
        pytest.param("delete\x7f", CUSTOMER_EMAIL, id="DEL"),
        pytest.param("c1\x85next-line", CUSTOMER_EMAIL, id="C1"),
        pytest.param("", "not an address", id="bad-email"),
    ],
)
def test_bad_text_is_refused_and_changes_nothing(claim: Claim, reason: str, email: str) -> None:
    before = fingerprint(claim)
    with pytest.raises(ValidationError):
        workflow.decline_workloads(
            claim, [product("power-bi")], by=CUSTOMER, customer_email=email, reason=reason
        )
    assert fingerprint(claim) == before


def test_after_the_window_nothing_can_be_declined(claim: Claim, clock: Any) -> None:
    clock.move_to(claim.consent_window_ends_at, tick=False)  # the window's last instant has passed
    before = fingerprint(claim)
    with pytest.raises(TransitionRefused, match="opt-out window of this association has closed"):
        workflow.decline_workloads(claim, [product("power-bi")], by=CUSTOMER, customer_email=CUSTOMER_EMAIL)
    assert fingerprint(claim) == before

    assert close_consent_windows() == 1
    with pytest.raises(TransitionRefused, match="has closed"):
        workflow.decline_workloads(claim, [product("power-bi")], by=CUSTOMER)


@pytest.mark.parametrize("status", [S.UNDER_REVIEW, S.REJECTED])
def test_only_an_approved_claim_has_workloads_to_decline(clock: Any, manager: Any, status: str) -> None:
    claim = claim_in(status, by=manager, products=("d365-sales", "power-bi"))
    before = fingerprint(claim)
    with pytest.raises(TransitionRefused):
        workflow.decline_workloads(claim, [product("power-bi")], by=CUSTOMER)
    assert fingerprint(claim) == before


def test_only_the_customer_declines(claim: Claim, manager: Any) -> None:
    before = fingerprint(claim)
    for someone in (manager, reviewer(), reviewer(lead=True), SYSTEM):
        with pytest.raises(TransitionRefused, match="Only the customer"):
            workflow.decline_workloads(claim, [product("power-bi")], by=someone)
    assert fingerprint(claim) == before


def test_a_page_that_no_longer_shows_the_claim_as_it_is_is_refused(claim: Claim) -> None:
    before = fingerprint(claim)
    with pytest.raises(TransitionRefused, match="changed while you were looking"):
        workflow.decline_workloads(claim, [product("power-bi")], by=CUSTOMER, expected_status=S.ASSOCIATED)
    assert fingerprint(claim) == before


def test_the_hand_off_after_the_window_queues_only_what_remains(claim: Claim, clock: Any) -> None:
    workflow.decline_workloads(claim, [product("power-bi")], by=CUSTOMER, customer_email=CUSTOMER_EMAIL)
    clock.move_to(claim.consent_window_ends_at + dt.timedelta(minutes=1), tick=False)

    assert close_consent_windows() == 1

    fresh = Claim.objects.get(pk=claim.pk)
    assert fresh.status == S.ASSOCIATED
    assert codes(claim) == ["d365-sales"]
    (handoff,) = AssessmentHandoff.objects.filter(claim=claim)
    assert sorted(handoff.products.values_list("code", flat=True)) == ["d365-sales"]
    actions = list(
        ClaimEvent.objects.filter(claim=claim).exclude(action="notification").values_list("action", flat=True)
    )
    # The assessment at hand-off (earnings) follows the window closing in the history.
    assert actions[-3:] == ["workloads_declined", "close_consent_window", "assessed"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bad\x7fdel", "Remove the control characters from your text."),
        ("bad\x9bcsi", "Remove the control characters from your text."),
        ("x" * 2001, "Keep the text to 2000 characters or fewer."),
    ],
)
def test_one_reason_check_says_what_is_wrong(text: str, message: str) -> None:
    """The forms and the workflow use this one check, and its message names the actual fault."""
    from claims.workflow.customer import MAX_REASON, checked_reason

    assert MAX_REASON == 2000
    with pytest.raises(ValidationError) as refused:
        checked_reason(text)
    assert refused.value.messages == [message]
    assert checked_reason("  Line one\n\tLine two \r\n") == "Line one\n\tLine two"
