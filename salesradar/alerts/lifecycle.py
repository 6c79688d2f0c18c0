"""The alert lifecycle: a pure state machine and the services people call on alerts.

``step`` decides, without a database, what one evaluation does to one alert: it takes the
alert as it is (an ``AlertSnapshot``, or None when the entity has none) and what the engine
observed (an ``Observation``) and returns the alert as it must become plus the events to
append. It is pure in ``at``, so backtesting can replay history through it. ``observe``
applies one step to an ``Alert`` row; ``acknowledge``, ``snooze``, ``resolve`` and
``silence`` are what people do. The state machine is drawn in this app's README.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.alerts.choices import AlertState, EventKind, Severity
from salesradar.alerts.models import Alert, AlertEvent, Rule, Silence
from salesradar.core import outbox
from salesradar.core.fields import require_aware

if TYPE_CHECKING:
    from salesradar.accounts.models import Team, User

ObservedSeverity = Literal["ok", "warning", "danger", "no_data", "error"]
OBSERVED_SEVERITIES: frozenset[str] = frozenset({"ok", "warning", "danger", "no_data", "error"})
SEVERITY_RANK: dict[str, int] = {"": 0, Severity.WARNING: 1, Severity.DANGER: 2}
MAX_ESCALATION_LEVEL = 10
"""Escalation stops climbing here; no sales organisation is deeper than this."""
CLOCK_SKEW = dt.timedelta(minutes=5)

STATE_EVENT = {
    AlertState.PENDING: EventKind.PENDING,
    AlertState.FIRING: EventKind.FIRING,
    AlertState.NO_DATA: EventKind.NO_DATA,
    AlertState.ERROR: EventKind.ERROR,
}
STAYS_FIRING = frozenset({AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED})
"""States a cleared condition may keep for ``keep_firing_for`` instead of resolving at once."""


# --- The pure state machine ---------------------------------------------------------------


@dataclass(frozen=True)
class AlertSnapshot:
    """What ``step`` needs to know about an existing alert.

    ``severity`` is "warning" or "danger", or "" for an alert in no_data or error (and a
    resolved episode that ended in one of them). ``resolved_at`` and ``last_evaluated_at`` go
    beyond the visible state: the first survives into the next snapshot, the second tells
    whether a reminder is new or was already due at the previous evaluation.
    """

    state: AlertState
    severity: str
    started_at: dt.datetime
    firing_since: dt.datetime | None = None
    last_true_at: dt.datetime | None = None
    snoozed_until: dt.datetime | None = None
    escalation_level: int = 0
    last_notified_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    last_evaluated_at: dt.datetime | None = None


@dataclass(frozen=True)
class Observation:
    """What one evaluation of a rule found for one entity.

    ``severity`` is "ok" when the condition is false, "warning" or "danger" when it is true,
    "no_data" when there is too little data to tell, "error" when the metric failed. ``held``
    says the rule's ``for`` clause is satisfied ("48h", "3 of 4"); the engine computes it.
    """

    severity: ObservedSeverity
    value: float | None = None
    threshold: float | None = None
    reference: float | None = None
    message: str = ""
    held: bool = False

    @property
    def is_true(self) -> bool:
        return self.severity in (Severity.WARNING, Severity.DANGER)


@dataclass(frozen=True)
class Transition:
    """One event to append; ``detail`` is machine-readable (``level=2`` for an escalation)."""

    kind: EventKind
    from_state: str
    to_state: str
    from_severity: str
    to_severity: str
    detail: str = ""


@dataclass(frozen=True)
class Step:
    """The outcome of one evaluation: the alert to keep (None: nothing to keep) and events."""

    snapshot: AlertSnapshot | None
    events: tuple[Transition, ...] = ()

    @property
    def kinds(self) -> list[EventKind]:
        return [event.kind for event in self.events]


def step(
    snapshot: AlertSnapshot | None,
    observation: Observation,
    *,
    at: dt.datetime,
    keep_firing_for: dt.timedelta | None = None,
    escalate_after: dt.timedelta | None = None,
    repeat_interval: dt.timedelta | None = None,
) -> Step:
    """Return what one evaluation at ``at`` does to an alert.

    The engine passes "no_data" only for entities that need a no-data alert (a baseline with
    too little history, an entity that already has an alert); ``step`` opens one when asked.
    Stepping the returned snapshot again with the same observation and ``at`` changes nothing
    and returns no events.
    """
    if timezone.is_naive(at):
        raise ValueError("step() needs an aware datetime for at")
    if observation.severity not in OBSERVED_SEVERITIES:
        raise ValueError(f"unknown observed severity {observation.severity!r}")
    if snapshot is None or snapshot.state == AlertState.RESOLVED:
        if observation.severity == "ok":
            kept = None if snapshot is None else replace(snapshot, last_evaluated_at=at)
            return Step(kept)
        return _open_episode(snapshot, observation, at)

    events: list[Transition] = []
    if observation.severity in ("no_data", "error"):
        current = _to_unknown(snapshot, AlertState(observation.severity), events)
    elif observation.severity == "ok":
        current = _on_clear(snapshot, at, keep_firing_for, events)
    else:
        current = _on_true(snapshot, observation, at, events)
    if current.state == AlertState.FIRING:
        current = _escalate(current, at, escalate_after, events)
        if not events and _reminder_due(snapshot, at, repeat_interval):
            events.append(_stay(current, EventKind.REMINDED))
    return Step(replace(current, last_evaluated_at=at), tuple(events))


def _open_episode(
    previous: AlertSnapshot | None, observation: Observation, at: dt.datetime
) -> Step:
    """Start an episode: a first alert for the entity, or a resolved one coming back."""
    if observation.is_true:
        state = AlertState.FIRING if observation.held else AlertState.PENDING
        severity: str = observation.severity
    else:
        state, severity = AlertState(observation.severity), ""
    snapshot = AlertSnapshot(
        state=state,
        severity=severity,
        started_at=at,
        firing_since=at if state == AlertState.FIRING else None,
        last_true_at=at if observation.is_true else None,
        last_evaluated_at=at,
    )
    from_state = previous.state if previous is not None else ""
    from_severity = previous.severity if previous is not None else ""
    opening = EventKind.OPENED if previous is None else EventKind.REOPENED
    return Step(
        snapshot,
        (
            Transition(opening, from_state, state, from_severity, severity),
            Transition(STATE_EVENT[state], from_state, state, from_severity, severity),
        ),
    )


def _to_unknown(
    current: AlertSnapshot, state: AlertState, events: list[Transition]
) -> AlertSnapshot:
    """Move a live alert to no_data or error; what it was before is no longer known."""
    if current.state == state:
        return current
    events.append(Transition(STATE_EVENT[state], current.state, state, current.severity, ""))
    return replace(current, state=state, severity="", snoozed_until=None)


def _on_clear(
    current: AlertSnapshot,
    at: dt.datetime,
    keep_firing_for: dt.timedelta | None,
    events: list[Transition],
) -> AlertSnapshot:
    """Resolve an alert whose condition cleared, unless it must keep firing a while."""
    if (
        current.state in STAYS_FIRING
        and keep_firing_for is not None
        and current.last_true_at is not None
        and at - current.last_true_at < keep_firing_for
    ):
        return current
    events.append(
        Transition(
            EventKind.RESOLVED,
            current.state,
            AlertState.RESOLVED,
            current.severity,
            current.severity,
        )
    )
    return replace(current, state=AlertState.RESOLVED, resolved_at=at, snoozed_until=None)


def _on_true(
    current: AlertSnapshot,
    observation: Observation,
    at: dt.datetime,
    events: list[Transition],
) -> AlertSnapshot:
    """Update a live alert whose condition is true (again)."""
    severity: str = observation.severity
    updated = replace(current, severity=severity, last_true_at=at)
    if current.state in (AlertState.NO_DATA, AlertState.ERROR):
        state = AlertState.FIRING if observation.held else AlertState.PENDING
        events.append(Transition(STATE_EVENT[state], current.state, state, "", severity))
        back = replace(updated, state=AlertState.PENDING)
        return _start_firing(back, at) if observation.held else back

    rose = SEVERITY_RANK[severity] > SEVERITY_RANK[current.severity]
    if severity != current.severity:
        events.append(
            Transition(
                EventKind.SEVERITY_CHANGED,
                current.state,
                current.state,
                current.severity,
                severity,
            )
        )
    if current.state == AlertState.PENDING and observation.held:
        events.append(_change(updated, EventKind.FIRING, AlertState.FIRING))
        return _start_firing(updated, at)
    if current.state == AlertState.ACKNOWLEDGED and rose:
        # A rise to danger must be seen again, so the acknowledgement no longer covers it.
        events.append(_change(updated, EventKind.FIRING, AlertState.FIRING))
        return _start_firing(updated, at)
    if (
        current.state == AlertState.SNOOZED
        and current.snoozed_until is not None
        and at >= current.snoozed_until
    ):
        events.append(_change(updated, EventKind.UNSNOOZED, AlertState.FIRING))
        return _start_firing(updated, at)
    return updated


def _start_firing(current: AlertSnapshot, at: dt.datetime) -> AlertSnapshot:
    """Enter firing: the escalation clock starts over from ``at``."""
    return replace(
        current,
        state=AlertState.FIRING,
        firing_since=at,
        escalation_level=0,
        snoozed_until=None,
    )


def _escalate(
    current: AlertSnapshot,
    at: dt.datetime,
    escalate_after: dt.timedelta | None,
    events: list[Transition],
) -> AlertSnapshot:
    """Climb one level per ``escalate_after`` an alert has been firing unacknowledged.

    Levels missed between two evaluations are climbed at once, in one event, so a long gap
    does not flood the next level up with one message per missed level.
    """
    if not escalate_after or escalate_after <= dt.timedelta(0) or current.firing_since is None:
        return current
    due = min((at - current.firing_since) // escalate_after, MAX_ESCALATION_LEVEL)
    if due <= current.escalation_level:
        return current
    events.append(_stay(current, EventKind.ESCALATED, detail=f"level={due}"))
    return replace(current, escalation_level=due)


def _reminder_due(
    before: AlertSnapshot, at: dt.datetime, repeat_interval: dt.timedelta | None
) -> bool:
    """Return whether a firing alert's reminder fell due since the previous evaluation.

    The notifier, not ``step``, records ``last_notified_at``; a reminder is due when a
    multiple of ``repeat_interval`` after it passed between the previous evaluation and now,
    so evaluating twice at the same time never reminds twice.
    """
    if before.state != AlertState.FIRING or before.last_notified_at is None:
        return False
    if not repeat_interval or repeat_interval <= dt.timedelta(0):
        return False
    elapsed = at - before.last_notified_at
    if elapsed < repeat_interval:
        return False
    if before.last_evaluated_at is None:
        return True
    previously = before.last_evaluated_at - before.last_notified_at
    return elapsed // repeat_interval > previously // repeat_interval


def _change(current: AlertSnapshot, kind: EventKind, to_state: AlertState) -> Transition:
    return Transition(kind, current.state, to_state, current.severity, current.severity)


def _stay(current: AlertSnapshot, kind: EventKind, detail: str = "") -> Transition:
    return Transition(
        kind, current.state, current.state, current.severity, current.severity, detail
    )


# --- Applying a step to the database ------------------------------------------------------


class TransitionRefused(ValidationError):
    """A change to an alert that its current state does not allow."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="alert_transition_refused")


