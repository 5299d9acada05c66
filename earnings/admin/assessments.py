"""Programme rules (finance adds versions, changes unused ones) and the assessments at hand-off
(read-only records)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from claims.models import Subscription
from earnings.forms import ProgrammeRuleForm, in_use_q, is_in_use, suggested_start
from earnings.models import AssessmentHandoff, ProgrammeRule

CHANNEL_LABELS = dict(Subscription.Channel.choices)


@admin.register(ProgrammeRule)
class ProgrammeRuleAdmin(admin.ModelAdmin):
    """Versions of each programme's terms. A version a ledger line or an assessment uses is
    read-only and never deleted: finance changes terms by adding a new version from a later month
    ("Start a new version from these terms" on its page fills the form from it)."""

    form = ProgrammeRuleForm
    change_form_template = "admin/earnings/programmerule/change_form.html"
    # Whether the terms are examples and whether they are in use first: the admin's narrow list
    # scrolls sideways, and these two say what may be done with a version.
    list_display = (
        "programme",
        "in_force_from",
        "is_example",
        "in_use",
        "metric",
        "rate_shown",
        "cap_shown",
        "minimum_units",
        "eligible_months",
        "excluded_shown",
    )
    list_filter = ("programme", "metric", "is_example")
    filter_horizontal = ("workloads",)
    readonly_fields = ("created_at", "created_by")
    ordering = ("programme", "-effective_from")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProgrammeRule]:
        return super().get_queryset(request).annotate(used=in_use_q()).select_related("created_by")

    @admin.display(description=_("in force from"), ordering="effective_from")
    def in_force_from(self, rule: ProgrammeRule) -> str:
        return f"{rule.effective_from:%Y-%m}"

    @admin.display(description=_("rate"), ordering="rate")
    def rate_shown(self, rule: ProgrammeRule) -> str:
        return f"{rule.rate.normalize():f} {rule.currency}"

    @admin.display(description=_("monthly cap"), ordering="monthly_cap")
    def cap_shown(self, rule: ProgrammeRule) -> str:
        return f"{rule.monthly_cap} {rule.currency}" if rule.monthly_cap is not None else gettext("no cap")

    @admin.display(description=_("excluded channels"))
    def excluded_shown(self, rule: ProgrammeRule) -> str:
        return ", ".join(str(CHANNEL_LABELS.get(code, code)) for code in rule.excluded_channels or ()) or "—"

    @admin.display(description=_("in use"), boolean=True)
    def in_use(self, rule: ProgrammeRule) -> bool:
        return bool(getattr(rule, "used", False))

    def _in_use(self, rule: ProgrammeRule) -> bool:
        used = getattr(rule, "used", None)
        return is_in_use(rule) if used is None else bool(used)

    def has_change_permission(self, request: HttpRequest, obj: ProgrammeRule | None = None) -> bool:
        # A version in use shows read-only (its page says why); the form refuses it again under lock.
        return super().has_change_permission(request, obj) and (obj is None or not self._in_use(obj))

    def has_delete_permission(self, request: HttpRequest, obj: ProgrammeRule | None = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or not self._in_use(obj))

    def get_fields(self, request: HttpRequest, obj: ProgrammeRule | None = None) -> list[str]:
        fields = list(ProgrammeRuleForm.Meta.fields)
        if obj is None:
            return fields
        if not self.has_change_permission(request, obj):
            # Shown, not edited: the channels by name rather than the stored codes.
            fields[fields.index("excluded_channels")] = "excluded_shown"
        return [*fields, "created_at", "created_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: ProgrammeRule | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "excluded_shown")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """A new version: from the version named by `?from=<id>` (its terms, a start month it may
        take), or empty terms starting next month."""
        initial = super().get_changeform_initial_data(request)
        source_id = request.GET.get("from", "")
        source = ProgrammeRule.objects.filter(pk=source_id).first() if source_id.isdigit() else None
        if source is None:
            return initial
        return {
            **initial,
            "programme": source.programme,
            "effective_from": suggested_start(source.programme),
            "metric": source.metric,
            "rate": source.rate,
            "currency": source.currency,
            "monthly_cap": source.monthly_cap,
            "minimum_units": source.minimum_units,
            "eligible_months": source.eligible_months,
            "workloads": list(source.workloads.values_list("pk", flat=True)),
            "excluded_channels": list(source.excluded_channels or ()),
            "is_example": source.is_example,
        }

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        rule = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if rule is not None:
            extra["rule_in_use"] = self._in_use(rule)
            if self.has_add_permission(request):
                extra["new_version_url"] = (
                    reverse("admin:earnings_programmerule_add") + "?" + urlencode({"from": rule.pk})
                )
        return super().change_view(request, object_id, form_url, extra)

    def save_model(self, request: HttpRequest, obj: ProgrammeRule, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(AssessmentHandoff)
class AssessmentHandoffAdmin(admin.ModelAdmin):
    """Each association's assessment at hand-off: a record, never edited here."""

    list_display = (
        "claim",
        "eligible",
        "reasons_shown",
        "programme",
        "rule",
        "channel",
        "partner",
        "queued_at",
        "ended_at",
    )
    list_filter = ("programme", "eligible", "channel", "payment_eligible")
    list_select_related = ("claim", "partner", "rule")
    search_fields = ("=claim__id", "=tenant_id", "=subscription_id")
    fields = (
        "claim",
        "partner",
        "programme",
        "payment_eligible",
        "eligible",
        "reasons_shown",
        "rule",
        "assessed_at",
        "queued_at",
        "queued_products",
        "tenant_id",
        "subscription_id",
        "channel",
        "baseline_seats",
        "ended_at",
    )
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("reasons"))
    def reasons_shown(self, handoff: AssessmentHandoff) -> str:
        return " ".join(handoff.reason_labels) or "—"

    @admin.display(description=_("products"))
    def queued_products(self, handoff: AssessmentHandoff) -> str:
        return ", ".join(product.name for product in handoff.products.order_by("name")) or "—"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
