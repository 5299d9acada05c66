"""Customer insight (`/insight/`): a partner's associated customers' active users per claimed
workload, month by month since the association, against the month before it (the baseline).

It lives in claims because claims owns the data it reads (claims, their events, the usage feed);
DESIGN lists insight under earnings/, an app that does not exist yet.

Who may read: any member of the partner (read-only roles included): it changes nothing.
What shows: only the partner's own claims in status `associated`, and for each only the usage of
the workloads the claim names on the claimed tenant. A declined, ended, lapsed or superseded
association is no longer `associated` and disappears.

Queries: the overview page runs a fixed number of queries whatever the number of customers. The
association time, baseline, latest month and its users are correlated subqueries in the one SELECT
that sorts and pages (so every column sorts in SQL), plus one count and one prefetch of the page's
workloads.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import (
    DateField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, NullIf, TruncMonth
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from claims import selectors
from claims.models import Claim, ClaimEvent, MonthlyUsage, Product

S = Claim.Status
PAGE_SIZE = 25
CHART_WIDTH = 640
CHART_HEIGHT = 200

# Column name in the URL → (its header, the expression it sorts by). Ties break on the claim id.
COLUMNS: dict[str, Any] = {
    "customer": gettext_lazy("Customer"),
    "tenant": gettext_lazy("Tenant"),
    "workloads": gettext_lazy("Claimed workloads"),
    "since": gettext_lazy("Associated since"),
    "baseline": gettext_lazy("Baseline"),
    "latest": gettext_lazy("Latest month"),
    "growth": gettext_lazy("Growth"),
    "growth_pct": gettext_lazy("Growth %"),
}
SORT_FIELDS = {
    "customer": "customer_name",
    "tenant": "customer_tenant_id",
    "workloads": "first_workload",
    "since": "associated_at",
    "baseline": "baseline",
    "latest": "latest_users",
    "growth": "growth",
    "growth_pct": "growth_pct",
}
DEFAULT_SORT = "customer"


def _month_before(month: dt.date) -> dt.date:
    return (month - dt.timedelta(days=1)).replace(day=1)


def _usage_of_claim() -> QuerySet[MonthlyUsage]:
    """Usage on the outer claim's tenant, of the workloads the outer claim names (nothing else)."""
    return MonthlyUsage.objects.filter(
        tenant__tenant_id=OuterRef("customer_tenant_id"), product__claims=OuterRef("pk")
    ).order_by()


def _summed(usage: QuerySet[MonthlyUsage]) -> Subquery:
    # Grouped by the tenant (one group: the claim's), so the SUM is a scalar subquery.
    return Subquery(
        usage.values("tenant_id").annotate(total=Sum("active_users")).values("total")[:1],
        output_field=IntegerField(),
    )


