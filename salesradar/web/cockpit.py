"""What the manager cockpit shows, computed set-based for everything the user may see.

Each ``*_section`` function takes the same ``CockpitView`` (who, which teams, which period)
and returns plain data for the template and the charts: no model instances leak into the
JSON, and no function runs a query per row. Trends, targets and the stage waiting times come
from the metrics registry; funnel, leaderboard and matrix are a few grouped ORM queries.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, OuterRef, Q, QuerySet, Sum
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.accounts.visibility import (
    in_team_subtree,
    sees_everything,
    team_paths_led_by,
    visible,
)
from salesradar.activities.choices import ActivityKind
from salesradar.activities.models import Activity
from salesradar.alerts.choices import AlertState
from salesradar.alerts.models import Alert
from salesradar.crm.choices import Lifecycle
from salesradar.crm.models import Customer
from salesradar.health.choices import HealthTier
from salesradar.health.models import CustomerHealth
from salesradar.metrics.catalogue import TeamQuoteResponseHours, local_zone, owner_scope
from salesradar.metrics.registry import MetricRow, Scope, compute
from salesradar.pipeline.models import Opportunity, Process, Stage, StageChange

PERIODS: dict[str, tuple[Any, int]] = {
    # key -> (label, days); the previous period is the same length just before
    "week": (_("Last 7 days"), 7),
    "month": (_("Last 30 days"), 30),
    "quarter": (_("Last 90 days"), 90),
}
DEFAULT_PERIOD = "month"
BOARD_SIZE = 12
ON_TRACK, BEHIND = 1.0, 0.85  # projected attainment at or above: on track; above BEHIND: behind
OPEN_ALERT_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED)


class _OrgQuoteResponseHours(TeamQuoteResponseHours):
    """Quote response hours over the whole scope, for the cockpit's trend line.

    Not registered: rules have no use for it, and ``compute`` takes a metric instance.
    """

    key = "cockpit_quote_response_hours"
    grain = "org"  # type: ignore[assignment]  # the base narrows grain to its own literal


@dataclass(frozen=True)
class CockpitView:
    """Who looks, at which part of the organisation, over which period, as of when."""

    user: Any
    team: Team | None
    period: str
    at: dt.datetime
    scope: Scope = field(default_factory=Scope)

    @property
    def days(self) -> int:
        return PERIODS[self.period][1]

    @property
    def start(self) -> dt.datetime:
        return self.at - dt.timedelta(days=self.days)

    @property
    def previous_start(self) -> dt.datetime:
        return self.at - dt.timedelta(days=2 * self.days)


def visible_teams(user: Any) -> QuerySet[Team]:
    """Teams the user may pick in the team picker."""
    return visible(user, Team).order_by("path")


def cockpit_view(user: Any, *, team: Team | None, period: str, at: dt.datetime) -> CockpitView:
    """Build the view; ``team`` must already be one of ``visible_teams(user)``."""
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    return CockpitView(user, team, period, at, scope_for(user, team))


def scope_for(user: Any, team: Team | None) -> Scope:
    """Return the metrics scope that matches what ``user`` may see (narrowed to ``team``)."""
    if team is not None:
        return Scope(team_ids=(team.pk,))
    if sees_everything(user):
        return Scope()
    if user.role == Role.MANAGER:
        led = tuple(
            Team.objects.filter(path__in=team_paths_led_by(user)).values_list("pk", flat=True)
        )
        if led:
            return Scope(team_ids=led)
    return Scope(owner_ids=(user.pk,))


def in_scope(view: CockpitView, owner_lookup: str) -> Q:
    """Filter rows by their owner the way the metrics filter them."""
    return owner_scope(view.scope, owner_lookup)


# --------------------------------------------------------------------------- alert board


SEVERITY_RANK = {"danger": 0, "warning": 1, "": 2}


def open_alerts(view: CockpitView) -> QuerySet[Alert]:
    """Open (firing, acknowledged, snoozed) alerts the user may see, within the chosen team."""
    alerts = visible(view.user, Alert).filter(state__in=OPEN_ALERT_STATES)
    if view.team is not None:
        paths = [view.team.path]
        alerts = alerts.filter(
            in_team_subtree("team", paths) | in_team_subtree("owner__team", paths)
        )
    return alerts


def board_counts(view: CockpitView) -> dict[str, Any]:
    """Open alerts by severity, how many nobody acknowledged yet, and the total."""
    counts = {
        (row["severity"], row["state"]): row["n"]
        for row in open_alerts(view).values("severity", "state").annotate(n=Count("pk"))
    }
    return {
        "by_severity": {
            severity: sum(n for (sev, _state), n in counts.items() if sev == severity)
            for severity in ("danger", "warning")
        },
        "unhandled": sum(n for (_sev, state), n in counts.items() if state == AlertState.FIRING),
        "total": sum(counts.values()),
    }


def alert_board(view: CockpitView) -> dict[str, Any]:
    """The board's counts and its most urgent firing alerts."""
    from salesradar.web.alert_rows import alert_rows, by_urgency, for_listing

    firing = open_alerts(view).filter(state=AlertState.FIRING)
    top = list(for_listing(by_urgency(firing))[:BOARD_SIZE])
    return {**board_counts(view), "rows": alert_rows(top, view.user)}


