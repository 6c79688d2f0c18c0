from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from salesradar.core.admin import ReadOnlyAdminMixin
from salesradar.notify import dispatch
from salesradar.notify.models import (
    AlertRecipient,
    Channel,
    Delivery,
    InboxMessage,
    NotificationBatch,
    PeriodicDigest,
    Preference,
    RateBucket,
    SmsOptOut,
)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "team", "enabled", "disabled_reason")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    raw_id_fields = ("team",)


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "quiet_from",
        "quiet_until",
        "danger_breaks_quiet",
        "daily_briefing",
        "weekly_summary",
    )
    raw_id_fields = ("user",)
    filter_horizontal = ("channels", "muted_rules")
    search_fields = ("user__username", "user__first_name", "user__last_name")


@admin.action(description=_("Retry the selected failed deliveries"))
def retry_deliveries(
    modeladmin: admin.ModelAdmin[Delivery], request: HttpRequest, queryset: QuerySet[Delivery]
) -> None:
    now = timezone.now()
    failed = list(queryset.filter(status="failed"))
    for delivery in failed:
        dispatch.retry(delivery, now=now)
    modeladmin.message_user(
        request,
        ngettext(
            "{count} delivery queued again.", "{count} deliveries queued again.", len(failed)
        ).format(count=len(failed)),
        messages.SUCCESS,
    )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "idempotency_id",
        "channel",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status",
        "sent_at",
    )
    list_filter = ("status", "channel")
    search_fields = ("idempotency_id", "recipient__username", "last_response")
    raw_id_fields = ("recipient",)
    list_select_related = ("channel", "recipient")
    date_hierarchy = "created_at"
    actions = (retry_deliveries,)
    show_full_result_count = False
    readonly_fields = (
        "idempotency_id",
        "evaluation_at",
        "alert_events",
        "payload",
        "attempts",
        "claimed_at",
        "claimed_by",
        "last_status",
        "last_response",
        "sent_at",
        "created_at",
    )


@admin.register(InboxMessage)
class InboxMessageAdmin(admin.ModelAdmin):
    list_display = ("user", "subject", "created_at", "read_at")
    list_filter = ("read_at",)
    raw_id_fields = ("user", "delivery")
    search_fields = ("subject", "user__username")


@admin.register(RateBucket)
class RateBucketAdmin(admin.ModelAdmin):
    list_display = ("destination", "tokens", "updated_at")
    search_fields = ("destination",)


@admin.register(AlertRecipient)
class AlertRecipientAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("alert", "episode", "user", "channel", "first_told_at")
    raw_id_fields = ("alert", "user", "channel")
    list_select_related = ("alert", "user", "channel")


@admin.register(PeriodicDigest)
class PeriodicDigestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("kind", "period_start", "recipient", "team", "deliveries", "created_at")
    list_filter = ("kind",)
    list_select_related = ("recipient", "team")
    date_hierarchy = "period_start"


@admin.register(NotificationBatch)
class NotificationBatchAdmin(admin.ModelAdmin):
    list_display = ("evaluation_at", "state", "planned_at", "deliveries")
    list_filter = ("state",)
    date_hierarchy = "evaluation_at"


@admin.register(SmsOptOut)
class SmsOptOutAdmin(admin.ModelAdmin):
    list_display = ("number", "opted_out_at", "source", "note")
    search_fields = ("number", "note")
    list_filter = ("source",)
