"""Property-based: random rule versions (metrics, rates, caps, thresholds, months of eligibility,
excluded channels, currencies), random usage series and seats, associations that end at random
moments, statements approved along the way. The monthly job runs month after month, each time twice.

Whatever the draw:
- every earning line is what the rules say for its association and month (an oracle written
  straight from the decided semantics in Python): units, the version used, the amount capped, zero under the
  threshold, rounded once half up to the minor unit; and exactly the months that earn have one;
- the ledger never holds two unreversed earning lines for one association and month, and a second
  run of the job changes nothing;
- an ended association holds no unreversed line for a month from the one it ended in, and its
  earlier lines stand; a reversal cancels its line exactly (same units, rate, cap, currency,
  negated amount), on a draft statement of the line's month or later;
- every approved statement's frozen totals are its lines' sum per currency.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.models import Subscription
from claims.workflow import SYSTEM, StepContext
from earnings.ledger import add_months, assess_month, end_associations, month_of, month_starts
from earnings.models import AssessmentHandoff, EarningsLine, Metric, ProgrammeRule, Statement, round_money
from tests.earnings.ledger_helpers import approve, association, rule, subscription, tenant, usage
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db

FIRST = dt.date(2025, 11, 1)  # the first month any version or association starts
MONTHS = [add_months(FIRST, n) for n in range(7)]  # November 2025 … May 2026, across the year end
NOW = dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)
WORKLOADS = ("d365-sales", "d365-customer-service")


@dataclass(frozen=True)
class VersionDraw:
    start: int
    metric: str
    rate: Decimal
    currency: str
    cap: Decimal | None
    minimum_units: int
    eligible_months: int
    workloads: tuple[str, ...]
    exclude_csp: bool


@dataclass(frozen=True)
class AssociationDraw:
    partner: int
    month: int
    day: int
    hour: int
    claimed: tuple[str, ...]
    csp: bool
    seats: int | None
    baseline_seats: int | None
    usage: tuple[tuple[int, ...], ...]  # per workload, per month from October 2025
    end_step: int | None  # after which job step it ends
    end_month: int  # the month (index) it ended in, not after that step's month
    end_day: int


# Rates of any four decimals (so the half-cent rounding is exercised), caps of any two.
money = st.integers(0, 400_000).map(lambda n: Decimal(n).scaleb(-4))
versions = st.builds(
    VersionDraw,
    start=st.integers(0, 5),
    metric=st.sampled_from(Metric.values),
    rate=money,
    currency=st.sampled_from(["USD", "EUR", "TRY"]),
    cap=st.none() | st.integers(0, 30_000).map(lambda n: Decimal(n).scaleb(-2)),
    minimum_units=st.integers(0, 8),
    eligible_months=st.integers(1, 6),
    workloads=st.sampled_from([WORKLOADS[:1], WORKLOADS[1:], WORKLOADS]),
    exclude_csp=st.booleans(),
)
associations = st.builds(
    AssociationDraw,
    partner=st.integers(0, 1),
    month=st.integers(0, 5),
    day=st.integers(1, 28),
    hour=st.integers(0, 23),
    claimed=st.sampled_from([WORKLOADS[:1], WORKLOADS[1:], WORKLOADS]),
    csp=st.booleans(),
    seats=st.none() | st.integers(0, 400),
    baseline_seats=st.none() | st.integers(0, 400),
    usage=st.tuples(*[st.tuples(*[st.integers(0, 250) for _ in range(len(MONTHS) + 1)]) for _ in WORKLOADS]),
    end_step=st.none() | st.integers(0, len(MONTHS) - 1),
    end_month=st.integers(0, len(MONTHS) - 1),
    end_day=st.integers(1, 28),
)


def version_for(rules: list[ProgrammeRule], month: dt.date) -> ProgrammeRule | None:
    in_force = [r for r in rules if r.effective_from <= month]
    return max(in_force, key=lambda r: r.effective_from) if in_force else None


def oracle(
    handoff: AssessmentHandoff,
    month: dt.date,
    rules: list[ProgrammeRule],
    usage_of: dict[Any, int],
    seats: int | None,
) -> tuple[int, Decimal, bool, int] | None:
    """(units, amount, cap applied, rule id) for the association and month, or None: no line."""
    version = version_for(rules, month)
    if version is None:
        return None
    start = month_of(handoff.queued_at)
    if version.metric == Metric.ONE_TIME_FEE:
        if month != start:
            return None
    elif not start <= month <= add_months(start, version.eligible_months - 1):
        return None
    if handoff.channel in version.excluded_channels:
        return None
    if version.metric == Metric.ONE_TIME_FEE:
        units = 1
    elif version.metric == Metric.NEW_SEATS:
        named = handoff.subscription_id is not None and handoff.baseline_seats is not None
        units = max(0, (seats or 0) - handoff.baseline_seats) if named else 0
    else:
        covered = set(version.workloads.values_list("code", flat=True)) & set(handoff._claimed)
        now = sum(usage_of.get((code, month), 0) for code in covered)
        before = sum(usage_of.get((code, add_months(start, -1)), 0) for code in covered)
        units = max(0, now - before)
    gross = units * version.rate
    capped = version.monthly_cap is not None and gross > version.monthly_cap
    if units < version.minimum_units:
        return units, Decimal("0.00"), False, version.pk
    amount = round_money(min(gross, version.monthly_cap) if capped else gross, version.currency)
    return units, amount, capped, version.pk


def build(version_draws: list[VersionDraw], association_draws: list[AssociationDraw]) -> tuple[Any, ...]:
    rules = []
    for draw in version_draws:
        start = MONTHS[draw.start]
        if any(r.effective_from == start for r in rules):
            continue
        rules.append(
            rule(
                effective_from=start,
                metric=draw.metric,
                rate=draw.rate,
                currency=draw.currency,
                cap=draw.cap,
                minimum_units=draw.minimum_units,
                eligible_months=draw.eligible_months,
                workloads=draw.workloads,
                excluded_channels=["csp"] if draw.exclude_csp else [],
            )
        )
    partners = [PartnerFactory(), PartnerFactory()]
    handoffs = []
    usage_by_handoff: dict[int, dict[Any, int]] = {}
    seats_by_handoff: dict[int, int | None] = {}
    for draw in association_draws:
        customer = tenant()
        named = None
        if draw.seats is not None:
            channel = Subscription.Channel.CSP if draw.csp else Subscription.Channel.EA
            named = subscription(customer, seats=draw.seats, channel=channel)
        month = MONTHS[draw.month]
        handoff = association(
            partner=partners[draw.partner],
            queued_at=dt.datetime(month.year, month.month, draw.day, draw.hour, 30, tzinfo=dt.UTC),
            products=draw.claimed,
            tenant_row=customer,
            subscription_row=named,
            baseline_seats=draw.baseline_seats if named else None,
        )
        handoff._claimed = draw.claimed
        usage_of = {}
        for code, series in zip(WORKLOADS, draw.usage, strict=True):
            for offset, users in enumerate(series):
                usage_month = add_months(FIRST, offset - 1)
                usage(customer, usage_month, users, code=code)
                usage_of[(code, usage_month)] = users
        usage_by_handoff[handoff.pk] = usage_of
        seats_by_handoff[handoff.pk] = draw.seats
        handoffs.append(handoff)
    return rules, handoffs, usage_by_handoff, seats_by_handoff


def unreversed_earning_lines() -> Any:
    return EarningsLine.objects.filter(kind="earning", reversal__isnull=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    version_draws=st.lists(versions, min_size=1, max_size=3),
    association_draws=st.lists(associations, min_size=1, max_size=4),
    approvals=st.lists(st.booleans(), min_size=len(MONTHS), max_size=len(MONTHS)),
)
def test_the_ledger_holds_what_the_rules_say_whatever_the_draw(
    version_draws: list[VersionDraw], association_draws: list[AssociationDraw], approvals: list[bool]
) -> None:
    with transaction.atomic():
        check(version_draws, association_draws, approvals)
        transaction.set_rollback(True)


def check(
    version_draws: list[VersionDraw], association_draws: list[AssociationDraw], approvals: list[bool]
) -> None:
    rules, handoffs, usage_by_handoff, seats_by_handoff = build(version_draws, association_draws)
    expected: dict[tuple[int, dt.date], tuple[int, Decimal, bool, int]] = {}
    for step, month in enumerate(MONTHS):
        first = assess_month(month, now=NOW)
        lines_after_first = list(
            EarningsLine.objects.order_by("id").values_list("id", "amount", "statement_id")
        )
        assert assess_month(month, now=NOW).written == 0
        assert list(EarningsLine.objects.order_by("id").values_list("id", "amount", "statement_id")) == (
            lines_after_first
        )
        written = 0
        for handoff in handoffs:
            handoff.refresh_from_db(fields=["ended_at"])
            line = oracle(handoff, month, rules, usage_by_handoff[handoff.pk], seats_by_handoff[handoff.pk])
            still_in_force = handoff.ended_at is None or handoff.ended_at >= month_starts(
                add_months(month, 1)
            )
            if line is not None and still_in_force:
                expected[(handoff.pk, month)] = line
                written += 1
        assert first.written == written
        if approvals[step]:
            for statement in Statement.objects.filter(month=month, status="draft"):
                approve(statement, now=NOW)
        # Associations that end after this step, at a moment up to the step's month (a lapse
        # reaches back to when the subscription stopped being live).
        for handoff, draw in zip(handoffs, association_draws, strict=True):
            if draw.end_step == step:
                ended = MONTHS[min(draw.end_month, step)]
                moment = dt.datetime(ended.year, ended.month, draw.end_day, 17, tzinfo=dt.UTC)
                claim = handoff.claim
                end_associations(
                    [StepContext(claim=claim, action="supersede", by=SYSTEM, now=moment, event_id=0)]
                )

    earning = {
        (line.assessment_id, line.month): (line.units, line.amount, line.cap_applied, line.rule_id)
        for line in EarningsLine.objects.filter(kind="earning")
    }
    assert earning == expected
    assert EarningsLine.objects.filter(kind="earning").count() == len(earning)  # never two
    for line in EarningsLine.objects.filter(kind="earning"):
        assert line.amount >= 0
        if line.cap is not None:
            assert line.amount <= line.cap

    for handoff in handoffs:
        handoff.refresh_from_db(fields=["ended_at"])
        for line in EarningsLine.objects.filter(assessment=handoff, kind="earning"):
            reversed_ = EarningsLine.objects.filter(reverses=line).exists()
            ended_before = handoff.ended_at is not None and line.month >= month_of(handoff.ended_at)
            assert reversed_ == ended_before
    for reversal in EarningsLine.objects.filter(kind="reversal").select_related("reverses", "statement"):
        line = reversal.reverses
        assert (reversal.units, reversal.rate, reversal.cap, reversal.currency, reversal.rule_id) == (
            line.units,
            line.rate,
            line.cap,
            line.currency,
            line.rule_id,
        )
        assert reversal.amount == -line.amount
        assert reversal.statement.month >= line.month
        assert reversal.reversal_reason == EarningsLine.ReversalReason.ASSOCIATION_ENDED

    for statement in Statement.objects.exclude(status="draft"):
        sums = {
            row["currency"]: (row["total"], row["count"])
            for row in statement.lines.order_by()
            .values("currency")
            .annotate(total=Sum("amount"), count=Count("id"))
        }
        assert {t.currency: (t.amount, t.line_count) for t in statement.totals.all()} == sums
    assert (
        unreversed_earning_lines()
        .values("assessment_id", "month")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
        == 0
    )
