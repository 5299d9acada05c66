"""The monthly job writes one earning line per eligible association and month, computed in the
database: units by the version in force for that month, amount = units × rate, capped, zero below
the threshold, rounded once half up; lines on the month's draft statement (the next draft once it
is approved). It refuses a month that has not ended and writes nothing twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims.models import Programme, Subscription
from earnings.ledger import MonthNotEnded, assess_month
from earnings.models import EarningsLine, Metric, Statement
from tests.earnings.ledger_helpers import approve, association, ledger, rule, subscription, tenant, usage
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db

JAN, FEB, MAR, APR, MAY = (dt.date(2026, month, 1) for month in (1, 2, 3, 4, 5))
DEC = dt.date(2025, 12, 1)
LATER = dt.datetime(2026, 6, 10, 9, 0, tzinfo=dt.UTC)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    """`hour` o'clock on `day` in the site's time zone, where months begin and end."""
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def lines(**filters: Any) -> list[tuple[dt.date, int, Decimal, bool, str]]:
    return [
        (line.month, line.units, line.amount, line.cap_applied, line.currency)
        for line in EarningsLine.objects.filter(kind="earning", **filters).order_by("month", "id")
    ]


def test_active_user_growth_over_the_baseline_month_with_cap_threshold_and_rounding() -> None:
    rule(effective_from=DEC, rate="2.3450", cap="50.00", minimum_units=3)
    customer = tenant()
    handoff = association(queued_at=at(dt.date(2026, 1, 20)), tenant_row=customer)
    usage(customer, DEC, 100)  # the baseline: the month before the association month
    usage(customer, JAN, 101)  # 1 unit: below the threshold of 3
    usage(customer, FEB, 105)  # 5 × 2.345 = 11.725 → 11.73 (half up, once)
    usage(customer, MAR, 190)  # 90 × 2.345 = 211.05 → capped at 50.00
    usage(customer, MAR, 500, code="d365-customer-service")  # not claimed: does not count
    usage(customer, APR, 90)  # fewer than the baseline: 0 units
    for month in (JAN, FEB, MAR, APR):
        assess_month(month, now=LATER)
    assert lines(assessment=handoff) == [
        (JAN, 1, Decimal("0.00"), False, "USD"),
        (FEB, 5, Decimal("11.73"), False, "USD"),
        (MAR, 90, Decimal("50.00"), True, "USD"),
        (APR, 0, Decimal("0.00"), False, "USD"),
    ]
    line = EarningsLine.objects.get(assessment=handoff, month=FEB)
    assert (line.rate, line.minimum_units, line.cap, line.metric) == (
        Decimal("2.3450"),
        3,
        Decimal("50.00"),
        Metric.ACTIVE_USER_GROWTH,
    )
    assert line.statement.month == FEB and line.statement.status == Statement.Status.DRAFT


def test_each_month_uses_the_version_in_force_for_that_month() -> None:
    first = rule(effective_from=JAN, rate="1.0000", eligible_months=3)
    second = rule(effective_from=MAR, rate="3.0000", eligible_months=12, currency="EUR")
    customer = tenant()
    handoff = association(queued_at=at(dt.date(2026, 1, 5)), tenant_row=customer)
    usage(customer, DEC, 10)
    for month, users in ((JAN, 12), (FEB, 14), (MAR, 20), (APR, 30)):
        usage(customer, month, users)
    for month in (JAN, FEB, MAR, APR):
        assess_month(month, now=LATER)
    assert lines(assessment=handoff) == [
        (JAN, 2, Decimal("2.00"), False, "USD"),
        (FEB, 4, Decimal("4.00"), False, "USD"),
        (MAR, 10, Decimal("30.00"), False, "EUR"),
        (APR, 20, Decimal("60.00"), False, "EUR"),
    ]
    assert [line.rule_id for line in EarningsLine.objects.filter(assessment=handoff).order_by("month")] == [
        first.pk,
        first.pk,
        second.pk,
        second.pk,
    ]


def test_months_outside_eligibility_ineligible_ended_and_excluded_channels_earn_nothing() -> None:
    rule(effective_from=DEC, eligible_months=2, excluded_channels=["csp"])
    partner = PartnerFactory()
    customer = tenant()
    usage(customer, DEC, 0)
    for month in (JAN, FEB, MAR):
        usage(customer, month, 10)
    kept = association(partner=partner, queued_at=at(dt.date(2026, 1, 31), 20), tenant_row=customer)
    association(partner=partner, queued_at=at(JAN), tenant_row=customer, eligible=False)
    association(
        partner=partner, queued_at=at(JAN), tenant_row=customer, ended_at=at(dt.date(2026, 1, 31), 23)
    )
    ended_in_feb = association(
        partner=partner, queued_at=at(JAN), tenant_row=customer, ended_at=at(dt.date(2026, 2, 1), 0)
    )
    association(
        partner=partner,
        queued_at=at(JAN),
        tenant_row=customer,
        subscription_row=subscription(customer, channel=Subscription.Channel.CSP),
    )
    association(partner=partner, queued_at=at(JAN), tenant_row=customer, programme=Programme.OSA)
    for month in (DEC, JAN, FEB, MAR):
        assess_month(month, now=LATER)
    assert lines(assessment=kept) == [
        (JAN, 10, Decimal("100.00"), False, "USD"),
        (FEB, 10, Decimal("100.00"), False, "USD"),  # and March is past its two months
    ]
    assert lines(assessment=ended_in_feb) == [(JAN, 10, Decimal("100.00"), False, "USD")]
    assert EarningsLine.objects.count() == 3


def test_new_seats_and_one_time_fee() -> None:
    rule(effective_from=JAN, programme=Programme.OSA, metric=Metric.NEW_SEATS, rate="4.5000")
    rule(
        effective_from=JAN,
        programme=Programme.OSU,
        metric=Metric.ONE_TIME_FEE,
        rate="250.0000",
        currency="GBP",
    )
    customer = tenant()
    named = subscription(customer, seats=130)
    seats = association(
        queued_at=at(JAN),
        programme=Programme.OSA,
        tenant_row=customer,
        subscription_row=named,
        baseline_seats=100,
    )
    no_subscription = association(queued_at=at(JAN), programme=Programme.OSA, tenant_row=customer)
    fee = association(queued_at=at(FEB), tenant_row=customer)
    for month in (JAN, FEB, MAR):
        assess_month(month, now=LATER)
    assert lines(assessment=seats) == [
        (JAN, 30, Decimal("135.00"), False, "USD"),
        (FEB, 30, Decimal("135.00"), False, "USD"),
        (MAR, 30, Decimal("135.00"), False, "USD"),
    ]
    assert lines(assessment=no_subscription)[0][1:3] == (0, Decimal("0.00"))
    assert lines(assessment=fee) == [(FEB, 1, Decimal("250.00"), False, "GBP")]


def test_the_job_refuses_the_current_and_future_months_and_writes_nothing() -> None:
    rule(effective_from=JAN)
    association(queued_at=at(JAN))
    with pytest.raises(MonthNotEnded, match="2026-06 has not ended yet"):
        assess_month(dt.date(2026, 6, 1), now=LATER)
    with pytest.raises(MonthNotEnded, match="2026-09 has not ended yet"):
        assess_month(dt.date(2026, 9, 1), now=LATER)
    assert not EarningsLine.objects.exists() and not Statement.objects.exists()


def test_running_twice_changes_nothing_and_an_approved_month_sends_new_lines_to_the_next_draft() -> None:
    rule(effective_from=JAN)
    partner = PartnerFactory()
    customer = tenant()
    usage(customer, JAN, 5)
    first = association(partner=partner, queued_at=at(JAN), tenant_row=customer)
    first_run = assess_month(JAN, now=LATER)
    assert (first_run.written, first_run.month_lines, first_run.month_totals) == (
        1,
        1,
        {"USD": Decimal("50.00")},
    )
    again = assess_month(JAN, now=LATER + dt.timedelta(hours=1))
    assert again.written == 0
    approve(Statement.objects.get(partner=partner, month=JAN), now=LATER)
    assert assess_month(JAN, now=LATER).written == 0
    assert Statement.objects.count() == 1
    # An association assessed late (its line not yet written) when January is already approved.
    late = association(partner=partner, queued_at=at(JAN), tenant_row=customer)
    assert assess_month(JAN, now=LATER).written == 1
    assert ledger(late) == [("earning", JAN, Decimal("50.00"), "2026-02 draft")]
    assert ledger(first) == [("earning", JAN, Decimal("50.00"), "2026-01 approved")]


def test_constant_queries_whatever_the_number_of_associations(settings: Any) -> None:
    rule(effective_from=JAN)

    def queries_for(count: int) -> int:
        for _ in range(count):
            association(queued_at=at(JAN))
        with CaptureQueriesContext(connection) as captured:
            assess_month(JAN, now=LATER)
        EarningsLine.objects.all()._raw_delete(EarningsLine.objects.db)
        Statement.objects.all().delete()
        return len(captured)

    assert queries_for(2) == queries_for(30)


@pytest.mark.parametrize(
    ("zone", "queued", "month"),
    [
        # The last hour of the year in Istanbul is already January there: January is month A.
        ("Europe/Istanbul", dt.datetime(2025, 12, 31, 21, 30, tzinfo=dt.UTC), JAN),
        # A DST change day (London, 29 March 2026): the month boundary is still local midnight.
        ("Europe/London", dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC), APR),
        ("America/New_York", dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC), MAR),
    ],
)
def test_the_association_month_is_the_local_month(
    settings: Any, zone: str, queued: dt.datetime, month: dt.date
) -> None:
    settings.TIME_ZONE = zone
    rule(effective_from=DEC, eligible_months=1, metric=Metric.ONE_TIME_FEE)
    handoff = association(queued_at=queued)
    assert handoff.association_month == month
    with time_machine.travel(dt.datetime(2026, 5, 2, tzinfo=dt.UTC), tick=False):
        for each in (DEC, JAN, FEB, MAR, APR):
            assess_month(each)
    assert [line[0] for line in lines(assessment=handoff)] == [month]
