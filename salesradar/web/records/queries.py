"""Read-side queries of the record pages: the rep workspace, list pages and timelines.

Each function answers with a bounded number of queries whatever the number of rows shown
(one per kind of record, never one per row), always starting from ``visible(user, Model)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Count, Max, Model, Q, QuerySet, Sum
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.accounts.visibility import visible
from salesradar.activities.choices import ActivityKind, Outcome, TaskStatus
from salesradar.activities.models import Activity, Task
from salesradar.alerts.choices import AlertState, Severity
from salesradar.alerts.models import Alert
from salesradar.alerts.wording import describe_alerts
from salesradar.crm.models import Contact, Customer
from salesradar.crm.pool import DueCustomer, due_for_followup
from salesradar.pipeline.choices import QuoteStatus, evidence_label
from salesradar.pipeline.models import Evidence, Opportunity, Quote, Stage, StageChange

DAY = dt.timedelta(days=1)
SEVERITY_RANK = {Severity.DANGER: 0, Severity.WARNING: 1, "": 2}
# What an alert line shows; a rule row also carries its YAML source and JSON settings,
# which would otherwise be read and decoded once per alert.
ALERT_FIELDS = (
    "severity",
    "state",
    "message",
    "entity_type",
    "entity_id",
    "started_at",
    "firing_since",
    "owner_id",
    "value",
    "threshold",
    "rule__key",
    "rule__names",
    "rule__metric",
)


# --------------------------------------------------------------------------- pagination


@dataclass
class Page:
    """One page of a list, known to have a next page without counting the whole set."""

    rows: list[Any]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.rows)


def page_of(queryset: QuerySet[Any], number: int, per_page: int) -> Page:
    """Fetch page ``number`` plus one row to learn whether another page follows.

    A COUNT(*) over a manager's 100,000 visible rows costs more than the page itself, and
    nobody reads "page 1 of 4,000"; previous / next links need only this one extra row.
    """
    number = max(1, number)
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return Page(rows[:per_page], number, per_page, len(rows) > per_page)


def int_param(params: QueryDict, name: str, default: int = 1) -> int:
    try:
        return int(params.get(name, default))
    except (TypeError, ValueError):
        return default


# --------------------------------------------------------------------------- lists


RecordT = TypeVar("RecordT", bound=Model)


@dataclass(frozen=True)
class Sort:
    key: str
    label: str
    order_by: tuple[str, ...]


def filter_exact(
    queryset: QuerySet[RecordT], params: QueryDict, lookups: dict[str, str]
) -> QuerySet[RecordT]:
    """Narrow ``queryset`` by each non-empty parameter, matched exactly on its lookup."""
    for name, lookup in lookups.items():
        value = params.get(name, "").strip()
        if value:
            queryset = queryset.filter(**{lookup: value})
    return queryset


def pick_sort(sorts: Sequence[Sort], requested: str | None) -> Sort:
    """Return the requested sort, or the first (the default) for anything unknown."""
    return next((sort for sort in sorts if sort.key == requested), sorts[0])


def customer_sorts() -> list[Sort]:
    # The default follows the created_at index: on 100,000 customers it reads one page of
    # the index instead of sorting every visible row.
    return [
        Sort("-created", _("Newest"), ("-created_at", "-id")),
        Sort("name", _("Name"), ("name", "id")),
        Sort("-updated", _("Recently updated"), ("-updated_at", "-id")),
        Sort("tier", _("Tier"), ("tier", "name", "id")),
    ]


def customer_rows(user: Any, params: QueryDict) -> tuple[QuerySet[Customer], Sort]:
    """Return the customers ``user`` may see, searched, filtered and sorted by ``params``."""
    queryset = visible(user, Customer).select_related("owner")
    term = params.get("q", "").strip()
    if term:
        queryset = queryset.filter(Q(name__icontains=term) | Q(code__istartswith=term))
    queryset = filter_exact(
        queryset, params, {"tier": "tier", "lifecycle": "lifecycle", "region": "region"}
    )
    owner = params.get("owner", "").strip()
    if owner == "pool":
        queryset = queryset.filter(owner__isnull=True)
    elif owner.isdigit():
        queryset = queryset.filter(owner_id=int(owner))
    sort = pick_sort(customer_sorts(), params.get("sort"))
    return queryset.order_by(*sort.order_by), sort


def attach_last_activity(customers: Sequence[Customer]) -> None:
    """Set ``last_activity_at`` on each customer of a page with one grouped query."""
    latest = dict(
        Activity.objects.filter(customer_id__in=[customer.pk for customer in customers])
        .values_list("customer_id")
        .annotate(latest=Max("occurred_at"))
        .values_list("customer_id", "latest")
    )
    for customer in customers:
        customer.last_activity_at = latest.get(customer.pk)  # type: ignore[attr-defined]


def contact_sorts() -> list[Sort]:
    return [
        Sort("name", _("Name"), ("name", "id")),
        Sort("-created", _("Newest"), ("-created_at", "-id")),
        Sort("customer", _("Customer"), ("customer__name", "name", "id")),
    ]


def contact_rows(user: Any, params: QueryDict) -> tuple[QuerySet[Contact], Sort]:
    """Return the contacts ``user`` may see, searched, filtered and sorted by ``params``."""
    queryset = visible(user, Contact).select_related("customer")
    term = params.get("q", "").strip()
    if term:
        queryset = queryset.filter(
            Q(name__icontains=term)
            | Q(phone__startswith=term)
            | Q(email__istartswith=term)
            | Q(customer__name__icontains=term)
        )
    queryset = filter_exact(queryset, params, {"decision_role": "decision_role"})
    sort = pick_sort(contact_sorts(), params.get("sort"))
    return queryset.order_by(*sort.order_by), sort


def opportunity_sorts() -> list[Sort]:
    return [
        Sort("-updated", _("Recently updated"), ("-updated_at", "-id")),
        Sort("-amount", _("Largest amount"), ("-amount", "-id")),
        Sort("close", _("Expected close"), ("expected_close_date", "id")),
        Sort("stage_since", _("Longest in stage"), ("stage_entered_at", "id")),
        Sort("-created", _("Newest"), ("-created_at", "-id")),
    ]


def opportunity_rows(user: Any, params: QueryDict) -> tuple[QuerySet[Opportunity], Sort]:
    """Return the opportunities ``user`` may see, searched, filtered and sorted by ``params``."""
    queryset = visible(user, Opportunity).select_related("customer", "owner", "stage")
    term = params.get("q", "").strip()
    if term:
        queryset = queryset.filter(
            Q(code__istartswith=term) | Q(name__icontains=term) | Q(customer__name__icontains=term)
        )
    status = params.get("status", "").strip()
    if status == "open":
        # Same rows as .open() (a deal is closed exactly when it reaches a won or lost stage),
        # but lets SQLite walk the updated_at index instead of sorting every open deal.
        queryset = queryset.filter(stage__is_won=False, stage__is_lost=False)
    elif status == "won":
        queryset = queryset.filter(stage__is_won=True)
    elif status == "lost":
        queryset = queryset.filter(stage__is_lost=True)
    queryset = filter_exact(queryset, params, {"stage": "stage__key", "tier": "customer__tier"})
    owner = params.get("owner", "").strip()
    if owner.isdigit():
        queryset = queryset.filter(owner_id=int(owner))
    sort = pick_sort(opportunity_sorts(), params.get("sort"))
    return queryset.order_by(*sort.order_by), sort


def stage_choices() -> list[tuple[str, str]]:
    """Distinct stage keys with their label, in process order, for the stage filter."""
    seen: dict[str, str] = {}
    for stage in Stage.objects.order_by("process_id", "order"):
        seen.setdefault(stage.key, str(stage))
    return list(seen.items())


# --------------------------------------------------------------------------- workspace


@dataclass
class StageColumn:
    stage: Stage
    opportunities: list[Opportunity] = field(default_factory=list)
    total: Decimal = Decimal("0")


@dataclass
class Workspace:
    alerts: list[Alert]
    overdue_tasks: list[Task]
    tasks_today: list[Task]
    due_customers: list[DueCustomer]
    deals_by_stage: list[StageColumn]
    upcoming_tasks: list[Task] = field(default_factory=list)


def local_day_bounds(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Return the start of the local day of ``at`` and of the next day."""
    local = timezone.localtime(at)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + DAY


