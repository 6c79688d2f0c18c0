"""The alert lifecycle: the pure ``step`` state machine, then the services people call.

``step`` needs no database: each test gives an alert as it is (or none), one observation and
a time, and reads the alert as it becomes and the events to append.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from salesradar.alerts import lifecycle
from salesradar.alerts.choices import TRUE_STATES, AlertState, EventKind
from salesradar.alerts.lifecycle import (
    MAX_ESCALATION_LEVEL,
    AlertSnapshot,
    Observation,
    Step,
    step,
)
from salesradar.alerts.models import Alert, AlertEvent, Rule, Silence
from tests.factories import CREATED_AT, TeamFactory, UserFactory

T0 = CREATED_AT + dt.timedelta(days=3)
"""When the alerts of these tests start; aware and in the past."""

WARNING = Observation("warning", value=3.0, threshold=2.0, message="3 days in stage")
DANGER = Observation("danger", value=9.0, threshold=7.0, message="9 days in stage")
OK = Observation("ok", value=1.0, threshold=2.0)
NO_DATA = Observation("no_data")
ERROR = Observation("error", message="metric failed")


def hours(count: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=count)


def held(observation: Observation) -> Observation:
    return replace(observation, held=True)


def alert_in(state: AlertState, **fields: Any) -> AlertSnapshot:
    """Return an alert that became true at T0 and is now in ``state``."""
    defaults: dict[str, Any] = {
        "severity": "warning",
        "started_at": T0,
        "last_true_at": T0,
        "last_evaluated_at": T0,
    }
    if state in (AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED):
        defaults["firing_since"] = T0
    if state == AlertState.ACKNOWLEDGED:
        defaults["acknowledged_at"] = T0
    if state == AlertState.SNOOZED:
        defaults["snoozed_until"] = hours(24)
    if state == AlertState.RESOLVED:
        defaults["resolved_at"] = T0
    if state in (AlertState.NO_DATA, AlertState.ERROR):
        defaults.update(severity="", last_true_at=None)
    return AlertSnapshot(state=state, **{**defaults, **fields})


# --- Opening -------------------------------------------------------------------------------


def test_false_condition_without_an_alert_keeps_nothing() -> None:
    assert step(None, OK, at=T0) == Step(None, ())


def test_true_condition_waiting_out_for_opens_a_pending_alert() -> None:
    result = step(None, WARNING, at=T0)
    assert result.kinds == [EventKind.OPENED, EventKind.PENDING]
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.PENDING
    assert result.snapshot.severity == "warning"
    assert result.snapshot.started_at == T0
    assert result.snapshot.firing_since is None
    assert result.events[0].from_state == "" and result.events[0].to_state == "pending"


def test_true_condition_whose_for_already_holds_fires_at_once() -> None:
    result = step(None, held(DANGER), at=T0)
    assert result.kinds == [EventKind.OPENED, EventKind.FIRING]
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.FIRING
    assert result.snapshot.firing_since == T0
    assert result.events[1].to_severity == "danger"


def test_naive_evaluation_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        step(None, WARNING, at=dt.datetime(2024, 3, 4, 9, 0))


# --- Pending -------------------------------------------------------------------------------


def test_pending_alert_fires_once_for_holds() -> None:
    result = step(alert_in(AlertState.PENDING), held(WARNING), at=hours(48))
    assert result.kinds == [EventKind.FIRING]
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.FIRING
    assert result.snapshot.firing_since == hours(48)
    assert result.snapshot.started_at == T0


def test_pending_alert_still_waiting_records_nothing() -> None:
    result = step(alert_in(AlertState.PENDING), WARNING, at=hours(24))
    assert result.kinds == []
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.PENDING
    assert result.snapshot.last_true_at == hours(24)


def test_pending_alert_whose_condition_clears_resolves_quietly() -> None:
    result = step(alert_in(AlertState.PENDING), OK, at=hours(24))
    assert result.kinds == [EventKind.RESOLVED]
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.RESOLVED
    assert result.snapshot.resolved_at == hours(24)
    assert result.events[0].from_state == "pending"


def test_pending_alert_ignores_keep_firing_for() -> None:
    result = step(
        alert_in(AlertState.PENDING), OK, at=hours(1), keep_firing_for=dt.timedelta(hours=24)
    )
    assert result.kinds == [EventKind.RESOLVED]


# --- Firing, resolving, keep_firing_for ----------------------------------------------------


@pytest.mark.parametrize("state", [AlertState.FIRING, AlertState.ACKNOWLEDGED])
def test_firing_or_acknowledged_alert_whose_condition_clears_resolves(state: AlertState) -> None:
    result = step(alert_in(state), OK, at=hours(6))
    assert result.kinds == [EventKind.RESOLVED]
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.RESOLVED
    assert result.events[0].from_state == state


@pytest.mark.parametrize("state", [AlertState.FIRING, AlertState.ACKNOWLEDGED])
def test_alert_keeps_firing_until_keep_firing_for_has_passed(state: AlertState) -> None:
    keep = dt.timedelta(hours=12)
    # given an alert whose condition was last true at T0
    within = step(alert_in(state), OK, at=hours(11), keep_firing_for=keep)
    # then a clear reading within keep_firing_for changes nothing
    assert within.kinds == []
    assert within.snapshot is not None and within.snapshot.state == state
    # and once keep_firing_for has passed since last true, it resolves
    after = step(within.snapshot, OK, at=hours(12), keep_firing_for=keep)
    assert after.kinds == [EventKind.RESOLVED]


def test_true_reading_during_keep_firing_for_restarts_it() -> None:
    keep = dt.timedelta(hours=12)
    again = step(alert_in(AlertState.FIRING), WARNING, at=hours(10), keep_firing_for=keep)
    assert again.snapshot is not None and again.snapshot.last_true_at == hours(10)
    assert step(again.snapshot, OK, at=hours(20), keep_firing_for=keep).kinds == []
    assert step(again.snapshot, OK, at=hours(22), keep_firing_for=keep).kinds == [
        EventKind.RESOLVED
    ]


def test_resolved_alert_that_stays_clear_records_nothing() -> None:
    result = step(alert_in(AlertState.RESOLVED), OK, at=hours(24))
    assert result.kinds == []
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.RESOLVED
    assert result.snapshot.last_evaluated_at == hours(24)


@pytest.mark.parametrize(
    ("observation", "state", "kind"),
    [
        (WARNING, AlertState.PENDING, EventKind.PENDING),
        (held(DANGER), AlertState.FIRING, EventKind.FIRING),
    ],
)
def test_resolved_alert_true_again_reopens_a_new_episode(
    observation: Observation, state: AlertState, kind: EventKind
) -> None:
    # given an episode that escalated, was acknowledged and resolved
    resolved = alert_in(
        AlertState.RESOLVED, escalation_level=2, acknowledged_at=hours(1), last_notified_at=T0
    )
    # when the condition is true again
    result = step(resolved, observation, at=hours(72))
    # then a new episode starts from scratch
    assert result.kinds == [EventKind.REOPENED, kind]
    assert result.events[0].from_state == "resolved"
    assert result.snapshot is not None
    assert result.snapshot.state == state
    assert result.snapshot.started_at == hours(72)
    assert result.snapshot.escalation_level == 0
    assert result.snapshot.acknowledged_at is None
    assert result.snapshot.resolved_at is None


# --- Severity ------------------------------------------------------------------------------


def test_rise_to_danger_while_firing_is_recorded() -> None:
    result = step(alert_in(AlertState.FIRING), DANGER, at=hours(1))
    assert result.kinds == [EventKind.SEVERITY_CHANGED]
    event = result.events[0]
    assert (event.from_severity, event.to_severity) == ("warning", "danger")
    assert (event.from_state, event.to_state) == ("firing", "firing")
    assert result.snapshot is not None and result.snapshot.severity == "danger"


def test_rise_to_danger_brings_an_acknowledged_alert_back_to_firing() -> None:
    result = step(alert_in(AlertState.ACKNOWLEDGED), DANGER, at=hours(5))
    assert result.kinds == [EventKind.SEVERITY_CHANGED, EventKind.FIRING]
    assert result.events[1].from_state == "acknowledged"
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.FIRING
    assert result.snapshot.firing_since == hours(5)  # escalation counts from the rise


@pytest.mark.parametrize("state", [AlertState.FIRING, AlertState.ACKNOWLEDGED])
def test_fall_to_warning_is_recorded_without_a_state_change(state: AlertState) -> None:
    result = step(alert_in(state, severity="danger"), WARNING, at=hours(1))
    assert result.kinds == [EventKind.SEVERITY_CHANGED]
    assert result.snapshot is not None
    assert result.snapshot.state == state
    assert result.snapshot.severity == "warning"


def test_severity_change_while_pending_is_recorded() -> None:
    result = step(alert_in(AlertState.PENDING), DANGER, at=hours(1))
    assert result.kinds == [EventKind.SEVERITY_CHANGED]
    assert result.snapshot is not None and result.snapshot.state == AlertState.PENDING


# --- No data and errors --------------------------------------------------------------------


def test_no_data_for_an_entity_without_an_alert_opens_a_no_data_alert() -> None:
    result = step(None, NO_DATA, at=T0)
    assert result.kinds == [EventKind.OPENED, EventKind.NO_DATA]
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.NO_DATA
    assert result.snapshot.severity == ""


@pytest.mark.parametrize(
    ("observation", "state", "kind"),
    [(NO_DATA, AlertState.NO_DATA, EventKind.NO_DATA), (ERROR, AlertState.ERROR, EventKind.ERROR)],
)
def test_firing_alert_without_data_or_with_an_error_says_so(
    observation: Observation, state: AlertState, kind: EventKind
) -> None:
    result = step(alert_in(AlertState.FIRING, severity="danger"), observation, at=hours(1))
    assert result.kinds == [kind]
    assert result.events[0].from_severity == "danger"
    assert result.snapshot is not None
    assert result.snapshot.state == state
    assert result.snapshot.severity == ""


def test_no_data_alert_whose_data_returns_true_fires_again_when_for_holds() -> None:
    result = step(alert_in(AlertState.NO_DATA), held(WARNING), at=hours(2))
    assert result.kinds == [EventKind.FIRING]
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.FIRING
    assert result.snapshot.firing_since == hours(2)
    assert result.snapshot.severity == "warning"


def test_error_alert_whose_metric_recovers_true_waits_in_pending() -> None:
    result = step(alert_in(AlertState.ERROR), WARNING, at=hours(2))
    assert result.kinds == [EventKind.PENDING]
    assert result.snapshot is not None and result.snapshot.state == AlertState.PENDING


def test_no_data_alert_whose_data_returns_clear_resolves() -> None:
    result = step(alert_in(AlertState.NO_DATA), OK, at=hours(2))
    assert result.kinds == [EventKind.RESOLVED]


def test_error_after_no_data_is_recorded() -> None:
    assert step(alert_in(AlertState.NO_DATA), ERROR, at=hours(2)).kinds == [EventKind.ERROR]
    assert step(alert_in(AlertState.NO_DATA), NO_DATA, at=hours(2)).kinds == []


# --- Snoozing ------------------------------------------------------------------------------


def test_snoozed_alert_stays_snoozed_before_its_end() -> None:
    result = step(alert_in(AlertState.SNOOZED), WARNING, at=hours(23))
    assert result.kinds == []
    assert result.snapshot is not None and result.snapshot.state == AlertState.SNOOZED


def test_snoozed_alert_records_a_rise_but_stays_snoozed() -> None:
    result = step(alert_in(AlertState.SNOOZED), DANGER, at=hours(23))
    assert result.kinds == [EventKind.SEVERITY_CHANGED]
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.SNOOZED
    assert result.snapshot.severity == "danger"


def test_snoozed_alert_still_true_when_the_snooze_ends_fires_again() -> None:
    result = step(alert_in(AlertState.SNOOZED, escalation_level=1), WARNING, at=hours(24))
    assert result.kinds == [EventKind.UNSNOOZED]
    assert (result.events[0].from_state, result.events[0].to_state) == ("snoozed", "firing")
    assert result.snapshot is not None
    assert result.snapshot.state == AlertState.FIRING
    assert result.snapshot.snoozed_until is None
    assert result.snapshot.firing_since == hours(24)
    assert result.snapshot.escalation_level == 0


def test_snoozed_alert_clear_when_the_snooze_ends_resolves() -> None:
    result = step(alert_in(AlertState.SNOOZED), OK, at=hours(24))
    assert result.kinds == [EventKind.RESOLVED]
    assert result.snapshot is not None and result.snapshot.snoozed_until is None


def test_snoozed_alert_whose_condition_clears_before_the_end_resolves() -> None:
    # TRICKY: a snooze quiets notifications; it does not freeze the episode.
    assert step(alert_in(AlertState.SNOOZED), OK, at=hours(2)).kinds == [EventKind.RESOLVED]


# --- Escalation ----------------------------------------------------------------------------

FOUR_HOURS = dt.timedelta(hours=4)


def test_firing_alert_does_not_escalate_before_escalate_after() -> None:
    result = step(alert_in(AlertState.FIRING), WARNING, at=hours(3.9), escalate_after=FOUR_HOURS)
    assert result.kinds == []


def test_firing_alert_escalates_to_level_one_after_escalate_after() -> None:
    result = step(alert_in(AlertState.FIRING), WARNING, at=hours(4), escalate_after=FOUR_HOURS)
    assert result.kinds == [EventKind.ESCALATED]
    assert result.events[0].detail == "level=1"
    assert result.snapshot is not None and result.snapshot.escalation_level == 1


def test_firing_alert_escalates_to_level_two_after_twice_escalate_after() -> None:
    level_one = alert_in(AlertState.FIRING, escalation_level=1, last_evaluated_at=hours(4))
    assert step(level_one, WARNING, at=hours(7), escalate_after=FOUR_HOURS).kinds == []
    result = step(level_one, WARNING, at=hours(8), escalate_after=FOUR_HOURS)
    assert result.kinds == [EventKind.ESCALATED]
    assert result.events[0].detail == "level=2"
    assert result.snapshot is not None and result.snapshot.escalation_level == 2


def test_missed_escalation_levels_are_climbed_in_one_event() -> None:
    result = step(alert_in(AlertState.FIRING), WARNING, at=hours(9), escalate_after=FOUR_HOURS)
    assert result.kinds == [EventKind.ESCALATED]
    assert result.snapshot is not None and result.snapshot.escalation_level == 2


def test_escalation_stops_at_the_top_level() -> None:
    result = step(alert_in(AlertState.FIRING), WARNING, at=hours(1000), escalate_after=FOUR_HOURS)
    assert result.snapshot is not None
    assert result.snapshot.escalation_level == MAX_ESCALATION_LEVEL


def test_escalation_continues_while_keep_firing_for_holds_the_alert() -> None:
    result = step(
        alert_in(AlertState.FIRING, last_true_at=hours(3)),
        OK,
        at=hours(4),
        keep_firing_for=dt.timedelta(hours=2),
        escalate_after=FOUR_HOURS,
    )
    assert result.kinds == [EventKind.ESCALATED]


@pytest.mark.parametrize("state", [AlertState.ACKNOWLEDGED, AlertState.SNOOZED])
def test_acknowledged_or_snoozed_alert_does_not_escalate(state: AlertState) -> None:
    result = step(alert_in(state), WARNING, at=hours(23), escalate_after=FOUR_HOURS)
    assert result.kinds == []


# --- Reminders -----------------------------------------------------------------------------

DAY = dt.timedelta(days=1)


def notified_at_t0(**fields: Any) -> AlertSnapshot:
    return alert_in(AlertState.FIRING, last_notified_at=T0, **fields)


def test_reminder_falls_due_repeat_interval_after_the_last_notification() -> None:
    before = notified_at_t0(last_evaluated_at=hours(23))
    assert step(before, WARNING, at=hours(23.5), repeat_interval=DAY).kinds == []
    result = step(before, WARNING, at=hours(24), repeat_interval=DAY)
    assert result.kinds == [EventKind.REMINDED]
    # the notifier, not step, records when it notified
    assert result.snapshot is not None and result.snapshot.last_notified_at == T0


def test_reminder_is_not_repeated_on_every_evaluation() -> None:
    first = step(
        notified_at_t0(last_evaluated_at=hours(23)), WARNING, at=hours(25), repeat_interval=DAY
    )
    assert first.kinds == [EventKind.REMINDED]
    later = step(first.snapshot, WARNING, at=hours(30), repeat_interval=DAY)
    assert later.kinds == []
    # if the notifier never got to send it, the next interval reminds again
    next_day = step(later.snapshot, WARNING, at=hours(48), repeat_interval=DAY)
    assert next_day.kinds == [EventKind.REMINDED]


def test_alert_never_notified_gets_no_reminder() -> None:
    result = step(alert_in(AlertState.FIRING), WARNING, at=hours(100), repeat_interval=DAY)
    assert result.kinds == []


def test_acknowledged_alert_gets_no_reminder() -> None:
    acknowledged = alert_in(AlertState.ACKNOWLEDGED, last_notified_at=T0)
    assert step(acknowledged, WARNING, at=hours(48), repeat_interval=DAY).kinds == []


def test_escalation_replaces_the_reminder_of_the_same_evaluation() -> None:
    result = step(notified_at_t0(), WARNING, at=hours(24), escalate_after=DAY, repeat_interval=DAY)
    assert result.kinds == [EventKind.ESCALATED]


# --- Idempotence, over any sequence --------------------------------------------------------

observations = st.builds(
    Observation,
    severity=st.sampled_from(["ok", "warning", "danger", "no_data", "error"]),
    value=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    held=st.booleans(),
)
durations = st.none() | st.integers(min_value=1, max_value=72).map(
    lambda count: dt.timedelta(hours=count)
)
moves = st.tuples(
    st.integers(min_value=0, max_value=60),  # hours since the previous evaluation
    st.sampled_from(["evaluate", "evaluate", "evaluate", "acknowledge", "snooze", "notify"]),
    observations,
)


def act(snapshot: AlertSnapshot | None, action: str, at: dt.datetime) -> AlertSnapshot | None:
    """Do to a snapshot what a person or the notifier would do between evaluations."""
    if snapshot is None:
        return None
    if action == "acknowledge" and snapshot.state in (AlertState.FIRING, AlertState.SNOOZED):
        return replace(
            snapshot, state=AlertState.ACKNOWLEDGED, acknowledged_at=at, snoozed_until=None
        )
    if action == "snooze" and snapshot.state in (
        AlertState.FIRING,
        AlertState.ACKNOWLEDGED,
        AlertState.SNOOZED,
    ):
        return replace(snapshot, state=AlertState.SNOOZED, snoozed_until=at + dt.timedelta(hours=8))
    if action == "notify" and snapshot.state == AlertState.FIRING:
        return replace(snapshot, last_notified_at=at)
    return snapshot


def assert_consistent(snapshot: AlertSnapshot) -> None:
    """The invariants the Alert table's check constraints enforce, and a few more."""
    if snapshot.state in TRUE_STATES:
        assert snapshot.severity in ("warning", "danger")
    assert snapshot.state != AlertState.FIRING or snapshot.firing_since is not None
    assert snapshot.state != AlertState.SNOOZED or snapshot.snoozed_until is not None
    assert snapshot.state != AlertState.RESOLVED or snapshot.resolved_at is not None
    assert 0 <= snapshot.escalation_level <= MAX_ESCALATION_LEVEL


