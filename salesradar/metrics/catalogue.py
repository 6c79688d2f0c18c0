"""The metric catalogue of DESIGN §5, each a set-based computation documented in its docstring.

Every definition reads only facts stamped at or before ``at``: stage history as of ``at``
(not the opportunity's current stage), activities that occurred by then, quotes requested by
then. Periods are calendar weeks (Monday) or months in the organisation's time zone; a
per-period metric reports the complete periods before ``at``, oldest first, so the newest row
is the one a rule judges and the older ones are its history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, TruncDate, TruncMonth, TruncWeek

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.accounts.visibility import in_team_subtree
from salesradar.activities.models import Activity
from salesradar.crm.models import Assignment, Customer, Lead
from salesradar.metrics.registry import Metric, MetricRow, Period, Scope, register
from salesradar.pipeline.models import (
    Contract,
    Invoice,
    Opportunity,
    Quote,
    Stage,
    StageChange,
    Target,
)

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
TIER_CADENCE_DAYS = {"A": 7, "B": 14, "C": 30}
OPPORTUNITY_SCOPE = frozenset({"teams", "tiers", "stages", "process"})
CUSTOMER_SCOPE = frozenset({"teams", "tiers"})


def activity_known_by(at: dt.datetime, prefix: str = "") -> Q:
    """Match follow-ups known by ``at``: occurred by then, and logged by then unless backfilled.

    A live entry counts from when it was logged (a call logged on Friday for Monday was not
    known on Tuesday); backfilled history (imports, inbound sync, the demo) is known from
    when it occurred, so a backtest over imported history sees it. ``prefix`` is the lookup
    path to the activity, such as ``"activities__"``.
    """
    return Q(**{f"{prefix}occurred_at__lte": at}) & (
        Q(**{f"{prefix}created_at__lte": at}) | Q(**{f"{prefix}backfilled": True})
    )


def last_activity_as_of(at: dt.datetime) -> Max:
    """The newest follow-up that had occurred and was known by ``at``."""
    return Max("activities__occurred_at", filter=activity_known_by(at, "activities__"))


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def period_starts(at: dt.datetime, period: Period, periods: int) -> list[dt.date]:
    """Return the first days of the ``periods`` complete periods before ``at``, oldest first."""
    today = at.astimezone(local_zone()).date()
    if period == "week":
        current = today - dt.timedelta(days=today.weekday())
        return [current - dt.timedelta(weeks=n) for n in range(periods, 0, -1)]
    current = today.replace(day=1)
    starts = []
    year, month = current.year, current.month
    for _ in range(periods):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        starts.append(dt.date(year, month, 1))
    return list(reversed(starts))


def period_end(start: dt.date, period: Period) -> dt.date:
    if period == "week":
        return start + dt.timedelta(weeks=1)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), local_zone())


def truncate(field: str, period: Period) -> TruncWeek | TruncMonth:
    kind = TruncWeek if period == "week" else TruncMonth
    return kind(field, tzinfo=local_zone(), output_field=DateTimeField())


def as_local_date(value: dt.datetime | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # SQLite hands truncated values back naive, in local time
            return value.date()
        return value.astimezone(local_zone()).date()
    return value


def hours_between(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier) / HOUR


def team_condition(scope: Scope, team_lookup: str) -> Q:
    """Match rows whose team (through ``team_lookup``) lies in one of the scope's subtrees."""
    if not scope.team_ids:
        return Q()
    paths = Team.objects.filter(pk__in=scope.team_ids).values_list("path", flat=True)
    return in_team_subtree(team_lookup, paths)


def owner_scope(scope: Scope, owner_lookup: str) -> Q:
    """Restrict by the owning rep and the owner's team, as the scope asks."""
    condition = team_condition(scope, f"{owner_lookup}__team")
    if scope.owner_ids:
        condition &= Q(**{f"{owner_lookup}_id__in": scope.owner_ids})
    return condition


def reps_in_scope(scope: Scope, at: dt.datetime) -> QuerySet[User]:
    """Return the active reps of the scope as of ``at``.

    A rep counts from the day they joined or from their first record (a follow-up that had
    occurred, an opportunity opened), whichever is earlier: a rep whose account was
    imported or created after the fact has history before the account existed, and rep
    metrics over those past periods must not come out empty.
    """
    on_record = Exists(Activity.objects.filter(owner=OuterRef("pk"), occurred_at__lte=at)) | Exists(
        Opportunity.objects.filter(owner=OuterRef("pk"), created_at__lte=at)
    )
    reps = User.objects.filter(Q(date_joined__lte=at) | on_record, role=Role.REP, is_active=True)
    reps = reps.filter(team_condition(scope, "team"))
    if scope.owner_ids:
        reps = reps.filter(pk__in=scope.owner_ids)
    return reps


def teams_in_scope(scope: Scope) -> QuerySet[Team]:
    """Teams that have reps: the grain at which team metrics are reported."""
    teams = Team.objects.filter(members__role=Role.REP).distinct()
    if scope.team_ids:
        paths = Team.objects.filter(pk__in=scope.team_ids).values_list("path", flat=True)
        teams = teams.filter(in_team_subtree("", paths))
    return teams


def entities_for(
    grain: str, scope: Scope, at: dt.datetime
) -> list[tuple[int, int | None, int | None]]:
    """Every (entity, owner, team) a per-period metric reports on, with or without facts."""
    if grain == "rep":
        return [
            (pk, pk, team_id)
            for pk, team_id in reps_in_scope(scope, at).values_list("pk", "team_id")
        ]
    if grain == "team":
        return [(pk, None, pk) for pk in teams_in_scope(scope).values_list("pk", flat=True)]
    return [(0, None, None)]


def fill_periods(
    metric: Metric,
    entities: Iterable[tuple[int, int | None, int | None]],
    values: dict[tuple[int, dt.date], float | None],
    starts: list[dt.date],
) -> list[MetricRow]:
    """Expand sparse (entity, period) results to one row per entity and period."""
    rows = []
    for entity_id, owner_id, team_id in entities:
        for start in starts:
            value = values.get((entity_id, start))
            if value is None and metric.zero_when_empty:
                value = 0.0
            rows.append(MetricRow(entity_id, value, start, owner_id, team_id))
    return rows


