"""Admin for follow-ups, tasks and action cards: the biggest tables in the system."""

from __future__ import annotations

from django.contrib import admin

from salesradar.activities.models import ActionCard, Activity, Task


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "kind",
        "customer",
        "opportunity",
        "contact",
        "owner",
        "outcome",
        "decision_maker_present",
        "duration_minutes",
        "next_step_due",
    )
    list_select_related = ("customer", "opportunity", "contact", "owner")
    list_filter = (
        "kind",
        "outcome",
        "decision_maker_present",
        "owner__team",
        "customer__tier",
        "occurred_at",
        "next_step_due",
    )
    search_fields = (
        "^customer__code",
        "customer__name",
        "^opportunity__code",
        "contact__name",
        "next_step",
    )
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    autocomplete_fields = ("customer", "opportunity", "contact", "owner")
    show_full_result_count = False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "assignee",
        "status",
        "origin",
        "due_at",
        "customer",
        "opportunity",
        "completed_at",
    )
    list_select_related = ("assignee", "customer", "opportunity")
    list_filter = ("status", "origin", "assignee__team", "due_at", "completed_at")
    search_fields = (
        "title",
        "=origin_ref",
        "^customer__code",
        "customer__name",
        "^opportunity__code",
    )
    date_hierarchy = "due_at"
    ordering = ("-due_at",)
    autocomplete_fields = ("assignee", "created_by", "customer", "opportunity")
    show_full_result_count = False


@admin.register(ActionCard)
class ActionCardAdmin(admin.ModelAdmin):
    list_display = (
        "what",
        "owner",
        "deliverable",
        "due_at",
        "status",
        "customer",
        "opportunity",
        "verified_at",
        "verified_by",
    )
    list_select_related = ("owner", "customer", "opportunity", "verified_by")
    list_filter = ("status", "owner__team", "due_at", "verified_at")
    search_fields = (
        "what",
        "deliverable",
        "^customer__code",
        "customer__name",
        "^opportunity__code",
    )
    date_hierarchy = "due_at"
    ordering = ("-due_at",)
    autocomplete_fields = ("owner", "customer", "opportunity", "created_by", "verified_by")
    show_full_result_count = False