def associations(partner_id: int) -> QuerySet[Claim]:
    """The partner's associated claims with associated_at, first_workload, association_month,
    baseline, latest_month and latest_users annotated (all in SQL)."""
    associated_at = (
        ClaimEvent.objects.filter(claim=OuterRef("pk"), to_status=S.ASSOCIATED)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    first_workload = Product.objects.filter(claims=OuterRef("pk")).order_by("name").values("name")[:1]
    claims = (
        Claim.objects.filter(partner_id=partner_id, status=S.ASSOCIATED)
        .annotate(associated_at=Subquery(associated_at), first_workload=Subquery(first_workload))
        .annotate(association_month=TruncMonth("associated_at", output_field=DateField()))
    )
    usage = _usage_of_claim()
    # The baseline month: the first day of the month of (the association month's first day − 1 day).
    baseline_month = TruncMonth(
        ExpressionWrapper(OuterRef("association_month") - dt.timedelta(days=1), output_field=DateField()),
        output_field=DateField(),
    )
    since = usage.filter(month__gte=OuterRef("association_month"))
    claims = claims.annotate(
        baseline=_summed(usage.filter(month=baseline_month)),
        latest_month=Subquery(since.order_by("-month").values("month")[:1]),
        # The latest month's users in one subquery: grouped by month, newest first, the first sum.
        latest_users=Subquery(
            since.values("month").annotate(total=Sum("active_users")).order_by("-month").values("total")[:1],
            output_field=IntegerField(),
        ),
    )
    return claims


def _with_growth(claims: QuerySet[Claim], sort: str) -> QuerySet[Claim]:
    """Growth in SQL only when the page sorts by it (each annotation repeats the subqueries it
    names, so computing it for every customer costs); otherwise `_row` computes it per row."""
    name = sort.removeprefix("-")
    # Each of the two named once, so the subqueries run once per customer.
    no_zero = NullIf(F("baseline"), Value(0))
    if name == "growth":
        return claims.annotate(growth=F("latest_users") - no_zero)
    if name == "growth_pct":
        return claims.annotate(
            growth_pct=ExpressionWrapper(
                Cast(F("latest_users"), FloatField()) * Value(100.0) / Cast(no_zero, FloatField())
                - Value(100.0),
                output_field=FloatField(),
            )
        )
    return claims


def _sorted(claims: QuerySet[Claim], sort: str) -> QuerySet[Claim]:
    claims = _with_growth(claims, sort)
    name = sort.removeprefix("-")
    expression = F(SORT_FIELDS[name])
    if sort.startswith("-"):
        return claims.order_by(expression.desc(nulls_last=True), "-id")
    return claims.order_by(expression.asc(nulls_last=True), "id")


def _sort_of(request: HttpRequest) -> str:
    sort = request.GET.get("sort", DEFAULT_SORT)
    return sort if sort.removeprefix("-") in SORT_FIELDS else DEFAULT_SORT


@dataclass
class Row:
    claim: Claim
    workloads: list[str]
    baseline_month: dt.date | None
    baseline: int | None
    latest_month: dt.date | None
    latest_users: int | None
    growth: int | None
    growth_pct: float | None

    @property
    def has_baseline(self) -> bool:
        return bool(self.baseline)


def _row(claim: Any) -> Row:
    month = claim.association_month
    has_baseline = bool(claim.baseline)
    return Row(
        claim=claim,
        workloads=[p.name for p in claim.products.all()],
        baseline_month=_month_before(month) if month else None,
        baseline=claim.baseline,
        latest_month=claim.latest_month,
        latest_users=claim.latest_users,
        growth=claim.latest_users - claim.baseline
        if has_baseline and claim.latest_users is not None
        else None,
        growth_pct=(claim.latest_users - claim.baseline) * 100 / claim.baseline
        if has_baseline and claim.latest_users is not None
        else None,
    )


def _rows(partner_id: int, ids: list[int]) -> list[Row]:
    claims = {c.pk: c for c in _with_workloads(associations(partner_id).filter(pk__in=ids))}
    return [_row(claims[pk]) for pk in ids if pk in claims]


def _with_workloads(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    return claims.prefetch_related(Prefetch("products", queryset=Product.objects.order_by("name")))


def _headers(sort: str, query: Any) -> list[dict[str, Any]]:
    headers = []
    for name, label in COLUMNS.items():
        current = sort.removeprefix("-") == name
        descending = sort.startswith("-")
        link = query.copy()
        link.pop("page", None)
        link["sort"] = f"-{name}" if current and not descending else name
        headers.append(
            {
                "name": name,
                "label": label,
                "url": "?" + link.urlencode(),
                "aria_sort": ("descending" if descending else "ascending") if current else None,
            }
        )
    return headers


def _membership_or_none(request: HttpRequest) -> Any:
    return selectors.membership_for(request.user)


@login_required
@require_safe
def overview(request: HttpRequest) -> HttpResponse:
    membership = _membership_or_none(request)
    if membership is None:
        return render(request, "claims/not_a_partner.html", status=403)
    sort = _sort_of(request)
    # Two steps: the page's claim ids in the chosen order (the SELECT computes only the sort key,
    # once per customer), then those 25 claims with every column and their workloads.
    paginator = Paginator(
        _sorted(associations(membership.partner_id), sort).values_list("pk", flat=True), PAGE_SIZE
    )
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    query = request.GET.copy()
    query["sort"] = sort
    pages = {}
    for name, number in (("previous", page.number - 1), ("next", page.number + 1)):
        link = query.copy()
        link["page"] = str(number)
        pages[name] = link.urlencode()
    export = query.copy()
    export.pop("page", None)
    return render(
        request,
        "claims/insight.html",
        {
            "membership": membership,
            "page": page,
            "rows": _rows(membership.partner_id, list(page.object_list)),
            "headers": _headers(sort, query),
            "previous_query": pages["previous"],
            "next_query": pages["next"],
            "export_query": export.urlencode(),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_safe
def export_csv(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    membership = _membership_or_none(request)
    if membership is None:
        return render(request, "claims/not_a_partner.html", status=403)
    claims = _with_workloads(_sorted(associations(membership.partner_id), _sort_of(request)))

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield writer.writerow(
            [
                _("Claim ID"),
                _("Customer"),
                _("Tenant"),
                _("Claimed workloads"),
                _("Associated since"),
                _("Baseline month"),
                _("Baseline"),
                _("Latest month"),
                _("Active users"),
                _("Growth"),
                _("Growth %"),
            ]
        )
        for claim in claims.iterator(chunk_size=500):
            row = _row(claim)
            yield writer.writerow(
                [
                    _cell(value)
                    for value in (
                        claim.pk,
                        claim.customer_name,
                        claim.customer_tenant_id,
                        "; ".join(row.workloads),
                        claim.associated_at.date().isoformat() if claim.associated_at else "",
                        row.baseline_month.strftime("%Y-%m") if row.baseline_month else "",
                        row.baseline if row.baseline is not None else "",
                        row.latest_month.strftime("%Y-%m") if row.latest_month else "",
                        row.latest_users if row.latest_users is not None else "",
                        row.growth if row.growth is not None else _("no baseline"),
                        f"{row.growth_pct:.1f}" if row.growth_pct is not None else "",
                    )
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customer-insight.csv"'
    return response


@dataclass
class Point:
    month: dt.date
    users: int
    growth: int | None
    growth_pct: float | None
    x: float = 0
    y: float = 0
    height: float = 0


@dataclass
class Workload:
    product: Product
    baseline: int | None
    points: list[Point] = field(default_factory=list)
    baseline_y: float | None = None
    bar_width: float = 0


def _chart(workload: Workload) -> None:
    """Bar positions in a CHART_WIDTH × CHART_HEIGHT box, and the baseline's height."""
    top = max([p.users for p in workload.points] + [workload.baseline or 0, 1])
    slots = max(len(workload.points), 1)
    slot = CHART_WIDTH / slots
    workload.bar_width = round(slot * 0.7, 1)
    for index, point in enumerate(workload.points):
        point.height = round(point.users / top * (CHART_HEIGHT - 10), 1)
        point.x = round(index * slot + slot * 0.15, 1)
        point.y = round(CHART_HEIGHT - point.height, 1)
    if workload.baseline:
        workload.baseline_y = round(CHART_HEIGHT - workload.baseline / top * (CHART_HEIGHT - 10), 1)


@login_required
@require_safe
def customer(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _membership_or_none(request)
    if membership is None:
        return render(request, "claims/not_a_partner.html", status=403)
    claim = _with_workloads(associations(membership.partner_id).filter(pk=pk)).first()
    if claim is None:
        raise Http404("No such association")
    row = _row(claim)
    products = list(claim.products.all())
    workloads = {p.pk: Workload(product=p, baseline=None) for p in products}
    usage = (
        MonthlyUsage.objects.filter(
            tenant__tenant_id=claim.customer_tenant_id,
            product__in=list(workloads),
            month__gte=row.baseline_month,
        ).order_by("product_id", "month")
        if row.baseline_month
        else MonthlyUsage.objects.none()
    )
    for entry in usage.values("product_id", "month", "active_users"):
        workload = workloads[entry["product_id"]]
        if entry["month"] == row.baseline_month:
            workload.baseline = entry["active_users"]
            continue
        base = workload.baseline
        workload.points.append(
            Point(
                month=entry["month"],
                users=entry["active_users"],
                growth=entry["active_users"] - base if base else None,
                growth_pct=(entry["active_users"] - base) * 100 / base if base else None,
            )
        )
    for workload in workloads.values():
        _chart(workload)
    return render(
        request,
        "claims/insight_customer.html",
        {
            "membership": membership,
            "claim": claim,
            "row": row,
            "workloads": list(workloads.values()),
            "chart_width": CHART_WIDTH,
            "chart_height": CHART_HEIGHT,
            "since": date_format(claim.associated_at, "DATE_FORMAT") if claim.associated_at else "",
        },
    )
