"""An association ends when its subscription has been inactive too long (`lapse`, the beat job).

The beat job `claims.tasks.lapse_inactive_subscriptions` moves every associated claim whose named
subscription (on the claim's own tenant) has had `inactive_since` for longer than CPOR_LAPSE_DAYS
through `lapse`, as the system: rejected for `subscription_inactive`, disputable for 30 days, the
partner mailed, the hand-off cancelled, a pending customer request settled, a webhook event written.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api import webhooks
from api.models import WebhookEvent
from claims import workflow
from claims.models import (
    AssociationEndRequest,
    Claim,
    ClaimEvent,
    Membership,
    Product,
    RejectionReason,
    Subscription,
    Tenant,
)
from claims.tasks import lapse_inactive_subscriptions
from claims.workflow import CUSTOMER, SYSTEM, TransitionRefused
from consent.associations import Standing, customer_status, receipt_events, receipt_of
from cpor import outbox
from cpor.models import OutboundEmail
from earnings.models import AssessmentHandoff
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status

BASE = dt.datetime(2025, 3, 5, 10, 0, tzinfo=dt.UTC)  # a Wednesday
WENT_INACTIVE = BASE + dt.timedelta(days=10)  # after every association here has formed
THRESHOLD = WENT_INACTIVE + dt.timedelta(days=30)  # CPOR_LAPSE_DAYS by default
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def clock(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    time_machine.move_to(BASE, tick=False)
    return time_machine


@pytest.fixture
def manager() -> Any:
    return partner_user(PartnerFactory(language="en"), Membership.Role.GLOBAL_ADMIN)


def subscribe(
    claim: Claim, *, status: str = Subscription.Status.SUSPENDED, tenant_id: uuid.UUID | None = None
) -> Subscription:
    """The commerce feed's row for the subscription `claim` names, on its tenant unless told."""
    tenant_id = tenant_id or claim.customer_tenant_id
    tenant, _created = Tenant.objects.get_or_create(tenant_id=tenant_id, defaults={"name": "Northwind"})
    live = status in Subscription.LIVE_STATUSES
    return Subscription.objects.create(
        subscription_id=claim.subscription_id,
        tenant=tenant,
        product=Product.objects.get(code="d365-sales"),
        channel=Subscription.Channel.DIRECT,
        status=status,
        seats=200,
        start_date=dt.date(2024, 1, 1),
        inactive_since=None if live else WENT_INACTIVE,
    )


def associated_claim(clock: Any, manager: Any, rita: Any = None, **overrides: Any) -> Claim:
    """An association (formed at BASE + 7 days) naming a subscription of its own, clock back at BASE."""
    overrides.setdefault("subscription_id", uuid.uuid4())
    claim = claim_in(S.APPROVED, by=manager, review_by=rita, **overrides)
    with time_machine.travel(claim.consent_window_ends_at, tick=False):
        claim = workflow.transition(claim, "close_consent_window", by=SYSTEM)
    assert AssessmentHandoff.objects.filter(claim=claim).exists()
    return claim


def lapsed_association(clock: Any, manager: Any, **overrides: Any) -> Claim:
    claim = associated_claim(clock, manager, **overrides)
    subscribe(claim)
    return claim


def rendered(row: OutboundEmail, language: str) -> str:
    row.language = language
    subject, body = outbox.render(row)
    return f"{subject}\n{body}"


# -- the threshold --------------------------------------------------------------------------------


def test_an_association_lapses_one_second_after_the_threshold_and_not_one_before(
    clock: Any, manager: Any
) -> None:
    claim = lapsed_association(clock, manager)

    clock.move_to(THRESHOLD - SECOND, tick=False)
    assert lapse_inactive_subscriptions() == 0
    clock.move_to(THRESHOLD, tick=False)  # "longer than" 30 days: exactly 30 is not yet
    assert lapse_inactive_subscriptions() == 0
    assert Claim.objects.get(pk=claim.pk).status == S.ASSOCIATED

    clock.move_to(THRESHOLD + SECOND, tick=False)
    assert lapse_inactive_subscriptions() == 1

    claim.refresh_from_db()
    assert claim.status == S.REJECTED
    assert claim.rejection_reason == RejectionReason.SUBSCRIPTION_INACTIVE
    assert claim.rejected_by is None
    assert claim.dispute_window_ends_at == THRESHOLD + SECOND + dt.timedelta(days=30)
    assert claim.is_disputable
    (event,) = ClaimEvent.objects.filter(claim=claim, action=ClaimEvent.Action.LAPSE)
    assert (event.actor_kind, event.from_status, event.to_status) == ("system", S.ASSOCIATED, S.REJECTED)
    assert event.created_at == THRESHOLD + SECOND and event.partner_visible
    # Earning stopped when the subscription stopped being live, not when the sweep noticed.
    assert AssessmentHandoff.objects.get(claim=claim).ended_at == WENT_INACTIVE


