"""The alert list, an alert's page, and acknowledge / snooze / assign-a-task from the web."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from salesradar.activities.choices import TaskOrigin
from salesradar.activities.models import Task
from salesradar.alerts.choices import AlertState, EventKind
from salesradar.alerts.models import Alert, AlertEvent
from tests.factories import CustomerFactory
from tests.web.support import (
    Company,
    alert_on,
    build_company,
    default_rule,
    english_client,
    htmx_headers,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def company() -> Company:
    return build_company()


def test_manager_lists_the_alerts_of_the_team_they_lead_only(company: Company) -> None:
    rule = default_rule()
    east_customer = CustomerFactory(owner=company.east_rep, name="East Trading")
    west_customer = CustomerFactory(owner=company.west_rep, name="West Trading")
    alert_on(rule, owner=company.east_rep, entity_id=east_customer.pk)
    alert_on(rule, owner=company.west_rep, entity_id=west_customer.pk)

    response = english_client(company.manager).get(reverse("web:alert_list"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "East Trading" in html
    assert "West Trading" not in html
    assert "1 alert" in html


def test_list_filters_by_severity_state_rule_team_and_owner(company: Company) -> None:
    rule = default_rule()
    other_rule = default_rule("quote-unanswered")
    danger = alert_on(rule, owner=company.east_rep, entity_id=1)
    warning = alert_on(rule, owner=company.east_rep, entity_id=2, severity="warning")
    acknowledged = alert_on(
        other_rule, owner=company.west_rep, entity_id=3, state=AlertState.ACKNOWLEDGED
    )
    resolved = alert_on(rule, owner=company.west_rep, entity_id=4, state=AlertState.RESOLVED)
    client = english_client(company.director)

    def listed(**params: object) -> set[int]:
        response = client.get(reverse("web:alert_list"), params)
        assert response.status_code == 200
        return {row["alert"].pk for row in response.context["rows"]}

    assert listed() == {danger.pk, warning.pk, acknowledged.pk}  # open by default
    assert listed(state="") == {danger.pk, warning.pk, acknowledged.pk, resolved.pk}
    assert listed(state="resolved") == {resolved.pk}
    assert listed(severity="warning") == {warning.pk}
    assert listed(rule="quote-unanswered") == {acknowledged.pk}
    assert listed(team=company.west.pk) == {acknowledged.pk}
    assert listed(owner=company.east_rep.pk) == {danger.pk, warning.pk}


def test_list_orders_danger_first_and_pages_by_twenty_five(company: Company) -> None:
    rule = default_rule()
    for entity_id in range(1, 27):
        alert_on(rule, owner=company.east_rep, entity_id=entity_id, severity="warning")
    danger = alert_on(rule, owner=company.east_rep, entity_id=99, age=dt.timedelta(hours=1))
    client = english_client(company.manager)

    first = client.get(reverse("web:alert_list"))
    second = client.get(reverse("web:alert_list"), {"page": 2})

    assert first.context["rows"][0]["alert"] == danger
    assert len(first.context["rows"]) == 25
    assert len(second.context["rows"]) == 2
    assert "27 alerts" in first.content.decode()


def test_list_runs_the_same_number_of_queries_for_few_or_many_alerts(company: Company) -> None:
    rule = default_rule()
    for entity_id in range(1, 3):
        customer = CustomerFactory(owner=company.east_rep)
        alert_on(rule, owner=company.east_rep, entity_id=customer.pk + entity_id * 0)
    client = english_client(company.manager)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("web:alert_list"))
    for _ in range(12):
        customer = CustomerFactory(owner=company.east_rep)
        alert_on(rule, owner=company.east_rep, entity_id=customer.pk)

    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("web:alert_list"))

    assert len(response.context["rows"]) == 14
    assert len(many) == len(few)


def test_alert_of_another_team_answers_404_on_every_page_and_action(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.west_rep)
    client = english_client(company.manager)

    assert client.get(reverse("web:alert_detail", args=[alert.pk])).status_code == 404
    for name in ("web:alert_acknowledge", "web:alert_snooze", "web:alert_assign"):
        assert client.post(reverse(name, args=[alert.pk])).status_code == 404
    alert.refresh_from_db()
    assert alert.state == AlertState.FIRING
    assert not Task.objects.exists()


def test_rep_sees_their_own_alert_but_not_a_colleagues(company: Company) -> None:
    own = alert_on(default_rule(), owner=company.east_rep, entity_id=1)
    colleague = alert_on(default_rule(), owner=company.west_rep, entity_id=2)
    client = english_client(company.east_rep)

    assert client.get(reverse("web:alert_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("web:alert_detail", args=[colleague.pk])).status_code == 404


def test_detail_shows_the_history_and_charts_the_metric_against_its_levels(
    company: Company,
) -> None:
    customer = CustomerFactory(owner=company.east_rep, name="Key Account Ltd", tier="A")
    alert = alert_on(default_rule(), owner=company.east_rep, entity_id=customer.pk)
    AlertEvent.objects.create(
        alert=alert,
        at=alert.started_at,
        kind=EventKind.FIRING,
        from_state=AlertState.PENDING,
        to_state=AlertState.FIRING,
        to_severity="danger",
        reason="no follow-up since the kick-off meeting",
    )

    response = english_client(company.manager).get(reverse("web:alert_detail", args=[alert.pk]))

    html = response.content.decode()
    history = response.context["history"]
    assert "Key Account Ltd" in html
    assert "no follow-up since the kick-off meeting" in html
    assert 'id="history-data"' in html
    assert len(history["values"]) == 8  # weekly points of a snapshot metric
    assert history["values"][-1] is not None  # the customer exists, so it has a value now
    assert {level["name"] for level in history["levels"]} == {"warning", "danger"}
    assert {level["value"] for level in history["levels"]} == {7, 14}


def test_acknowledge_in_place_returns_the_refreshed_row(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep)
    client = english_client(company.manager)

    response = client.post(
        reverse("web:alert_acknowledge", args=[alert.pk]),
        {f"ack-{alert.pk}-note": "Calling them today"},
        headers=htmx_headers(),
    )

    html = response.content.decode()
    alert.refresh_from_db()
    assert response.status_code == 200
    assert html.lstrip().startswith(
        f'<div class="list-group-item sr-severity-danger" id="alert-{alert.pk}"'
    )
    assert "Acknowledged." in html
    assert "<html" not in html
    assert alert.state == AlertState.ACKNOWLEDGED
    assert alert.acknowledged_by == company.manager
    event = alert.events.get(kind=EventKind.ACKNOWLEDGED)
    assert (event.actor, event.reason) == (company.manager, "Calling them today")


def test_acknowledge_without_htmx_redirects_with_a_message(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep)
    client = english_client(company.manager)

    response = client.post(reverse("web:alert_acknowledge", args=[alert.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("web:alert_detail", args=[alert.pk])
    assert "Acknowledged." in response.content.decode()


def test_acknowledging_twice_shows_the_lifecycles_refusal(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep, state=AlertState.ACKNOWLEDGED)
    client = english_client(company.manager)

    response = client.post(
        reverse("web:alert_acknowledge", args=[alert.pk]), headers=htmx_headers()
    )

    assert response.status_code == 200
    assert "Only a firing or snoozed alert can be acknowledged" in response.content.decode()
    assert alert.events.count() == 0


def test_snooze_quiets_the_alert_for_the_chosen_time(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep)
    before = timezone.now()

    response = english_client(company.manager).post(
        reverse("web:alert_snooze", args=[alert.pk]),
        {f"snooze-{alert.pk}-hours": "72"},
        headers=htmx_headers(),
    )

    alert.refresh_from_db()
    assert "Snoozed until" in response.content.decode()
    assert alert.state == AlertState.SNOOZED
    assert alert.snoozed_until is not None
    assert dt.timedelta(hours=71) < alert.snoozed_until - before < dt.timedelta(hours=73)


def test_snooze_for_an_unlisted_duration_is_refused(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep)

    response = english_client(company.manager).post(
        reverse("web:alert_snooze", args=[alert.pk]),
        {f"snooze-{alert.pk}-hours": "9999"},
        headers=htmx_headers(),
    )

    alert.refresh_from_db()
    assert "Select a valid choice" in response.content.decode()
    assert alert.state == AlertState.FIRING


def test_assign_a_task_creates_a_task_linked_to_the_alert_and_its_customer(
    company: Company,
) -> None:
    customer = CustomerFactory(owner=company.east_rep)
    alert = alert_on(default_rule(), owner=company.east_rep, entity_id=customer.pk)
    due = timezone.localdate() + dt.timedelta(days=2)

    response = english_client(company.manager).post(
        reverse("web:alert_assign", args=[alert.pk]),
        {
            f"task-{alert.pk}-assignee": company.east_rep.pk,
            f"task-{alert.pk}-title": "Visit the customer",
            f"task-{alert.pk}-due": due.isoformat(),
        },
        headers=htmx_headers(),
    )

    task = Task.objects.get()
    assert "assigned to" in response.content.decode()
    assert "1 open task" in response.content.decode()
    assert (task.title, task.assignee, task.created_by) == (
        "Visit the customer",
        company.east_rep,
        company.manager,
    )
    assert (task.origin, task.origin_ref, task.customer) == (
        TaskOrigin.ALERT,
        str(alert.pk),
        customer,
    )
    assert timezone.localtime(task.due_at).date() == due


def test_a_task_cannot_go_to_someone_the_assigner_may_not_see(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep)

    response = english_client(company.manager).post(
        reverse("web:alert_assign", args=[alert.pk]),
        {
            f"task-{alert.pk}-assignee": company.west_rep.pk,
            f"task-{alert.pk}-due": timezone.localdate().isoformat(),
        },
        headers=htmx_headers(),
    )

    assert "Select a valid choice" in response.content.decode()
    assert not Task.objects.exists()


def test_a_task_due_in_the_past_is_refused(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep)

    response = english_client(company.manager).post(
        reverse("web:alert_assign", args=[alert.pk]),
        {
            f"task-{alert.pk}-assignee": company.east_rep.pk,
            f"task-{alert.pk}-due": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        },
        headers=htmx_headers(),
    )

    assert "cannot be in the past" in response.content.decode()
    assert not Task.objects.exists()


def test_assign_form_loads_on_demand_with_the_owner_preselected(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep)

    response = english_client(company.manager).get(
        reverse("web:alert_assign", args=[alert.pk]), headers=htmx_headers()
    )

    html = response.content.decode()
    assert html.lstrip().startswith("<form")
    assert f'<option value="{company.east_rep.pk}" selected>' in html
    assert f'value="{company.west_rep.pk}"' not in html


def test_action_requires_post(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep)

    response = english_client(company.manager).get(
        reverse("web:alert_acknowledge", args=[alert.pk])
    )

    assert response.status_code == 405
    assert Alert.objects.get(pk=alert.pk).state == AlertState.FIRING


def test_alert_pages_speak_chinese_with_alert_words_not_deal_words(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(company.manager)

    html = client.get(reverse("web:alert_detail", args=[alert.pk])).content.decode()

    assert "当前值" in html  # the project catalog's "Value" means a deal's value
    assert "商机价值" not in html
    assert "确认" in html and "暂停提醒" in html and "指派任务" in html


def test_actions_never_redirect_to_another_site(company: Company) -> None:
    alert = alert_on(default_rule(), owner=company.east_rep)

    response = english_client(company.manager).post(
        reverse("web:alert_acknowledge", args=[alert.pk]), {"next": "//evil.example/"}
    )

    assert response["Location"] == reverse("web:alert_detail", args=[alert.pk])