def stage_as_of(at: dt.datetime) -> tuple[Coalesce, Coalesce]:
    """Return expressions for an opportunity's stage id and its entry time as of ``at``.

    The latest stage change by ``at`` decides; an opportunity entered without any history
    (admin, import) counts in its recorded stage. ``COALESCE`` looks for any history only
    when there is no change by ``at``, so an open deal costs two index probes, not four.
    """
    latest = StageChange.objects.filter(opportunity=OuterRef("pk"), changed_at__lte=at).order_by(
        "-changed_at", "-id"
    )
    no_history = ~Exists(StageChange.objects.filter(opportunity=OuterRef("pk")))
    return (
        Coalesce(
            Subquery(latest.values("to_stage_id")[:1]),
            Case(When(no_history, then=F("stage_id")), output_field=BigIntegerField()),
            output_field=BigIntegerField(),
        ),
        Coalesce(
            Subquery(latest.values("changed_at")[:1], output_field=DateTimeField()),
            Case(When(no_history, then=F("stage_entered_at")), output_field=DateTimeField()),
            output_field=DateTimeField(),
        ),
    )


def open_opportunities_as_of(at: dt.datetime, scope: Scope) -> QuerySet[Opportunity]:
    """Opportunities created by ``at`` and not closed by then, with their stage as of ``at``."""
    stage_id, entered_at = stage_as_of(at)
    queryset = (
        Opportunity.objects.filter(created_at__lte=at)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at))
        .filter(owner_scope(scope, "owner"))
        .annotate(stage_as_of=stage_id, entered_as_of=entered_at)
    )
    if scope.process:
        queryset = queryset.filter(process__key=scope.process)
    if scope.stages:
        stage_ids = Stage.objects.filter(key__in=scope.stages).values_list("pk", flat=True)
        queryset = queryset.filter(stage_as_of__in=list(stage_ids))
    if scope.tiers:
        queryset = queryset.filter(customer__tier__in=scope.tiers)
    return queryset


def stage_info() -> dict[int, Stage]:
    return {stage.pk: stage for stage in Stage.objects.all()}


# --------------------------------------------------------------------------- opportunity


@register
class OpportunityDaysSinceLastActivity(Metric):
    """Days from the last activity logged on an open opportunity to ``at``.

    Population: opportunities open as of ``at``. Last activity: the newest activity linked to
    the opportunity that occurred at or before ``at``; with none, the opportunity's creation
    counts as its last touch. Unit: days (fractional).
    """

    scope_fields = OPPORTUNITY_SCOPE
    key = "opportunity_days_since_last_activity"
    grows_with_time = True
    grain = "opportunity"
    unit = "days"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        queryset = open_opportunities_as_of(at, scope).annotate(
            last_activity=Max(
                "activities__occurred_at",
                filter=activity_known_by(at, "activities__"),
            )
        )
        rows = []
        for pk, owner_id, team_id, created_at, last in queryset.values_list(
            "pk", "owner_id", "owner__team_id", "created_at", "last_activity"
        ):
            rows.append(MetricRow(pk, (at - (last or created_at)) / DAY, None, owner_id, team_id))
        return rows


@register
class OpportunityHoursSinceUpdate(Metric):
    """Hours since anything happened on an open opportunity (48小时无更新).

    An update is the latest of: entering its current stage, an activity on it, a quote on it
    being requested or sent, all as of ``at``. Population: opportunities open as of ``at`` in
    a non-terminal stage. Unit: hours.
    """

    scope_fields = OPPORTUNITY_SCOPE
    row_filters = frozenset({"stages"})
    key = "opportunity_hours_since_update"
    grows_with_time = True
    grain = "opportunity"
    unit = "hours"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        last_quote_request = Quote.objects.filter(
            opportunity=OuterRef("pk"), requested_at__lte=at
        ).order_by("-requested_at")
        last_quote_sent = Quote.objects.filter(
            opportunity=OuterRef("pk"), sent_at__lte=at
        ).order_by("-sent_at")
        last_activity = Activity.objects.filter(
            activity_known_by(at), opportunity=OuterRef("pk")
        ).order_by("-occurred_at")
        queryset = open_opportunities_as_of(at, scope).annotate(
            last_update=Greatest(
                Coalesce(F("entered_as_of"), F("created_at")),
                Coalesce(Subquery(last_activity.values("occurred_at")[:1]), F("created_at")),
                Coalesce(Subquery(last_quote_request.values("requested_at")[:1]), F("created_at")),
                Coalesce(Subquery(last_quote_sent.values("sent_at")[:1]), F("created_at")),
                output_field=DateTimeField(),
            )
        )
        stages = stage_info()
        rows = []
        for pk, owner_id, team_id, stage_id, last in queryset.values_list(
            "pk", "owner_id", "owner__team_id", "stage_as_of", "last_update"
        ):
            stage = stages.get(stage_id)
            if stage is None or stage.is_terminal:
                continue
            rows.append(
                MetricRow(
                    pk, hours_between(at, last), None, owner_id, team_id, {"stage": stage.key}
                )
            )
        return rows


@register
class OpportunityDaysInStage(Metric):
    """Days an open opportunity has spent in its stage as of ``at`` (阶段停留时长).

    Stage and entry time come from the stage history as of ``at``. The context carries the
    stage key and its dwell SLA so a rule can compare against it. Unit: days.
    """

    scope_fields = OPPORTUNITY_SCOPE
    row_filters = frozenset({"stages"})
    key = "opportunity_days_in_stage"
    grows_with_time = True
    grain = "opportunity"
    unit = "days"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        stages = stage_info()
        rows = []
        for pk, owner_id, team_id, stage_id, entered in open_opportunities_as_of(
            at, scope
        ).values_list("pk", "owner_id", "owner__team_id", "stage_as_of", "entered_as_of"):
            stage = stages.get(stage_id)
            if stage is None or stage.is_terminal or entered is None:
                continue
            rows.append(
                MetricRow(
                    pk,
                    (at - entered) / DAY,
                    None,
                    owner_id,
                    team_id,
                    {"stage": stage.key, "sla_days": stage.dwell_sla_days},
                )
            )
        return rows