@settings(max_examples=300, deadline=None)
@given(
    sequence=st.lists(moves, min_size=1, max_size=25),
    keep_firing_for=durations,
    escalate_after=durations,
    repeat_interval=durations,
)
def test_evaluating_twice_at_the_same_time_changes_nothing_the_second_time(
    sequence: list[tuple[int, str, Observation]],
    keep_firing_for: dt.timedelta | None,
    escalate_after: dt.timedelta | None,
    repeat_interval: dt.timedelta | None,
) -> None:
    policy = {
        "keep_firing_for": keep_firing_for,
        "escalate_after": escalate_after,
        "repeat_interval": repeat_interval,
    }
    snapshot: AlertSnapshot | None = None
    at = T0
    for gap, action, observation in sequence:
        at += dt.timedelta(hours=gap)
        if action != "evaluate":
            snapshot = act(snapshot, action, at)
            continue
        result = step(snapshot, observation, at=at, **policy)
        again = step(result.snapshot, observation, at=at, **policy)
        assert again.events == ()
        assert again.snapshot == result.snapshot
        if result.events:
            assert result.events[0].from_state == (snapshot.state if snapshot else "")
            assert result.snapshot is not None
            assert result.events[-1].to_state == result.snapshot.state
        if result.snapshot is not None:
            assert_consistent(result.snapshot)
        snapshot = result.snapshot