def my_open_alerts(user: Any, *, limit: int = 20) -> list[Alert]:
    """Open alerts owned by ``user`` that need a person: danger first, newest first."""
    rows = list(
        visible(user, Alert)
        .filter(
            owner=user, state__in=[AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED]
        )
        .select_related("rule")
        .only(*ALERT_FIELDS)
        .order_by("-firing_since", "-id")[: limit * 3]
    )
    rows.sort(key=lambda alert: (SEVERITY_RANK.get(alert.severity, 2), alert.state != "firing"))
    return rows[:limit]


def my_tasks(user: Any, at: dt.datetime) -> tuple[list[Task], list[Task]]:
    """Return the open tasks of ``user`` that are overdue and those due later today."""
    start, end = local_day_bounds(at)
    tasks = list(
        Task.objects.filter(assignee=user, status=TaskStatus.OPEN, due_at__lt=end)
        .select_related("customer", "opportunity")
        .order_by("due_at", "id")[:100]
    )
    return [task for task in tasks if task.due_at < start], [
        task for task in tasks if task.due_at >= start
    ]


def upcoming_tasks(user: Any, at: dt.datetime, *, days: int = 7, limit: int = 20) -> list[Task]:
    """Open tasks of ``user`` due after today and within the next ``days`` days, soonest first."""
    _start, end = local_day_bounds(at)
    return list(
        Task.objects.filter(
            assignee=user, status=TaskStatus.OPEN, due_at__gte=end, due_at__lt=end + days * DAY
        )
        .select_related("customer", "opportunity")
        .order_by("due_at", "id")[:limit]
    )


