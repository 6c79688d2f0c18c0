"""Actions: moving a stage through its gates, and acknowledging or snoozing alerts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from salesradar.alerts.choices import AlertState, EventKind
from salesradar.pipeline.models import Process, StageChange
from tests.api.factories import Org, client_for, firing_alert
from tests.factories import ContactFactory, EvidenceFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def test_move_refused_by_a_gate_answers_422_naming_what_is_missing(
    rep_client: APIClient, org: Org, default_process: Process
) -> None:
    opportunity = OpportunityFactory(owner=org.rep)

    response = rep_client.post(
        f"/api/opportunities/{opportunity.pk}/move-stage/",
        {"stage": "needs_confirmed"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "gate_not_met"
    assert body["missing"] == ["evidence “Pain-point list”", "a contact who is Decision maker"]
    assert "Pain-point list" in body["message"]
    assert not StageChange.objects.filter(opportunity=opportunity).exists()


def test_move_meeting_the_gate_is_recorded_in_history(
    rep_client: APIClient, org: Org, default_process: Process
) -> None:
    opportunity = OpportunityFactory(owner=org.rep)
    EvidenceFactory(opportunity=opportunity, kind="pain_points")
    ContactFactory(customer=opportunity.customer, decision_role="decision_maker")

    response = rep_client.post(
        f"/api/opportunities/{opportunity.pk}/move-stage/",
        {"stage": "needs_confirmed", "note": "需求已确认"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["stage_key"] == "needs_confirmed"
    change = StageChange.objects.get(opportunity=opportunity)
    assert change.changed_by == org.rep
    assert change.note == "需求已确认"


def test_move_of_a_closed_deal_answers_409(org: Org, default_process: Process) -> None:
    lost = default_process.stages.get(key="lost")
    opportunity = OpportunityFactory(owner=org.rep, stage=lost, closed_at=timezone.now())

    response = client_for(org.rep).post(
        f"/api/opportunities/{opportunity.pk}/move-stage/", {"stage": "proposal"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "stage_move_refused"


def test_move_to_an_unknown_stage_is_refused(rep_client: APIClient, org: Org) -> None:
    opportunity = OpportunityFactory(owner=org.rep)

    response = rep_client.post(
        f"/api/opportunities/{opportunity.pk}/move-stage/", {"stage": "heaven"}, format="json"
    )

    assert response.status_code == 409
    assert "heaven" in response.json()["message"]


def test_move_of_someone_elses_deal_is_404(rep_client: APIClient, org: Org) -> None:
    opportunity = OpportunityFactory(owner=org.outsider)

    response = rep_client.post(
        f"/api/opportunities/{opportunity.pk}/move-stage/", {"stage": "lost"}, format="json"
    )

    assert response.status_code == 404


def test_acknowledging_an_alert_goes_through_the_lifecycle(rep_client: APIClient, org: Org) -> None:
    alert = firing_alert(org.rep)

    response = rep_client.post(
        f"/api/alerts/{alert.pk}/acknowledge/", {"note": "今天回电"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["state"] == AlertState.ACKNOWLEDGED
    event = alert.events.get(kind=EventKind.ACKNOWLEDGED)
    assert event.actor == org.rep and event.reason == "今天回电"


def test_snoozing_needs_a_future_end(rep_client: APIClient, org: Org) -> None:
    alert = firing_alert(org.rep)
    until = timezone.now() + dt.timedelta(days=2)

    past = rep_client.post(
        f"/api/alerts/{alert.pk}/snooze/",
        {"until": (timezone.now() - dt.timedelta(hours=1)).isoformat()},
        format="json",
    )
    future = rep_client.post(
        f"/api/alerts/{alert.pk}/snooze/", {"until": until.isoformat()}, format="json"
    )

    assert past.status_code == 409
    assert past.json()["code"] == "alert_transition_refused"
    assert future.status_code == 200
    assert future.json()["state"] == AlertState.SNOOZED


def test_acknowledging_a_resolved_alert_answers_409(rep_client: APIClient, org: Org) -> None:
    alert = firing_alert(org.rep)
    assert rep_client.post(f"/api/alerts/{alert.pk}/resolve/", {}, format="json").status_code == 200

    response = rep_client.post(f"/api/alerts/{alert.pk}/acknowledge/", {}, format="json")

    assert response.status_code == 409


def test_manager_sees_team_alerts_and_a_rep_not_a_peers(org: Org) -> None:
    peers = firing_alert(org.peer)
    team_level = firing_alert(owner=org.manager, team=org.east, key="team-rule")
    west = firing_alert(org.outsider, team=org.west, key="west-rule")

    manager_ids = {
        row["id"] for row in client_for(org.manager).get("/api/alerts/").json()["results"]
    }

    assert manager_ids == {peers.pk, team_level.pk}
    assert west.pk not in manager_ids
    assert client_for(org.rep).get(f"/api/alerts/{peers.pk}/").status_code == 404


def test_alert_actions_replay_with_an_idempotency_key(rep_client: APIClient, org: Org) -> None:
    alert = firing_alert(org.rep)
    url = f"/api/alerts/{alert.pk}/acknowledge/"

    first = rep_client.post(url, {"note": "ok"}, format="json", HTTP_IDEMPOTENCY_KEY="ack-1")
    again = rep_client.post(url, {"note": "ok"}, format="json", HTTP_IDEMPOTENCY_KEY="ack-1")

    assert first.status_code == again.status_code == 200
    assert alert.events.filter(kind=EventKind.ACKNOWLEDGED).count() == 1