# --------------------------------------------------------------------------- funnel


def default_stages() -> list[Stage]:
    process = Process.objects.filter(is_default=True).first() or Process.objects.first()
    if process is None:
        return []
    return list(process.stages.order_by("order"))


def _entered(view: CockpitView, start: dt.datetime, end: dt.datetime) -> dict[int, int]:
    """Opportunities that entered each stage (moving forward) in [start, end)."""
    rows = (
        StageChange.objects.filter(changed_at__gte=start, changed_at__lt=end, is_regression=False)
        .filter(in_scope(view, "opportunity__owner"))
        .values("to_stage_id")
        .annotate(entered=Count("opportunity_id", distinct=True))
    )
    return {row["to_stage_id"]: row["entered"] for row in rows}


@dataclass
class StageExits:
    """What happened to the deals that left each stage in a period."""

    dwell_days: dict[int, float]
    regression_rate: dict[int, float]
    conversion: dict[int, float]
    losses: dict[int, list[tuple[str, int]]]


def _exits(
    view: CockpitView, start: dt.datetime, end: dt.datetime, *, with_dwell: bool = True
) -> StageExits:
    """Dwell, regressions, conversion and loss reasons of the moves out of each stage.

    Conversion is measured on exits (moves out of the stage in the period that went forward,
    over all moves out that did not go backwards), as ``team_stage_conversion`` does, so
    deals that entered late in the period and had no time to move yet do not drag it down.
    The dwell of an exit is the time since the latest entry into the stage it leaves; both
    times come from one query and the subtraction is done here, because date arithmetic
    differs between databases.
    """
    moves = StageChange.objects.filter(
        changed_at__gte=start, changed_at__lt=end, from_stage__isnull=False
    ).filter(in_scope(view, "opportunity__owner"))
    exits: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # [all, backwards]
    forward: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # [not backwards, not lost]
    losses: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    grouped = moves.values(
        "from_stage_id", "is_regression", "to_stage__is_lost", "opportunity__lost_reason"
    ).annotate(n=Count("pk"))
    for row in grouped:
        stage_id, n = row["from_stage_id"], row["n"]
        exits[stage_id][0] += n
        if row["is_regression"]:
            exits[stage_id][1] += n
            continue
        forward[stage_id][0] += n
        if row["to_stage__is_lost"]:
            losses[stage_id][row["opportunity__lost_reason"] or "other"] += n
        else:
            forward[stage_id][1] += n
    dwell: dict[int, list[float]] = defaultdict(list)
    if with_dwell:
        entry = StageChange.objects.filter(
            opportunity=OuterRef("opportunity"),
            to_stage=OuterRef("from_stage"),
            changed_at__lte=OuterRef("changed_at"),
        ).order_by("-changed_at", "-id")
        rows = moves.annotate(entered_at=entry.values("changed_at")[:1]).values_list(
            "from_stage_id", "changed_at", "entered_at"
        )
        for stage_id, left_at, entered_at in rows:
            if entered_at is not None:
                dwell[stage_id].append((left_at - entered_at) / dt.timedelta(days=1))
    return StageExits(
        dwell_days={stage: statistics.fmean(days) for stage, days in dwell.items() if days},
        regression_rate={stage: back / total for stage, (total, back) in exits.items() if total},
        conversion={stage: on / total for stage, (total, on) in forward.items() if total},
        losses={
            stage: sorted(reasons.items(), key=lambda item: -item[1])[:3]
            for stage, reasons in losses.items()
        },
    )