def event_rows(
    alert: Alert,
    transitions: Sequence[Transition],
    *,
    at: dt.datetime,
    reason: str,
    value: float | None,
) -> list[AlertEvent]:
    """Return unsaved history rows for ``transitions``; a transition's own detail wins."""
    return [
        AlertEvent(
            alert=alert,
            at=at,
            kind=transition.kind,
            from_state=transition.from_state,
            to_state=transition.to_state,
            from_severity=transition.from_severity,
            to_severity=transition.to_severity,
            reason=transition.detail or reason,
            value=value,
        )
        for transition in transitions
    ]


def snapshot_of(alert: Alert) -> AlertSnapshot:
    """Return the part of a stored alert that ``step`` works on."""
    return AlertSnapshot(
        state=AlertState(alert.state),
        severity=alert.severity,
        started_at=alert.started_at,
        firing_since=alert.firing_since,
        last_true_at=alert.last_true_at,
        snoozed_until=alert.snoozed_until,
        escalation_level=alert.escalation_level,
        last_notified_at=alert.last_notified_at,
        acknowledged_at=alert.acknowledged_at,
        resolved_at=alert.resolved_at,
        last_evaluated_at=alert.last_evaluated_at,
    )


def observe(alert: Alert, observation: Observation, *, at: dt.datetime) -> list[AlertEvent]:
    """Apply one evaluation to ``alert`` and append its events; return the events written.

    ``alert`` is a stored alert, or an unsaved one carrying rule, entity, owner, team and
    labels for an entity without one yet (nothing is saved if the observation is "ok").
    The stored row is locked and re-read, so a person acknowledging meanwhile is not lost.
    """
    require_aware(at, "at")
    rule: Rule = alert.rule
    with transaction.atomic():
        if alert.pk is None:
            current, before = alert, None
            if not current.fingerprint:
                current.fingerprint = Alert.fingerprint_for(
                    rule.key, current.entity_type, current.entity_id
                )
        else:
            current = Alert.objects.select_for_update().get(pk=alert.pk)
            before = snapshot_of(current)
        result = step(
            before,
            observation,
            at=at,
            keep_firing_for=rule.keep_firing_for,
            escalate_after=rule.escalate_after,
            repeat_interval=rule.repeat_interval,
        )
        if result.snapshot is None:
            return []
        _store_snapshot(current, result.snapshot)
        if EventKind.REOPENED in result.kinds:
            current.acknowledged_by = None
            current.ack_note = ""
        current.value = observation.value
        current.threshold = observation.threshold
        current.reference = observation.reference
        current.message = observation.message
        current.save()
        events = AlertEvent.objects.bulk_create(
            event_rows(current, result.events, at=at, reason="", value=observation.value)
        )
    _copy_back(alert, current)
    return events