@register
class OpportunityStageSlaRatio(Metric):
    """Days in the current stage divided by the stage's dwell SLA, as of ``at``.

    1.0 means the SLA is used up. Stages without an SLA are left out. Unit: ratio.
    """

    scope_fields = OPPORTUNITY_SCOPE
    row_filters = frozenset({"stages"})
    key = "opportunity_stage_sla_ratio"
    grain = "opportunity"
    unit = "ratio"

    def time_per_unit(self, row: MetricRow) -> dt.timedelta | None:
        """One unit of the ratio is the stage's SLA: the ratio grows while the deal waits."""
        return dt.timedelta(days=row.context["sla_days"]) if row.context.get("sla_days") else None

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        base = OpportunityDaysInStage().rows(at=at, scope=scope, period=period, periods=periods)
        return [
            MetricRow(
                row.entity_id,
                (row.value or 0) / row.context["sla_days"],
                None,
                row.owner_id,
                row.team_id,
                row.context,
            )
            for row in base
            if row.context.get("sla_days")
        ]


# --------------------------------------------------------------------------- customer


def customers_in_scope(at: dt.datetime, scope: Scope) -> QuerySet[Customer]:
    queryset = Customer.objects.filter(created_at__lte=at, owner__isnull=False).exclude(
        lifecycle="churned"
    )
    queryset = queryset.filter(owner_scope(scope, "owner"))
    if scope.tiers:
        queryset = queryset.filter(tier__in=scope.tiers)
    return queryset


@register
class CustomerDaysSinceLastActivity(Metric):
    """Days since the last follow-up with an owned customer (7天未跟进).

    Population: customers with an owner, created by ``at``, not churned. Last follow-up: the
    newest activity with the customer that occurred at or before ``at``; with none, the
    customer's creation. The context carries the tier. Unit: days.
    """

    scope_fields = CUSTOMER_SCOPE
    row_filters = frozenset({"tiers"})
    key = "customer_days_since_last_activity"
    grows_with_time = True
    grain = "customer"
    unit = "days"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        # The newest known follow-up per customer, found through the (customer, occurred_at)
        # index: one short probe per customer instead of grouping every activity.
        newest = (
            Activity.objects.filter(activity_known_by(at), customer=OuterRef("pk"))
            .order_by("-occurred_at")
            .values("occurred_at")[:1]
        )
        queryset = customers_in_scope(at, scope).annotate(
            last_activity=Subquery(newest, output_field=DateTimeField())
        )
        return [
            MetricRow(pk, (at - (last or created)) / DAY, None, owner_id, team_id, {"tier": tier})
            for pk, owner_id, team_id, tier, created, last in queryset.values_list(
                "pk", "owner_id", "owner__team_id", "tier", "created_at", "last_activity"
            )
        ]


@register
class CustomerFollowupsInCadence(Metric):
    """Follow-ups with a customer within its tier's cadence window before ``at`` (分级跟进频率).

    The window is 7 days for tier A, 14 for B and 30 for C (overridable through the scope's
    ``cadence_days`` parameter). Population as for days since last activity. The context
    carries the tier, the window and the days since the last follow-up. Unit: count.
    """

    scope_fields = CUSTOMER_SCOPE
    row_filters = frozenset({"tiers"})
    key = "customer_followups_in_cadence"
    grain = "customer"
    unit = "count"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        cadence = {**TIER_CADENCE_DAYS, **scope.params.get("cadence_days", {})}
        in_window = Q(pk__in=[])
        for tier, days in cadence.items():
            in_window |= Q(
                activity_known_by(at, "activities__"),
                tier=tier,
                activities__occurred_at__gt=at - days * DAY,
            )
        queryset = customers_in_scope(at, scope).annotate(
            followups=Count("activities", filter=in_window),
            last_activity=Max(
                "activities__occurred_at",
                filter=activity_known_by(at, "activities__"),
            ),
        )
        return [
            MetricRow(
                pk,
                float(followups),
                None,
                owner_id,
                team_id,
                {
                    "tier": tier,
                    "window_days": cadence.get(tier),
                    "days_since_last": (at - (last or created)) / DAY,
                },
            )
            for pk, owner_id, team_id, tier, created, last, followups in queryset.values_list(
                "pk",
                "owner_id",
                "owner__team_id",
                "tier",
                "created_at",
                "last_activity",
                "followups",
            )
        ]


# --------------------------------------------------------------------------- quote, lead, invoice


@register
class QuoteHoursUnanswered(Metric):
    """Hours a customer's quote request has waited without a quote being sent (报价响应时长).

    Population: quotes requested by ``at`` and not sent by ``at``, on opportunities open as of
    ``at``. Unit: hours.
    """

    key = "quote_hours_unanswered"
    grows_with_time = True
    grain = "quote"
    unit = "hours"
    source = "quotes"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        queryset = (
            Quote.objects.filter(requested_at__lte=at)
            .filter(Q(sent_at__isnull=True) | Q(sent_at__gt=at))
            .filter(Q(opportunity__closed_at__isnull=True) | Q(opportunity__closed_at__gt=at))
            .filter(owner_scope(scope, "opportunity__owner"))
        )
        return [
            MetricRow(
                pk,
                hours_between(at, requested),
                None,
                owner_id,
                team_id,
                {"opportunity_id": opportunity_id},
            )
            for pk, owner_id, team_id, requested, opportunity_id in queryset.values_list(
                "pk",
                "opportunity__owner_id",
                "opportunity__owner__team_id",
                "requested_at",
                "opportunity_id",
            )
        ]


