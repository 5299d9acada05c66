from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from earnings.models import AssessmentHandoff


@admin.register(AssessmentHandoff)
class AssessmentHandoffAdmin(admin.ModelAdmin):
    list_display = ("claim", "programme", "payment_eligible", "queued_at", "ended_at")
    list_filter = ("programme", "payment_eligible")
    list_select_related = ("claim",)
    readonly_fields = ("claim", "programme", "payment_eligible", "queued_at", "ended_at")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
