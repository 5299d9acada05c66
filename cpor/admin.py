from django.contrib import admin

from cpor.models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "to", "language", "status", "attempts", "sent_at")
    list_filter = ("status", "kind", "language")
    search_fields = ("to", "subject")
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]

    def has_add_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False

    def has_delete_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False