@register
class LeadHoursWithoutFirstContact(Metric):
    """Hours an assigned lead has waited for its first contact (24小时未跟进回收).

    Population: leads assigned by ``at`` with no first contact by ``at`` and still in an
    active status. Unit: hours.
    """

    key = "lead_hours_without_first_contact"
    grows_with_time = True
    grain = "lead"
    unit = "hours"
    source = "leads"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        queryset = (
            Lead.objects.filter(assigned_at__lte=at, owner__isnull=False)
            .filter(Q(first_contact_at__isnull=True) | Q(first_contact_at__gt=at))
            .filter(status__in=("assigned", "contacted", "qualified", "new"))
            .filter(owner_scope(scope, "owner"))
        )
        return [
            MetricRow(pk, hours_between(at, assigned), None, owner_id, team_id)
            for pk, owner_id, team_id, assigned in queryset.values_list(
                "pk", "owner_id", "owner__team_id", "assigned_at"
            )
        ]


@register
class InvoiceDaysOverdue(Metric):
    """Days an invoice is past its due date without being paid, as of ``at`` (回款进度).

    Population: invoices due before ``at``'s date and not paid by ``at``. The context carries
    the open amount. Unit: days.
    """

    key = "invoice_days_overdue"
    grows_with_time = True
    grain = "invoice"
    unit = "days"
    source = "invoices"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        today = at.astimezone(local_zone()).date()
        queryset = (
            Invoice.objects.filter(due_on__lt=today, issued_on__lte=today)
            .filter(Q(paid_at__isnull=True) | Q(paid_at__gt=at))
            .filter(owner_scope(scope, "customer__owner"))
        )
        return [
            MetricRow(
                pk,
                float((today - due).days),
                None,
                owner_id,
                team_id,
                {"amount": float(amount), "customer_id": customer_id},
            )
            for pk, owner_id, team_id, due, amount, customer_id in queryset.values_list(
                "pk",
                "customer__owner_id",
                "customer__owner__team_id",
                "due_on",
                "amount",
                "customer_id",
            )
        ]


@register
class ContractDaysToEndWithoutRenewal(Metric):
    """Days until an active contract ends when no renewal is in hand (续约风险).

    Population: contracts started by ``at``'s date and ending on or after it, not terminated,
    with no renewal contract signed by ``at`` and no opportunity for the customer open as of
    ``at`` that was created within 120 days before the end. The context carries the days
    since the customer's last follow-up. Unit: days.
    """

    key = "contract_days_to_end_without_renewal"
    grain = "contract"
    unit = "days"
    source = "contracts"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        today = at.astimezone(local_zone()).date()
        renewal = Contract.objects.filter(renewal_of=OuterRef("pk"), signed_at__lte=at)
        renewal_opportunity = (
            Opportunity.objects.filter(customer=OuterRef("customer"), created_at__lte=at)
            .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at))
            # TRICKY: the window opens at local midnight, so compare local creation dates;
            # casting ends_on to a timestamp would open it at midnight UTC instead.
            .annotate(created_on=TruncDate("created_at", tzinfo=local_zone()))
            .filter(created_on__gte=OuterRef("ends_on") - 120 * DAY)
        )
        last_touch = Activity.objects.filter(
            activity_known_by(at), customer=OuterRef("customer")
        ).order_by("-occurred_at")
        queryset = (
            Contract.objects.filter(starts_on__lte=today, ends_on__gte=today, signed_at__lte=at)
            .exclude(status="terminated")
            .filter(~Exists(renewal), ~Exists(renewal_opportunity))
            .filter(owner_scope(scope, "customer__owner"))
            .annotate(last_touch=Subquery(last_touch.values("occurred_at")[:1]))
        )
        return [
            MetricRow(
                pk,
                float((ends_on - today).days),
                None,
                owner_id,
                team_id,
                {
                    "customer_id": customer_id,
                    "days_since_last_touch": (at - (touch or signed)) / DAY,
                },
            )
            for pk, owner_id, team_id, ends_on, customer_id, signed, touch in queryset.values_list(
                "pk",
                "customer__owner_id",
                "customer__owner__team_id",
                "ends_on",
                "customer_id",
                "signed_at",
                "last_touch",
            )
        ]


# --------------------------------------------------------------------------- per period


class PeriodCount(Metric):
    """Base for per-period counts or sums grouped by rep or team."""

    per_period = True
    zero_when_empty = True
    model: Any
    timestamp: str
    owner_lookup: str
    aggregate: Any = Count
    aggregate_field = "pk"

    def base(self, at: dt.datetime, scope: Scope) -> QuerySet[Any]:
        queryset = self.model.objects.filter(owner_scope(scope, self.owner_lookup))
        if self.model is Activity:
            queryset = queryset.filter(activity_known_by(at))  # only what was known by then
        return queryset

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        starts = period_starts(at, period, periods)
        bounds = [local_midnight(start) for start in starts]
        bounds.append(local_midnight(period_end(starts[-1], period)))
        group = (
            f"{self.owner_lookup}_id" if self.grain == "rep" else f"{self.owner_lookup}__team_id"
        )
        # One pass over the window with one filtered aggregate per period: no per-row date
        # truncation, which SQLite would run as a Python function on every row.
        per_period = {
            f"p{index}": self.aggregate(
                self.aggregate_field,
                filter=Q(
                    **{
                        f"{self.timestamp}__gte": bounds[index],
                        f"{self.timestamp}__lt": bounds[index + 1],
                    }
                ),
            )
            for index in range(len(starts))
        }
        queryset = (
            self.base(at, scope)
            .filter(**{f"{self.timestamp}__gte": bounds[0], f"{self.timestamp}__lt": bounds[-1]})
            .values(group)
            .annotate(**per_period)
        )
        values: dict[tuple[int, dt.date], float | None] = {}
        for row in queryset:
            if row[group] is None:
                continue
            for index, start in enumerate(starts):
                values[(row[group], start)] = float(row[f"p{index}"] or 0)
        return fill_periods(self, entities_for(self.grain, scope, at), values, starts)


@register
class RepFollowupsPerWeek(PeriodCount):
    """Follow-ups a rep logged per week: activities by owner and the week they occurred in.

    Every active rep gets a row for every complete week, zero when nothing was logged.
    Unit: count.
    """

    key = "rep_followups"
    grain = "rep"
    unit = "count"
    model = Activity
    timestamp = "occurred_at"
    owner_lookup = "owner"


@register
class TeamFollowupsPerWeek(RepFollowupsPerWeek):
    """Follow-ups per team and week (the sum over the team's reps). Unit: count."""

    key = "team_followups"
    grain = "team"