def _store_snapshot(alert: Alert, snapshot: AlertSnapshot) -> None:
    alert.state = snapshot.state
    alert.severity = snapshot.severity
    alert.started_at = snapshot.started_at
    alert.firing_since = snapshot.firing_since
    alert.last_true_at = snapshot.last_true_at
    alert.snoozed_until = snapshot.snoozed_until
    alert.escalation_level = snapshot.escalation_level
    alert.last_notified_at = snapshot.last_notified_at
    alert.acknowledged_at = snapshot.acknowledged_at
    alert.resolved_at = snapshot.resolved_at
    alert.last_evaluated_at = snapshot.last_evaluated_at or snapshot.started_at


def _copy_back(alert: Alert, current: Alert) -> None:
    """Let the caller's instance reflect what was written to the locked copy."""
    if alert is current:
        return
    for field in Alert._meta.concrete_fields:
        setattr(alert, field.attname, getattr(current, field.attname))


# --- What people do -----------------------------------------------------------------------


def acknowledge(alert: Alert, *, by: User | None, note: str = "", at: dt.datetime) -> AlertEvent:
    """Record that a person took a firing (or snoozed) alert; escalation and reminders stop."""
    with transaction.atomic():
        current = _lock_for_change(alert, at)
        if current.state not in (AlertState.FIRING, AlertState.SNOOZED):
            raise TransitionRefused(
                _(
                    "Only a firing or snoozed alert can be acknowledged; this one is “{state}”."
                ).format(state=AlertState(current.state).label)
            )
        event = _append(current, EventKind.ACKNOWLEDGED, AlertState.ACKNOWLEDGED, by, note, at)
        current.state = AlertState.ACKNOWLEDGED
        current.acknowledged_at = at
        current.acknowledged_by = by
        current.ack_note = note
        current.snoozed_until = None
        current.save(
            update_fields=[
                "state",
                "acknowledged_at",
                "acknowledged_by",
                "ack_note",
                "snoozed_until",
            ]
        )
    _copy_back(alert, current)
    return event


