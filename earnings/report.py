"""Reads for the partner's earnings report (`/earnings/`): the ledger's lines and their totals per
currency, the partner's statements, and its associations with their eligibility.

Every read is scoped by the partner first: nothing here takes a line, statement or association id
without the partner's id beside it, so another partner's data never comes back.

Queries stay constant whatever the partner holds: the lines page is keyset-paged on (month, id)
newest first, so 50,000 lines cost the same as 50 (the indexes ledger_partner_month,
ledger_partner_tenant and ledger_partner_subscription lead with the partner and the filter);
filtered totals are one grouped SUM (unfiltered, the statements' totals added up); statements one
query plus their frozen totals plus one grouped SUM for the drafts' running totals; associations a
count and one page with the claim joined.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet, Sum, TextChoices
from django.utils.translation import gettext_lazy as _

from claims.models import Membership
from earnings.models import AssessmentHandoff, EarningsLine, Statement, StatementTotal, round_money

LINES_PER_PAGE = 50
ASSOCIATIONS_PER_PAGE = 25

# Who sees what (earnings.md): amounts for the partner's Global and Billing admins; the assessment
# and its reasons for them and the Incentives admins; the eligibility status alone for members.
AMOUNT_ROLES = frozenset({Membership.Role.GLOBAL_ADMIN, Membership.Role.BILLING_ADMIN})
REASON_ROLES = AMOUNT_ROLES | {Membership.Role.INCENTIVES_ADMIN}


def sees_amounts(membership: Membership) -> bool:
    return membership.role in AMOUNT_ROLES


def sees_reasons(membership: Membership) -> bool:
    return membership.role in REASON_ROLES


class Eligibility(TextChoices):
    ELIGIBLE = "eligible", _("Eligible")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    NOT_ASSESSED = "not_assessed", _("Not yet assessed")
    ENDED = "ended", _("Ended")


def eligibility_of(handoff: AssessmentHandoff) -> Eligibility:
    """An ended association earns nothing more whatever its assessment said, so ended comes first."""
    if handoff.ended_at is not None:
        return Eligibility.ENDED
    if handoff.eligible is None:
        return Eligibility.NOT_ASSESSED
    return Eligibility.ELIGIBLE if handoff.eligible else Eligibility.NOT_ELIGIBLE


# --- lines ---------------------------------------------------------------------------------------


def filtered_lines(
    partner_id: int,
    *,
    tenant: Any = None,
    subscription: Any = None,
    programme: str = "",
    from_month: dt.date | None = None,
    to_month: dt.date | None = None,
) -> QuerySet[EarningsLine]:
    """The partner's ledger lines matching the filters (unordered: callers order or aggregate)."""
    lines = EarningsLine.objects.filter(partner_id=partner_id)
    if tenant:
        lines = lines.filter(tenant_id=tenant)
    if subscription:
        lines = lines.filter(subscription_id=subscription)
    if programme:
        lines = lines.filter(programme=programme)
    if from_month:
        lines = lines.filter(month__gte=from_month)
    if to_month:
        lines = lines.filter(month__lte=to_month)
    return lines.order_by()


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    amount: Decimal
    line_count: int


def totals_by_currency(lines: QuerySet[EarningsLine]) -> list[CurrencyTotal]:
    """One total per currency (never summed across currencies), in one grouped query."""
    grouped = (
        lines.order_by()
        .values("currency")
        .annotate(amount=Sum("amount"), line_count=Count("id"))
        .order_by("currency")
    )
    return [_total(row) for row in grouped]


def _total(row: dict[str, Any]) -> CurrencyTotal:
    # A sum of two-place amounts is exact; quantizing only restores the minor unit that some
    # databases' SUM drops (SQLite returns 175 for 175.00), so every total reads as money.
    currency = row["currency"]
    return CurrencyTotal(currency, round_money(Decimal(row["amount"]), currency), row["line_count"])


def with_explanations(lines: QuerySet[EarningsLine]) -> QuerySet[EarningsLine]:
    """What a line needs to explain itself: its customer, its rule version, the line it reverses and
    the statement it sits on, joined (each a foreign key, so one row per line)."""
    return lines.select_related("assessment__claim", "rule", "reverses", "statement")


NEWEST_FIRST = ("-month", "-id")
CURSOR_PATTERN = re.compile(r"^(\d{4})-(\d{2})-01\.(\d{1,18})$")


def cursor_of(line: EarningsLine) -> str:
    return f"{line.month:%Y-%m-%d}.{line.pk}"


def parse_cursor(text: str | None) -> tuple[dt.date, int] | None:
    """`YYYY-MM-01.<id>`, or None for anything else (a hand-edited link shows the first page)."""
    match = CURSOR_PATTERN.match(text or "")
    if match is None:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), 1), int(match.group(3))
    except ValueError:
        return None


def _explained_page(lines: QuerySet[EarningsLine], order: tuple[str, ...], limit: int) -> list[EarningsLine]:
    """The first `limit` lines in `order`, with their explanations, in one query: the page's ids
    are picked from the ledger alone (an index walk), and only those rows are joined. Joining
    first lets the planner join every one of the partner's lines before it sorts."""
    page_ids = lines.order_by(*order).values("pk")[:limit]
    return list(with_explanations(EarningsLine.objects.filter(pk__in=page_ids)).order_by(*order))


@dataclass
class LinePage:
    lines: list[EarningsLine]
    next_cursor: str | None  # older lines
    previous_cursor: str | None  # newer lines
    is_first: bool


