"""The alert tables refuse rows no transition could produce, and alert history is append-only.

Each refusal runs inside its own ``transaction.atomic()`` so the test can go on (PostgreSQL
aborts the whole transaction on an error otherwise); the tests pass on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import translation

from salesradar.accounts.choices import Role
from salesradar.accounts.visibility import visible
from salesradar.alerts.choices import AlertState, EventKind
from salesradar.alerts.models import Alert, AlertEvent, Rule, Silence
from tests.factories import CREATED_AT, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = CREATED_AT + dt.timedelta(days=3)


def hours(count: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=count)


@pytest.fixture
def rule() -> Rule:
    return Rule.objects.create(
        key="stalled-deal",
        names={"en": "Stalled deal", "zh-hans": "商机停滞"},
        metric="days_in_stage",
        grain="opportunity",
    )


def firing_alert(rule: Rule, entity_id: int = 1, **fields: Any) -> Alert:
    values: dict[str, Any] = {
        "rule": rule,
        "fingerprint": Alert.fingerprint_for(rule.key, "opportunity", entity_id),
        "entity_type": "opportunity",
        "entity_id": entity_id,
        "state": AlertState.FIRING,
        "severity": "warning",
        "started_at": T0,
        "firing_since": T0,
        "last_evaluated_at": T0,
    }
    return Alert.objects.create(**{**values, **fields})


@pytest.fixture
def event(rule: Rule) -> AlertEvent:
    return AlertEvent.objects.create(
        alert=firing_alert(rule),
        at=T0,
        kind=EventKind.FIRING,
        from_state="",
        to_state=AlertState.FIRING,
        to_severity="warning",
    )


# --- Migrations ----------------------------------------------------------------------------


def test_models_and_migrations_agree() -> None:
    call_command("makemigrations", "alerts", check=True, dry_run=True, verbosity=0)


def test_append_only_trigger_is_installed() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgname = %s", ["alerts_alertevent_append_only"]
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = %s",
                ["alerts_alertevent_append_only"],
            )
        assert cursor.fetchone() is not None


# --- Rules ---------------------------------------------------------------------------------


def test_rule_is_named_in_the_active_language(rule: Rule) -> None:
    assert str(rule) == "Stalled deal"
    with translation.override("zh-hans"):
        assert str(rule) == "商机停滞"


def test_rule_without_a_name_is_named_by_its_key() -> None:
    assert str(Rule(key="no-name", names={})) == "no-name"


def test_rule_with_a_zero_escalation_delay_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Rule.objects.create(key="bad", metric="m", grain="team", escalate_after=dt.timedelta(0))


# --- Alerts --------------------------------------------------------------------------------


def test_fingerprint_names_rule_and_entity() -> None:
    assert Alert.fingerprint_for("stalled-deal", "opportunity", 42) == (
        "stalled-deal:opportunity:42"
    )


def test_second_alert_with_the_same_fingerprint_is_refused(rule: Rule) -> None:
    firing_alert(rule)
    with pytest.raises(IntegrityError), transaction.atomic():
        firing_alert(rule)


@pytest.mark.parametrize(
    "fields",
    [
        {"firing_since": None},  # firing since when?
        {"severity": ""},  # a true condition has a severity
        {"severity": "critical"},
        {"state": "exploded"},
        {"state": AlertState.SNOOZED, "snoozed_until": None},
        {"state": AlertState.ACKNOWLEDGED, "acknowledged_at": None},
        {"state": AlertState.RESOLVED, "resolved_at": None},
    ],
)
def test_alert_no_transition_could_produce_is_refused(rule: Rule, fields: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        firing_alert(rule, **fields)


def test_no_data_alert_needs_no_severity(rule: Rule) -> None:
    alert = firing_alert(rule, state=AlertState.NO_DATA, severity="", firing_since=None)
    assert alert.pk is not None


def test_open_alerts_exclude_resolved_ones(rule: Rule) -> None:
    open_alert = firing_alert(rule, 1)
    firing_alert(rule, 2, state=AlertState.RESOLVED, resolved_at=hours(1))
    assert list(Alert.objects.open()) == [open_alert]


def test_rep_sees_only_alerts_they_own(rule: Rule) -> None:
    rep, colleague = UserFactory(role=Role.REP), UserFactory(role=Role.REP)
    own = firing_alert(rule, 1, owner=rep)
    firing_alert(rule, 2, owner=colleague)
    assert list(visible(rep, Alert)) == [own]
    assert list(visible(rep, AlertEvent)) == []


def test_deleting_an_alert_takes_its_history_with_it(event: AlertEvent) -> None:
    event.alert.delete()
    assert not AlertEvent.objects.exists()


# --- Alert history is append-only ----------------------------------------------------------


def test_alert_history_cannot_be_updated_or_deleted_through_the_orm(event: AlertEvent) -> None:
    with pytest.raises(TypeError, match="append-only"):
        AlertEvent.objects.filter(pk=event.pk).update(reason="x")
    with pytest.raises(TypeError, match="append-only"):
        AlertEvent.objects.filter(pk=event.pk).delete()
    event.reason = "x"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    assert AlertEvent.objects.get(pk=event.pk).reason == ""


def test_alert_history_cannot_be_updated_through_raw_sql(event: AlertEvent) -> None:
    # when raw SQL bypasses the ORM guards
    with (
        pytest.raises((IntegrityError, DatabaseError)),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE alerts_alertevent SET reason = 'x'")
    # then the trigger refused and the row is untouched
    assert AlertEvent.objects.get(pk=event.pk).reason == ""


# --- Silences ------------------------------------------------------------------------------


def silence(**fields: Any) -> Silence:
    return Silence.objects.create(**{"starts_at": T0, "ends_at": hours(8), **fields})


def test_silence_without_any_matcher_is_refused_by_the_database() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        silence()


def test_silence_ending_when_it_starts_is_refused_by_the_database(rule: Rule) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        silence(rule=rule, ends_at=T0)


def test_silence_on_an_entity_type_without_an_id_is_refused(rule: Rule) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        silence(entity_type="opportunity")


def test_active_silences_are_those_in_force_at_the_given_time(rule: Rule) -> None:
    current = silence(rule=rule)
    silence(rule=rule, starts_at=hours(10), ends_at=hours(12))
    assert list(Silence.objects.active(hours(1))) == [current]
    assert list(Silence.objects.active(hours(8))) == []


def test_silence_matches_by_rule_team_subtree_and_entity(rule: Rule) -> None:
    east = TeamFactory()
    shanghai = TeamFactory(parent=east)
    alert = firing_alert(rule, 1, team=shanghai)
    assert silence(rule=rule).matches(alert, hours(1))
    assert silence(team=east).matches(alert, hours(1))
    assert not silence(team=shanghai).matches(firing_alert(rule, 2, team=east), hours(1))
    assert silence(entity_type="opportunity", entity_id=1).matches(alert, hours(1))
    assert not silence(entity_type="opportunity", entity_id=2).matches(alert, hours(1))
    assert not silence(rule=rule).matches(alert, hours(8))
