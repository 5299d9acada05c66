"""A statement's downloads: CSV (one row per ledger line, then the totals per currency) and a
printable page.

Who may read a statement: the Incentive finance team (any partner's, linked from the admin), and
the partner's own Global and Billing admins (linked from /earnings/). A statement of another
partner is a 404 for every partner user; the partner's Incentives admins and read-only members get
403 (they see no amounts); staff outside finance get 404, as for anything that is not theirs.
GET only: nothing here changes anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from claims.models import Membership, Programme
from claims.selectors import membership_for
from earnings.models import EarningsLine, Metric, ProgrammeRule, Statement, round_money
from earnings.statements import is_finance, statement_totals

# The roles that see amounts (the design's access rule for /earnings/).
STATEMENT_ROLES = frozenset({Membership.Role.GLOBAL_ADMIN, Membership.Role.BILLING_ADMIN})
CSV_CHUNK = 2000
# A printed statement lists its lines up to this many (some fifty pages); a larger one prints its
# sums by month, programme and kind, and the CSV carries every line.
PRINT_LINES_LIMIT = 2000


def statement_for(request: HttpRequest, pk: int) -> tuple[Statement, bool]:
    """The statement `request.user` may read, and whether they read it as finance staff.

    404 when it is not theirs to know about; 403 for the partner's users without amounts."""
    statements = Statement.objects.select_related("partner", "approved_by", "paid_by")
    if is_finance(request.user):
        statement = statements.filter(pk=pk).first()
        if statement is None:
            raise Http404("No such statement")
        return statement, True
    membership = membership_for(request.user)
    if membership is None:
        raise Http404("No such statement")
    statement = statements.filter(pk=pk, partner_id=membership.partner_id).first()
    if statement is None:
        raise Http404("No such statement")
    if membership.role not in STATEMENT_ROLES:
        raise PermissionDenied(
            _("Statements and amounts are for your organization's Global and Billing admins.")
        )
    return statement, False


@dataclass(frozen=True, slots=True)
class StatementRow:
    """One ledger line as a statement shows it, its labels resolved once per statement rather than
    once per line (a statement can hold a line for each of a partner's tens of thousands of
    associations)."""

    pk: int
    kind: str
    kind_label: str
    month: dt.date
    assessment_id: int
    claim_id: int
    customer_name: str
    tenant_id: uuid.UUID | None
    subscription_id: uuid.UUID | None
    programme_label: str
    metric_label: str
    units: int
    rate: Decimal
    minimum_units: int
    cap: Decimal | None
    cap_applied: bool
    amount: Decimal
    currency: str
    rule_effective_from: dt.date
    rule_is_example: bool
    rule_label: str
    reverses_id: int | None
    reversal_reason_label: str
    created_at: dt.datetime


_ROW_FIELDS = (
    "pk",
    "kind",
    "month",
    "assessment_id",
    "assessment__claim_id",
    "assessment__claim__customer_name",
    "tenant_id",
    "subscription_id",
    "programme",
    "metric",
    "units",
    "rate",
    "minimum_units",
    "cap",
    "cap_applied",
    "amount",
    "currency",
    "rule_id",
    "reverses_id",
    "reversal_reason",
    "created_at",
)


def statement_rows(statement: Statement, *, limit: int | None = None) -> Iterator[StatementRow]:
    """The statement's lines, oldest month first, streamed in chunks: two queries for the rules and
    one per CHUNK lines, whatever the statement's size."""
    kinds = {k: str(v) for k, v in EarningsLine.Kind.choices}
    reasons = {k: str(v) for k, v in EarningsLine.ReversalReason.choices}
    programmes = {k: str(v) for k, v in Programme.choices}
    metrics = {k: str(v) for k, v in Metric.choices}
    example = _("example terms")
    rules = {
        rule.pk: rule
        for rule in ProgrammeRule.objects.filter(
            pk__in=EarningsLine.objects.filter(statement=statement).values("rule_id")
        )
    }
    rule_labels = {
        pk: f"{programmes.get(r.programme, r.programme)} {r.effective_from:%Y-%m}"
        + (f" ({example})" if r.is_example else "")
        for pk, r in rules.items()
    }
    lines = EarningsLine.objects.filter(statement=statement).order_by("month", "id").values_list(*_ROW_FIELDS)
    if limit is not None:
        lines = lines[:limit]
    for values in lines.iterator(chunk_size=CSV_CHUNK):
        row = dict(zip(_ROW_FIELDS, values, strict=True))
        rule = rules[row["rule_id"]]
        yield StatementRow(
            pk=row["pk"],
            kind=row["kind"],
            kind_label=kinds.get(row["kind"], row["kind"]),
            month=row["month"],
            assessment_id=row["assessment_id"],
            claim_id=row["assessment__claim_id"],
            customer_name=row["assessment__claim__customer_name"],
            tenant_id=row["tenant_id"],
            subscription_id=row["subscription_id"],
            programme_label=programmes.get(row["programme"], row["programme"]),
            metric_label=metrics.get(row["metric"], row["metric"]),
            units=row["units"],
            rate=row["rate"],
            minimum_units=row["minimum_units"],
            cap=row["cap"],
            cap_applied=row["cap_applied"],
            amount=row["amount"],
            currency=row["currency"],
            rule_effective_from=rule.effective_from,
            rule_is_example=rule.is_example,
            rule_label=rule_labels[rule.pk],
            reverses_id=row["reverses_id"],
            reversal_reason_label=reasons.get(row["reversal_reason"], row["reversal_reason"]),
            created_at=row["created_at"],
        )