def line_page(
    lines: QuerySet[EarningsLine],
    *,
    after: tuple[dt.date, int] | None = None,
    before: tuple[dt.date, int] | None = None,
    size: int = LINES_PER_PAGE,
) -> LinePage:
    """One page newest first, keyset on (month, id): the lines older than `after`, or the page just
    newer than `before`. One query (size + 1 rows tell whether another page follows)."""
    if before is not None:
        month, pk = before
        rows = _explained_page(
            lines.filter(Q(month__gt=month) | Q(month=month, id__gt=pk)), ("month", "id"), size + 1
        )
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        return LinePage(
            lines=rows,
            next_cursor=cursor_of(rows[-1]) if rows else None,
            previous_cursor=cursor_of(rows[0]) if rows and has_newer else None,
            is_first=not has_newer,
        )
    query = lines
    if after is not None:
        month, pk = after
        query = lines.filter(Q(month__lt=month) | Q(month=month, id__lt=pk))
    rows = _explained_page(query, NEWEST_FIRST, size + 1)
    has_older = len(rows) > size
    rows = rows[:size]
    return LinePage(
        lines=rows,
        next_cursor=cursor_of(rows[-1]) if rows and has_older else None,
        previous_cursor=cursor_of(rows[0]) if rows and after is not None else None,
        is_first=after is None,
    )


def rate_text(rate: Decimal) -> str:
    """A rate with its meaningful decimals, at least the minor unit's two (12.5 → 12.50, 0.1250 →
    0.125): the stored four places would read as false precision."""
    text = format(rate.normalize(), "f")
    whole, _dot, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


# --- statements ----------------------------------------------------------------------------------


@dataclass
class StatementRow:
    statement: Statement
    totals: list[CurrencyTotal]
    frozen: bool  # approved or paid: the totals finance froze; a draft's are a running sum


def statements_of(partner_id: int) -> list[StatementRow]:
    """The partner's statements newest first with their totals per currency: the frozen ones for an
    approved or paid statement, the lines' running sum for a draft (three queries in all)."""
    statements = list(
        Statement.objects.filter(partner_id=partner_id)
        .prefetch_related(Prefetch("totals", queryset=StatementTotal.objects.order_by("currency")))
        .order_by("-month")
    )
    running: dict[int, list[CurrencyTotal]] = {}
    drafts = [s.pk for s in statements if s.status == Statement.Status.DRAFT]
    if drafts:
        grouped = (
            EarningsLine.objects.filter(partner_id=partner_id, statement_id__in=drafts)
            .values("statement_id", "currency")
            .annotate(amount=Sum("amount"), line_count=Count("id"))
            .order_by("statement_id", "currency")
        )
        for row in grouped:
            running.setdefault(row["statement_id"], []).append(_total(row))
    rows = []
    for statement in statements:
        if statement.status == Statement.Status.DRAFT:
            rows.append(StatementRow(statement, running.get(statement.pk, []), frozen=False))
        else:
            frozen = [CurrencyTotal(t.currency, t.amount, t.line_count) for t in statement.totals.all()]
            rows.append(StatementRow(statement, frozen, frozen=True))
    return rows


def totals_of_statements(rows: list[StatementRow]) -> list[CurrencyTotal]:
    """The partner's totals over its whole ledger, from its statements alone: every line sits on
    exactly one statement of its partner, and an approved or paid statement is immutable with its
    frozen totals equal to its lines (a draft's are the running sum), so adding the statements'
    totals per currency gives the lines' totals without a pass over every line."""
    sums: dict[str, tuple[Decimal, int]] = {}
    for row in rows:
        for total in row.totals:
            amount, count = sums.get(total.currency, (Decimal(0), 0))
            sums[total.currency] = (amount + total.amount, count + total.line_count)
    return [
        CurrencyTotal(currency, round_money(amount, currency), count)
        for currency, (amount, count) in sorted(sums.items())
    ]


# --- associations --------------------------------------------------------------------------------


def associations_of(
    partner_id: int, *, tenant: Any = None, subscription: Any = None, programme: str = ""
) -> QuerySet[AssessmentHandoff]:
    """The partner's associations handed off for assessment, newest first."""
    handoffs = AssessmentHandoff.objects.filter(partner_id=partner_id)
    if tenant:
        handoffs = handoffs.filter(tenant_id=tenant)
    if subscription:
        handoffs = handoffs.filter(subscription_id=subscription)
    if programme:
        handoffs = handoffs.filter(programme=programme)
    return handoffs.order_by("-queued_at", "-id")


def association_page(handoffs: QuerySet[AssessmentHandoff], number: Any) -> Page:
    """One page of associations (a count, then the page in one query): the page's ids are picked
    from the hand-offs alone, and only those are joined to their claims and rules."""
    page = Paginator(handoffs.values("pk"), ASSOCIATIONS_PER_PAGE).get_page(number)
    page.object_list = list(
        AssessmentHandoff.objects.filter(pk__in=page.object_list)
        .select_related("claim", "rule")
        .order_by("-queued_at", "-id")
    )
    return page


@dataclass
class AssociationRow:
    handoff: AssessmentHandoff
    eligibility: Eligibility
    reasons: list[str]


def association_rows(handoffs: Any) -> list[AssociationRow]:
    return [AssociationRow(h, eligibility_of(h), h.reason_labels) for h in handoffs]
