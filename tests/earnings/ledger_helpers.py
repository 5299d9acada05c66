"""Building blocks for the ledger's tests: rule versions, associations, usage, approved statements."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Sum

from claims.models import Claim, MonthlyUsage, Partner, Product, Programme, Subscription, Tenant, TenantDomain
from earnings.models import (
    AssessmentHandoff,
    Currency,
    EarningsLine,
    Metric,
    ProgrammeRule,
    Statement,
    StatementTotal,
)
from tests.factories import PartnerFactory, draft


def product(code: str = "d365-sales") -> Product:
    return Product.objects.get(code=code)


def rule(
    *,
    effective_from: dt.date,
    programme: str = Programme.OSU,
    metric: str = Metric.ACTIVE_USER_GROWTH,
    rate: str | Decimal = "10.0000",
    currency: str = Currency.USD,
    cap: str | Decimal | None = None,
    minimum_units: int = 0,
    eligible_months: int = 12,
    workloads: Iterable[str] = ("d365-sales",),
    excluded_channels: Iterable[str] = (),
) -> ProgrammeRule:
    version = ProgrammeRule.objects.create(
        programme=programme,
        effective_from=effective_from,
        metric=metric,
        rate=Decimal(rate),
        currency=currency,
        monthly_cap=None if cap is None else Decimal(cap),
        minimum_units=minimum_units,
        eligible_months=eligible_months,
        excluded_channels=list(excluded_channels),
    )
    version.workloads.set(Product.objects.filter(code__in=list(workloads)))
    return version


def tenant() -> Tenant:
    """A registry tenant with a verified domain of its own (`customer_of` names both on a claim)."""
    row = Tenant.objects.create(tenant_id=uuid.uuid4(), name="Northwind")
    TenantDomain.objects.create(tenant=row, domain=f"t{row.tenant_id.hex[:12]}.example")
    return row


def customer_of(tenant_row: Tenant) -> dict[str, Any]:
    """The claim fields that name `tenant_row` as the customer."""
    return {
        "customer_tenant_id": tenant_row.tenant_id,
        "customer_domain": tenant_row.domains.get().domain,
    }


def subscription(
    tenant_row: Tenant,
    *,
    seats: int = 100,
    channel: str = Subscription.Channel.DIRECT,
    status: str = Subscription.Status.ACTIVE,
    inactive_since: dt.datetime | None = None,
) -> Subscription:
    return Subscription.objects.create(
        subscription_id=uuid.uuid4(),
        tenant=tenant_row,
        product=product(),
        channel=channel,
        status=status,
        seats=seats,
        start_date=dt.date(2024, 1, 1),
        inactive_since=inactive_since,
    )


def association(
    *,
    queued_at: dt.datetime,
    partner: Partner | None = None,
    programme: str = Programme.OSU,
    products: Iterable[str] = ("d365-sales",),
    handoff_products: Iterable[str] | None = None,
    tenant_row: Tenant | None = None,
    subscription_row: Subscription | None = None,
    baseline_seats: int | None = None,
    eligible: bool = True,
    ended_at: dt.datetime | None = None,
) -> AssessmentHandoff:
    """An assessed association, written as the hand-off and the assessment leave it (the claim is a
    real draft: the ledger reads the hand-off, not the claim's status)."""
    partner = partner or PartnerFactory()
    tenant_row = tenant_row or tenant()
    # The claim names a tenant of its own (no duplicate-claim refusal among a test's many
    # associations of one customer); the ledger reads the tenant the hand-off recorded.
    claim = draft(partner, products=tuple(products), customer_tenant_id=uuid.uuid4(), document=False)
    handoff = AssessmentHandoff.objects.create(
        claim=claim,
        partner=partner,
        programme=programme,
        payment_eligible=programme != Programme.BUSINESS_INFLUENCER,
        queued_at=queued_at,
        tenant_id=tenant_row.tenant_id,
        subscription_id=subscription_row.subscription_id if subscription_row else None,
        channel=subscription_row.channel if subscription_row else "",
        baseline_seats=baseline_seats,
        eligible=eligible,
        assessed_at=queued_at,
        ended_at=ended_at,
    )
    if handoff_products is not None:
        handoff.products.set(Product.objects.filter(code__in=list(handoff_products)))
    return handoff


def usage(tenant_row: Tenant, month: dt.date, active_users: int, code: str = "d365-sales") -> None:
    MonthlyUsage.objects.update_or_create(
        tenant=tenant_row, product=product(code), month=month, defaults={"active_users": active_users}
    )


def approve(statement: Statement, *, now: dt.datetime) -> Statement:
    """What finance's approval leaves: the statement approved under its row lock, totals frozen."""
    with transaction.atomic():
        locked = Statement.objects.select_for_update().get(pk=statement.pk)
        locked.approve(by=None, now=now)
        locked.save(update_fields=["status", "approved_at", "approved_by"])
        for row in (
            EarningsLine.objects.filter(statement=locked)
            .order_by()
            .values("currency")
            .annotate(amount=Sum("amount"), count=Count("id"))
        ):
            StatementTotal.objects.create(
                statement=locked, currency=row["currency"], amount=row["amount"], line_count=row["count"]
            )
    return locked


def ledger(handoff: AssessmentHandoff) -> list[tuple[str, dt.date, Decimal, str]]:
    """The association's lines as (kind, month, amount, statement month and status), oldest first."""
    return [
        (line.kind, line.month, line.amount, f"{line.statement.month:%Y-%m} {line.statement.status}")
        for line in EarningsLine.objects.filter(assessment=handoff).select_related("statement").order_by("id")
    ]


def claim_of(handoff: AssessmentHandoff) -> Claim:
    return Claim.objects.get(pk=handoff.claim_id)