def funnel_section(view: CockpitView, stages: Sequence[Stage]) -> dict[str, Any]:
    """Per stage: entering count, conversion to the next stage, dwell, losses; and before."""
    from salesradar.pipeline.choices import LostReason

    entered = _entered(view, view.start, view.at)
    entered_before = _entered(view, view.previous_start, view.start)
    now = _exits(view, view.start, view.at)
    before = _exits(view, view.previous_start, view.start, with_dwell=False)
    reasons = dict(LostReason.choices)
    rows = []
    for stage in stages:
        if stage.is_lost:
            continue
        count = entered.get(stage.pk, 0)
        previous = entered_before.get(stage.pk, 0)
        rows.append(
            {
                "key": stage.key,
                "label": str(stage),
                "entered": count,
                "entered_before": previous,
                "entered_change": count - previous,
                "conversion": now.conversion.get(stage.pk),
                "conversion_before": before.conversion.get(stage.pk),
                "dwell_days": now.dwell_days.get(stage.pk),
                "dwell_sla": stage.dwell_sla_days,
                "regression_rate": now.regression_rate.get(stage.pk),
                "losses": [
                    {"reason": str(reasons.get(reason, reason)), "count": n}
                    for reason, n in now.losses.get(stage.pk, [])
                ],
            }
        )
    chart = {
        "stages": [row["label"] for row in rows],
        "entered": [row["entered"] for row in rows],
        "entered_before": [row["entered_before"] for row in rows],
    }
    return {"rows": rows, "chart": chart}


# --------------------------------------------------------------------------- targets


def progress_status(projection: float | None) -> str:
    """Three states for target progress: on track, behind, at risk (no data without a value)."""
    if projection is None:
        return "no_data"
    if projection >= ON_TRACK:
        return "on_track"
    if projection >= BEHIND:
        return "behind"
    return "at_risk"


def targets_section(view: CockpitView, names: dict[int, str]) -> dict[str, Any]:
    """Quarter attainment against time elapsed and the run-rate projection, per rep and team."""
    rows = compute("rep_target_attainment_projection", at=view.at, scope=view.scope)
    team_names = dict(Team.objects.values_list("pk", "name"))
    reps: list[dict[str, Any]] = []
    teams: dict[int, dict[str, Any]] = {}
    elapsed = 0.0
    for row in rows:
        context = row.context
        elapsed = float(context.get("elapsed", 0.0))
        target = float(context.get("target", 0.0))
        attained = float(context.get("attained", 0.0))
        reps.append(
            {
                "rep": names.get(row.entity_id, str(row.entity_id)),
                "team": team_names.get(row.team_id or 0, ""),
                "attained": attained,
                "projection": row.value,
                "status": progress_status(row.value),
                "target": target,
            }
        )
        team = teams.setdefault(
            row.team_id or 0,
            {"team": team_names.get(row.team_id or 0, ""), "target": 0.0, "won": 0.0},
        )
        team["target"] += target
        team["won"] += attained * target
    team_rows = []
    for team in teams.values():
        attained = team["won"] / team["target"] if team["target"] else 0.0
        projection = attained / elapsed if elapsed >= 7 / 92 else None
        team_rows.append(
            {
                "team": team["team"],
                "attained": attained,
                "projection": projection,
                "status": progress_status(projection),
                "target": team["target"],
            }
        )
    reps.sort(key=lambda rep: (rep["projection"] is None, -float(rep["projection"] or 0)))
    team_rows.sort(key=lambda team: team["team"])
    return {"elapsed": elapsed, "reps": reps, "teams": team_rows}