# --- Services on stored alerts -------------------------------------------------------------


@pytest.fixture
def rule(db: None) -> Rule:
    return Rule.objects.create(
        key="stalled-deal",
        names={"en": "Stalled deal", "zh-hans": "商机停滞"},
        metric="days_in_stage",
        grain="opportunity",
        condition={"threshold": {"warning": 2, "danger": 7}},
    )


def stored_alert(rule: Rule, state: AlertState = AlertState.FIRING, **fields: Any) -> Alert:
    """Save an alert about opportunity 1 in ``state``, as ``alert_in`` would describe it."""
    snapshot = alert_in(state)
    values: dict[str, Any] = {
        "rule": rule,
        "fingerprint": Alert.fingerprint_for(
            rule.key, fields.get("entity_type", "opportunity"), fields.get("entity_id", 1)
        ),
        "entity_type": "opportunity",
        "entity_id": 1,
        "state": state,
        "severity": snapshot.severity,
        "value": 3.0,
        "started_at": snapshot.started_at,
        "firing_since": snapshot.firing_since,
        "last_evaluated_at": T0,
        "last_true_at": snapshot.last_true_at,
        "acknowledged_at": snapshot.acknowledged_at,
        "snoozed_until": snapshot.snoozed_until,
        "resolved_at": snapshot.resolved_at,
    }
    return Alert.objects.create(**{**values, **fields})


