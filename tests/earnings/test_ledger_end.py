"""An association that ends stops earning from the month it ended in: its lines of that month and
later are reversed in the transition's own transaction, onto the draft statement of the line's
month, or the next draft once that month's statement is approved (a clawback the partner sees).
Every way an association ends is covered: withdrawn, superseded, ended at the customer's request,
lapsed (then from the month its subscription stopped being live)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims import workflow
from claims.models import Claim, Membership, Subscription
from claims.tasks import lapse_inactive_subscriptions
from claims.workflow import CUSTOMER, SYSTEM
from earnings.ledger import assess_month, attach_to_statement, end_associations
from earnings.models import AssessmentHandoff, EarningsLine, Statement
from tests.earnings.ledger_helpers import approve, customer_of, ledger, rule, subscription, tenant, usage
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

pytestmark = pytest.mark.django_db
S = Claim.Status

BASE = timezone.make_aware(dt.datetime(2026, 1, 12, 10, 0))  # a Monday; associated on the 19th
JAN, FEB, MAR, APR = (dt.date(2026, month, 1) for month in (1, 2, 3, 4))


@pytest.fixture
def clock(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    time_machine.move_to(BASE, tick=False)
    return time_machine


def associated(clock: Any, **overrides: Any) -> tuple[Claim, AssessmentHandoff]:
    manager = partner_user(PartnerFactory(), Membership.Role.GLOBAL_ADMIN)
    claim = claim_in(S.APPROVED, by=manager, **overrides)
    clock.move_to(claim.consent_window_ends_at, tick=False)
    claim = workflow.transition(claim, "close_consent_window", by=SYSTEM)
    handoff = AssessmentHandoff.objects.get(claim=claim)
    AssessmentHandoff.objects.filter(pk=handoff.pk).update(eligible=True, reasons=[])
    return claim, handoff


def earn(handoff: AssessmentHandoff, month: dt.date, amount: str) -> EarningsLine:
    """An earning line as the monthly job writes it, on the statement the one rule picks."""
    version = rule(effective_from=JAN) if not handoff.rule_id else handoff.rule
    AssessmentHandoff.objects.filter(pk=handoff.pk).update(rule=version)
    handoff.rule = version
    statement = attach_to_statement(handoff.partner_id, month, now=BASE)
    return EarningsLine.objects.create(
        partner_id=handoff.partner_id,
        assessment=handoff,
        programme=handoff.programme,
        month=month,
        tenant_id=handoff.tenant_id,
        rule=version,
        metric=version.metric,
        units=int(Decimal(amount) / version.rate),
        rate=version.rate,
        amount=Decimal(amount),
        currency=version.currency,
        statement=statement,
    )


def end_by(action: str, claim: Claim) -> None:
    if action == "withdraw":
        workflow.transition(claim, "withdraw", by=workflow_manager(claim), reason="wrong_mpn")
    elif action == "supersede":
        workflow.transition(claim, "supersede", by=SYSTEM)
    else:
        workflow.request_end_association(
            claim, by=CUSTOMER, customer_email="ines@northwind.example", language="en", reason="In-house now."
        )
        workflow.transition(claim, "end_association", by=reviewer(lead=True), comment="Agreed.")


def workflow_manager(claim: Claim) -> Any:
    return Membership.objects.get(partner=claim.partner, role=Membership.Role.GLOBAL_ADMIN).user


@pytest.mark.parametrize("action", ["withdraw", "supersede", "end_association"])
def test_ending_mid_month_reverses_that_month_and_later_and_keeps_earlier_ones(
    clock: Any, action: str
) -> None:
    claim, handoff = associated(clock)
    jan, feb, mar = earn(handoff, JAN, "100.00"), earn(handoff, FEB, "80.00"), earn(handoff, MAR, "60.00")
    approve(jan.statement, now=BASE)

    clock.move_to(timezone.make_aware(dt.datetime(2026, 2, 14, 16, 30)), tick=False)
    end_by(action, claim)

    handoff.refresh_from_db()
    assert handoff.ended_at == timezone.make_aware(dt.datetime(2026, 2, 14, 16, 30))
    assert ledger(handoff) == [
        ("earning", JAN, Decimal("100.00"), "2026-01 approved"),
        ("earning", FEB, Decimal("80.00"), "2026-02 draft"),
        ("earning", MAR, Decimal("60.00"), "2026-03 draft"),
        ("reversal", FEB, Decimal("-80.00"), "2026-02 draft"),
        ("reversal", MAR, Decimal("-60.00"), "2026-03 draft"),
    ]
    for line in (feb, mar):
        reversal = EarningsLine.objects.get(reverses=line)
        assert reversal.reversal_reason == EarningsLine.ReversalReason.ASSOCIATION_ENDED
        assert (reversal.units, reversal.rate, reversal.cap, reversal.currency, reversal.rule_id) == (
            line.units,
            line.rate,
            line.cap,
            line.currency,
            line.rule_id,
        )
        assert reversal.amount + line.amount == 0


def test_a_line_on_an_approved_statement_is_clawed_back_on_the_next_draft(clock: Any) -> None:
    claim, handoff = associated(clock)
    jan, feb = earn(handoff, JAN, "100.00"), earn(handoff, FEB, "80.00")
    approve(jan.statement, now=BASE)
    approve(feb.statement, now=BASE)
    march = Statement.objects.create(partner=claim.partner, month=MAR)

    # Ended on 31 January: January is the month it ended in, so January and February are reversed;
    # both statements are approved, and March's is approved too: April's draft takes them.
    clock.move_to(timezone.make_aware(dt.datetime(2026, 1, 31, 23, 0)), tick=False)
    approve(march, now=BASE)
    workflow.transition(claim, "supersede", by=SYSTEM)

    assert ledger(handoff)[2:] == [
        ("reversal", JAN, Decimal("-100.00"), "2026-04 draft"),
        ("reversal", FEB, Decimal("-80.00"), "2026-04 draft"),
    ]
    # The approved statements kept their lines and frozen totals.
    assert [str(t) for t in Statement.objects.get(pk=jan.statement_id).totals.all()] == ["100.00 USD"]
    assert EarningsLine.objects.filter(statement_id=jan.statement_id).count() == 1


def test_ending_again_reverses_nothing_twice(clock: Any) -> None:
    claim, handoff = associated(clock)
    earn(handoff, FEB, "80.00")
    clock.move_to(timezone.make_aware(dt.datetime(2026, 2, 2)), tick=False)
    workflow.transition(claim, "supersede", by=SYSTEM)
    before = ledger(handoff)
    context = workflow.StepContext(claim=claim, action="supersede", by=SYSTEM, now=BASE, event_id=0)
    end_associations([context])
    assert ledger(handoff) == before
    assert AssessmentHandoff.objects.get(pk=handoff.pk).ended_at == timezone.make_aware(
        dt.datetime(2026, 2, 2)
    )


def test_a_lapse_ends_earning_from_the_month_the_subscription_stopped_being_live(clock: Any) -> None:
    customer = tenant()
    named = subscription(customer, seats=50)
    _claim, handoff = associated(clock, **customer_of(customer), subscription_id=named.subscription_id)
    jan = earn(handoff, JAN, "10.00")
    earn(handoff, FEB, "20.00")
    earn(handoff, MAR, "30.00")
    went_inactive = timezone.make_aware(dt.datetime(2026, 2, 27, 8, 0))
    Subscription.objects.filter(pk=named.pk).update(
        status=Subscription.Status.SUSPENDED, inactive_since=went_inactive
    )

    clock.move_to(went_inactive + dt.timedelta(days=31), tick=False)  # in March
    assert lapse_inactive_subscriptions() == 1

    handoff.refresh_from_db()
    assert handoff.ended_at == went_inactive
    assert [(kind, month) for kind, month, _amount, _statement in ledger(handoff)] == [
        ("earning", JAN),
        ("earning", FEB),
        ("earning", MAR),
        ("reversal", FEB),
        ("reversal", MAR),
    ]
    assert not EarningsLine.objects.filter(reverses=jan).exists()


def test_a_lapse_sweep_ends_a_batch_with_a_fixed_number_of_queries(clock: Any) -> None:
    def lapsing(count: int) -> list[AssessmentHandoff]:
        handoffs = []
        for _ in range(count):
            customer = tenant()
            named = subscription(customer)
            _claim, handoff = associated(
                clock, **customer_of(customer), subscription_id=named.subscription_id
            )
            earn(handoff, JAN, "10.00")
            earn(handoff, FEB, "10.00")
            Subscription.objects.filter(pk=named.pk).update(
                status=Subscription.Status.DELETED,
                inactive_since=timezone.make_aware(dt.datetime(2026, 1, 20)),
            )
            handoffs.append(handoff)
            clock.move_to(BASE, tick=False)
        return handoffs

    def sweep_queries() -> int:
        clock.move_to(timezone.make_aware(dt.datetime(2026, 3, 2)), tick=False)
        with CaptureQueriesContext(connection) as queries:
            lapse_inactive_subscriptions()
        clock.move_to(BASE, tick=False)
        return len(queries)

    one = lapsing(1)
    small = sweep_queries()
    many = lapsing(4)
    assert sweep_queries() == small
    for handoff in one + many:
        assert EarningsLine.objects.filter(assessment=handoff, kind="reversal").count() == 2


def test_after_an_end_the_monthly_job_writes_nothing_for_the_month_it_ended_in_or_later(clock: Any) -> None:
    customer = tenant()
    claim, handoff = associated(clock, **customer_of(customer))
    AssessmentHandoff.objects.filter(pk=handoff.pk).update(tenant_id=customer.tenant_id)
    rule(effective_from=dt.date(2025, 12, 1), rate="2.0000")
    usage(customer, dt.date(2025, 12, 1), 10)
    for month, users in ((JAN, 15), (FEB, 20), (MAR, 30)):
        usage(customer, month, users)
    clock.move_to(timezone.make_aware(dt.datetime(2026, 2, 1, 6, 0)), tick=False)
    assert assess_month(JAN).written == 1

    clock.move_to(timezone.make_aware(dt.datetime(2026, 2, 14, 16, 30)), tick=False)
    workflow.transition(claim, "supersede", by=SYSTEM)
    clock.move_to(timezone.make_aware(dt.datetime(2026, 4, 1, 6, 0)), tick=False)
    assert assess_month(FEB).written == 0
    assert assess_month(MAR).written == 0
    assert ledger(handoff) == [("earning", JAN, Decimal("10.00"), "2026-01 draft")]