@register
class RepNewCustomers(PeriodCount):
    """New customers a rep won per week (新增客户数): customers created in the week, by owner.

    Unit: count; zero for a week without new customers.
    """

    key = "rep_new_customers"
    grain = "rep"
    unit = "count"
    model = Customer
    timestamp = "created_at"
    owner_lookup = "owner"
    source = "customers"


@register
class TeamNewCustomers(RepNewCustomers):
    """New customers per team and week. Unit: count."""

    key = "team_new_customers"
    grain = "team"


@register
class RepNewPipeline(PeriodCount):
    """New pipeline amount per rep and week: the amount of opportunities created. Unit: CNY."""

    key = "rep_new_pipeline"
    grain = "rep"
    unit = "amount"
    model = Opportunity
    timestamp = "created_at"
    owner_lookup = "owner"
    aggregate = Sum
    aggregate_field = "amount"
    source = "opportunities"


@register
class TeamNewPipeline(RepNewPipeline):
    """New pipeline amount per team and week. Unit: CNY."""

    key = "team_new_pipeline"
    grain = "team"


class PeriodRatio(Metric):
    """Base for per-period ratios (numerator over denominator) by rep, team or org.

    A period whose denominator is zero has no value (None), which rules treat as missing
    history rather than as zero.
    """

    per_period = True
    default_period = "month"
    source = "opportunities"

    def pairs(
        self,
        at: dt.datetime,
        scope: Scope,
        period: Period,
        start: dt.datetime,
        end: dt.datetime,
        group: str,
    ) -> QuerySet[Any]:
        raise NotImplementedError

    group_for = {"rep": "opportunity__owner_id", "team": "opportunity__owner__team_id", "org": None}

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        starts = period_starts(at, period, periods)
        window_start = local_midnight(starts[0])
        window_end = min(local_midnight(period_end(starts[-1], period)), at)
        group = self.group_for[self.grain]
        queryset = self.pairs(at, scope, period, window_start, window_end, group or "")
        values: dict[tuple[int, dt.date], float | None] = {}
        for row in queryset:
            entity = row.get(group, 0) if group else 0
            if entity is None:
                continue
            denominator = float(row["denominator"] or 0)
            values[(entity, as_local_date(row["bucket"]))] = (
                float(row["numerator"] or 0) / denominator if denominator else None
            )
        return fill_periods(self, entities_for(self.grain, scope, at), values, starts)


def values_by(queryset: QuerySet[Any], group: str) -> QuerySet[Any]:
    return queryset.values(group, "bucket") if group else queryset.values("bucket")


class StageExitRatio(PeriodRatio):
    """Share of stage exits in a period that went to a given kind of target."""

    def exits(self, scope: Scope, start: dt.datetime, end: dt.datetime) -> QuerySet[StageChange]:
        return StageChange.objects.filter(
            changed_at__gte=start, changed_at__lt=end, from_stage__isnull=False
        ).filter(owner_scope(scope, "opportunity__owner"))


@register
class TeamStageConversion(StageExitRatio):
    """Conversion from one stage to the next per team and month (商机转化率).

    For the stage named by the scope parameter ``stage`` (default ``proposal``): among the
    moves out of that stage that happened in the period, excluding moves backwards, the
    share that went to the next open stage in process order (to won, from the last open
    stage). Periods with no such move have no value. Unit: ratio 0-1.
    """

    key = "team_stage_conversion"
    grain = "team"
    unit = "ratio"

    def pairs(self, at, scope, period, start, end, group):  # type: ignore[no-untyped-def]
        stage_key = scope.params.get("stage", "proposal")
        next_stage_ids = []
        from_ids = []
        for stage in Stage.objects.filter(key=stage_key):
            following = (
                Stage.objects.filter(
                    process_id=stage.process_id, order__gt=stage.order, is_lost=False
                )
                .order_by("order")
                .first()
            )
            from_ids.append(stage.pk)
            if following is not None:
                next_stage_ids.append(following.pk)
        exits = self.exits(scope, start, end).filter(
            from_stage_id__in=from_ids, is_regression=False
        )
        return values_by(exits.annotate(bucket=truncate("changed_at", period)), group).annotate(
            numerator=Count("pk", filter=Q(to_stage_id__in=next_stage_ids)),
            denominator=Count("pk"),
        )


@register
class RepStageConversion(TeamStageConversion):
    """Conversion from one stage to the next per rep and month. Unit: ratio 0-1."""

    key = "rep_stage_conversion"
    grain = "rep"


@register
class OrgStageConversion(TeamStageConversion):
    """Conversion from one stage to the next for the whole organisation per month. Ratio 0-1."""

    key = "org_stage_conversion"
    grain = "org"


@register
class TeamStageRegressionRate(StageExitRatio):
    """Share of stage moves in a period that went backwards (跨阶段退回率). Unit: ratio 0-1."""

    key = "team_stage_regression_rate"
    grain = "team"
    unit = "ratio"

    def pairs(self, at, scope, period, start, end, group):  # type: ignore[no-untyped-def]
        exits = self.exits(scope, start, end)
        return values_by(exits.annotate(bucket=truncate("changed_at", period)), group).annotate(
            numerator=Count("pk", filter=Q(is_regression=True)), denominator=Count("pk")
        )


@register
class RepStageRegressionRate(TeamStageRegressionRate):
    """Share of each rep's stage moves in a period that went backwards. Ratio 0-1."""

    key = "rep_stage_regression_rate"
    grain = "rep"


@register
class OrgStageRegressionRate(TeamStageRegressionRate):
    """Share of the organisation's stage moves in a period that went backwards. Ratio 0-1."""

    key = "org_stage_regression_rate"
    grain = "org"


class ClosedRatio(PeriodRatio):
    group_for = {"rep": "owner_id", "team": "owner__team_id", "org": None}

    def closed(self, scope: Scope, start: dt.datetime, end: dt.datetime) -> QuerySet[Opportunity]:
        return Opportunity.objects.filter(closed_at__gte=start, closed_at__lt=end).filter(
            owner_scope(scope, "owner")
        )