def unsaved_alert(rule: Rule, **fields: Any) -> Alert:
    return Alert(rule=rule, entity_type="opportunity", entity_id=7, **fields)


@pytest.mark.django_db
def test_observing_a_new_true_condition_saves_the_alert_and_its_events(rule: Rule) -> None:
    owner = UserFactory()
    alert = unsaved_alert(rule, owner=owner, labels={"severity": "danger"})
    events = lifecycle.observe(alert, held(DANGER), at=T0)
    assert [event.kind for event in events] == [EventKind.OPENED, EventKind.FIRING]
    stored = Alert.objects.get()
    assert stored.fingerprint == "stalled-deal:opportunity:7"
    assert (stored.state, stored.severity, stored.value) == ("firing", "danger", 9.0)
    assert stored.owner == owner and stored.firing_since == T0
    assert list(stored.events.values_list("kind", "value")) == [("opened", 9.0), ("firing", 9.0)]


@pytest.mark.django_db
def test_observing_a_clear_condition_for_a_new_entity_saves_nothing(rule: Rule) -> None:
    assert lifecycle.observe(unsaved_alert(rule), OK, at=T0) == []
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_observing_a_stored_alert_escalates_it_by_the_rule(rule: Rule) -> None:
    rule.escalate_after = FOUR_HOURS
    rule.save()
    alert = stored_alert(rule)
    events = lifecycle.observe(alert, WARNING, at=hours(4))
    assert [(event.kind, event.reason) for event in events] == [("escalated", "level=1")]
    assert alert.escalation_level == 1
    assert Alert.objects.get().escalation_level == 1