# --------------------------------------------------------------------------- trends


def baseline_band(values: Sequence[float | None], window: int) -> list[list[float | None]]:
    """Return [low, high] per point: the trailing ``window`` periods' mean ± one deviation.

    The same learnt-from-history idea as the baseline condition; fewer than three earlier
    values give no band for that point.
    """
    band: list[list[float | None]] = []
    for index in range(len(values)):
        earlier = [v for v in values[max(0, index - window) : index] if v is not None]
        if len(earlier) < 3:
            band.append([None, None])
            continue
        mean = math.fsum(earlier) / len(earlier)
        # statistics.pstdev is exact but slow (it works in fractions); floats suffice here
        spread = math.sqrt(math.fsum((v - mean) ** 2 for v in earlier) / len(earlier))
        band.append([max(0.0, mean - spread), mean + spread])
    return band


def _series(rows: Iterable[MetricRow], *, combine: str) -> tuple[list[str], list[float | None]]:
    """Fold per-entity, per-period rows into one value per period (sum, or the org's value)."""
    totals: dict[dt.date, float | None] = {}
    for row in rows:
        if row.period is None:
            continue
        if combine == "sum":
            totals[row.period] = (totals.get(row.period) or 0.0) + (row.value or 0.0)
        else:
            totals[row.period] = row.value
    periods = sorted(totals)
    return [period.isoformat() for period in periods], [totals[p] for p in periods]


TRENDS: tuple[tuple[str, Any, Any, str, str, int, int], ...] = (
    # (key, metric, label, period, combine, periods shown, baseline window)
    ("followups", "team_followups", _("Follow-ups per week"), "week", "sum", 12, 8),
    ("new_customers", "team_new_customers", _("New customers per week"), "week", "sum", 12, 8),
    ("win_rate", "org_win_rate", _("Win rate per month"), "month", "org", 12, 6),
    (
        "sales_cycle",
        "org_sales_cycle_days",
        _("Sales cycle (days) per month"),
        "month",
        "org",
        12,
        6,
    ),
    (
        "quote_response",
        _OrgQuoteResponseHours(),
        _("Quote response time (hours) per week"),
        "week",
        "org",
        12,
        8,
    ),
)


TREND_CACHE_SECONDS = 60 * 60


def trend_series(
    view: CockpitView,
    metric: Any,
    period: str,
    periods: int,
    combine: str,
    *,
    refresh: bool = False,
) -> tuple[list[str], list[float | None]]:
    """Compute one trend's series, cached for an hour and never across midnight.

    Trend metrics count complete periods only, so their values change when a period ends
    (the key holds the local date) or when history is back-dated (seen within the hour).
    They are the cockpit's most expensive figures: without the cache every visit would
    recount months of follow-ups.
    """
    key = ":".join(
        [
            "salesradar:cockpit-trend",
            metric if isinstance(metric, str) else metric.key,
            period,
            str(periods),
            combine,
            ",".join(map(str, view.scope.team_ids)),
            ",".join(map(str, view.scope.owner_ids)),
            view.at.astimezone(local_zone()).strftime("%Y-%m-%d"),
        ]
    )
    cached = None if refresh else cache.get(key)
    if cached is not None:
        return cached
    rows = compute(
        metric,
        at=view.at,
        scope=view.scope,
        period="month" if period == "month" else "week",
        periods=periods,
    )
    series = _series(rows, combine=combine)
    cache.set(key, series, TREND_CACHE_SECONDS)
    return series