def deals_by_stage(user: Any, *, per_stage: int = 8) -> list[StageColumn]:
    """Open opportunities of ``user`` grouped by stage in process order, largest first.

    One grouped query for the counts and totals, then the largest few of each stage (one
    query per stage of the process, through the owner + stage index).
    """
    # Open is read from the stage (a deal closes exactly when it reaches a won or lost stage)
    # so that both queries go through the owner + stage index.
    totals = (
        Opportunity.objects.filter(owner=user, stage__is_won=False, stage__is_lost=False)
        .values("stage_id")
        .annotate(count=Count("id"), total=Sum("amount"))
    )
    counts = {row["stage_id"]: (row["count"], row["total"] or Decimal("0")) for row in totals}
    columns = []
    for stage in Stage.objects.filter(pk__in=counts).order_by("process_id", "order"):
        column = StageColumn(stage, total=counts[stage.pk][1])
        column.count = counts[stage.pk][0]  # type: ignore[attr-defined]
        column.opportunities = list(
            Opportunity.objects.filter(owner=user, stage=stage)
            .select_related("customer")
            .order_by("-amount", "id")[:per_stage]
        )
        columns.append(column)
    return columns


def link_records(alerts: Sequence[Alert]) -> None:
    """Set ``wording`` (what, where, value with units) and ``record_url`` on each alert."""
    wordings = describe_alerts(alerts)
    for alert in alerts:
        wording = wordings[alert.pk]
        alert.wording = wording  # type: ignore[attr-defined]
        alert.record_url = wording.path  # type: ignore[attr-defined]


def workspace(user: Any, at: dt.datetime) -> Workspace:
    alerts = my_open_alerts(user)
    link_records(alerts)
    overdue, today = my_tasks(user, at)
    return Workspace(
        alerts=alerts,
        overdue_tasks=overdue,
        tasks_today=today,
        upcoming_tasks=upcoming_tasks(user, at),
        due_customers=due_for_followup(user, at),
        deals_by_stage=deals_by_stage(user),
    )


# --------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # activity, stage, quote, alert, task, evidence
    icon: str  # a name known to the web_extras icon tag
    title: str
    detail: str = ""
    by: str = ""
    url: str = ""
    tone: str = ""  # a Tabler colour name for the marker