@pytest.mark.django_db
def test_reopening_forgets_the_last_episodes_acknowledgement(rule: Rule) -> None:
    person = UserFactory()
    alert = stored_alert(rule, AlertState.RESOLVED, acknowledged_by=person, ack_note="on it")
    lifecycle.observe(alert, WARNING, at=hours(48))
    alert.refresh_from_db()
    assert alert.state == AlertState.PENDING
    assert alert.acknowledged_by is None and alert.ack_note == ""
    assert alert.started_at == hours(48)


@pytest.mark.django_db
def test_acknowledging_writes_an_event_with_actor_and_note(rule: Rule) -> None:
    manager = UserFactory()
    alert = stored_alert(rule)
    event = lifecycle.acknowledge(alert, by=manager, note="客户下周回复", at=hours(2))
    assert (event.kind, event.actor, event.reason) == ("acknowledged", manager, "客户下周回复")
    assert (event.from_state, event.to_state) == ("firing", "acknowledged")
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED
    assert (alert.acknowledged_by, alert.acknowledged_at, alert.ack_note) == (
        manager,
        hours(2),
        "客户下周回复",
    )


@pytest.mark.django_db
def test_acknowledging_a_resolved_alert_is_refused_and_writes_nothing(rule: Rule) -> None:
    alert = stored_alert(rule, AlertState.RESOLVED)
    with pytest.raises(
        ValidationError,
        match="Only a firing or snoozed alert can be acknowledged; this one is “Resolved”",
    ):
        lifecycle.acknowledge(alert, by=UserFactory(), at=hours(2))
    assert not AlertEvent.objects.exists()
    assert Alert.objects.get().state == AlertState.RESOLVED


