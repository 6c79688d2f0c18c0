from django.contrib import admin

from salesradar.core.admin import ReadOnlyAdminMixin
from salesradar.handover.models import Handover, HandoverItem


class HandoverItemInline(admin.TabularInline):
    model = HandoverItem
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "object_id", "label", "to_owner")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Handover)
class HandoverAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Handovers are made through the handover page, the API or the CLI: the admin shows them."""

    list_display = ("leaving", "split", "effective_at", "status", "created_by", "done_at")
    list_filter = ("status", "split")
    search_fields = ("leaving__username", "leaving__last_name", "note")
    inlines = [HandoverItemInline]


@admin.register(HandoverItem)
class HandoverItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("handover", "kind", "label", "to_owner")
    list_filter = ("kind",)
    search_fields = ("label",)
