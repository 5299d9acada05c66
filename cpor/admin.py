from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cpor.models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "addressed_to", "language", "status", "attempts", "sent_at")
    list_filter = ("status", "kind", "language")
    search_fields = ("to", "subject")
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]

    @admin.display(description=_("recipients"), ordering="to")
    def addressed_to(self, obj: OutboundEmail) -> str:
        return ", ".join(obj.recipients)

    def has_add_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False

    def has_delete_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False
