"""Partners, memberships, the product catalogue, tenants and the subscription and usage feeds in
Django admin.

The claim itself (the review queue, the claim page, its history) is in `reviews/admin.py`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from claims import feeds
from claims.models import (
    Membership,
    MonthlyUsage,
    MpnId,
    Partner,
    Product,
    Subscription,
    Tenant,
    TenantDomain,
)


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


# ---------------------------------------------------------------------------------------------
# Subscription and usage feeds: read-only lists, and an upload page that runs the feed import


class FeedUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("UTF-8 or Windows-1254, comma or semicolon separated, with the header row."),
    )


class FeedAdmin(admin.ModelAdmin):
    """A feed's rows are the feed's: nobody edits them here. Staff who may add and change the
    model's rows (a superuser, or anyone given both permissions) upload a file instead."""

    change_list_template = "admin/claims/feed_change_list.html"
    feed = ""
    columns = ""
    show_full_result_count = False
    list_per_page = 50
    shown_rejections = 200

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("tenant"), ordering="tenant__name")
    def tenant_name(self, obj: Any) -> str:
        return obj.tenant.name

    def may_upload(self, request: HttpRequest) -> bool:
        opts = self.model._meta
        return request.user.has_perms(
            [f"{opts.app_label}.add_{opts.model_name}", f"{opts.app_label}.change_{opts.model_name}"]
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {"may_upload": self.may_upload(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        upload = self.admin_site.admin_view(self.upload_view)
        return [
            path("upload/", upload, name=f"{opts.app_label}_{opts.model_name}_upload"),
            *super().get_urls(),
        ]

    @method_decorator(csrf_exempt)
    def upload_view(self, request: HttpRequest) -> HttpResponse:
        # The file goes to a temporary file on disk whatever its size, never into memory; the
        # handlers must be set before the CSRF check reads the body, hence exempt-then-protect.
        request.upload_handlers = [TemporaryFileUploadHandler(request)]
        return csrf_protect(self._upload)(request)

    def _upload(self, request: HttpRequest) -> HttpResponse:
        if not self.may_upload(request):
            raise PermissionDenied
        result = None
        posted = request.method == "POST"
        form = FeedUploadForm(request.POST if posted else None, request.FILES if posted else None)
        if posted and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                with upload.open("rb") as stream:
                    result = feeds.import_file_stream(self.feed, stream, keep=self.shown_rejections)
            except feeds.FeedError as error:
                form.add_error("file", str(error))
            finally:
                upload.close()
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": _("Upload a CSV file: %(name)s") % {"name": opts.verbose_name_plural},
            "form": form,
            "result": result,
            "hidden_rejections": result.rejected - len(result.rejections) if result else 0,
            "columns": self.columns,
        }
        return TemplateResponse(request, "admin/claims/feed_upload.html", context)


@admin.register(Subscription)
class SubscriptionAdmin(FeedAdmin):
    feed = "subscriptions"
    columns = ",".join(feeds.SUBSCRIPTIONS.columns)
    list_display = (
        "subscription_id",
        "tenant_name",
        "product",
        "channel",
        "status",
        "seats",
        "inactive_since",
    )  # the dates are on each subscription's page: the list fits a laptop's width
    list_filter = ("channel", "status", ("product", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("tenant", "product")
    search_fields = ("=subscription_id", "=tenant__tenant_id", "tenant__name")


@admin.register(MonthlyUsage)
class MonthlyUsageAdmin(FeedAdmin):
    feed = "usage"
    columns = ",".join(feeds.USAGE.columns)
    list_display = ("tenant_name", "product", "month_shown", "active_users")
    # Every product, not only those usage names: that would read the whole table on each page (usage
    # has no index on the product alone, migration 0018).
    list_filter = ("product",)
    list_select_related = ("tenant", "product")
    search_fields = ("=tenant__tenant_id", "tenant__name")
    date_hierarchy = "month"

    @admin.display(description=gettext_lazy("month"), ordering="month")
    def month_shown(self, obj: MonthlyUsage) -> str:
        return obj.month.strftime("%Y-%m")
