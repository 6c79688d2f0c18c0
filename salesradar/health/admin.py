from django.contrib import admin

from salesradar.health.models import (
    CustomerHealth,
    HealthAction,
    HealthCalibration,
    OpportunityBlock,
)


@admin.register(CustomerHealth)
class CustomerHealthAdmin(admin.ModelAdmin):
    list_display = ["customer", "score", "tier", "weakest", "computed_at"]
    list_filter = ["tier", "weakest"]
    raw_id_fields = ["customer"]


@admin.register(HealthCalibration)
class HealthCalibrationAdmin(admin.ModelAdmin):
    list_display = ["computed_at", "samples", "renewals", "applied", "model_auc", "default_auc"]


@admin.register(OpportunityBlock)
class OpportunityBlockAdmin(admin.ModelAdmin):
    list_display = ["customer", "opened_at", "clearable_by", "cleared_at", "cleared_by"]
    raw_id_fields = ["customer", "clearable_by", "cleared_by"]


@admin.register(HealthAction)
class HealthActionAdmin(admin.ModelAdmin):
    list_display = ["customer", "tier", "kind", "taken_at"]
    raw_id_fields = ["customer"]
