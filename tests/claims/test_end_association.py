"""After the opt-out window the customer may ask to end an association; a review lead decides.

Asking: only for an associated claim, with a reason, one pending request at a time; the review
leads get the request to decide and the partner is told. Ending (`end_association`): a review lead
only, on a pending request; the claim is rejected for `customer_request`, disputable for 30 days,
and the lead who ended it does not decide the dispute. Declining: a review lead only, with a
reason the customer is mailed in their language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from api import webhooks
from api.models import WebhookEvent
from claims import workflow
from claims.history import history_entries
from claims.models import AssociationEndRequest, Claim, ClaimEvent, Membership, RejectionReason
from claims.workflow import CUSTOMER, SYSTEM, TransitionRefused
from cpor import outbox
from cpor.models import OutboundEmail
from earnings.models import AssessmentHandoff
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db
S = Claim.Status

BASE = dt.datetime(2025, 3, 5, 10, 0, tzinfo=dt.UTC)  # a Wednesday
ASKER = "ines@northwind.example"
REASON = "We moved our Dynamics work in-house in January."


@pytest.fixture
def clock(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    time_machine.move_to(BASE, tick=False)
    return time_machine


@pytest.fixture
def manager() -> Any:
    return partner_user(PartnerFactory(), Membership.Role.GLOBAL_ADMIN)


@pytest.fixture
def leads() -> list[Any]:
    return [reviewer(lead=True), reviewer(lead=True)]


@pytest.fixture
def associated(clock: Any, manager: Any) -> Claim:
    claim = claim_in(S.APPROVED, by=manager)
    window_end = claim.consent_window_ends_at
    clock.move_to(window_end, tick=False)
    claim = workflow.transition(claim, "close_consent_window", by=SYSTEM)
    assert AssessmentHandoff.objects.filter(claim=claim).exists()
    clock.move_to(window_end + dt.timedelta(days=20), tick=False)
    return claim


def ask(claim: Claim, **overrides: Any) -> AssociationEndRequest:
    values: dict[str, Any] = {"customer_email": ASKER, "language": "tr", "reason": REASON, **overrides}
    return workflow.request_end_association(claim, by=CUSTOMER, **values)


def fingerprint(claim: Claim) -> tuple[Any, ...]:
    fresh = Claim.objects.get(pk=claim.pk)
    return (
        fresh.status,
        fresh.rejection_reason,
        fresh.dispute_window_ends_at,
        list(AssociationEndRequest.objects.filter(claim=claim).values_list("pk", "outcome", "decision_note")),
        ClaimEvent.objects.filter(claim=claim).count(),
        OutboundEmail.objects.count(),
    )


def rendered(row: OutboundEmail, language: str) -> str:
    row.language = language
    subject, body = outbox.render(row)
    return f"{subject}\n{body}"


# -- asking ---------------------------------------------------------------------------------------


def test_the_customer_asks_the_leads_get_the_request_and_the_partner_is_told(
    associated: Claim, manager: Any, leads: list[Any]
) -> None:
    plain = reviewer()
    webhooks.create_endpoint(
        partner=associated.partner,
        by=manager,
        url="https://crm.example/h",
        event_types=["claim.end_requested"],
    )

    request = ask(associated)

    assert (request.outcome, request.requested_by_email, request.language) == ("pending", ASKER, "tr")
    assert request.reason == REASON
    assert Claim.objects.get(pk=associated.pk).status == S.ASSOCIATED  # nothing ends until a lead decides
    (event,) = ClaimEvent.objects.filter(claim=associated, action=ClaimEvent.Action.END_REQUESTED)
    assert event.actor_kind == ClaimEvent.ActorKind.CUSTOMER and event.partner_visible
    assert event.note == REASON and event.diff["via"]["email"] == ASKER

    to_leads = OutboundEmail.objects.get(kind="end_requested_leads")
    assert set(to_leads.recipients) == {lead.email for lead in leads}
    assert plain.email not in to_leads.recipients
    body = rendered(to_leads, "en")
    assert ASKER in body and REASON in body and f"/claims/claim/{associated.pk}/change/" in body
    assert not ClaimEvent.objects.get(email_id=to_leads.pk).partner_visible

    to_partner = OutboundEmail.objects.get(kind="end_requested_partner")
    assert set(to_partner.recipients) == {"paula@partner.example", manager.email}
    for language in ("en", "tr"):
        body = rendered(to_partner, language)
        assert REASON in body and "30" in body and ASKER not in body

    (hook,) = WebhookEvent.objects.filter(claim=associated)
    assert hook.type == "claim.end_requested" and hook.payload["data"]["comment"] == REASON


def test_a_second_request_is_refused_politely_and_changes_nothing(associated: Claim) -> None:
    ask(associated)
    before = fingerprint(associated)
    with pytest.raises(TransitionRefused, match="Your request is already with the review team."):
        ask(associated, customer_email="other@northwind.example", reason="Again.")
    assert fingerprint(associated) == before


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"reason": "  "}, id="no-reason"),
        pytest.param({"reason": "x" * 2001}, id="reason-too-long"),
        pytest.param({"reason": "nul\x00"}, id="control-character"),
        pytest.param({"customer_email": "nobody"}, id="bad-email"),
    ],
)
def test_a_request_without_a_fit_reason_or_address_is_refused(
    associated: Claim, overrides: dict[str, str]
) -> None:
    before = fingerprint(associated)
    with pytest.raises(ValidationError):
        ask(associated, **overrides)
    assert fingerprint(associated) == before


@pytest.mark.parametrize("status", [S.APPROVED, S.UNDER_REVIEW, S.REJECTED])
def test_only_an_associated_claim_can_be_asked_to_end(clock: Any, manager: Any, status: str) -> None:
    claim = claim_in(status, by=manager)
    before = fingerprint(claim)
    with pytest.raises(TransitionRefused):
        ask(claim)
    assert fingerprint(claim) == before


def test_only_the_customer_asks(associated: Claim, manager: Any, leads: list[Any]) -> None:
    before = fingerprint(associated)
    for someone in (manager, leads[0], SYSTEM):
        with pytest.raises(TransitionRefused):
            workflow.request_end_association(
                associated, by=someone, customer_email=ASKER, language="en", reason=REASON
            )
    assert fingerprint(associated) == before


# -- ending -----------------------------------------------------------------------------------------


def test_a_lead_ends_the_association_the_request_is_granted_and_both_sides_are_told(
    associated: Claim, leads: list[Any], clock: Any
) -> None:
    request = ask(associated)
    clock.shift(dt.timedelta(hours=2))
    ended = workflow.transition(
        associated, "end_association", by=leads[0], comment="The customer's IT confirms the move in-house."
    )

    assert ended.status == S.REJECTED
    assert ended.rejection_reason == RejectionReason.CUSTOMER_REQUEST
    assert ended.rejected_by == leads[0]
    moment = ClaimEvent.objects.get(claim=associated, action="end_association").created_at
    assert ended.dispute_window_ends_at == moment + dt.timedelta(days=30)
    assert ended.is_disputable
    assert AssessmentHandoff.objects.get(claim=associated).ended_at == moment

    request.refresh_from_db()
    assert (request.outcome, request.decided_by, request.decided_at) == ("granted", leads[0], moment)
    assert request.decision_note == "The customer's IT confirms the move in-house."

    to_partner = OutboundEmail.objects.get(kind="claim_rejected")
    english, turkish = rendered(to_partner, "en"), rendered(to_partner, "tr")
    assert "Ended at the customer's request" in english
    assert "the customer asked to end this association" in english
    assert "The review lead wrote:" in english and "confirms the move in-house" in english
    assert "You can dispute this rejection until" in english
    assert "müşteri bu ilişkilendirmenin sonlandırılmasını istedi" in turkish
    assert "itiraz edebilirsiniz" in turkish

    to_customer = OutboundEmail.objects.get(kind="end_request_granted_customer")
    assert (to_customer.recipients, to_customer.language) == ([ASKER], "tr")
    body = rendered(to_customer, "tr")
    assert "isteğinizi kabul etti" in body and associated.partner.name in body
    assert "(Dynamics 365 Sales)" in body
    assert "has ended" in rendered(to_customer, "en")
    assert not ClaimEvent.objects.get(email_id=to_customer.pk).partner_visible

    (entry,) = history_entries([ClaimEvent.objects.get(claim=associated, action="end_association")])
    assert entry.who == "Review lead"
    assert entry.action == "Association ended at the customer's request"


@pytest.mark.parametrize("who", ["plain_reviewer", "manager", "customer", "system"])
def test_only_a_review_lead_ends_an_association(associated: Claim, manager: Any, who: str) -> None:
    ask(associated)
    by = {"plain_reviewer": reviewer(), "manager": manager, "customer": CUSTOMER, "system": SYSTEM}[who]
    before = fingerprint(associated)
    with pytest.raises(TransitionRefused, match="not allowed"):
        workflow.transition(associated, "end_association", by=by, comment="Ending.")
    assert fingerprint(associated) == before


def test_no_association_ends_without_the_customers_pending_request(
    associated: Claim, leads: list[Any]
) -> None:
    before = fingerprint(associated)
    with pytest.raises(TransitionRefused, match="The customer has not asked to end this association."):
        workflow.transition(associated, "end_association", by=leads[0], comment="Ending.")
    assert fingerprint(associated) == before

    # Nor after the request was declined.
    ask(associated)
    workflow.decline_end_request(associated, by=leads[0], reason="The contract runs until June.")
    before = fingerprint(associated)
    with pytest.raises(TransitionRefused, match="has not asked"):
        workflow.transition(associated, "end_association", by=leads[0], comment="Ending.")
    assert fingerprint(associated) == before


def test_ending_needs_a_comment_for_the_partner(associated: Claim, leads: list[Any]) -> None:
    ask(associated)
    before = fingerprint(associated)
    with pytest.raises(TransitionRefused, match="why the association ends"):
        workflow.transition(associated, "end_association", by=leads[0], comment=" ")
    assert fingerprint(associated) == before


def test_the_lead_who_ended_it_does_not_decide_the_dispute_another_lead_does(
    associated: Claim, manager: Any, leads: list[Any], clock: Any
) -> None:
    ender, other = leads
    ask(associated)
    workflow.transition(associated, "end_association", by=ender, comment="Ended as asked.")
    clock.shift(dt.timedelta(days=29))
    disputed = workflow.transition(
        associated, "dispute", by=manager, justification="The customer renewed with us last week."
    )
    assert disputed.status == S.DISPUTED
    told = OutboundEmail.objects.get(kind="reviewer_dispute")
    assert other.email in told.recipients and ender.email not in told.recipients

    for action in ("reopen", "uphold_rejection"):
        with pytest.raises(TransitionRefused, match="not allowed"):
            workflow.transition(associated, action, by=ender, comment="Mine to decide?")
        with pytest.raises(TransitionRefused, match="not allowed"):
            workflow.transition(associated, action, by=reviewer(), comment="Not a lead.")
    upheld = workflow.transition(associated, "uphold_rejection", by=other, comment="The request stands.")
    assert upheld.status == S.REJECTED and not upheld.is_disputable


def test_another_lead_may_reopen_an_ended_association(
    associated: Claim, manager: Any, leads: list[Any]
) -> None:
    ender, other = leads
    ask(associated)
    workflow.transition(associated, "end_association", by=ender, comment="Ended as asked.")
    workflow.transition(associated, "dispute", by=manager, justification="Renewed with us.")
    reopened = workflow.transition(associated, "reopen", by=other)
    assert reopened.status == S.UNDER_REVIEW


def test_the_dispute_window_of_an_ended_association_closes_after_thirty_days(
    associated: Claim, manager: Any, leads: list[Any], clock: Any
) -> None:
    ask(associated)
    ended = workflow.transition(associated, "end_association", by=leads[0], comment="Ended as asked.")
    clock.move_to(ended.dispute_window_ends_at, tick=False)
    with pytest.raises(TransitionRefused):
        workflow.transition(associated, "dispute", by=manager, justification="Too late?")


# -- declining ------------------------------------------------------------------------------------


def test_a_lead_declines_the_request_and_the_customer_is_told_why_in_their_language(
    associated: Claim, manager: Any, leads: list[Any]
) -> None:
    request = ask(associated, language="tr")
    webhooks.create_endpoint(
        partner=associated.partner,
        by=manager,
        url="https://crm.example/h",
        event_types=["claim.end_request_declined"],
    )

    declined = workflow.decline_end_request(
        associated, by=leads[1], reason="Sözleşme Haziran'a kadar sürüyor."
    )

    assert declined.pk == request.pk
    request.refresh_from_db()
    assert (request.outcome, request.decided_by) == ("declined", leads[1])
    assert request.decision_note == "Sözleşme Haziran'a kadar sürüyor."
    assert Claim.objects.get(pk=associated.pk).status == S.ASSOCIATED
    (event,) = ClaimEvent.objects.filter(claim=associated, action=ClaimEvent.Action.END_REQUEST_DECLINED)
    assert event.actor == leads[1] and event.note == "Sözleşme Haziran'a kadar sürüyor."

    to_customer = OutboundEmail.objects.get(kind="end_request_declined_customer")
    assert (to_customer.recipients, to_customer.language) == ([ASKER], "tr")
    body = rendered(to_customer, "tr")
    assert "reddedildi" in body and "Sözleşme Haziran'a kadar sürüyor." in body
    assert "(Dynamics 365 Sales)" in body
    assert f"/customer/associations/{associated.pk}/" in body
    assert "was declined" in rendered(to_customer, "en")
    to_partner = OutboundEmail.objects.get(kind="end_request_declined_partner")
    assert set(to_partner.recipients) == {"paula@partner.example", manager.email}
    assert ASKER not in rendered(to_partner, "en")

    (entry,) = history_entries([event])
    assert entry.who == "Review lead"
    (hook,) = WebhookEvent.objects.filter(claim=associated)
    assert hook.type == "claim.end_request_declined"
    assert hook.payload["data"]["comment"] == "Sözleşme Haziran'a kadar sürüyor."

    # The customer may ask again, with more to say.
    assert ask(associated, reason="Our contract ended in June.").outcome == "pending"


@pytest.mark.parametrize("who", ["plain_reviewer", "manager", "customer"])
def test_only_a_review_lead_declines_a_request(associated: Claim, manager: Any, who: str) -> None:
    ask(associated)
    by = {"plain_reviewer": reviewer(), "manager": manager, "customer": CUSTOMER}[who]
    before = fingerprint(associated)
    with pytest.raises(TransitionRefused, match="Only a review lead"):
        workflow.decline_end_request(associated, by=by, reason="No.")
    assert fingerprint(associated) == before


def test_declining_needs_a_reason_and_a_pending_request(associated: Claim, leads: list[Any]) -> None:
    before = fingerprint(associated)
    with pytest.raises(TransitionRefused, match="no pending request"):
        workflow.decline_end_request(associated, by=leads[0], reason="No.")
    ask(associated)
    before = fingerprint(associated)
    with pytest.raises(ValidationError):
        workflow.decline_end_request(associated, by=leads[0], reason="  ")
    assert fingerprint(associated) == before


@pytest.mark.parametrize(
    ("action", "by", "words"),
    [
        ("withdraw", "manager", "iş ortağı talebini geri çekti"),
        ("supersede", "system", "başka bir iş ortağının talebi onun yerini aldı"),
    ],
)
def test_an_association_ended_another_way_settles_the_request_and_tells_the_customer(
    associated: Claim, manager: Any, leads: list[Any], action: str, by: str, words: str
) -> None:
    request = ask(associated)  # in Turkish
    details = {"reason": "no_longer_working"} if action == "withdraw" else {}
    workflow.transition(associated, action, by=manager if by == "manager" else SYSTEM, **details)

    request.refresh_from_db()
    assert request.outcome == AssociationEndRequest.Outcome.SETTLED
    assert request.decided_at == BASE + dt.timedelta(days=20) or request.decided_at is not None
    assert (request.decided_by, request.decision_note) == (None, "")
    assert str(request.get_outcome_display()) == "No longer needed: the association ended"
    # The customer who asked is told, in their language; the partner never sees their address.
    (row,) = OutboundEmail.objects.filter(kind="end_request_settled_customer")
    assert (row.recipients, row.language) == ([ASKER], "tr")
    text = rendered(row, "tr")
    assert "artık gerek kalmadı" in text and words in text
    assert "no longer needed" in rendered(row, "en")
    note = ClaimEvent.objects.get(claim=associated, action="notification", email_id=row.pk)
    assert not note.partner_visible
    # Nothing is left for a lead: declining it is refused, and changes nothing.
    before = fingerprint(associated)
    with pytest.raises(TransitionRefused, match="no pending request"):
        workflow.decline_end_request(associated, by=leads[0], reason="Too late.")
    assert fingerprint(associated) == before


def test_every_way_out_of_associated_settles_a_pending_request_read_from_the_state_machine() -> None:
    """The rule is not a list of names: every transition from `associated` to another state runs
    it (a future `lapse` too), in its one-claim and its batch form; `end_association` grants."""
    from claims.workflow import customer, registry

    field = Claim._meta.get_field("status")
    leaving = {
        t.name
        for t in field.get_all_transitions(Claim)
        if t.source == S.ASSOCIATED and t.target != S.ASSOCIATED
    }
    assert leaving >= {"withdraw", "supersede", "end_association"}
    assert set(customer.actions_leaving_associated()) == leaving
    for action in leaving:
        steps = {(r.one, r.many) for r in registry._steps[action]}
        if action == "end_association":
            assert (customer.grant_end_request, None) in steps
            assert all(one is not customer.settle_end_requests for one, _many in steps)
        else:
            assert (customer.settle_end_requests, customer.settle_end_requests_for_many) in steps


def test_the_batch_form_settles_a_whole_batch_with_the_same_statements(clock: Any, manager: Any) -> None:
    """A sweep leaving `associated` (a lapse) settles every claim's request in one go."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from claims.workflow.customer import settle_end_requests_for_many
    from claims.workflow.registry import StepContext

    def associations(count: int) -> list[Claim]:
        made = []
        for _ in range(count):
            claim = claim_in(S.APPROVED, by=manager)
            clock.move_to(claim.consent_window_ends_at, tick=False)
            made.append(workflow.transition(claim, "close_consent_window", by=SYSTEM))
        for claim in made:
            ask(claim, language="en")
        return made

    counts = []
    mailed = 0
    for size in (1, 3):
        claims = associations(size)
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            now = BASE + dt.timedelta(days=40)
            settle_end_requests_for_many(
                [StepContext(claim=c, action="withdraw", by=SYSTEM, now=now, event_id=0) for c in claims],
            )
        counts.append(len(queries))
        outcomes = set(
            AssociationEndRequest.objects.filter(claim__in=claims).values_list("outcome", flat=True)
        )
        assert outcomes == {"settled"}
        mailed += size
        assert OutboundEmail.objects.filter(kind="end_request_settled_customer").count() == mailed
    assert counts[0] == counts[1]


