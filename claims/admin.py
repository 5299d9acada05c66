"""Claims in Django admin: read-only for now; the reviewer workflow lives in `reviews/`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from claims.models import Claim, ClaimEvent, Membership, MpnId, Partner, Product, Tenant, TenantDomain


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ClaimEventInline(admin.TabularInline):
    model = ClaimEvent
    fields = (
        "created_at",
        "actor_kind",
        "actor",
        "action",
        "from_status",
        "to_status",
        "note",
        "partner_visible",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "partner", "customer_name", "status", "assigned_reviewer", "submitted_at")
    list_filter = ("status", "solution_area", "activity")
    list_select_related = ("partner", "assigned_reviewer")
    search_fields = ("name", "customer_name", "customer_domain", "=customer_tenant_id", "partner__name")
    show_full_result_count = False
    inlines = [ClaimEventInline]


@admin.register(ClaimEvent)
class ClaimEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "claim", "actor_kind", "actor", "action", "from_status", "to_status")
    list_filter = ("action", "actor_kind")
    list_select_related = ("claim", "actor")
    show_full_result_count = False


class MpnInline(admin.TabularInline):
    model = MpnId
    extra = 0


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "language")
    inlines = [MpnInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "partner", "role")
    list_filter = ("role", "partner")
    raw_id_fields = ("user",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "solution_area", "family", "active")
    list_filter = ("solution_area", "family", "active")


class TenantDomainInline(admin.TabularInline):
    model = TenantDomain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant_id")
    search_fields = ("name", "=tenant_id", "domains__domain")
    inlines = [TenantDomainInline]
