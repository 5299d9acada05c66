from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from consent.models import ConsentRequest, CustomerSignInLink


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


@admin.register(CustomerSignInLink)
class CustomerSignInLinkAdmin(admin.ModelAdmin):
    """Sign-in links mailed to customers, read-only: no token exists to show, and the hash is never shown."""

    list_display = ("email", "tenant", "language", "created_at", "expires_at", "used_at", "delivery")
    list_select_related = ("tenant", "email_message")
    list_filter = ("language",)
    search_fields = ("email", "tenant__name")
    date_hierarchy = "created_at"
    exclude = ("token_hash",)
    readonly_fields = (
        "tenant",
        "email",
        "language",
        "created_at",
        "checked_at",
        "expires_at",
        "used_at",
        "email_message",
    )
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> Any:
        # Requests for addresses at unknown domains are never mailed: staff have no use for them.
        return super().get_queryset(request).filter(tenant__isnull=False)

    @admin.display(description=_("delivery"), ordering="email_message__status")
    def delivery(self, obj: CustomerSignInLink) -> str:
        return str(obj.email_message.get_status_display() if obj.email_message else _("not queued"))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