@pytest.mark.django_db
def test_acknowledging_with_a_naive_time_is_refused(rule: Rule) -> None:
    with pytest.raises(ValidationError, match="no time zone"):
        lifecycle.acknowledge(stored_alert(rule), by=None, at=dt.datetime(2024, 3, 5, 9, 0))
    assert not AlertEvent.objects.exists()


@pytest.mark.django_db
def test_acknowledging_before_the_alert_started_is_refused(rule: Rule) -> None:
    with pytest.raises(ValidationError, match="before this alert started"):
        lifecycle.acknowledge(stored_alert(rule), by=None, at=hours(-1))


@pytest.mark.django_db
def test_snoozing_until_a_time_already_past_is_refused(rule: Rule) -> None:
    alert = stored_alert(rule)
    with pytest.raises(ValidationError, match="must end after"):
        lifecycle.snooze(alert, by=UserFactory(), until=hours(1), at=hours(2))
    assert not AlertEvent.objects.exists()
    assert Alert.objects.get().state == AlertState.FIRING


@pytest.mark.django_db
def test_snoozing_a_firing_alert_quiets_it_until_the_given_time(rule: Rule) -> None:
    person = UserFactory()
    alert = stored_alert(rule)
    event = lifecycle.snooze(alert, by=person, until=hours(26), note="出差", at=hours(2))
    assert (event.kind, event.actor, event.reason) == ("snoozed", person, "出差")
    alert.refresh_from_db()
    assert (alert.state, alert.snoozed_until) == (AlertState.SNOOZED, hours(26))