def test_the_lapse_period_is_a_setting(clock: Any, manager: Any, settings: Any) -> None:
    settings.CPOR_LAPSE_DAYS = 5
    claim = lapsed_association(clock, manager)
    clock.move_to(WENT_INACTIVE + dt.timedelta(days=5) + SECOND, tick=False)
    assert lapse_inactive_subscriptions() == 1
    assert Claim.objects.get(pk=claim.pk).status == S.REJECTED


def test_the_one_path_refuses_lapse_before_the_threshold_in_the_conditions_words(
    clock: Any, manager: Any
) -> None:
    claim = lapsed_association(clock, manager)
    clock.move_to(THRESHOLD - SECOND, tick=False)
    events = ClaimEvent.objects.count()
    with pytest.raises(TransitionRefused, match="lapse period of 30 days has not passed"):
        workflow.transition(claim, "lapse", by=SYSTEM)
    with pytest.raises(TransitionRefused, match="not allowed"):
        workflow.transition(claim, "lapse", by=reviewer(lead=True))
    assert ClaimEvent.objects.count() == events
    assert Claim.objects.get(pk=claim.pk).status == S.ASSOCIATED


# -- twice, and what the partner is told -----------------------------------------------------------


def test_a_second_run_lapses_nothing_and_mails_nobody_again(clock: Any, manager: Any) -> None:
    claim = lapsed_association(clock, manager)
    clock.move_to(THRESHOLD + SECOND, tick=False)
    assert lapse_inactive_subscriptions() == 1
    events, mail = ClaimEvent.objects.count(), OutboundEmail.objects.count()
    clock.shift(dt.timedelta(days=1))
    assert lapse_inactive_subscriptions() == 0
    assert (ClaimEvent.objects.count(), OutboundEmail.objects.count()) == (events, mail)
    assert ClaimEvent.objects.filter(claim=claim, action="lapse").count() == 1
    assert OutboundEmail.objects.filter(kind="claim_rejected").count() == 1


def test_the_partner_is_told_why_until_when_and_how_to_dispute_in_english_and_turkish(
    clock: Any, manager: Any
) -> None:
    claim = lapsed_association(clock, manager)
    clock.move_to(THRESHOLD + SECOND, tick=False)
    lapse_inactive_subscriptions()

    (row,) = OutboundEmail.objects.filter(kind="claim_rejected")
    assert set(row.recipients) == {manager.email, "paula@partner.example"}
    assert ClaimEvent.objects.get(email_id=row.pk).partner_visible
    english, turkish = rendered(row, "en"), rendered(row, "tr")
    assert "Reason: The claimed subscription is no longer active" in english
    assert str(claim.subscription_id) in english and "more than 30 days" in english
    assert "You can dispute this rejection until 14 May 2025" in english
    assert "select Dispute" in english
    assert "The reviewer wrote:" not in english
    assert "Neden: Talep edilen abonelik artık etkin değil" in turkish
    assert str(claim.subscription_id) in turkish and "30 günden uzun" in turkish
    assert "itiraz edebilirsiniz" in turkish


# -- what does not lapse --------------------------------------------------------------------------


