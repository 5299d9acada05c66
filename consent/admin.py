from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from consent.models import AssessmentHandoff, ConsentRequest


@admin.register(ConsentRequest)
class ConsentRequestAdmin(admin.ModelAdmin):
    """Every consent notice sent, with its delivery state; tokens are never shown (only hashes exist)."""

    list_display = (
        "claim",
        "contact_email",
        "language",
        "created_at",
        "expires_at",
        "delivery",
        "used_at",
        "sent_by",
    )
    list_select_related = ("claim", "email", "sent_by")
    list_filter = ("email__status", "language")
    search_fields = ("contact_email", "=claim__id", "claim__name")
    exclude = ("token_hash",)
    readonly_fields = [
        "claim",
        "contact_name",
        "contact_email",
        "language",
        "expires_at",
        "created_at",
        "sent_by",
        "email",
        "used_at",
        "denial_reason",
    ]
    show_full_result_count = False

    @admin.display(description=_("delivery"), ordering="email__status")
    def delivery(self, obj: ConsentRequest) -> str:
        return str(obj.delivery_state)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AssessmentHandoff)
class AssessmentHandoffAdmin(admin.ModelAdmin):
    list_display = ("claim", "programme", "payment_eligible", "queued_at")
    list_filter = ("programme", "payment_eligible")
    list_select_related = ("claim",)
    readonly_fields = ("claim", "programme", "payment_eligible", "queued_at")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