@pytest.mark.django_db
def test_snoozing_a_pending_alert_is_refused(rule: Rule) -> None:
    with pytest.raises(ValidationError, match="Pending"):
        lifecycle.snooze(stored_alert(rule, AlertState.PENDING), by=None, until=hours(9), at=T0)


@pytest.mark.django_db
def test_resolving_by_hand_records_who_and_why(rule: Rule) -> None:
    person = UserFactory()
    alert = stored_alert(rule, AlertState.ACKNOWLEDGED)
    event = lifecycle.resolve(alert, by=person, note="客户已签约", at=hours(3))
    assert (event.kind, event.from_state, event.actor) == ("resolved", "acknowledged", person)
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_at) == (AlertState.RESOLVED, hours(3))
    with pytest.raises(ValidationError, match="already resolved"):
        lifecycle.resolve(alert, by=person, at=hours(4))


@pytest.mark.django_db
def test_inhibition_is_recorded_once_and_lifted(rule: Rule) -> None:
    data_health = stored_alert(rule, entity_id=99, entity_type="team")
    alert = stored_alert(rule)
    assert lifecycle.set_inhibitor(alert, data_health, at=hours(1)) is not None
    assert lifecycle.set_inhibitor(alert, data_health, at=hours(2)) is None
    assert lifecycle.set_inhibitor(alert, None, at=hours(3)) is not None
    assert list(alert.events.values_list("kind", flat=True)) == ["inhibited", "uninhibited"]