def snooze(
    alert: Alert,
    *,
    by: User | None,
    until: dt.datetime,
    note: str = "",
    at: dt.datetime,
) -> AlertEvent:
    """Quiet a firing or acknowledged alert until ``until``; it fires again if still true."""
    require_aware(until, "until")
    with transaction.atomic():
        current = _lock_for_change(alert, at)
        if current.state not in (AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED):
            raise TransitionRefused(
                _(
                    "Only a firing, acknowledged or snoozed alert can be snoozed; this one is "
                    "“{state}”."
                ).format(state=AlertState(current.state).label)
            )
        if until <= at:
            raise TransitionRefused(
                _("A snooze must end after it starts ({at}).").format(at=at.isoformat())
            )
        event = _append(current, EventKind.SNOOZED, AlertState.SNOOZED, by, note, at)
        current.state = AlertState.SNOOZED
        current.snoozed_until = until
        current.save(update_fields=["state", "snoozed_until"])
    _copy_back(alert, current)
    return event


def resolve(alert: Alert, *, by: User | None, note: str = "", at: dt.datetime) -> AlertEvent:
    """Close an alert by hand; the next evaluation reopens it if the condition is still true."""
    with transaction.atomic():
        current = _lock_for_change(alert, at)
        if current.state == AlertState.RESOLVED:
            raise TransitionRefused(_("This alert is already resolved."))
        event = _append(current, EventKind.RESOLVED, AlertState.RESOLVED, by, note, at)
        current.state = AlertState.RESOLVED
        current.resolved_at = at
        current.snoozed_until = None
        current.save(update_fields=["state", "resolved_at", "snoozed_until"])
    _copy_back(alert, current)
    return event


