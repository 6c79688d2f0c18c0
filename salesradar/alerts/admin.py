"""Admin for rules, alerts, their history and silences.

Alerts change state only through ``alerts.lifecycle`` (which writes their history), so the
admin shows them read-only and offers acknowledging as an action; alert events are never
added, edited or deleted here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from salesradar.alerts import lifecycle
from salesradar.alerts.conditions import RuleError
from salesradar.alerts.models import (
    Alert,
    AlertCheck,
    AlertEvent,
    AlertGroup,
    Concern,
    Rule,
    Silence,
)
from salesradar.alerts.rules import check_rule_fields
from salesradar.core.admin import ReadOnlyAdminMixin


class RuleForm(forms.ModelForm):
    """Check an edited rule exactly as the YAML loader would, so the admin cannot save a rule
    the engine would choke on."""

    class Meta:
        model = Rule
        fields = (
            "key",
            "pack",
            "names",
            "descriptions",
            "enabled",
            "version",
            "metric",
            "grain",
            "scope",
            "condition",
            "for_clause",
            "keep_firing_for",
            "escalate_after",
            "repeat_interval",
            "routing",
            "notify",
            "labels",
            "inhibits",
            "depends_on",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            check_rule_fields(cleaned)
        except RuleError as error:
            raise forms.ValidationError(str(error)) from None
        return cleaned


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleForm

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # deleting a rule would delete its alerts' history; disable it instead

    list_display = ("key", "__str__", "metric", "grain", "enabled", "status", "last_evaluated_at")
    list_filter = ("enabled", "status", "grain", "pack")
    search_fields = ("key", "metric", "pack")
    ordering = ("key",)
    fieldsets = (
        (None, {"fields": ("key", "pack", "names", "descriptions", "enabled", "version")}),
        (_("What is watched"), {"fields": ("metric", "grain", "scope", "condition", "for_clause")}),
        (
            _("Lifecycle"),
            {"fields": ("keep_firing_for", "escalate_after", "repeat_interval")},
        ),
        (
            _("Routing"),
            {"fields": ("routing", "notify", "labels", "inhibits", "depends_on")},
        ),
        (
            _("Evaluation"),
            {"fields": ("status", "last_error", "last_evaluated_at", "updated_at", "source")},
        ),
    )
    # The engine records how evaluation went; the YAML is a record of what was loaded.
    readonly_fields = ("status", "last_error", "last_evaluated_at", "source")


class AlertEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AlertEvent
    fields = (
        "at",
        "kind",
        "from_state",
        "to_state",
        "from_severity",
        "to_severity",
        "actor",
        "reason",
        "value",
    )
    readonly_fields = fields
    ordering = ("at", "id")
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AlertEvent]:
        return super().get_queryset(request).select_related("actor")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # an alert's history is append-only

    list_display = (
        "rule",
        "entity",
        "state",
        "severity",
        "value",
        "threshold",
        "owner",
        "team",
        "firing_since",
    )
    list_select_related = ("rule", "owner", "team")
    list_filter = ("state", "severity", "rule", "team", "started_at")
    search_fields = ("fingerprint", "message", "rule__key")
    raw_id_fields = ("owner", "team")
    date_hierarchy = "started_at"
    ordering = ("-started_at",)
    readonly_fields = (
        "rule",
        "fingerprint",
        "entity_type",
        "entity_id",
        "state",
        "severity",
        "value",
        "threshold",
        "reference",
        "message",
        "labels",
        "started_at",
        "firing_since",
        "last_evaluated_at",
        "last_true_at",
        "resolved_at",
        "acknowledged_at",
        "acknowledged_by",
        "ack_note",
        "snoozed_until",
        "escalation_level",
        "last_notified_at",
        "inhibited_by",
        "created_at",
    )
    inlines = (AlertEventInline,)
    actions = ("acknowledge",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are raised by rule evaluation, never typed in

    @admin.display(description=_("entity"), ordering="entity_type")
    def entity(self, alert: Alert) -> str:
        return f"{alert.entity_type} #{alert.entity_id}"

    @admin.action(description=_("Acknowledge selected alerts"), permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        at = timezone.now()
        done, refused = 0, []
        for alert in queryset:
            try:
                lifecycle.acknowledge(alert, by=request.user, at=at)  # type: ignore[arg-type]
            except ValidationError as error:
                refused.append(f"{alert}: {' '.join(error.messages)}")
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext(
                    "Acknowledged {count} alert.", "Acknowledged {count} alerts.", done
                ).format(count=done),
                messages.SUCCESS,
            )
        for message in refused:
            self.message_user(request, message, messages.WARNING)


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("alert", "at", "kind", "from_state", "to_state", "to_severity", "actor")
    list_select_related = ("alert", "actor")
    list_filter = ("kind", "to_state", "at")
    search_fields = ("alert__fingerprint", "reason")
    date_hierarchy = "at"
    ordering = ("-at", "-id")
    show_full_result_count = False


@admin.register(AlertCheck)
class AlertCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each rule's record of each pass: what it saw, what it did, and why it failed."""

    list_display = (
        "evaluated_at",
        "rule",
        "chunk",
        "outcome",
        "evaluated",
        "matched",
        "opened",
        "resolved",
        "duration_ms",
        "attempts",
    )
    list_filter = ("outcome", "new_failure", "rule")
    date_hierarchy = "evaluated_at"
    list_select_related = ("rule",)


@admin.register(Concern)
class ConcernAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Concerns come from rule packs (``concerns``); load a pack to change them."""

    list_display = ("key", "pack", "entity_type")


@admin.register(AlertGroup)
class AlertGroupAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """One problem per concern and entity, written by the engine after each pass."""

    list_display = (
        "fingerprint",
        "severity",
        "priority",
        "owner",
        "since",
        "opened_at",
        "resolved_at",
    )
    list_filter = ("severity", "concern")
    list_select_related = ("owner", "concern", "rule")
    search_fields = ("fingerprint",)
    ordering = ("-priority",)


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "rule",
        "team",
        "entity_type",
        "entity_id",
        "starts_at",
        "ends_at",
        "created_by",
    )
    list_select_related = ("rule", "team", "created_by")
    list_filter = ("rule", "team", "ends_at")
    search_fields = ("comment", "rule__key", "entity_type")
    raw_id_fields = ("team",)
    ordering = ("-starts_at",)
    fields = ("rule", "team", "entity_type", "entity_id", "starts_at", "ends_at", "comment")

    def save_model(self, request: HttpRequest, obj: Silence, form: object, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
