"""What a person can do about an alert from the web besides the lifecycle's own verbs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from salesradar.activities.choices import TaskOrigin
from salesradar.activities.models import Task
from salesradar.alerts.models import Alert
from salesradar.core.fields import require_aware


def assign_task(
    alert: Alert,
    *,
    assignee: Any,
    title: str,
    due_at: dt.datetime,
    by: Any,
    at: dt.datetime,
    description: str = "",
) -> Task:
    """Create a task for ``assignee`` to act on ``alert``, linked back to it and its deal.

    The task remembers the alert (origin ``alert``, reference the alert's id) so the board
    shows that someone is on it, and carries the customer or opportunity the alert is about.
    """
    require_aware(due_at, "due_at")
    require_aware(at, "at")
    title = title.strip() or _("Follow up: {rule}").format(rule=alert.rule)
    task = Task(
        title=title[:200],
        description=description or alert.message,
        assignee=assignee,
        created_by=by,
        due_at=due_at,
        origin=TaskOrigin.ALERT,
        origin_ref=str(alert.pk),
        created_at=at,
    )
    if alert.entity_type == "opportunity":
        task.opportunity_id = alert.entity_id
    elif alert.entity_type == "customer":
        task.customer_id = alert.entity_id
    with transaction.atomic():
        task.save()
    return task


def assign_groups(
    groups: Any,
    *,
    assignee: Any,
    due_at: dt.datetime,
    by: Any,
    at: dt.datetime,
) -> list[Task]:
    """Give ``assignee`` one task per problem, on its worst live alert (``assign_task``)."""
    from salesradar.alerts.board import live_members
    from salesradar.alerts.choices import AlertState

    chosen = list(groups)
    states = (AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED)
    worst: dict[int, Alert] = {}
    rank = {"danger": 2, "warning": 1}
    for alert in live_members(chosen, states):
        assert alert.group_id is not None
        current = worst.get(alert.group_id)
        if current is None or rank.get(alert.severity, 0) > rank.get(current.severity, 0):
            worst[alert.group_id] = alert
    return [
        assign_task(worst[group.pk], assignee=assignee, title="", due_at=due_at, by=by, at=at)
        for group in chosen
        if group.pk in worst
    ]
