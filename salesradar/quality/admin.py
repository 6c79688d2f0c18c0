from __future__ import annotations

from django.contrib import admin

from salesradar.core.admin import ReadOnlyAdminMixin
from salesradar.quality.models import BacktestRun


@admin.register(BacktestRun)
class BacktestRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("label", "start", "end", "horizon_days", "created_at", "created_by")
    search_fields = ("label",)
    readonly_fields = (
        "label",
        "start",
        "end",
        "horizon_days",
        "created_at",
        "created_by",
        "result",
    )