@register
class TeamWinRate(ClosedRatio):
    """Won over won-plus-lost among opportunities closed in the period, per team. Ratio 0-1."""

    key = "team_win_rate"
    grain = "team"
    unit = "ratio"

    def pairs(self, at, scope, period, start, end, group):  # type: ignore[no-untyped-def]
        closed = self.closed(scope, start, end).annotate(bucket=truncate("closed_at", period))
        return values_by(closed, group).annotate(
            numerator=Count("pk", filter=Q(stage__is_won=True)), denominator=Count("pk")
        )


@register
class RepWinRate(TeamWinRate):
    """Win rate per rep and month. Ratio 0-1."""

    key = "rep_win_rate"
    grain = "rep"


@register
class OrgWinRate(TeamWinRate):
    """Win rate of the whole organisation per month. Ratio 0-1."""

    key = "org_win_rate"
    grain = "org"


@register
class TeamQuoteHitRate(ClosedRatio):
    """Quote hit rate (报价命中率): among opportunities closed in the period that had a quote
    sent, the share that was won. Ratio 0-1."""

    key = "team_quote_hit_rate"
    grain = "team"
    unit = "ratio"

    def pairs(self, at, scope, period, start, end, group):  # type: ignore[no-untyped-def]
        sent = Quote.objects.filter(opportunity=OuterRef("pk"), sent_at__lte=at)
        closed = (
            self.closed(scope, start, end)
            .filter(Exists(sent))
            .annotate(bucket=truncate("closed_at", period))
        )
        return values_by(closed, group).annotate(
            numerator=Count("pk", filter=Q(stage__is_won=True)), denominator=Count("pk")
        )


@register
class RepQuoteHitRate(TeamQuoteHitRate):
    """Quote hit rate per rep and month. Ratio 0-1."""

    key = "rep_quote_hit_rate"
    grain = "rep"


@register
class OrgQuoteHitRate(TeamQuoteHitRate):
    """Quote hit rate of the whole organisation per month. Ratio 0-1."""

    key = "org_quote_hit_rate"
    grain = "org"


class PeriodMeanDuration(PeriodRatio):
    """Base for the mean time between two timestamps of rows ending in each period.

    One query over the window: per period, the database sums the durations of the rows
    ending in it and counts them (a filtered aggregate per period, no per-row truncation),
    and only those sums come back.
    """

    unit_length = DAY
    start_field: str
    end_field: str
    group_for = {"rep": "owner_id", "team": "owner__team_id", "org": None}

    def finished(self, scope: Scope, start: dt.datetime, end: dt.datetime) -> QuerySet[Any]:
        raise NotImplementedError

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        starts = period_starts(at, period, periods)
        bounds = [local_midnight(start) for start in starts]
        window_end = min(local_midnight(period_end(starts[-1], period)), at)
        bounds.append(window_end)
        group = self.group_for[self.grain]
        duration = ExpressionWrapper(
            F(self.end_field) - F(self.start_field), output_field=DurationField()
        )
        aggregates: dict[str, Any] = {}
        for index in range(len(starts)):
            ending = Q(
                **{
                    f"{self.end_field}__gte": bounds[index],
                    f"{self.end_field}__lt": min(bounds[index + 1], window_end),
                }
            )
            aggregates[f"total{index}"] = Sum(duration, filter=ending)
            aggregates[f"count{index}"] = Count("pk", filter=ending)
        queryset = self.finished(scope, bounds[0], window_end).filter(
            **{f"{self.start_field}__isnull": False}
        )
        grouped = (
            list(queryset.values(group).annotate(**aggregates))
            if group
            else [{**queryset.aggregate(**aggregates)}]
        )
        result: dict[tuple[int, dt.date], float | None] = {}
        for row in grouped:
            entity = row[group] if group else 0
            if entity is None:
                continue
            for index, start in enumerate(starts):
                count, total = row[f"count{index}"], row[f"total{index}"]
                if count and total is not None:
                    result[(entity, start)] = total / self.unit_length / count
        return fill_periods(self, entities_for(self.grain, scope, at), result, starts)


@register
class TeamSalesCycleDays(PeriodMeanDuration):
    """Mean days from creation to close of opportunities won in the period (销售周期时长).

    Computed as total cycle days over the number won; no value for a period without wins.
    Unit: days.
    """

    key = "team_sales_cycle_days"
    grain = "team"
    unit = "days"
    start_field = "created_at"
    end_field = "closed_at"

    def finished(self, scope: Scope, start: dt.datetime, end: dt.datetime) -> QuerySet[Any]:
        return Opportunity.objects.filter(
            closed_at__gte=start, closed_at__lt=end, stage__is_won=True
        ).filter(owner_scope(scope, "owner"))


@register
class RepSalesCycleDays(TeamSalesCycleDays):
    """Mean sales cycle of each rep's deals won in the period. Unit: days."""

    key = "rep_sales_cycle_days"
    grain = "rep"


@register
class TeamQuoteResponseHours(PeriodMeanDuration):
    """Mean hours from a quote request to the quote being sent, per team and period (报价响应时长).

    Population: quotes sent in the period (by ``at``), dated by when they were sent; requests
    still unanswered are watched by ``quote_hours_unanswered`` instead. No value for a period
    without sent quotes. Unit: hours.
    """

    key = "team_quote_response_hours"
    grain = "team"
    unit = "hours"
    default_period = "week"
    source = "quotes"
    unit_length = HOUR
    start_field = "requested_at"
    end_field = "sent_at"
    group_for = {
        "rep": "opportunity__owner_id",
        "team": "opportunity__owner__team_id",
        "org": None,
    }

    def finished(self, scope: Scope, start: dt.datetime, end: dt.datetime) -> QuerySet[Any]:
        return Quote.objects.filter(sent_at__gte=start, sent_at__lt=end).filter(
            owner_scope(scope, "opportunity__owner")
        )


@register
class RepQuoteResponseHours(TeamQuoteResponseHours):
    """Mean quote response hours of each rep per period. Unit: hours."""

    key = "rep_quote_response_hours"
    grain = "rep"