def test_a_request_outlived_by_its_association_cannot_be_declined(
    associated: Claim, leads: list[Any]
) -> None:
    """Even were a pending request left on an ended claim (data from before the settling rule), a
    lead cannot tell the customer "the association stays" about an association that has ended."""
    ask(associated)
    Claim.objects.filter(pk=associated.pk).update(status=S.REJECTED)
    before = fingerprint(associated)
    with pytest.raises(TransitionRefused, match="has ended"):
        workflow.decline_end_request(associated, by=leads[0], reason="It stays.")
    assert fingerprint(associated) == before


def test_the_partners_claim_page_tells_the_story_without_the_customers_address(
    associated: Claim, manager: Any, leads: list[Any]
) -> None:
    ask(associated)
    workflow.decline_end_request(associated, by=leads[0], reason="The contract runs until June.")
    ask(associated, reason="The contract ended in June.")
    workflow.transition(associated, "end_association", by=leads[1], comment="Ended as the customer asked.")

    page = client_for(manager).get(reverse("claims:detail", args=[associated.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    for shown in (
        "Customer asked to end the association",
        REASON,
        "Request to end the association declined",
        "The contract runs until June.",
        "Association ended at the customer&#x27;s request",
        "Ended as the customer asked.",
    ):
        assert shown in text, shown
    assert ASKER not in text
    assert leads[0].email not in text and leads[1].email not in text


def test_the_migration_settles_requests_already_outlived_and_leaves_waiting_ones(
    associated: Claim, clock: Any, manager: Any
) -> None:
    """Requests left pending on ended claims before the settling rule are settled by claims 0013,
    dated when their claim last changed; a request on a claim still associated keeps waiting."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("claims.migrations.0013_end_request_settled")
    outlived = ask(associated)
    Claim.objects.filter(pk=associated.pk).update(status=S.REJECTED)
    other = claim_in(S.APPROVED, by=manager)
    clock.move_to(other.consent_window_ends_at, tick=False)
    other = workflow.transition(other, "close_consent_window", by=SYSTEM)
    waiting = ask(other)

    migration.settle_outlived_requests(apps, None)

    outlived.refresh_from_db()
    waiting.refresh_from_db()
    assert outlived.outcome == AssociationEndRequest.Outcome.SETTLED
    assert outlived.decided_at == Claim.objects.get(pk=associated.pk).updated_at
    assert waiting.outcome == AssociationEndRequest.Outcome.PENDING
