"""The weekly process-health report: one set-based pass over a week, per team and in total.

Every figure is attributed to the team of the person who owns it (the deal's, customer's,
card's owner; the alert's team), so the rows never count a thing twice and the total row of
each section is the sum of the team rows (rates are recomputed from the summed counts).
``build_weekly_report(week_start=..., team=...)`` is what the page, the CLI, the PDF/XLSX
exports and the Monday mail all call.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.accounts.models import Team
from salesradar.activities.choices import ActionCardStatus, ActivityKind
from salesradar.activities.models import ActionCard, Activity
from salesradar.alerts.choices import EventKind
from salesradar.alerts.models import AlertEvent
from salesradar.crm.choices import Lifecycle, Tier
from salesradar.crm.models import Customer
from salesradar.pipeline.choices import TargetMeasure, TargetPeriod
from salesradar.pipeline.models import Opportunity, Stage, StageChange, Target


@dataclass
class Section:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    total: list[Any] | None = None
    note: str = ""
    chart: dict[str, Any] = field(default_factory=dict)


@dataclass
class WeeklyReport:
    week_start: dt.date
    begin: dt.datetime
    end: dt.datetime
    scope: str
    generated_at: dt.datetime
    sections: list[Section]

    def section(self, key: str) -> Section:
        return next(section for section in self.sections if section.key == key)


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def week_monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def last_full_week(now: dt.datetime) -> dt.date:
    """Monday of the last complete week before ``now`` (local)."""
    return week_monday(timezone.localtime(now, zone()).date()) - dt.timedelta(days=7)


def _rate(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _ratio(part: float, whole: float, places: int = 2) -> float | None:
    return round(part / whole, places) if whole else None


def build_weekly_report(
    *, week_start: dt.date, team: Team | None = None, now: dt.datetime | None = None
) -> WeeklyReport:
    """Compute every section of the week starting ``week_start`` (a Monday) for ``team``."""
    if week_start.weekday() != 0:
        raise ValueError(
            _("{day} is not a Monday; a week starts on Monday.").format(day=week_start)
        )
    local = zone()
    begin = dt.datetime.combine(week_start, dt.time(0), local)
    end = begin + dt.timedelta(days=7)
    teams = list(Team.objects.filter(path__startswith=team.path) if team else Team.objects.all())
    team_ids = [t.pk for t in teams]
    names = {t.pk: t.name for t in teams}
    stages = list(
        Stage.objects.filter(process__is_default=True).order_by("order")
        or Stage.objects.order_by("process_id", "order")
    )
    context = _Context(begin, end, team_ids, names, stages)
    sections = [
        context.dwell(),
        context.regressions(),
        context.touch_density(),
        context.funnel(),
        context.targets(),
        context.forecast(),
        context.alerts(),
        context.action_cards(),
    ]
    return WeeklyReport(
        week_start=week_start,
        begin=begin,
        end=end,
        scope=team.name if team else _("Whole organisation"),
        generated_at=now or timezone.now(),
        sections=sections,
    )


@dataclass
class _Context:
    begin: dt.datetime
    end: dt.datetime
    team_ids: list[int]
    names: dict[int, str]
    stages: list[Stage]

    def _rows(self, values: dict[int, list[Any]]) -> list[list[Any]]:
        """Team rows in name order; teams with nothing to show are left out."""
        return [
            [self.names[pk], *values[pk]]
            for pk in sorted(values, key=lambda pk: self.names.get(pk, ""))
            if pk in self.names
        ]

    def _week_moves(self) -> Any:
        return StageChange.objects.filter(
            changed_at__gte=self.begin,
            changed_at__lt=self.end,
            from_stage__isnull=False,
            opportunity__owner__team_id__in=self.team_ids,
        )

    # ----------------------------------------------------------------- dwell per stage
    def dwell(self) -> Section:
        previous = StageChange.objects.filter(
            opportunity_id=OuterRef("opportunity_id"), changed_at__lt=OuterRef("changed_at")
        ).order_by("-changed_at", "-id")
        exits = self._week_moves().annotate(entered=Subquery(previous.values("changed_at")[:1]))
        days: dict[tuple[int, int], list[float]] = defaultdict(list)
        for team_id, stage_id, left, entered in exits.values_list(
            "opportunity__owner__team_id", "from_stage_id", "changed_at", "entered"
        ):
            if entered is not None:
                days[(team_id, stage_id)].append((left - entered).total_seconds() / 86400)
        labels = {stage.pk: str(stage) for stage in self.stages}
        rows = []
        totals: dict[int, list[float]] = defaultdict(list)
        for (team_id, stage_id), spans in sorted(
            days.items(), key=lambda item: (self.names.get(item[0][0], ""), item[0][1])
        ):
            rows.append(
                [
                    self.names[team_id],
                    labels.get(stage_id, str(stage_id)),
                    len(spans),
                    round(statistics.fmean(spans), 1),
                ]
            )
            totals[stage_id] += spans
        order = [stage.pk for stage in self.stages if stage.pk in totals]
        chart = {
            "labels": [labels[pk] for pk in order],
            "values": [round(statistics.fmean(totals[pk]), 1) for pk in order],
        }
        return Section(
            "dwell",
            _("Average dwell per stage (days, stages left this week)"),
            [_("Team"), _("Stage"), _("Deals that left the stage"), _("Average days")],
            rows,
            total=[_("Total"), "", sum(len(v) for v in totals.values()), None],
            chart=chart,
        )

    # ----------------------------------------------------------------- regressions
    def regressions(self) -> Section:
        counts = (
            self._week_moves()
            .values("opportunity__owner__team_id")
            .annotate(moves=Count("pk"), back=Count("pk", filter=Q(is_regression=True)))
            .order_by()
        )
        values: dict[int, list[Any]] = {
            row["opportunity__owner__team_id"]: [
                row["moves"],
                row["back"],
                _rate(row["back"], row["moves"]),
            ]
            for row in counts
        }
        moves = sum(v[0] for v in values.values())
        back = sum(v[1] for v in values.values())
        rows = self._rows(values)
        return Section(
            "regressions",
            _("Cross-stage regression rate"),
            [_("Team"), _("Stage moves"), _("Moves backwards"), _("Regression rate %")],
            rows,
            total=[_("Total"), moves, back, _rate(back, moves)],
            chart={"labels": [r[0] for r in rows], "values": [r[3] or 0 for r in rows]},
        )

    # ----------------------------------------------------------------- touch density
    def touch_density(self) -> Section:
        key_accounts = Customer.objects.filter(
            tier=Tier.A, owner__team_id__in=self.team_ids
        ).exclude(lifecycle=Lifecycle.CHURNED)
        accounts = dict(
            key_accounts.values("owner__team_id")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("owner__team_id", "n")
        )
        touches = (
            Activity.objects.filter(
                customer__in=key_accounts.values("pk"),
                occurred_at__gte=self.begin,
                occurred_at__lt=self.end,
            )
            .exclude(kind=ActivityKind.NOTE)
            .values("customer__owner__team_id")
            .annotate(n=Count("pk"), touched=Count("customer_id", distinct=True))
            .order_by()
        )
        touched = {row["customer__owner__team_id"]: row for row in touches}
        values: dict[int, list[Any]] = {}
        for team_id, count in accounts.items():
            row = touched.get(team_id, {"n": 0, "touched": 0})
            values[team_id] = [
                count,
                row["n"],
                row["touched"],
                _ratio(row["n"], count),
                _rate(row["touched"], count),
            ]
        total_accounts = sum(v[0] for v in values.values())
        total_touches = sum(v[1] for v in values.values())
        total_touched = sum(v[2] for v in values.values())
        rows = self._rows(values)
        return Section(
            "touch_density",
            _("Touch density of high-value (tier A) customers"),
            [
                _("Team"),
                _("Tier A customers"),
                _("Touches this week"),
                _("Customers touched"),
                _("Touches per customer"),
                _("Share touched %"),
            ],
            rows,
            total=[
                _("Total"),
                total_accounts,
                total_touches,
                total_touched,
                _ratio(total_touches, total_accounts),
                _rate(total_touched, total_accounts),
            ],
            chart={"labels": [r[0] for r in rows], "values": [r[5] or 0 for r in rows]},
        )

    # ----------------------------------------------------------------- funnel
    def funnel(self) -> Section:
        entries = (
            StageChange.objects.filter(
                changed_at__gte=self.begin,
                changed_at__lt=self.end,
                opportunity__owner__team_id__in=self.team_ids,
            )
            .values("opportunity__owner__team_id", "to_stage_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        per_team: dict[int, dict[int, int]] = defaultdict(dict)
        for row in entries:
            per_team[row["opportunity__owner__team_id"]][row["to_stage_id"]] = row["n"]
        won_ids = [stage.pk for stage in self.stages if stage.is_won]
        lost_ids = [stage.pk for stage in self.stages if stage.is_lost]
        values: dict[int, list[Any]] = {}
        for team_id, counts in per_team.items():
            cells = [counts.get(stage.pk, 0) for stage in self.stages]
            won = sum(counts.get(pk, 0) for pk in won_ids)
            lost = sum(counts.get(pk, 0) for pk in lost_ids)
            values[team_id] = [*cells, _rate(won, won + lost)]
        sums = [sum(v[i] for v in values.values()) for i in range(len(self.stages))]
        won_total = sum(sums[i] for i, stage in enumerate(self.stages) if stage.is_won)
        lost_total = sum(sums[i] for i, stage in enumerate(self.stages) if stage.is_lost)
        return Section(
            "funnel",
            _("Funnel: deals entering each stage this week"),
            [_("Team"), *[str(stage) for stage in self.stages], _("Win rate of closes %")],
            self._rows(values),
            total=[_("Total"), *sums, _rate(won_total, won_total + lost_total)],
            chart={"labels": [str(stage) for stage in self.stages], "values": sums},
        )

    # ----------------------------------------------------------------- targets
    def targets(self) -> Section:
        last_day = (self.end - dt.timedelta(seconds=1)).astimezone(zone()).date()
        month = last_day.replace(day=1)
        month_begin = dt.datetime.combine(month, dt.time(0), zone())
        goal = dict(
            Target.objects.filter(
                user__team_id__in=self.team_ids,
                period=TargetPeriod.MONTH,
                period_start=month,
                measure=TargetMeasure.WON_AMOUNT,
            )
            .values("user__team_id")
            .annotate(value=Sum("value"))
            .order_by()
            .values_list("user__team_id", "value")
        )
        won = dict(
            Opportunity.objects.filter(
                owner__team_id__in=self.team_ids,
                stage__is_won=True,
                closed_at__gte=month_begin,
                closed_at__lt=self.end,
            )
            .values("owner__team_id")
            .annotate(value=Sum("amount"))
            .order_by()
            .values_list("owner__team_id", "value")
        )
        values: dict[int, list[Any]] = {}
        for team_id in set(goal) | set(won):
            target = float(goal.get(team_id) or Decimal("0"))
            done = float(won.get(team_id) or Decimal("0"))
            values[team_id] = [round(target, 2), round(done, 2), _rate(done, target)]
        target_total = round(sum(v[0] for v in values.values()), 2)
        won_total = round(sum(v[1] for v in values.values()), 2)
        rows = self._rows(values)
        return Section(
            "targets",
            _("Target attainment (won amount, month to date of {month})").format(
                month=month.strftime("%Y-%m")
            ),
            [_("Team"), _("Monthly target"), _("Won month to date"), _("Attainment %")],
            rows,
            total=[_("Total"), target_total, won_total, _rate(won_total, target_total)],
            chart={"labels": [r[0] for r in rows], "values": [r[3] or 0 for r in rows]},
        )

    # ----------------------------------------------------------------- forecast
    def forecast(self) -> Section:
        from salesradar.forecast.services import score_deals

        scores = score_deals(at=self.end)
        probability = dict(zip(scores.frame.ids.tolist(), scores.won.tolist(), strict=True))
        open_deals = Opportunity.objects.filter(
            owner__team_id__in=self.team_ids, pk__in=list(probability)
        ).values_list("pk", "owner__team_id", "amount", "stage__probability")
        sums: dict[int, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
        for pk, team_id, amount, stage_probability in open_deals:
            row = sums[team_id]
            row[0] += 1
            row[1] += float(amount)
            row[2] += float(amount) * stage_probability / 100
            row[3] += float(amount) * probability[pk]
        values: dict[int, list[Any]] = {
            team_id: [int(row[0]), round(row[1], 2), round(row[2], 2), round(row[3], 2)]
            for team_id, row in sums.items()
        }
        rows = self._rows(values)
        return Section(
            "forecast",
            _("Forecast of the open pipeline at the week's end"),
            [
                _("Team"),
                _("Open deals"),
                _("Open amount"),
                _("Stage-weighted"),
                _("Model forecast"),
            ],
            rows,
            total=[
                _("Total"),
                sum(v[0] for v in values.values()),
                round(sum(v[1] for v in values.values()), 2),
                round(sum(v[2] for v in values.values()), 2),
                round(sum(v[3] for v in values.values()), 2),
            ],
            note=" ".join(str(note) for note in scores.notes),
            chart={"labels": [r[0] for r in rows], "values": [r[4] for r in rows]},
        )

    # ----------------------------------------------------------------- alerts
    def alerts(self) -> Section:
        fired = AlertEvent.objects.filter(
            alert=OuterRef("alert"), kind=EventKind.FIRING, at__lte=OuterRef("at")
        ).order_by("-at", "-id")
        kinds = (EventKind.OPENED, EventKind.REOPENED, EventKind.ACKNOWLEDGED, EventKind.RESOLVED)
        events = (
            AlertEvent.objects.filter(
                at__gte=self.begin,
                at__lt=self.end,
                kind__in=kinds,
                alert__team_id__in=self.team_ids,
            )
            .annotate(fired_at=Subquery(fired.values("at")[:1]))
            .values_list("alert__team_id", "kind", "at", "fired_at")
        )
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        waits: dict[int, list[float]] = defaultdict(list)
        for team_id, kind, at, fired_at in events:
            if kind in (EventKind.OPENED, EventKind.REOPENED):
                counts[team_id][0] += 1
            elif kind == EventKind.ACKNOWLEDGED:
                counts[team_id][1] += 1
                if fired_at is not None:
                    waits[team_id].append((at - fired_at).total_seconds() / 3600)
            else:
                counts[team_id][2] += 1
        values: dict[int, list[Any]] = {
            team_id: [
                *row,
                round(statistics.median(waits[team_id]), 1) if waits[team_id] else None,
            ]
            for team_id, row in counts.items()
        }
        every_wait = [wait for spans in waits.values() for wait in spans]
        rows = self._rows(values)
        return Section(
            "alerts",
            _("Alerts opened, acknowledged and resolved"),
            [
                _("Team"),
                _("Opened"),
                _("Acknowledged"),
                _("Resolved"),
                _("Median hours to acknowledge"),
            ],
            rows,
            total=[
                _("Total"),
                sum(v[0] for v in values.values()),
                sum(v[1] for v in values.values()),
                sum(v[2] for v in values.values()),
                round(statistics.median(every_wait), 1) if every_wait else None,
            ],
            chart={"labels": [r[0] for r in rows], "values": [r[1] for r in rows]},
        )

    # ----------------------------------------------------------------- action cards
    def action_cards(self) -> Section:
        cards = ActionCard.objects.filter(owner__team_id__in=self.team_ids)
        done = (ActionCardStatus.DELIVERED, ActionCardStatus.VERIFIED)
        counts = (
            cards.values("owner__team_id")
            .annotate(
                due=Count("pk", filter=Q(due_at__gte=self.begin, due_at__lt=self.end)),
                verified=Count(
                    "pk", filter=Q(verified_at__gte=self.begin, verified_at__lt=self.end)
                ),
                overdue=Count("pk", filter=Q(due_at__lt=self.end) & ~Q(status__in=done)),
            )
            .order_by()
        )
        values: dict[int, list[Any]] = {
            row["owner__team_id"]: [row["due"], row["verified"], row["overdue"]]
            for row in counts
            if row["due"] or row["verified"] or row["overdue"]
        }
        rows = self._rows(values)
        return Section(
            "action_cards",
            _("Action cards"),
            [_("Team"), _("Due this week"), _("Verified this week"), _("Overdue at week end")],
            rows,
            total=[_("Total"), *[sum(v[i] for v in values.values()) for i in range(3)]],
            chart={"labels": [r[0] for r in rows], "values": [r[3] for r in rows]},
        )