def warm_trend_cache(*, at: dt.datetime) -> int:
    """Compute the trends of the whole organisation and of each team ahead of any visit.

    The embedded server's scheduler runs this in the background, so the first person to
    open the cockpit (or pick a team) in the hour does not wait for months of counting.
    Return the number of series computed.
    """
    teams = Team.objects.values_list("pk", flat=True)
    scopes = [Scope()] + [Scope(team_ids=(pk,)) for pk in teams]
    computed = 0
    for scope in scopes:
        view = CockpitView(user=None, team=None, period=DEFAULT_PERIOD, at=at, scope=scope)
        for _key, metric, _label, period, combine, shown, window in TRENDS:
            trend_series(view, metric, period, shown + window, combine, refresh=True)
            computed += 1
    return computed


def trends_section(view: CockpitView) -> list[dict[str, Any]]:
    """Each trend's recent periods with the baseline band learnt from the periods before."""
    trends = []
    for key, metric, label, period, combine, shown, window in TRENDS:
        periods, values = trend_series(view, metric, period, shown + window, combine)
        band = baseline_band(values, window)
        ratio = key == "win_rate"
        scale = 100.0 if ratio else 1.0

        def shown_value(value: float | None, scale: float = scale) -> float | None:
            return None if value is None else round(value * scale, 1)

        trends.append(
            {
                "key": key,
                "period": period,
                "label": str(label),
                "unit": "%" if ratio else "",
                "periods": periods[-shown:],
                "values": [shown_value(v) for v in values[-shown:]],
                "low": [shown_value(low) for low, _high in band[-shown:]],
                "high": [shown_value(high) for _low, high in band[-shown:]],
            }
        )
    return trends


# --------------------------------------------------------------------------- leaderboard


def reps_in_view(view: CockpitView) -> QuerySet[User]:
    reps = visible(view.user, User).filter(role=Role.REP, is_active=True)
    if view.scope.owner_ids:
        reps = reps.filter(pk__in=view.scope.owner_ids)
    return reps.filter(in_scope_team(view))


def in_scope_team(view: CockpitView) -> Q:
    if not view.scope.team_ids:
        return Q()
    paths = Team.objects.filter(pk__in=view.scope.team_ids).values_list("path", flat=True)
    return in_team_subtree("team", paths)


def leaderboard_section(view: CockpitView, reps: Sequence[User]) -> dict[str, Any]:
    """Won amount and follow-up volume (visits, calls, all) per rep in the period."""
    rep_ids = [rep.pk for rep in reps]
    activity: dict[int, dict[str, Any]] = {
        row["owner_id"]: dict(row)
        for row in Activity.objects.filter(
            owner_id__in=rep_ids, occurred_at__gte=view.start, occurred_at__lt=view.at
        )
        .values("owner_id")
        .annotate(
            visits=Count("pk", filter=Q(kind=ActivityKind.VISIT)),
            calls=Count("pk", filter=Q(kind=ActivityKind.CALL)),
            total=Count("pk"),
        )
    }
    won: dict[int, dict[str, Any]] = {
        row["owner_id"]: dict(row)
        for row in Opportunity.objects.filter(
            owner_id__in=rep_ids,
            stage__is_won=True,
            closed_at__gte=view.start,
            closed_at__lt=view.at,
        )
        .values("owner_id")
        .annotate(amount=Sum("amount"), deals=Count("pk"))
    }
    rows = []
    for rep in reps:
        counts = activity.get(rep.pk, {})
        wins = won.get(rep.pk, {})
        rows.append(
            {
                "rep": str(rep),
                "team": rep.team.name if rep.team else "",
                "won_amount": float(wins.get("amount") or 0),
                "deals": wins.get("deals", 0),
                "visits": counts.get("visits", 0),
                "calls": counts.get("calls", 0),
                "followups": counts.get("total", 0),
            }
        )
    rows.sort(key=lambda row: (-row["won_amount"], -row["followups"], row["rep"]))
    chart = {
        "reps": [row["rep"] for row in rows],
        "visits": [row["visits"] for row in rows],
        "calls": [row["calls"] for row in rows],
        "other": [row["followups"] - row["visits"] - row["calls"] for row in rows],
    }
    return {"rows": rows, "chart": chart}