@register
class RepLeadFirstResponseHours(PeriodMeanDuration):
    """Mean hours from a lead's assignment to its first contact, per rep and period.

    Population: leads first contacted in the period (by ``at``), dated by the first contact;
    leads still waiting are watched by ``lead_hours_without_first_contact``. No value for a
    period without first contacts. Unit: hours.
    """

    key = "rep_lead_first_response_hours"
    grain = "rep"
    unit = "hours"
    default_period = "week"
    source = "leads"
    unit_length = HOUR
    start_field = "assigned_at"
    end_field = "first_contact_at"

    def finished(self, scope: Scope, start: dt.datetime, end: dt.datetime) -> QuerySet[Any]:
        return Lead.objects.filter(
            first_contact_at__gte=start, first_contact_at__lt=end, assigned_at__isnull=False
        ).filter(owner_scope(scope, "owner"))


def period_bucket(moment: dt.datetime, period: Period) -> dt.date:
    day = moment.astimezone(local_zone()).date()
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


@register
class OrgSalesCycleDays(TeamSalesCycleDays):
    """Mean sales cycle of the whole organisation per month. Unit: days."""

    key = "org_sales_cycle_days"
    grain = "org"


# --------------------------------------------------------------------------- targets


def won_amount_by_owner(scope: Scope, start: dt.datetime, at: dt.datetime) -> dict[int, float]:
    """Won amount per owner from ``start`` up to and including ``at``."""
    won = (
        Opportunity.objects.filter(stage__is_won=True, closed_at__gte=start, closed_at__lte=at)
        .filter(owner_scope(scope, "owner"))
        .values("owner_id")
        .annotate(total=Sum("amount"))
    )
    return {row["owner_id"]: float(row["total"] or 0) for row in won}


@register
class RepTargetAttainmentProjection(Metric):
    """Projected attainment of the quarter's won-amount target at the run rate (目标完成率).

    target = the sum of the rep's monthly won-amount targets for the quarter's months (or a
    quarterly target where one is set); won = amount of opportunities won from the first day
    of the quarter to ``at``; elapsed = the share of the quarter gone by at ``at``;
    projection = won / elapsed / target. A quarter, not a month, because a few large deals
    make monthly attainment swing too much to warn on. The context carries the attainment so
    far and the elapsed share. Reps without a target have no row; in the first week of a
    quarter the value is None. Unit: ratio.
    """

    key = "rep_target_attainment_projection"
    grain = "rep"
    unit = "ratio"
    source = "opportunities"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        first, next_first = quarter_bounds(at)
        start, end = local_midnight(first), local_midnight(next_first)
        elapsed = (at - start) / (end - start)
        targets = rep_targets(scope, first, next_first)
        won = won_amount_by_owner(scope, start, at)
        rows = []
        for user_id, (team_id, target) in targets.items():
            if not target:
                continue
            attained = won.get(user_id, 0.0) / target
            projection = attained / elapsed if (at - start) >= 7 * DAY else None
            rows.append(
                MetricRow(
                    user_id,
                    projection,
                    None,
                    user_id,
                    team_id,
                    {"attained": attained, "elapsed": elapsed, "target": target},
                )
            )
        return rows


def quarter_bounds(at: dt.datetime) -> tuple[dt.date, dt.date]:
    today = at.astimezone(local_zone()).date()
    start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    end = start
    for _ in range(3):
        end = period_end(end, "month")
    return start, end


def rep_targets(scope: Scope, first: dt.date, end: dt.date) -> dict[int, tuple[int | None, float]]:
    """Return each rep's won-amount target for the quarter [first, end).

    The sum of the monthly targets, or the quarterly target where one is set; a yearly
    target starting in the quarter is not the quarter's target.
    """
    rows = (
        Target.objects.filter(
            user__isnull=False,
            measure="won_amount",
            period__in=("month", "quarter"),
            period_start__gte=first,
            period_start__lt=end,
        )
        .filter(owner_scope(scope, "user"))
        .values("user_id", "user__team_id", "period")
        .annotate(total=Sum("value"))
    )
    monthly: dict[int, tuple[int | None, float]] = {}
    quarterly: dict[int, tuple[int | None, float]] = {}
    for row in rows:
        chosen = quarterly if row["period"] == "quarter" else monthly
        chosen[row["user_id"]] = (row["user__team_id"], float(row["total"] or 0))
    return {**monthly, **quarterly}


@register
class RepPipelineCoverage(Metric):
    """Open pipeline over what is left of the quarter's target (漏斗覆盖).

    Pipeline: amount of all opportunities open as of ``at`` (the usual "3x coverage" counts
    the whole open funnel, since close dates slip). Remaining: the quarter's won-amount
    target minus what was won this quarter by ``at``. A rep who already met the target has
    no row. Unit: ratio.
    """

    key = "rep_pipeline_coverage"
    grain = "rep"
    unit = "ratio"
    source = "opportunities"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        first, next_first = quarter_bounds(at)
        targets = rep_targets(scope, first, next_first)
        won = won_amount_by_owner(scope, local_midnight(first), at)
        pipeline = {
            row["owner_id"]: float(row["total"] or 0)
            for row in open_opportunities_as_of(at, scope)
            .values("owner_id")
            .annotate(total=Sum("amount"))
        }
        rows = []
        for user_id, (team_id, target) in targets.items():
            remaining = target - won.get(user_id, 0.0)
            if remaining <= 0:
                continue  # target met: nothing left to cover
            value = pipeline.get(user_id, 0.0) / remaining
            rows.append(
                MetricRow(
                    user_id,
                    value,
                    None,
                    user_id,
                    team_id,
                    {"pipeline": pipeline.get(user_id, 0.0), "remaining": remaining},
                )
            )
        return rows


# --------------------------------------------------------------------------- team health


