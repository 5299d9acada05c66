"""The monthly job in two processes at once, and beside a lapse sweep, on PostgreSQL with real
commits (each thread its own connection), over several rounds with small batches so the runs
interleave.

- Two runs of `assess_month` for the same month: every association gets exactly one earning line,
  the counts the runs report add up to the lines there are, and every statement's lines add up.
- `assess_month` beside the lapse sweep ending associations whose subscription stopped being live
  inside the month being assessed: no association is left with an unreversed line for a month it
  no longer earns (the job holds the associations FOR SHARE; without that, the line written after
  the sweep's reversal read stays unreversed).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Sum

from claims import workflow
from claims.models import Claim, Membership, Subscription
from claims.tasks import lapse_inactive_subscriptions
from claims.workflow import SYSTEM
from earnings import ledger
from earnings.ledger import assess_month, month_of
from earnings.models import AssessmentHandoff, EarningsLine, Statement
from tests.earnings.ledger_helpers import association, customer_of, rule, tenant, usage
from tests.factories import PartnerFactory, claim_in, partner_user, reviewer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROUNDS = 4
JAN = dt.date(2026, 1, 1)


def at_once(*calls: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run the calls in threads released together: what they returned and what they raised."""
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list[Any] = []
    crashes: list[BaseException] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results.append(call())
        except BaseException as exc:  # noqa: BLE001 (reported to the test)
            crashes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung: a lock was never released"
    return results, crashes


def statements_add_up() -> None:
    for statement in Statement.objects.all():
        sums = {
            row["currency"]: (row["total"], row["count"])
            for row in statement.lines.order_by()
            .values("currency")
            .annotate(total=Sum("amount"), count=Count("id"))
        }
        frozen = {t.currency: (t.amount, t.line_count) for t in statement.totals.all()}
        assert statement.status == Statement.Status.DRAFT or frozen == sums


def test_two_runs_of_the_monthly_job_at_once_write_each_line_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "ASSESS_BATCH", 4)
    rule(effective_from=JAN, rate="1.2500", eligible_months=ROUNDS)
    partners = [PartnerFactory() for _ in range(3)]
    customer = tenant()
    handoffs = [
        association(
            partner=partners[n % 3], queued_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC), tenant_row=customer
        )
        for n in range(30)
    ]
    usage(customer, dt.date(2025, 12, 1), 3)
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    for round_ in range(ROUNDS):
        month = dt.date(2026, 1 + round_, 1)
        usage(customer, month, 10 + round_)
        results, crashes = at_once(
            lambda m=month: assess_month(m, now=now), lambda m=month: assess_month(m, now=now)
        )
        assert crashes == []
        assert sum(result.written for result in results) == len(handoffs)
        per_association = (
            EarningsLine.objects.filter(month=month, kind="earning")
            .values("assessment_id")
            .annotate(count=Count("id"))
        )
        assert sorted(row["assessment_id"] for row in per_association) == sorted(h.pk for h in handoffs)
        assert {row["count"] for row in per_association} == {1}
        assert Statement.objects.filter(month=month).count() == 3
        assert set(
            EarningsLine.objects.filter(month=month).values_list("statement__month", "statement__status")
        ) == {(month, "draft")}
        assert EarningsLine.objects.filter(month=month).aggregate(total=Sum("amount"))["total"] == Decimal(
            "1.25"
        ) * (7 + round_) * len(handoffs)
    statements_add_up()


def test_the_monthly_job_beside_a_lapse_sweep_leaves_no_unreversed_line_of_an_ended_month(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ledger, "ASSESS_BATCH", 2)
    base = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(base, tick=False) as clock:
        rule(effective_from=JAN, rate="1.0000", eligible_months=12)
        manager = partner_user(PartnerFactory(), Membership.Role.GLOBAL_ADMIN)
        rita = reviewer()
        rounds = []
        for round_ in range(3):
            month = dt.date(2026, 2 + round_, 1)  # the month assessed while the sweep runs
            claims, subscriptions = [], []
            for _ in range(6):
                clock.move_to(base, tick=False)
                customer = tenant()
                named = Subscription.objects.create(
                    subscription_id=uuid.uuid4(),
                    tenant=customer,
                    product_id=1,
                    channel=Subscription.Channel.DIRECT,
                    status=Subscription.Status.ACTIVE,
                    seats=10,
                    start_date=dt.date(2024, 1, 1),
                )
                claim = claim_in(
                    Claim.Status.APPROVED,
                    by=manager,
                    review_by=rita,
                    subscription_id=named.subscription_id,
                    **customer_of(customer),
                )
                clock.move_to(claim.consent_window_ends_at, tick=False)
                claims.append(workflow.transition(claim, "close_consent_window", by=SYSTEM))
                AssessmentHandoff.objects.filter(claim=claim).update(eligible=True, reasons=[])
                usage(customer, month, 5)
                subscriptions.append(named)
            # Each subscription stopped being live mid-month: the month earns nothing.
            Subscription.objects.filter(pk__in=[s.pk for s in subscriptions]).update(
                status=Subscription.Status.SUSPENDED,
                inactive_since=dt.datetime(month.year, month.month, 15, tzinfo=dt.UTC),
            )
            rounds.append((month, claims))

        for month, claims in rounds:
            clock.move_to(dt.datetime(month.year, month.month, 15, tzinfo=dt.UTC) + dt.timedelta(days=40))
            results, crashes = at_once(lambda m=month: assess_month(m), lapse_inactive_subscriptions)
            assert crashes == []
            ended = AssessmentHandoff.objects.filter(claim__in=claims)
            assert not ended.filter(ended_at=None).exists()
            for handoff in ended:
                for line in EarningsLine.objects.filter(assessment=handoff, kind="earning"):
                    if line.month >= month_of(handoff.ended_at):
                        assert EarningsLine.objects.filter(reverses=line).exists(), (handoff.pk, line.month)
    statements_add_up()