def set_inhibitor(alert: Alert, inhibitor: Alert | None, *, at: dt.datetime) -> AlertEvent | None:
    """Record that ``inhibitor`` (a cause, such as a data-health alert) mutes ``alert``.

    ``None`` lifts the inhibition. Return the event written, or None if nothing changed.
    """
    require_aware(at, "at")
    with transaction.atomic():
        current = Alert.objects.select_for_update().get(pk=alert.pk)
        inhibitor_id = inhibitor.pk if inhibitor is not None else None
        if current.inhibited_by_id == inhibitor_id:
            return None
        if inhibitor is not None:
            kind, reason = EventKind.INHIBITED, inhibitor.fingerprint
        else:
            kind, reason = EventKind.UNINHIBITED, ""
        event = _append(current, kind, AlertState(current.state), None, reason, at)
        current.inhibited_by = inhibitor
        current.save(update_fields=["inhibited_by"])
    _copy_back(alert, current)
    return event


def silence(
    *,
    by: User | None,
    ends_at: dt.datetime,
    starts_at: dt.datetime | None = None,
    rule: Rule | None = None,
    team: Team | None = None,
    entity_type: str | None = None,
    entity_id: int | None = None,
    comment: str = "",
) -> Silence:
    """Mute notifications of alerts matching every given matcher until ``ends_at``.

    A team matches its whole subtree. A silence without any matcher is refused: it would
    mute everything.
    """
    starts = starts_at if starts_at is not None else timezone.now()
    require_aware(starts, "starts_at")
    require_aware(ends_at, "ends_at")
    created = Silence(
        rule=rule,
        team=team,
        entity_type=entity_type or None,
        entity_id=entity_id,
        starts_at=starts,
        ends_at=ends_at,
        comment=comment,
        created_by=by,
        created_at=timezone.now(),
    )
    created.full_clean()
    with transaction.atomic():
        created.save()
    return created


def is_silenced(alert: Alert, at: dt.datetime) -> bool:
    """Return whether a silence in force at ``at`` mutes ``alert``."""
    require_aware(at, "at")
    return Silence.objects.active(at).matching(alert).exists()


def _lock_for_change(alert: Alert, at: dt.datetime) -> Alert:
    """Re-read ``alert`` under a row lock and check ``at`` is a sensible time for a change."""
    require_aware(at, "at")
    current = Alert.objects.select_for_update().get(pk=alert.pk)
    if at < current.started_at:
        raise TransitionRefused(
            _("{at} is before this alert started ({started}).").format(
                at=at.isoformat(), started=current.started_at.isoformat()
            )
        )
    if at > timezone.now() + CLOCK_SKEW:
        raise TransitionRefused(_("A change to an alert cannot be recorded in the future."))
    return current


def _append(
    alert: Alert,
    kind: EventKind,
    to_state: AlertState,
    by: User | None,
    reason: str,
    at: dt.datetime,
) -> AlertEvent:
    event = AlertEvent.objects.create(
        alert=alert,
        at=at,
        kind=kind,
        from_state=alert.state,
        to_state=to_state,
        from_severity=alert.severity,
        to_severity=alert.severity,
        actor=by,
        reason=reason,
        value=alert.value,
    )
    outbox.announce(outbox.ALERT_EVENT, [event.pk], at=at)
    return event