# --------------------------------------------------------------------------- bottlenecks


def bottleneck_section(
    view: CockpitView, stages: Sequence[Stage], funnel: dict[str, Any]
) -> dict[str, Any]:
    """Per open stage: dwell against its SLA, regression rate, hours waiting since an update."""
    waiting: dict[str, list[float]] = defaultdict(list)
    for row in compute("opportunity_hours_since_update", at=view.at, scope=view.scope):
        if row.value is not None:
            waiting[row.context.get("stage", "")].append(row.value)
    by_key = {row["key"]: row for row in funnel["rows"]}
    rows = []
    for stage in stages:
        if stage.is_won or stage.is_lost:
            continue
        funnel_row = by_key.get(stage.key, {})
        dwell = funnel_row.get("dwell_days")
        sla = stage.dwell_sla_days
        hours = waiting.get(stage.key, [])
        rows.append(
            {
                "label": str(stage),
                "dwell_days": dwell,
                "dwell_ratio": dwell / sla if dwell is not None and sla else None,
                "regression_rate": funnel_row.get("regression_rate"),
                "waiting_hours": statistics.fmean(hours) if hours else None,
                "open": len(hours),
            }
        )

    def top(name: str) -> float:
        values = [row[name] for row in rows if row[name] is not None]
        return max([*values, 0.0]) * 1.2 or 1.0

    chart = {
        "indicators": [
            {"name": str(_("Dwell vs SLA")), "max": round(max(top("dwell_ratio"), 1.2), 2)},
            {"name": str(_("Regression rate %")), "max": round(top("regression_rate") * 100, 1)},
            {"name": str(_("Hours since update")), "max": round(top("waiting_hours"), 0)},
        ],
        "series": [
            {
                "name": row["label"],
                "value": [
                    round(row["dwell_ratio"] or 0, 2),
                    round((row["regression_rate"] or 0) * 100, 1),
                    round(row["waiting_hours"] or 0, 0),
                ],
            }
            for row in rows
        ],
    }
    return {"rows": rows, "chart": chart}


# --------------------------------------------------------------------------- customer matrix


POTENTIAL_BANDS = (
    # (key, label, minimum health potential pillar), highest first: shown on top
    ("high", _("High potential (60+)"), 60),
    ("medium", _("Medium potential (30-59)"), 30),
    ("low", _("Low potential (0-29)"), 0),
)
DEPTH_LEVELS = (
    # (key, label, minimum health depth pillar)
    ("low", _("Shallow (depth 0-29)"), 0),
    ("medium", _("Established (30-59)"), 30),
    ("high", _("Deep (60+)"), 60),
)


def _band(value: int, bands: tuple[tuple[str, Any, int], ...]) -> str:
    """Return the key of the band with the highest minimum that ``value`` reaches."""
    return max((band for band in bands if value >= band[2]), key=lambda band: band[2])[0]