# --- Silences ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_silence_by_rule_mutes_its_alerts_until_it_ends(rule: Rule) -> None:
    alert = stored_alert(rule)
    lifecycle.silence(by=None, rule=rule, starts_at=T0, ends_at=hours(8))
    assert lifecycle.is_silenced(alert, hours(1))
    assert not lifecycle.is_silenced(alert, hours(8))  # the end is exclusive
    assert not lifecycle.is_silenced(alert, hours(-1))


@pytest.mark.django_db
def test_silence_by_rule_leaves_other_rules_alone(rule: Rule) -> None:
    other = Rule.objects.create(key="quote-late", metric="quote_response_hours", grain="quote")
    lifecycle.silence(by=None, rule=other, starts_at=T0, ends_at=hours(8))
    assert not lifecycle.is_silenced(stored_alert(rule), hours(1))


@pytest.mark.django_db
def test_silence_by_team_mutes_the_whole_subtree_and_nothing_else(rule: Rule) -> None:
    east = TeamFactory()
    shanghai = TeamFactory(parent=east)
    west = TeamFactory()
    lifecycle.silence(by=None, team=east, starts_at=T0, ends_at=hours(8))
    assert lifecycle.is_silenced(stored_alert(rule, team=shanghai, entity_id=1), hours(1))
    assert lifecycle.is_silenced(stored_alert(rule, team=east, entity_id=2), hours(1))
    assert not lifecycle.is_silenced(stored_alert(rule, team=west, entity_id=3), hours(1))
    assert not lifecycle.is_silenced(stored_alert(rule, team=None, entity_id=4), hours(1))


@pytest.mark.django_db
def test_silence_by_entity_mutes_only_that_entity(rule: Rule) -> None:
    lifecycle.silence(
        by=None, entity_type="opportunity", entity_id=1, starts_at=T0, ends_at=hours(8)
    )
    assert lifecycle.is_silenced(stored_alert(rule, entity_id=1), hours(1))
    assert not lifecycle.is_silenced(stored_alert(rule, entity_id=2), hours(1))


@pytest.mark.django_db
def test_silence_needs_every_matcher_to_match(rule: Rule) -> None:
    team = TeamFactory()
    lifecycle.silence(by=None, rule=rule, team=team, starts_at=T0, ends_at=hours(8))
    assert lifecycle.is_silenced(stored_alert(rule, team=team, entity_id=1), hours(1))
    assert not lifecycle.is_silenced(stored_alert(rule, entity_id=2), hours(1))


@pytest.mark.django_db
def test_silence_without_any_matcher_is_refused() -> None:
    with pytest.raises(ValidationError, match="would silence everything"):
        lifecycle.silence(by=None, starts_at=T0, ends_at=hours(8))
    assert not Silence.objects.exists()


@pytest.mark.django_db
def test_silence_ending_before_it_starts_is_refused(rule: Rule) -> None:
    with pytest.raises(ValidationError, match="must end after it starts"):
        lifecycle.silence(by=None, rule=rule, starts_at=hours(8), ends_at=T0)


@pytest.mark.django_db
def test_silence_records_who_created_it(rule: Rule) -> None:
    manager = UserFactory()
    created = lifecycle.silence(
        by=manager, rule=rule, starts_at=T0, ends_at=hours(8), comment="年会"
    )
    assert Silence.objects.get() == created
    assert (created.created_by, created.comment) == (manager, "年会")