@dataclass
class Lookups:
    """Names and labels a timeline needs, read once instead of joined into every row."""

    people: dict[int, str] = field(default_factory=dict)
    stages: dict[int, str] = field(default_factory=dict)
    codes: dict[int, str] = field(default_factory=dict)

    def load(self, user_ids: set[int], opportunity_ids: Iterable[int] = ()) -> None:
        from salesradar.accounts.models import User

        people = User.objects.filter(pk__in=user_ids).only("username", "first_name", "last_name")
        self.people = {person.pk: str(person) for person in people}
        self.stages = {stage.pk: str(stage) for stage in Stage.objects.all()}
        self.codes = dict(
            Opportunity.objects.filter(pk__in=list(opportunity_ids)).values_list("pk", "code")
        )


def _activity_entries(activities: list[Activity], names: Lookups) -> list[TimelineEntry]:
    kinds = {key: str(label) for key, label in ActivityKind.choices}
    outcomes = {key: str(label) for key, label in Outcome.choices}
    next_step = _("Next step: {step}")
    entries = []
    for activity in activities:
        parts = [activity.summary, outcomes.get(activity.outcome, "")]
        if activity.next_step:
            parts.append(next_step.format(step=activity.next_step))
        entries.append(
            TimelineEntry(
                at=activity.occurred_at,
                kind="activity",
                icon="send",
                title=kinds.get(activity.kind, activity.kind),
                detail=" · ".join(part for part in parts if part),
                by=names.people.get(activity.owner_id, ""),
                tone="blue",
            )
        )
    return entries


def _stage_entries(
    changes: list[StageChange], names: Lookups, with_opportunity: bool
) -> list[TimelineEntry]:
    entries = []
    for change in changes:
        new = names.stages.get(change.to_stage_id, "")
        if change.from_stage_id is None:
            title = _("Opened in {stage}").format(stage=new)
        else:
            old = names.stages.get(change.from_stage_id, "")
            template = (
                _("Moved back from {old} to {new}")
                if change.is_regression
                else _("Moved from {old} to {new}")
            )
            title = template.format(old=old, new=new)
        url = ""
        if with_opportunity:
            title = f"{names.codes.get(change.opportunity_id, '')} · {title}"
            url = reverse("web:opportunity_detail", args=[change.opportunity_id])
        entries.append(
            TimelineEntry(
                at=change.changed_at,
                kind="stage",
                icon="arrow-down" if change.is_regression else "chevron-right",
                title=title,
                detail=change.note,
                by=names.people.get(change.changed_by_id or 0, ""),
                url=url,
                tone="orange" if change.is_regression else "green",
            )
        )
    return entries


def _quote_entries(quotes: list[Quote], names: Lookups) -> list[TimelineEntry]:
    statuses = {key: str(label) for key, label in QuoteStatus.choices}
    entries = []
    for quote in quotes:
        code = names.codes.get(quote.opportunity_id, "")
        entries.append(
            TimelineEntry(
                at=quote.requested_at,
                kind="quote",
                icon="briefcase",
                title=_("Quote v{version} requested").format(version=quote.version),
                detail=f"{code} · {statuses.get(quote.status, quote.status)}",
                tone="purple",
            )
        )
        if quote.sent_at:
            amount = f"{quote.amount:,.2f} {quote.currency}" if quote.amount is not None else ""
            entries.append(
                TimelineEntry(
                    at=quote.sent_at,
                    kind="quote",
                    icon="briefcase",
                    title=_("Quote v{version} sent").format(version=quote.version),
                    detail=f"{code} · {amount}",
                    tone="purple",
                )
            )
    return entries


def _alert_entries(alerts: Iterable[Alert]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=alert.started_at,
            kind="alert",
            icon="alert-octagon" if alert.severity == Severity.DANGER else "alert-triangle",
            title=_("Alert: {rule}").format(rule=alert.rule),
            detail=f"{alert.get_state_display()} · {alert.message}",
            tone="red" if alert.severity == Severity.DANGER else "yellow",
        )
        for alert in alerts
    ]


def _task_entries(tasks: list[Task], names: Lookups) -> list[TimelineEntry]:
    statuses = {key: str(label) for key, label in TaskStatus.choices}
    return [
        TimelineEntry(
            at=task.due_at,
            kind="task",
            icon="circle-check" if task.status == TaskStatus.DONE else "checklist",
            title=_("Task: {title}").format(title=task.title),
            detail=statuses.get(task.status, task.status),
            by=names.people.get(task.assignee_id, ""),
            tone="secondary",
        )
        for task in tasks
    ]