@register
class TeamHighValueTouchDensity(Metric):
    """Follow-ups per A-tier customer in the 7 days before ``at``, per team (高价值客户触达密度).

    Numerator: activities in (at-7d, at] with A-tier customers owned by the team's reps.
    Denominator: those A-tier customers (owned, not churned). Unit: count per customer.
    """

    key = "team_high_value_touch_density"
    grain = "team"
    unit = "count"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        a_customers = customers_in_scope(at, scope).filter(tier="A")
        customers = {
            row["owner__team_id"]: row["n"]
            for row in a_customers.values("owner__team_id").annotate(n=Count("pk"))
        }
        # Touches count only with the customers of the denominator (not churned ones).
        touches = {
            row["customer__owner__team_id"]: row["n"]
            for row in Activity.objects.filter(
                activity_known_by(at),
                occurred_at__gt=at - 7 * DAY,
                customer__in=a_customers.values("pk"),
            )
            .values("customer__owner__team_id")
            .annotate(n=Count("pk"))
        }
        return [
            MetricRow(team_id, touches.get(team_id, 0) / count, None, None, team_id)
            for team_id, count in customers.items()
            if team_id is not None and count
        ]


@register
class TeamDaysSinceAnyActivityLogged(Metric):
    """Days since anyone in a team logged a follow-up (data health).

    Uses when activities were logged (created), not when they occurred, because a silent
    source shows as nothing arriving. Teams without any logged activity count from ``at``
    minus 365 days. Unit: days.
    """

    key = "team_days_since_activity_logged"
    grows_with_time = True
    grain = "team"
    unit = "days"
    source = "data_health"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        latest = {
            row["owner__team_id"]: row["last"]
            for row in Activity.objects.filter(created_at__lte=at)
            .filter(owner_scope(scope, "owner"))
            .values("owner__team_id")
            .annotate(last=Max("created_at"))
        }
        return [
            MetricRow(
                team_id, (at - latest.get(team_id, at - 365 * DAY)) / DAY, None, None, team_id
            )
            for team_id in teams_in_scope(scope).values_list("pk", flat=True)
        ]


@register
class OrgChurnRate(PeriodRatio):
    """Share of contracts ending in the period that were not renewed by ``at`` (客户流失率).

    Denominator: contracts whose end date falls in the period (and before ``at``).
    Numerator: those without a renewal contract signed by ``at``. Ratio 0-1.
    """

    key = "org_churn_rate"
    grain = "org"
    unit = "ratio"
    source = "contracts"

    def pairs(self, at, scope, period, start, end, group):  # type: ignore[no-untyped-def]
        renewal = Contract.objects.filter(renewal_of=OuterRef("pk"), signed_at__lte=at)
        zone = local_zone()
        bucket = (TruncWeek if period == "week" else TruncMonth)("ends_on")
        return (
            Contract.objects.filter(
                ends_on__gte=start.astimezone(zone).date(), ends_on__lt=end.astimezone(zone).date()
            )
            .filter(owner_scope(scope, "customer__owner"))
            .annotate(renewed=Exists(renewal), bucket=bucket)
            .values("bucket")
            .annotate(numerator=Count("pk", filter=Q(renewed=False)), denominator=Count("pk"))
        )


# --------------------------------------------------------------------------- lead pool (issue 6)


@register
class RepLeadRecalls(PeriodCount):
    """Leads taken back from a rep per week because the first response deadline passed.

    Counts the lead pool's ``recalled`` assignments by the rep who let the lead lapse, dated
    by the recall (24小时未跟进回收次数). Every active rep gets a row for every complete week,
    zero without recalls. Unit: count.
    """

    key = "rep_lead_recalls"
    grain = "rep"
    unit = "count"
    model = Assignment
    timestamp = "at"
    owner_lookup = "previous_owner"
    source = "leads"

    def base(self, at: dt.datetime, scope: Scope) -> QuerySet[Any]:
        return super().base(at, scope).filter(kind="recalled", at__lte=at)


@register
class CustomerFollowupsInTierCadence(Metric):
    """Follow-ups of the kinds a customer's tier asks for, within its tier's cadence (分级跟进).

    The cadence comes from the lead pool's tier policies (admin: tier policies): e.g. tier A
    counts only visits and meetings in the last 7 days, B any follow-up in 14 days, C any in
    30 days. Population as for days since last activity. The context carries the tier, the
    window, the kinds and the days since the last qualifying follow-up. Unit: count.
    """

    scope_fields = CUSTOMER_SCOPE
    row_filters = frozenset({"tiers"})
    key = "customer_followups_in_tier_cadence"
    grain = "customer"
    unit = "count"

    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        from salesradar.crm.pool import REAL_FOLLOWUP_KINDS, tier_policies

        policies = tier_policies()
        kinds_by_tier: dict[str, list[str]] = {}
        counts: list[When] = []
        newest: list[When] = []
        # Per tier, two probes of the (customer, occurred_at) index for each customer, the
        # customer's tier choosing which: no join of every customer with every follow-up.
        for tier, policy in policies.items():
            kinds = list(policy.cadence_kinds or REAL_FOLLOWUP_KINDS)
            kinds_by_tier[tier] = kinds
            qualifying = Activity.objects.filter(
                activity_known_by(at), customer=OuterRef("pk"), kind__in=kinds
            )
            in_window = (
                qualifying.filter(occurred_at__gt=at - policy.cadence_days * DAY)
                .order_by()
                .values("customer")
                .annotate(n=Count("pk"))
                .values("n")
            )
            latest = qualifying.order_by("-occurred_at").values("occurred_at")[:1]
            counts.append(
                When(tier=tier, then=Coalesce(Subquery(in_window), 0, output_field=IntegerField()))
            )
            newest.append(When(tier=tier, then=Subquery(latest, output_field=DateTimeField())))
        queryset = customers_in_scope(at, scope).annotate(
            followups=Case(*counts, default=Value(0), output_field=IntegerField()),
            last_activity=Case(*newest, default=None, output_field=DateTimeField()),
        )
        return [
            MetricRow(
                pk,
                float(followups),
                None,
                owner_id,
                team_id,
                {
                    "tier": tier,
                    "window_days": policies[tier].cadence_days if tier in policies else None,
                    "kinds": kinds_by_tier.get(tier, []),
                    "days_since_last": (at - (last or created)) / DAY,
                },
            )
            for pk, owner_id, team_id, tier, created, last, followups in queryset.values_list(
                "pk",
                "owner_id",
                "owner__team_id",
                "tier",
                "created_at",
                "last_activity",
                "followups",
            )
        ]
