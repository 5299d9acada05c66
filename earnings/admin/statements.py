"""Statements and the ledger in the admin.

Statements: a list with each one's totals per currency (never summed across currencies) and a
read-only page with its lines, where the Incentive finance team approves the statement and records
its payment (POST buttons through earnings.statements; a refusal is a message, never a 500).
Staff outside finance see statements only if given the view permission (reviewers are not).
The ledger lines: a read-only list for finance; nobody adds, changes or deletes a line here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from earnings.models import Currency, EarningsLine, Statement, round_money
from earnings.statement_views import statement_rows, uses_example_terms
from earnings.statements import (
    PAYMENT_REFERENCE_MAX_LENGTH,
    StatementRefused,
    approve_statement,
    is_finance,
    record_payment,
    statement_totals,
)

# The statement page lists this many lines; the rest are one click away (the ledger list filtered
# by the statement, or the CSV), so a partner with 50,000 associations does not make a 50,000-row page.
LINES_ON_PAGE = 200


class MonthFilter(admin.SimpleListFilter):
    title = gettext_lazy("month")
    parameter_name = "month"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        months = Statement.objects.order_by("-month").values_list("month", flat=True).distinct()[:36]
        return [(f"{m:%Y-%m}", f"{m:%Y-%m}") for m in months]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        try:
            year, month = (int(part) for part in value.split("-"))
            return queryset.filter(month=dt.date(year, month, 1))
        except (ValueError, OverflowError):
            # A hand-edited address: show nothing rather than fail.
            return queryset.none()


def _line_sums() -> dict[str, Any]:
    """Per-currency sums and counts of a statement's lines as annotations: one query for a page of
    statements, whatever their number (there are four currencies, a fixed set)."""
    sums: dict[str, Any] = {"line_count": Count("lines")}
    for code in Currency.values:
        sums[f"sum_{code}"] = Sum("lines__amount", filter=Q(lines__currency=code))
        sums[f"count_{code}"] = Count("lines", filter=Q(lines__currency=code))
    return sums


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ("__str__", "partner", "month_label", "status", "totals_label", "line_count_label")
    list_filter = ("status", MonthFilter, "partner")
    list_select_related = ("partner",)
    search_fields = ("partner__name", "payment_reference")
    ordering = ("-month", "partner__name")
    show_full_result_count = False
    change_form_template = "earnings/statement_admin_change_form.html"
    fields = (
        "partner",
        "month_label",
        "status",
        "created_at",
        "approved_at",
        "approved_by",
        "paid_at",
        "paid_by",
        "payment_reference",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Statement]:
        return super().get_queryset(request).annotate(**_line_sums())

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Read-only: the two finance actions are buttons of their own, each through earnings.statements.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("month"), ordering="month")
    def month_label(self, statement: Statement) -> str:
        return f"{statement.month:%Y-%m}"

    @admin.display(description=gettext_lazy("totals per currency"))
    def totals_label(self, statement: Statement) -> str:
        # Frozen totals equal the lines' sums (approve_statement writes them from the lines under
        # the row lock, and no line is attached later), so the annotations serve every status.
        parts = [
            (round_money(getattr(statement, f"sum_{code}"), code), code)
            for code in Currency.values
            if getattr(statement, f"count_{code}", 0)
        ]
        if not parts:
            return "—"
        return format_html_join(mark_safe("<br>"), "{} {}", parts)  # noqa: S308 (a constant tag)

    @admin.display(description=gettext_lazy("lines"), ordering="line_count")
    def line_count_label(self, statement: Statement) -> int:
        return statement.line_count

    # -- the statement page and its two actions ------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        statement = self.get_object(request, unquote(object_id))
        if statement is not None and self.has_view_permission(request, statement):
            finance = is_finance(request.user)
            lines = list(statement_rows(statement, limit=LINES_ON_PAGE))
            extra_context.update(
                {
                    "statement": statement,
                    "totals": statement_totals(statement),
                    "lines": lines,
                    "more_lines": max(0, statement.line_count - len(lines)),
                    "ledger_url": reverse("admin:earnings_earningsline_changelist")
                    + f"?statement__id__exact={statement.pk}",
                    "may_approve": finance and statement.status == Statement.Status.DRAFT,
                    "may_record_payment": finance and statement.status == Statement.Status.APPROVED,
                    "reference_max_length": PAYMENT_REFERENCE_MAX_LENGTH,
                    "uses_example_terms": uses_example_terms(statement),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:object_id>/approve/", wrap(self.approve_view), name="earnings_statement_approve"),
            path(
                "<int:object_id>/record-payment/",
                wrap(self.record_payment_view),
                name="earnings_statement_record_payment",
            ),
            *super().get_urls(),
        ]

    def _back(self, object_id: int) -> HttpResponseRedirect:
        return redirect("admin:earnings_statement_change", object_id)

    def _act(self, request: HttpRequest, object_id: int, act: Any, done: str) -> HttpResponseRedirect:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            statement = act()
        except (StatementRefused, ValidationError) as exc:
            for message in getattr(exc, "messages", None) or [str(exc)]:
                messages.error(request, message)
            if not Statement.objects.filter(pk=object_id).exists():
                return redirect("admin:earnings_statement_changelist")
            return self._back(object_id)
        self.log_change(request, statement, done)
        messages.success(request, done)
        return self._back(object_id)

    def approve_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return require_POST(self._approve)(request, object_id)

    def _approve(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return self._act(
            request,
            object_id,
            lambda: approve_statement(object_id, by=request.user),
            _("Statement approved: its totals are frozen and no line can be added to it."),
        )

    def record_payment_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return require_POST(self._record_payment)(request, object_id)

    def _record_payment(self, request: HttpRequest, object_id: int) -> HttpResponse:
        reference = request.POST.get("reference", "")
        return self._act(
            request,
            object_id,
            lambda: record_payment(object_id, by=request.user, reference=reference),
            _("Payment recorded."),
        )


@admin.register(EarningsLine)
class EarningsLineAdmin(admin.ModelAdmin):
    """The ledger, read-only: lines are written by the monthly job and reversed, never edited."""

    list_display = (
        "id",
        "partner",
        "month_label",
        "kind",
        "association",
        "programme",
        "metric",
        "units",
        "rate",
        "cap_applied",
        "amount",
        "currency",
        "rule",
        "statement_link",
    )
    list_filter = ("kind", "programme", "currency", "statement__status")
    list_select_related = ("partner", "rule", "statement", "statement__partner", "assessment")
    search_fields = ("partner__name", "=tenant_id", "=subscription_id", "=assessment__claim__id")
    ordering = ("-month", "-id")
    show_full_result_count = False
    fields = (
        "kind",
        "partner",
        "association",
        "programme",
        "month",
        "tenant_id",
        "subscription_id",
        "rule",
        "metric",
        "units",
        "rate",
        "minimum_units",
        "cap",
        "cap_applied",
        "amount",
        "currency",
        "revision",
        "reverses",
        "reversal_reason",
        "statement",
        "created_at",
    )
    readonly_fields = fields

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The statement page links here with its lines: ?statement__id__exact=<pk>.
        return lookup == "statement__id__exact" or super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("month"), ordering="month")
    def month_label(self, line: EarningsLine) -> str:
        return f"{line.month:%Y-%m}"

    @admin.display(description=gettext_lazy("association"))
    def association(self, line: EarningsLine) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:earnings_assessmenthandoff_change", args=[line.assessment_id]),
            _("Claim #%(pk)s") % {"pk": line.assessment.claim_id},
        )

    @admin.display(description=gettext_lazy("statement"))
    def statement_link(self, line: EarningsLine) -> str:
        return format_html(
            '<a href="{}">{} ({})</a>',
            reverse("admin:earnings_statement_change", args=[line.statement_id]),
            f"{line.statement.month:%Y-%m}",
            line.statement.get_status_display(),
        )