def _evidence_entries(evidence: Iterable[Evidence]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=item.added_at,
            kind="evidence",
            icon="list-check",
            title=_("Evidence added: {title}").format(title=item),
            detail=evidence_label(item.kind),
            url=item.url,
            tone="teal",
        )
        for item in evidence
    ]


def merge(entries: list[TimelineEntry], limit: int) -> list[TimelineEntry]:
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


ACTIVITY_FIELDS = ("occurred_at", "kind", "summary", "outcome", "next_step", "owner_id")


def _timeline(
    *,
    activities: QuerySet[Activity],
    changes: QuerySet[StageChange],
    quotes: QuerySet[Quote],
    alerts: QuerySet[Alert],
    tasks: QuerySet[Task],
    evidence: QuerySet[Evidence] | None,
    opportunity_ids: list[int],
    with_opportunity: bool,
    limit: int,
) -> list[TimelineEntry]:
    """Read the newest ``limit`` of each kind, then merge them into one list, newest first."""
    activity_rows = list(activities.only(*ACTIVITY_FIELDS).order_by("-occurred_at")[:limit])
    change_rows = list(changes.order_by("-changed_at", "-id")[:limit])
    quote_rows = list(quotes.order_by("-requested_at")[:limit])
    task_rows = list(tasks.order_by("-due_at")[:limit])
    names = Lookups()
    names.load(
        {row.owner_id for row in activity_rows}
        | {row.changed_by_id for row in change_rows if row.changed_by_id}
        | {row.assignee_id for row in task_rows},
        opportunity_ids,
    )
    entries = _activity_entries(activity_rows, names)
    entries += _stage_entries(change_rows, names, with_opportunity)
    entries += _quote_entries(quote_rows, names)
    entries += _alert_entries(
        alerts.select_related("rule").only(*ALERT_FIELDS).order_by("-started_at")[:limit]
    )
    entries += _task_entries(task_rows, names)
    if evidence is not None:
        entries += _evidence_entries(evidence.order_by("-added_at")[:limit])
    return merge(entries, limit)


def customer_timeline(customer: Customer, *, limit: int = 50) -> list[TimelineEntry]:
    """The newest ``limit`` events about a customer and its opportunities, newest first."""
    opportunity_ids = list(customer.opportunities.values_list("id", flat=True))
    return _timeline(
        activities=Activity.objects.filter(customer=customer),
        changes=StageChange.objects.filter(opportunity_id__in=opportunity_ids),
        quotes=Quote.objects.filter(opportunity_id__in=opportunity_ids),
        alerts=Alert.objects.filter(
            Q(entity_type="customer", entity_id=customer.pk)
            | Q(entity_type="opportunity", entity_id__in=opportunity_ids)
        ),
        tasks=Task.objects.filter(customer=customer),
        evidence=None,
        opportunity_ids=opportunity_ids,
        with_opportunity=True,
        limit=limit,
    )


def opportunity_timeline(opportunity: Opportunity, *, limit: int = 50) -> list[TimelineEntry]:
    """The newest ``limit`` events about one opportunity, newest first."""
    return _timeline(
        activities=Activity.objects.filter(opportunity=opportunity),
        changes=StageChange.objects.filter(opportunity=opportunity),
        quotes=Quote.objects.filter(opportunity=opportunity),
        alerts=Alert.objects.filter(entity_type="opportunity", entity_id=opportunity.pk),
        tasks=Task.objects.filter(opportunity=opportunity),
        evidence=Evidence.objects.filter(opportunity=opportunity),
        opportunity_ids=[opportunity.pk],
        with_opportunity=False,
        limit=limit,
    )


def contact_timeline(contact: Contact, *, limit: int = 50) -> list[TimelineEntry]:
    """The follow-ups logged with one contact, newest first."""
    rows = list(
        Activity.objects.filter(contact=contact)
        .only(*ACTIVITY_FIELDS)
        .order_by("-occurred_at")[:limit]
    )
    names = Lookups()
    names.load({row.owner_id for row in rows})
    return _activity_entries(rows, names)