def test_only_associations_whose_named_subscription_lapsed_on_their_own_tenant_end(
    clock: Any, manager: Any
) -> None:
    lapsing = lapsed_association(clock, manager)
    no_subscription = associated_claim(clock, manager, subscription_id=None)
    in_grace = associated_claim(clock, manager)
    subscribe(in_grace, status=Subscription.Status.GRACE)
    active = associated_claim(clock, manager)
    subscribe(active, status=Subscription.Status.ACTIVE)
    not_covered = associated_claim(clock, manager)  # the registry knows neither tenant nor subscription
    foreign = associated_claim(clock, manager)  # its subscription ID is another tenant's
    subscribe(foreign, tenant_id=uuid.uuid4())
    rita = reviewer()
    not_associated = []
    for status in (S.SUBMITTED, S.UNDER_REVIEW, S.APPROVED, S.REJECTED):
        claim = claim_in(status, by=manager, review_by=rita, subscription_id=uuid.uuid4())
        subscribe(claim)
        not_associated.append(claim)

    clock.move_to(THRESHOLD + dt.timedelta(days=60), tick=False)
    assert lapse_inactive_subscriptions() == 1

    assert Claim.objects.get(pk=lapsing.pk).status == S.REJECTED
    for claim in (no_subscription, in_grace, active, not_covered, foreign):
        assert Claim.objects.get(pk=claim.pk).status == S.ASSOCIATED
    assert [Claim.objects.get(pk=c.pk).status for c in not_associated] == [
        S.SUBMITTED,
        S.UNDER_REVIEW,
        S.APPROVED,
        S.REJECTED,
    ]
    assert ClaimEvent.objects.filter(action="lapse").count() == 1


def test_a_subscription_back_in_active_does_not_lapse(clock: Any, manager: Any) -> None:
    claim = associated_claim(clock, manager)
    subscription = subscribe(claim)
    Subscription.objects.filter(pk=subscription.pk).update(
        status=Subscription.Status.ACTIVE, inactive_since=None
    )
    clock.move_to(THRESHOLD + dt.timedelta(days=1), tick=False)
    assert lapse_inactive_subscriptions() == 0
    assert Claim.objects.get(pk=claim.pk).status == S.ASSOCIATED


# -- the batch ------------------------------------------------------------------------------------


def _queries_to_lapse(clock: Any, count: int) -> int:
    partner = PartnerFactory()
    manager = partner_user(partner, Membership.Role.GLOBAL_ADMIN)
    rita = reviewer()
    clock.move_to(BASE, tick=False)
    claims = [associated_claim(clock, manager, rita) for _ in range(count)]
    for claim in claims:
        subscribe(claim)
        workflow.request_end_association(
            claim, by=CUSTOMER, customer_email="ines@northwind.example", language="en", reason="Moved."
        )
    webhooks.create_endpoint(
        partner=partner, by=manager, url="https://crm.example/h", event_types=["claim.lapsed"]
    )
    clock.move_to(THRESHOLD + SECOND, tick=False)
    with CaptureQueriesContext(connection) as queries:
        assert lapse_inactive_subscriptions() == count
    return len(queries)


def test_the_job_costs_the_same_queries_for_two_claims_as_for_ten(clock: Any) -> None:
    assert _queries_to_lapse(clock, 2) == _queries_to_lapse(clock, 10)


# -- what ending does elsewhere -------------------------------------------------------------------


def test_a_pending_customer_request_is_settled_and_the_hand_off_removed(clock: Any, manager: Any) -> None:
    claim = lapsed_association(clock, manager)
    workflow.request_end_association(
        claim, by=CUSTOMER, customer_email="ines@northwind.example", language="tr", reason="Moved."
    )
    clock.move_to(THRESHOLD + SECOND, tick=False)
    lapse_inactive_subscriptions()

    request = AssociationEndRequest.objects.get(claim=claim)
    assert (request.outcome, request.decided_at) == ("settled", THRESHOLD + SECOND)
    # Earning stopped when the subscription stopped being live, not when the sweep noticed.
    assert AssessmentHandoff.objects.get(claim=claim).ended_at == WENT_INACTIVE
    # The customer who asked is told the request is no longer needed, and why, in their language.
    (told,) = OutboundEmail.objects.filter(kind="end_request_settled_customer")
    assert (told.recipients, told.language) == (["ines@northwind.example"], "tr")
    assert "abonelik artık etkin değil" in rendered(told, "tr")
    assert "the subscription it was for is no longer active" in rendered(told, "en")
    # The review leads are left nothing to decide on an association that has ended.
    with pytest.raises(TransitionRefused):
        workflow.transition(claim, "end_association", by=reviewer(lead=True), comment="Too late.")


