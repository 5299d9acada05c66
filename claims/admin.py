"""Partners, memberships, the product catalogue and tenants in Django admin.

The claim itself (the review queue, the claim page, its history) is in `reviews/admin.py`.
"""

from __future__ import annotations

from django.contrib import admin

from claims.models import Membership, MpnId, Partner, Product, Tenant, TenantDomain


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