def customer_matrix_section(view: CockpitView) -> dict[str, Any]:
    """Customers by health: potential pillar × depth pillar, with the at-risk share per cell.

    Only scored customers (those with a contract) take part. A customer is at risk when its
    health is red, it has an open alert or its lifecycle says so; a cell's colour is its
    at-risk share and the cell also states the counts, so colour is not the only signal.
    """
    customers = (
        visible(view.user, Customer)
        .filter(in_scope(view, "owner"))
        .exclude(lifecycle=Lifecycle.CHURNED)
    )
    alerted = set(
        Alert.objects.filter(entity_type="customer", state__in=OPEN_ALERT_STATES).values_list(
            "entity_id", flat=True
        )
    )
    scored = CustomerHealth.objects.filter(customer__in=customers.values("pk")).values_list(
        "customer_id", "potential", "depth", "tier", "customer__lifecycle"
    )
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for pk, potential, depth_score, tier, lifecycle in scored:
        cell = cells[(_band(potential, POTENTIAL_BANDS), _band(depth_score, DEPTH_LEVELS))]
        cell[0] += 1
        cell[1] += bool(tier == HealthTier.RED or pk in alerted or lifecycle == Lifecycle.AT_RISK)
    bands = [(key, str(label)) for key, label, _minimum in POTENTIAL_BANDS]
    depths = [(key, str(label)) for key, label, _minimum in DEPTH_LEVELS]
    grid = []
    points = []
    for index, (band, band_label) in enumerate(bands):
        row: dict[str, Any] = {"potential": band_label, "cells": []}
        for x, (depth, _depth_label) in enumerate(depths):
            total, at_risk = cells.get((band, depth), [0, 0])
            share = at_risk / total if total else 0.0
            severity = "danger" if share >= 0.3 else "warning" if share >= 0.1 else "normal"
            row["cells"].append(
                {"total": total, "at_risk": at_risk, "share": share, "severity": severity}
            )
            # the chart's y axis runs upwards, so the first band gets the highest index
            points.append([x, len(bands) - 1 - index, total, at_risk, round(share * 100, 1)])
        grid.append(row)
    chart = {
        "x": [label for _key, label in depths],
        "y": [label for _value, label in reversed(bands)],
        "points": points,
    }
    return {"depths": depths, "grid": grid, "chart": chart}


# --------------------------------------------------------------------------- all together


ANALYTICS_CACHE_SECONDS = 120


def analytics(view: CockpitView) -> dict[str, Any]:
    """The panels that summarise the period (everything but the alert board)."""
    stages = default_stages()
    reps = list(reps_in_view(view).select_related("team").order_by("username"))
    names = {rep.pk: str(rep) for rep in reps}
    funnel = funnel_section(view, stages)
    return {
        "as_of": view.at,
        "funnel": funnel,
        "targets": targets_section(view, names),
        "trends": trends_section(view),
        "leaderboard": leaderboard_section(view, reps),
        "bottlenecks": bottleneck_section(view, stages, funnel),
        "matrix": customer_matrix_section(view),
    }


def cockpit_data(view: CockpitView, *, cached: bool = True) -> dict[str, Any]:
    """Everything the cockpit page shows, in a handful of set-based queries.

    The alert board is always read fresh, since people act on it. The period summaries are
    kept for two minutes per person, team, period and language: they move with the day's
    activity, not from one click to the next, and a manager switching between the team and
    period pickers should not wait for the same aggregates twice. The page says as of when.
    """
    if not cached:
        return {"board": alert_board(view), **analytics(view)}
    key = ":".join(
        [
            "salesradar:cockpit",
            str(view.user.pk),
            str(view.team.pk if view.team else ""),
            view.period,
            translation.get_language() or "",
        ]
    )
    summary = cache.get(key)
    if summary is None:
        summary = analytics(view)
        cache.set(key, summary, ANALYTICS_CACHE_SECONDS)
    return {"board": alert_board(view), **summary}


def charts_payload(data: dict[str, Any]) -> dict[str, Any]:
    """The JSON the page's charts draw from (embedded with json_script)."""
    return {
        "funnel": data["funnel"]["chart"],
        "trends": data["trends"],
        "leaderboard": data["leaderboard"]["chart"],
        "bottlenecks": data["bottlenecks"]["chart"],
        "matrix": data["matrix"]["chart"],
        "targets": {
            "reps": [row["rep"] for row in data["targets"]["reps"]],
            "attained": [round(row["attained"] * 100, 1) for row in data["targets"]["reps"]],
            "elapsed": round(data["targets"]["elapsed"] * 100, 1),
        },
    }
