"""What the registry and the usage feed say about the claim under review: the subscription it names
(channel, status, seats, product, dates, and what Partner Center's checks say of it now), and the
customer tenant's monthly active users of the claimed workloads, month by month. A reviewer judging
a "usage" claim sees whether there is usage at all. A fixed number of queries, whatever the claim.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy

from claims.models import Claim, ClaimEvent, MonthlyUsage, Product, Subscription, SubscriptionRegistry

USAGE_MONTHS = 18
# The month the chart marks, the first found: the association's, else the approval's.
MARKS = {
    ClaimEvent.Action.CLOSE_CONSENT_WINDOW: gettext_lazy("association"),
    ClaimEvent.Action.APPROVE: gettext_lazy("approval"),
}
BAR_WIDTH = 10  # SVG units per month; the chart's viewBox is USAGE_MONTHS × BAR_WIDTH wide
CHART_HEIGHT = 60


@dataclass
class NamedSubscription:
    """The subscription a Business Applications claim names, as the registry holds it (or not)."""

    subscription_id: str
    row: Subscription | None  # None: the registry does not hold it
    on_claimed_tenant: bool
    problems: list[str]  # what the subscription checks say of it now


def named_subscription(claim: Claim) -> NamedSubscription | None:
    """None when the claim names no subscription (or is not a Business Applications claim); one
    query, two when the registry does not hold it (`SubscriptionRegistry`)."""
    if not (claim.takes_subscription_id and claim.subscription_id):
        return None
    registry = SubscriptionRegistry.for_claims([claim])
    row = registry.subscription_of(claim)
    return NamedSubscription(
        subscription_id=str(claim.subscription_id),
        row=row,
        on_claimed_tenant=row is not None and row.tenant.tenant_id == claim.customer_tenant_id,
        problems=claim.subscription_problems(registry),
    )


@dataclass
class UsageMonth:
    month: dt.date
    active_users: int | None  # None: the feed reported nothing for the month
    marked: bool  # the month of the association (or approval)
    x: int
    height: float  # the bar's height in the chart's units (of CHART_HEIGHT)
    y: float  # where the bar starts from the top (SVG y grows downwards)


@dataclass
class WorkloadUsage:
    product: Product
    months: list[UsageMonth]
    latest: int | None  # the newest month's users that the feed reported
    peak: int

    @property
    def recorded(self) -> bool:
        return any(m.active_users is not None for m in self.months)


@dataclass
class UsageTrend:
    months: list[dt.date]  # oldest first, ending with the current month
    workloads: list[WorkloadUsage]  # the claimed workloads, by name
    marked_month: dt.date | None
    marked_label: str  # "association" / "approval", or ""
    rows: list[tuple[dt.date, bool, list[int | None]]]  # the table: month, marked, users per workload
    chart_width: int = USAGE_MONTHS * BAR_WIDTH
    chart_height: int = CHART_HEIGHT
    bar_width: int = BAR_WIDTH - 2

    @property
    def recorded(self) -> bool:
        return any(w.recorded for w in self.workloads)


def _months_ending(month: dt.date, count: int) -> list[dt.date]:
    months = [month]
    while len(months) < count:
        first = months[-1]
        months.append((first - dt.timedelta(days=1)).replace(day=1))
    return months[::-1]


def marked_moment(claim: Claim) -> tuple[dt.datetime | None, str]:
    """When the claim was associated (the customer's opt-out window closed), else approved, with a
    word for it; (None, "") before approval. One query."""
    found = dict(
        claim.events.filter(action__in=MARKS)
        .order_by("action", "created_at")
        .values_list("action", "created_at")
    )
    for action, word in MARKS.items():
        if action in found:
            return found[action], str(word)
    return None, ""


def usage_trend(claim: Claim, *, now: dt.datetime | None = None) -> UsageTrend:
    """The claimed workloads' active users on the claim's tenant over the last USAGE_MONTHS months
    (ending with the current one), with the association's month marked. Three queries."""
    now = now or timezone.now()
    months = _months_ending(timezone.localdate(now).replace(day=1), USAGE_MONTHS)
    products = sorted(claim.products.all(), key=lambda p: p.name)
    users: dict[tuple[int, dt.date], int] = {
        (product_id, month): count
        for product_id, month, count in MonthlyUsage.objects.filter(
            tenant__tenant_id=claim.customer_tenant_id,
            product__in=[p.pk for p in products],
            month__gte=months[0],
            month__lte=months[-1],
        ).values_list("product_id", "month", "active_users")
    }
    moment, label = marked_moment(claim)
    marked = timezone.localdate(moment).replace(day=1) if moment else None
    workloads = []
    for product in products:
        series = [users.get((product.pk, month)) for month in months]
        peak = max((n for n in series if n is not None), default=0)
        workloads.append(
            WorkloadUsage(
                product=product,
                months=[
                    UsageMonth(
                        month=month,
                        active_users=count,
                        marked=month == marked,
                        x=index * BAR_WIDTH + 1,
                        height=(height := round(CHART_HEIGHT * count / peak, 2) if count and peak else 0),
                        y=CHART_HEIGHT - height,
                    )
                    for index, (month, count) in enumerate(zip(months, series, strict=True))
                ],
                latest=next((n for n in reversed(series) if n is not None), None),
                peak=peak,
            )
        )
    rows = [
        (month, month == marked, [w.months[index].active_users for w in workloads])
        for index, month in enumerate(months)
    ]
    return UsageTrend(
        months=months,
        workloads=workloads,
        marked_month=marked if marked and months[0] <= marked <= months[-1] else None,
        marked_label=label,
        rows=rows[::-1],
    )
