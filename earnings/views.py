"""The partner's earnings report (`/earnings/`) and its CSV export.

Who may read (earnings.md): any user of the partner; what shows depends on the role —
Global and Billing admins see the ledger's lines, totals, statements and CSV; Incentives admins
see each association's assessment and its reasons; members see each association's eligibility
status only. Staff use the admin (they get the page every partner page gives them), anonymous
visitors sign in first. Everything is read through earnings.report, scoped by the partner.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from claims import selectors
from claims.models import Membership
from earnings import report
from earnings.models import EarningsLine
from earnings.report_forms import ReportFilterForm


def _refused(request: HttpRequest) -> HttpResponse:
    return render(request, "claims/not_a_partner.html", status=403)


def _filters(form: ReportFilterForm) -> dict[str, Any]:
    """The valid filters as keyword arguments for the selectors; none when the form is invalid
    (the page then shows the errors and no lines, rather than lines the user did not ask for)."""
    data = form.cleaned_data
    return {
        "tenant": data.get("tenant"),
        "subscription": data.get("subscription"),
        "programme": data.get("programme") or "",
        "from_month": data.get("from_month"),
        "to_month": data.get("to_month"),
    }


def _query_without(request: HttpRequest, *names: str) -> Any:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query


@login_required
@require_safe
def report_page(request: HttpRequest) -> HttpResponse:
    membership: Membership | None = selectors.membership_for(request.user)
    if membership is None:
        return _refused(request)
    amounts = report.sees_amounts(membership)
    form = ReportFilterForm(request.GET if amounts else None)
    valid = amounts and form.is_valid()
    filters = _filters(form) if valid else {}
    context: dict[str, Any] = {
        "membership": membership,
        "sees_amounts": amounts,
        "sees_reasons": report.sees_reasons(membership),
        "form": form,
        "filtered": amounts and form.is_filtered,
        "filters_valid": valid,
    }
    if valid:
        lines = report.filtered_lines(membership.partner_id, **filters)
        statements = report.statements_of(membership.partner_id)
        # Unfiltered, the totals are the statements' (no pass over every line of the ledger).
        totals = (
            report.totals_by_currency(lines)
            if any(filters.values())
            else report.totals_of_statements(statements)
        )
        page = report.line_page(
            lines,
            after=report.parse_cursor(request.GET.get("after")),
            before=report.parse_cursor(request.GET.get("before")) if not request.GET.get("after") else None,
        )
        keep = _query_without(request, "after", "before")
        older = keep.copy()
        newer = keep.copy()
        if page.next_cursor:
            older["after"] = page.next_cursor
        if page.previous_cursor:
            newer["before"] = page.previous_cursor
        context.update(
            {
                "totals": totals,
                "line_count": sum(t.line_count for t in totals),
                "line_page": page,
                "lines": [_explained(line) for line in page.lines],
                "older_query": older.urlencode() if page.next_cursor else None,
                "newer_query": newer.urlencode() if page.previous_cursor else None,
                "first_query": keep.urlencode(),
                "export_query": keep.urlencode(),
                "statements": statements,
            }
        )
        # A partner with no line at all has had no month assessed yet: a different explanation from
        # filters that match nothing. One cheap EXISTS only when the filtered page is empty.
        context["has_any_line"] = bool(page.lines) or (
            form.is_filtered and EarningsLine.objects.filter(partner_id=membership.partner_id).exists()
        )
    scope = {k: filters[k] for k in ("tenant", "subscription", "programme")} if valid else {}
    handoffs = report.associations_of(membership.partner_id, **scope)
    associations = report.association_page(handoffs, request.GET.get("associations"))
    association_query = _query_without(request, "associations")
    context.update(
        {
            "associations": associations,
            "association_rows": report.association_rows(associations.object_list),
            "association_query": association_query.urlencode(),
        }
    )
    return render(request, "earnings/report.html", context)


def _explained(line: EarningsLine) -> dict[str, Any]:
    below_threshold = line.kind == EarningsLine.Kind.EARNING and line.units < line.minimum_units
    return {
        "line": line,
        "rate": report.rate_text(line.rate),
        "below_threshold": below_threshold,
        "customer": line.assessment.claim.customer_name,
    }


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas (a customer name is partner-typed).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _amount_cell(value: Any) -> str:
    # Negative amounts (reversals) are numbers, not formulas: written bare so spreadsheets sum them.
    return "" if value is None else str(value)


@login_required
@require_safe
def report_csv(request: HttpRequest) -> HttpResponse:
    membership = selectors.membership_for(request.user)
    if membership is None:
        return _refused(request)
    if not report.sees_amounts(membership):
        return render(request, "earnings/report_refused.html", status=403)
    form = ReportFilterForm(request.GET)
    if not form.is_valid():
        # The CSV link is built from the page's own valid filters; a hand-edited one gets the page.
        return report_page(request)
    lines = report.with_explanations(report.filtered_lines(membership.partner_id, **_filters(form))).order_by(
        *report.NEWEST_FIRST
    )

    def rows() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield writer.writerow(
            [
                _("Line ID"),
                _("Month"),
                _("Customer"),
                _("Tenant ID"),
                _("Subscription ID"),
                _("Programme"),
                _("Metric"),
                _("Units"),
                _("Rate"),
                _("Minimum threshold (units)"),
                _("Cap"),
                _("Cap applied"),
                _("Amount"),
                _("Currency"),
                _("Kind"),
                _("Reverses line"),
                _("Reversal reason"),
                _("Rule version"),
                _("Example terms"),
                _("Statement month"),
            ]
        )
        yes, no = _("yes"), _("no")
        for line in lines.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    line.pk,
                    f"{line.month:%Y-%m}",
                    _cell(line.assessment.claim.customer_name),
                    line.tenant_id or "",
                    line.subscription_id or "",
                    _cell(line.get_programme_display()),
                    _cell(line.get_metric_display()),
                    _amount_cell(line.units),
                    _amount_cell(line.rate),
                    line.minimum_units,
                    _amount_cell(line.cap),
                    yes if line.cap_applied else no,
                    _amount_cell(line.amount),
                    line.currency,
                    line.get_kind_display(),
                    line.reverses_id or "",
                    _cell(line.get_reversal_reason_display()) if line.reversal_reason else "",
                    f"{line.rule.effective_from:%Y-%m}",
                    yes if line.rule.is_example else no,
                    f"{line.statement.month:%Y-%m}",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="earnings.csv"'
    return response
