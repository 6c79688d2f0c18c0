"""Thin hooks that turn saved rows into outbound events, inside the saving transaction."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from salesradar.alerts.models import AlertEvent
from salesradar.api import events
from salesradar.api.choices import EventType
from salesradar.crm.choices import LeadStatus
from salesradar.crm.models import Lead
from salesradar.pipeline.models import StageChange


def remember_lead_state(sender: type[Lead], instance: Lead, **kwargs: Any) -> None:
    previous = None
    if instance.pk is not None and not kwargs.get("raw"):
        previous = Lead.objects.filter(pk=instance.pk).values("owner_id", "status").first()
    instance._api_previous = previous  # type: ignore[attr-defined]


def announce_lead(sender: type[Lead], instance: Lead, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    previous = getattr(instance, "_api_previous", None)
    at = timezone.now()
    data = events.lead_data(instance)
    if created or previous is None:
        events.emit(EventType.LEAD_CREATED, data, at=at)
        if instance.owner_id is not None:
            events.emit(EventType.LEAD_ASSIGNED, data, at=at)
        return
    owner_changed = previous["owner_id"] != instance.owner_id
    if owner_changed and instance.owner_id is not None:
        events.emit(EventType.LEAD_ASSIGNED, data, at=at)
    recalled_now = instance.status == LeadStatus.RECYCLED and (
        previous["status"] != LeadStatus.RECYCLED or owner_changed
    )
    if recalled_now or (owner_changed and instance.owner_id is None):
        events.emit(EventType.LEAD_RECALLED, data, at=at)


def announce_stage_change(
    sender: type[StageChange], instance: StageChange, created: bool, **kwargs: Any
) -> None:
    if created and not kwargs.get("raw"):
        events.emit_stage_change(instance)


def announce_alert_event(
    sender: type[AlertEvent], instance: AlertEvent, created: bool, **kwargs: Any
) -> None:
    if created and not kwargs.get("raw"):
        events.emit_alert_event(instance)


def connect() -> None:
    pre_save.connect(remember_lead_state, sender=Lead, dispatch_uid="api.lead.pre")
    post_save.connect(announce_lead, sender=Lead, dispatch_uid="api.lead.post")
    post_save.connect(announce_stage_change, sender=StageChange, dispatch_uid="api.stage")
    post_save.connect(announce_alert_event, sender=AlertEvent, dispatch_uid="api.alert_event")
