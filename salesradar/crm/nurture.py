"""Nurture: a lead marked "not now" is kept warm by a sequence of steps until it responds.

A sequence is a list of steps ``{"day": N, "kind": "task"|"email"|"sms", ...}`` counted in
days from the enrolment. A task step creates an ``activities.Task`` for the lead's owner (or
the rep who last had it); an email step queues a ``Delivery`` to the lead's address on the
sequence's email channel; an SMS step (``{"kind": "sms", "channel": "<channel name>",
"text": "..."}``) queues one to the lead's phone on that SMS channel, whose template, quiet
hours, per-number limits and opt-outs apply. ``advance_nurture(at)`` runs every due step of
every enrolment in one pass; ``lead_responded`` ends the sequence and puts the lead back to
work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.core.fields import require_aware
from salesradar.crm.choices import LeadStatus, NurtureStatus, NurtureStepKind
from salesradar.crm.models import Lead, NurtureEnrollment, NurtureSequence

DEFAULT_STEPS: list[dict[str, Any]] = [
    {"day": 1, "kind": "task", "title": "Send a thank-you note and useful material"},
    {"day": 3, "kind": "task", "title": "Share a customer case from the same industry"},
    {"day": 7, "kind": "task", "title": "Invite to a webinar or product demo"},
    {"day": 30, "kind": "task", "title": "Check in: has the timing changed?"},
    {"day": 90, "kind": "task", "title": "Quarterly check-in before closing the sequence"},
]


def validate_steps(steps: Any) -> None:
    """Refuse a malformed sequence, naming the step and the field."""
    if not isinstance(steps, list) or not steps:
        raise ValidationError({"steps": _("A sequence needs a list of at least one step.")})
    previous = 0
    for index, step in enumerate(steps, start=1):
        where = _("step {number}").format(number=index)
        if not isinstance(step, dict):
            raise ValidationError({"steps": _("{where} must be an object.").format(where=where)})
        day = step.get("day")
        if isinstance(day, bool) or not isinstance(day, int) or day < previous or day < 0:
            raise ValidationError(
                {
                    "steps": _(
                        "{where}: day must be a whole number, not before the previous step."
                    ).format(where=where)
                }
            )
        previous = day
        if step.get("kind") not in NurtureStepKind.values:
            raise ValidationError(
                {"steps": _("{where}: kind must be task, email or sms.").format(where=where)}
            )
        if step["kind"] == NurtureStepKind.TASK and not step.get("title"):
            raise ValidationError(
                {"steps": _("{where}: a task needs a title.").format(where=where)}
            )
        if step["kind"] == NurtureStepKind.EMAIL and not (step.get("subject") and step.get("text")):
            raise ValidationError(
                {"steps": _("{where}: an email needs a subject and a text.").format(where=where)}
            )
        if step["kind"] == NurtureStepKind.SMS:
            _validate_sms_step(step, where)


def _validate_sms_step(step: dict[str, Any], where: str) -> None:
    from salesradar.notify.models import Channel

    channel = Channel.objects.filter(name=step.get("channel") or "").first()
    if channel is None or not channel.kind.endswith("_sms"):
        raise ValidationError(
            {"steps": _("{where}: an SMS needs the name of an SMS channel.").format(where=where)}
        )


def default_sequence() -> NurtureSequence:
    sequence = NurtureSequence.objects.filter(is_default=True).first()
    if sequence is None:
        sequence = NurtureSequence.objects.create(
            name=_("Default nurture"), is_default=True, steps=DEFAULT_STEPS
        )
    return sequence


def mark_not_now(
    lead: Lead,
    *,
    at: dt.datetime | None = None,
    sequence: NurtureSequence | None = None,
) -> NurtureEnrollment:
    """Put a "not now" lead into a nurture sequence instead of dropping it."""
    at = at or timezone.now()
    require_aware(at, "at")
    sequence = sequence or default_sequence()
    validate_steps(sequence.steps)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status in (LeadStatus.CONVERTED, LeadStatus.MERGED):
            raise ValidationError(
                _("{lead} is {status}; it cannot be nurtured.").format(
                    lead=lead, status=lead.get_status_display()
                ),
                code="not_nurturable",
            )
        NurtureEnrollment.objects.filter(lead=lead, status=NurtureStatus.ACTIVE).update(
            status=NurtureStatus.FINISHED, ended_at=at
        )
        Lead.objects.filter(pk=lead.pk).update(
            status=LeadStatus.NURTURING, response_due_at=None, ladder_step=0, ladder_since=None
        )
        enrollment = NurtureEnrollment.objects.create(
            lead=lead,
            sequence=sequence,
            started_at=at,
            next_step=0,
            next_due_at=at + dt.timedelta(days=sequence.steps[0]["day"]),
        )
    return enrollment


def lead_responded(lead: Lead, *, at: dt.datetime | None = None) -> None:
    """End the nurture of a lead that answered: back to its owner, or else to the pool."""
    at = at or timezone.now()
    require_aware(at, "at")
    with transaction.atomic():
        NurtureEnrollment.objects.filter(lead=lead, status=NurtureStatus.ACTIVE).update(
            status=NurtureStatus.RESPONDED, ended_at=at, next_due_at=None
        )
        Lead.objects.filter(pk=lead.pk, status=LeadStatus.NURTURING, owner__isnull=False).update(
            status=LeadStatus.CONTACTED, last_followup_at=at
        )
        Lead.objects.filter(pk=lead.pk, status=LeadStatus.NURTURING, owner__isnull=True).update(
            status=LeadStatus.RECYCLED
        )
    lead.refresh_from_db()


def advance_nurture(*, at: dt.datetime) -> dict[str, int]:
    """Run every nurture step due by ``at``: tasks and emails in bulk, enrolments moved on."""
    from salesradar.activities.choices import TaskOrigin
    from salesradar.activities.models import Task
    from salesradar.notify.models import Delivery

    require_aware(at, "at")
    counts = {"tasks": 0, "emails": 0, "sms": 0, "finished": 0}
    with transaction.atomic():
        due = list(
            NurtureEnrollment.objects.filter(status=NurtureStatus.ACTIVE, next_due_at__lte=at)
            .select_related("sequence", "sequence__email_channel", "lead")
            .select_for_update(of=("self",))
            if _supports_of()
            else NurtureEnrollment.objects.filter(
                status=NurtureStatus.ACTIVE, next_due_at__lte=at
            ).select_related("sequence", "sequence__email_channel", "lead")
        )
        tasks, emails, sms = [], [], []
        sms_channels: dict[str, Any] = {}
        for enrollment in due:
            steps = enrollment.sequence.steps
            lead = enrollment.lead
            step = steps[enrollment.next_step] if enrollment.next_step < len(steps) else None
            if step is not None:
                if step["kind"] == NurtureStepKind.SMS and lead.phone:
                    sms.append(_sms_delivery(step, lead, at, sms_channels))
                assignee = lead.owner_id or lead.previous_owner_id
                if step["kind"] == NurtureStepKind.TASK and assignee:
                    tasks.append(
                        Task(
                            title=f"{step['title']} · {lead.company_name}"[:200],
                            assignee_id=assignee,
                            due_at=at + dt.timedelta(days=1),
                            origin=TaskOrigin.MANUAL,
                            origin_ref=f"nurture:{enrollment.pk}:{enrollment.next_step}",
                            created_at=at,
                        )
                    )
                elif (
                    step["kind"] == NurtureStepKind.EMAIL
                    and lead.email
                    and enrollment.sequence.email_channel
                ):
                    emails.append(
                        Delivery(
                            channel=enrollment.sequence.email_channel,
                            evaluation_at=at,
                            next_attempt_at=at,
                            payload={
                                "language": "zh-hans",
                                "subject": step["subject"],
                                "text": step["text"],
                                "markdown": step["text"],
                                "html": "",
                                "items": [],
                                "recipient_email": lead.email,
                                "recipient_name": lead.contact_name or lead.company_name,
                                "mention_mobiles": [],
                            },
                        )
                    )
            enrollment.next_step += 1
            if enrollment.next_step >= len(steps):
                enrollment.status = NurtureStatus.FINISHED
                enrollment.ended_at = at
                enrollment.next_due_at = None
                counts["finished"] += 1
            else:
                enrollment.next_due_at = enrollment.started_at + dt.timedelta(
                    days=steps[enrollment.next_step]["day"]
                )
        Task.objects.bulk_create(tasks, batch_size=2000)
        Delivery.objects.bulk_create(emails, batch_size=2000)
        Delivery.objects.bulk_create([d for d in sms if d is not None], batch_size=2000)
        NurtureEnrollment.objects.bulk_update(
            due, ["next_step", "status", "ended_at", "next_due_at"], batch_size=1000
        )
        counts["tasks"], counts["emails"] = len(tasks), len(emails)
        counts["sms"] = sum(1 for d in sms if d is not None)
    return counts


def _sms_delivery(
    step: dict[str, Any], lead: Lead, at: dt.datetime, channels: dict[str, Any]
) -> Any:
    """Queue one nurture SMS to the lead's phone, or None when its channel has gone."""
    from salesradar.notify.models import Channel, Delivery

    name = step.get("channel") or ""
    if name not in channels:  # one lookup per channel and pass, not per lead
        channels[name] = Channel.objects.filter(name=name, enabled=True).first()
    channel = channels[name]
    if channel is None:
        return None
    return Delivery(
        channel=channel,
        evaluation_at=at,
        next_attempt_at=at,
        payload={
            "language": "zh-hans",
            "subject": step.get("subject", ""),
            "text": step.get("text", ""),
            "markdown": step.get("text", ""),
            "html": "",
            "items": [],
            "recipient_name": lead.contact_name or lead.company_name,
            "recipient_mobile": lead.phone,
            "mention_mobiles": [],
        },
    )


def _supports_of() -> bool:
    from django.db import connection

    return bool(connection.features.has_select_for_update_of)