def test_the_partners_endpoint_gets_a_claim_lapsed_event(clock: Any, manager: Any) -> None:
    claim = lapsed_association(clock, manager)
    webhooks.create_endpoint(
        partner=claim.partner, by=manager, url="https://crm.example/h", event_types=["claim.lapsed"]
    )
    clock.move_to(THRESHOLD + SECOND, tick=False)
    lapse_inactive_subscriptions()

    (event,) = WebhookEvent.objects.filter(partner=claim.partner)
    assert event.type == "claim.lapsed"
    data = event.payload["data"]
    assert (data["action"], data["from_status"], data["to_status"]) == ("lapse", "associated", "rejected")
    assert data["claim"]["id"] == claim.pk and data["claim"]["status"] == "rejected"


def test_the_customer_portal_shows_the_association_ended_because_the_subscription_lapsed(
    clock: Any, manager: Any
) -> None:
    claim = lapsed_association(clock, manager)
    clock.move_to(THRESHOLD + SECOND, tick=False)
    lapse_inactive_subscriptions()
    claim.refresh_from_db()

    status = customer_status(claim)
    assert status.code == Standing.ENDED
    assert status.when == THRESHOLD + SECOND
    assert status.why == "It ended because the subscription is no longer active."
    receipt = receipt_of(claim, receipt_events(claim).get(action="lapse"))
    assert receipt.what == "Association ended"
    assert receipt.who == "Automatically, when the subscription had been inactive too long"


# -- the dispute ----------------------------------------------------------------------------------


def test_the_partner_disputes_a_lapse_within_thirty_days_and_a_lead_decides(clock: Any, manager: Any) -> None:
    claim = lapsed_association(clock, manager)
    clock.move_to(THRESHOLD + SECOND, tick=False)
    lapse_inactive_subscriptions()
    clock.shift(dt.timedelta(days=29))

    disputed = workflow.transition(
        claim, "dispute", by=manager, justification="The customer renewed the subscription last week."
    )
    assert disputed.status == S.DISPUTED
    with pytest.raises(TransitionRefused, match="not allowed"):
        workflow.transition(claim, "reopen", by=reviewer())
    reopened = workflow.transition(claim, "reopen", by=reviewer(lead=True))
    assert reopened.status == S.UNDER_REVIEW and reopened.rejection_reason == ""


def test_the_dispute_window_of_a_lapse_closes_after_thirty_days(clock: Any, manager: Any) -> None:
    claim = lapsed_association(clock, manager)
    clock.move_to(THRESHOLD + SECOND, tick=False)
    lapse_inactive_subscriptions()
    clock.move_to(THRESHOLD + SECOND + dt.timedelta(days=30), tick=False)
    with pytest.raises(TransitionRefused, match="no longer be disputed"):
        workflow.transition(claim, "dispute", by=manager, justification="Too late?")


# -- the sweep and the one path agree -------------------------------------------------------------


def test_the_sweep_and_the_one_path_leave_the_same_claim_history_and_mail(clock: Any, manager: Any) -> None:
    rita = reviewer()
    by_hand = lapsed_association(clock, manager, rita=rita)
    swept = lapsed_association(clock, manager, rita=rita)
    clock.move_to(THRESHOLD + SECOND, tick=False)
    workflow.transition(by_hand, "lapse", by=SYSTEM)
    assert lapse_inactive_subscriptions() == 1

    different = {"id", "customer_tenant_id", "subscription_id", "created_at", "updated_at", "submitted_at"}

    def columns(claim: Claim) -> dict[str, Any]:
        row = Claim.objects.filter(pk=claim.pk).values().get()
        return {name: value for name, value in row.items() if name not in different}

    def moves(claim: Claim) -> list[tuple[Any, ...]]:
        return list(
            ClaimEvent.objects.filter(claim=claim, action="lapse").values_list(
                "actor_kind", "from_status", "to_status", "diff", "created_at"
            )
        )

    def mail(claim: Claim) -> list[tuple[str, list[str]]]:
        rows = OutboundEmail.objects.filter(claimevent__claim=claim, kind="claim_rejected")
        return [(row.kind, sorted(row.recipients)) for row in rows]

    assert columns(swept) == columns(by_hand)
    assert moves(swept) == moves(by_hand)
    assert mail(swept) == mail(by_hand) != []
