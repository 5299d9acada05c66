"""Statements with ledger lines written directly (as the monthly job leaves them), the people who
read and act on them, and a fingerprint of everything a statement action could change."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group

from claims.models import Partner, Product, Programme
from earnings.models import (
    FINANCE_GROUP,
    AssessmentHandoff,
    Currency,
    EarningsLine,
    Metric,
    ProgrammeRule,
    Statement,
    StatementTotal,
)
from tests.factories import PartnerFactory, UserFactory, draft

# Every statement month in these tests has ended by NOW (the clock the tests pin).
MONTH = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 5, 12, 9, 30, tzinfo=dt.UTC)


def finance_user(**kwargs: Any) -> Any:
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=FINANCE_GROUP))
    return user


def rule_version(
    *,
    currency: str = Currency.USD,
    programme: str = Programme.OSU,
    effective_from: dt.date = dt.date(2026, 1, 1),
    is_example: bool = False,
    rate: str = "10.0000",
    cap: str | None = "500.00",
) -> ProgrammeRule:
    rule, _created = ProgrammeRule.objects.get_or_create(
        programme=programme,
        effective_from=effective_from,
        defaults={
            "metric": Metric.ACTIVE_USER_GROWTH,
            "rate": Decimal(rate),
            "currency": currency,
            "monthly_cap": None if cap is None else Decimal(cap),
            "eligible_months": 12,
            "is_example": is_example,
        },
    )
    rule.workloads.set(Product.objects.filter(code="d365-sales"))
    return rule


def handoff(partner: Partner, *, customer_name: str = "Northwind Traders") -> AssessmentHandoff:
    claim = draft(partner, customer_name=customer_name, document=False)
    return AssessmentHandoff.objects.create(
        claim=claim,
        partner=partner,
        programme=Programme.OSU,
        payment_eligible=True,
        queued_at=dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC),
        tenant_id=claim.customer_tenant_id,
        subscription_id=uuid.uuid4(),
        eligible=True,
        assessed_at=dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC),
    )


def statement_for(partner: Partner | None = None, month: dt.date = MONTH) -> Statement:
    return Statement.objects.create(partner=partner or PartnerFactory(), month=month)


def line(
    statement: Statement,
    amount: str,
    *,
    currency: str = Currency.USD,
    association: AssessmentHandoff | None = None,
    rule: ProgrammeRule | None = None,
    units: int = 3,
    cap_applied: bool = False,
    month: dt.date | None = None,
) -> EarningsLine:
    association = association or handoff(statement.partner)
    rule = rule or rule_version(currency=currency)
    return EarningsLine.objects.create(
        partner=statement.partner,
        assessment=association,
        programme=rule.programme,
        month=month or statement.month,
        tenant_id=association.tenant_id,
        subscription_id=association.subscription_id,
        rule=rule,
        metric=rule.metric,
        units=units,
        rate=rule.rate,
        cap=rule.monthly_cap,
        cap_applied=cap_applied,
        amount=Decimal(amount),
        currency=currency,
        statement=statement,
    )


def reversal(of: EarningsLine, statement: Statement) -> EarningsLine:
    return EarningsLine.objects.create(
        kind=EarningsLine.Kind.REVERSAL,
        partner=of.partner,
        assessment=of.assessment,
        programme=of.programme,
        month=of.month,
        tenant_id=of.tenant_id,
        subscription_id=of.subscription_id,
        rule=of.rule,
        metric=of.metric,
        units=of.units,
        rate=of.rate,
        cap=of.cap,
        cap_applied=of.cap_applied,
        amount=-of.amount,
        currency=of.currency,
        reverses=of,
        reversal_reason=EarningsLine.ReversalReason.ASSOCIATION_ENDED,
        statement=statement,
    )


def fingerprint() -> tuple[Any, ...]:
    """Every statement's state, the totals and the ledger: what a refused request must leave as it was."""
    return (
        tuple(
            Statement.objects.order_by("pk").values_list(
                "pk", "status", "approved_at", "approved_by", "paid_at", "paid_by", "payment_reference"
            )
        ),
        tuple(
            StatementTotal.objects.order_by("pk").values_list(
                "pk", "statement", "currency", "amount", "line_count"
            )
        ),
        tuple(EarningsLine.objects.order_by("pk").values_list("pk", "statement", "amount")),
    )