def uses_example_terms(statement: Statement) -> bool:
    return EarningsLine.objects.filter(statement=statement, rule__is_example=True).exists()


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """A text cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") else text


@dataclass(frozen=True)
class SummaryRow:
    month: dt.date
    programme_label: str
    kind_label: str
    currency: str
    line_count: int
    amount: Decimal


def programme_summary(statement: Statement) -> list[SummaryRow]:
    """The statement's lines summed by month, programme, kind and currency (never across currencies)."""
    kinds = {k: str(v) for k, v in EarningsLine.Kind.choices}
    programmes = {k: str(v) for k, v in Programme.choices}
    rows = (
        EarningsLine.objects.filter(statement=statement)
        .order_by()
        .values("month", "programme", "kind", "currency")
        .annotate(line_count=Count("id"), amount=Sum("amount"))
        .order_by("month", "programme", "kind", "currency")
    )
    return [
        SummaryRow(
            r["month"],
            programmes.get(r["programme"], r["programme"]),
            kinds.get(r["kind"], r["kind"]),
            r["currency"],
            r["line_count"],
            round_money(r["amount"], r["currency"]),
        )
        for r in rows
    ]


def _status_words(statement: Statement) -> str:
    if statement.status == Statement.Status.DRAFT:
        return _("Draft — may still change")
    return str(statement.get_status_display())


def _filename(statement: Statement, extension: str) -> str:
    return f"statement-{statement.pk}-{statement.month:%Y-%m}.{extension}"


@never_cache
@login_required
@require_safe
def statement_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The statement's lines, one row each (amounts as plain decimals beside their currency), then a
    second section with the totals per currency and a third naming the statement and its status."""
    statement, _as_finance = statement_for(request, pk)
    language = translation.get_language()
    zone = timezone.get_current_timezone()

    def rows() -> Iterator[str]:
        writer = csv.writer(_Echo())
        with translation.override(language):
            yield "\ufeff" + writer.writerow(
                [
                    _("Line ID"),
                    _("Kind"),
                    _("Month"),
                    _("Claim ID"),
                    _("Customer"),
                    _("Tenant ID"),
                    _("Subscription ID"),
                    _("Programme"),
                    _("Metric"),
                    _("Units"),
                    _("Rate"),
                    _("Minimum units"),
                    _("Cap"),
                    _("Cap applied"),
                    _("Amount"),
                    _("Currency"),
                    _("Rule version"),
                    _("Reverses line"),
                    _("Reversal reason"),
                    _("Written"),
                ]
            )
            yes, no = _("yes"), _("no")
            for line in statement_rows(statement):
                # Numbers and codes are written as they are (a negative amount stays a number);
                # free text goes through _cell.
                yield writer.writerow(
                    [
                        line.pk,
                        line.kind_label,
                        f"{line.month:%Y-%m}",
                        line.claim_id,
                        _cell(line.customer_name),
                        line.tenant_id or "",
                        line.subscription_id or "",
                        line.programme_label,
                        line.metric_label,
                        line.units,
                        line.rate,
                        line.minimum_units,
                        "" if line.cap is None else line.cap,
                        yes if line.cap_applied else no,
                        line.amount,
                        line.currency,
                        _cell(line.rule_label),
                        line.reverses_id or "",
                        line.reversal_reason_label,
                        line.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    ]
                )
            yield "\r\n"
            yield writer.writerow([_("Currency"), _("Total"), _("Lines")])
            for total in statement_totals(statement):
                yield writer.writerow([total.currency, total.amount, total.line_count])
            yield "\r\n"
            yield writer.writerow([_("Partner"), _cell(statement.partner.name)])
            yield writer.writerow([_("Month"), f"{statement.month:%Y-%m}"])
            yield writer.writerow([_("Status"), _status_words(statement)])
            if statement.payment_reference:
                yield writer.writerow([_("Payment reference"), _cell(statement.payment_reference)])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(statement, "csv")}"'
    return response


@never_cache
@login_required
@require_safe
def statement_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The statement as a page to print or save as PDF."""
    statement, as_finance = statement_for(request, pk)
    lines = list(statement_rows(statement, limit=PRINT_LINES_LIMIT + 1))
    too_many = len(lines) > PRINT_LINES_LIMIT
    totals = statement_totals(statement)
    return render(
        request,
        "earnings/statement_print.html",
        {
            "statement": statement,
            "lines": [] if too_many else lines,
            "summary": programme_summary(statement) if too_many else [],
            "line_count": sum(t.line_count for t in totals),
            "print_lines_limit": PRINT_LINES_LIMIT,
            "totals": totals,
            "is_draft": statement.status == Statement.Status.DRAFT,
            "uses_example_terms": uses_example_terms(statement),
            "as_finance": as_finance,
        },
    )
