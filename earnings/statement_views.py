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
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from claims.models import Membership
from claims.selectors import membership_for
from earnings.models import EarningsLine, Statement
from earnings.statements import is_finance, statement_totals

# The roles that see amounts (the design's access rule for /earnings/).
STATEMENT_ROLES = frozenset({Membership.Role.GLOBAL_ADMIN, Membership.Role.BILLING_ADMIN})
CSV_CHUNK = 2000


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


def statement_lines(statement: Statement) -> QuerySet[EarningsLine]:
    return (
        EarningsLine.objects.filter(statement=statement)
        .select_related("assessment__claim", "rule")
        .order_by("month", "id")
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """A text cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") else text


def _rule_version(line: EarningsLine) -> str:
    version = f"{line.rule.get_programme_display()} {line.rule.effective_from:%Y-%m}"
    return f"{version} ({_('example terms')})" if line.rule.is_example else version


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
            for line in statement_lines(statement).iterator(chunk_size=CSV_CHUNK):
                # Numbers and codes are written as they are (a negative amount stays a number);
                # free text that a person typed goes through _cell.
                yield writer.writerow(
                    [
                        line.pk,
                        line.get_kind_display(),
                        f"{line.month:%Y-%m}",
                        line.assessment.claim_id,
                        _cell(line.assessment.claim.customer_name),
                        line.tenant_id or "",
                        line.subscription_id or "",
                        line.get_programme_display(),
                        line.get_metric_display(),
                        line.units,
                        line.rate,
                        line.minimum_units,
                        "" if line.cap is None else line.cap,
                        _("yes") if line.cap_applied else _("no"),
                        line.amount,
                        line.currency,
                        _cell(_rule_version(line)),
                        line.reverses_id or "",
                        line.get_reversal_reason_display() if line.reversal_reason else "",
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
    lines = list(statement_lines(statement))
    return render(
        request,
        "earnings/statement_print.html",
        {
            "statement": statement,
            "lines": lines,
            "totals": statement_totals(statement),
            "is_draft": statement.status == Statement.Status.DRAFT,
            "uses_example_terms": any(line.rule.is_example for line in lines),
            "as_finance": as_finance,
        },
    )
