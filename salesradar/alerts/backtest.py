"""Backtesting: replay rules over history and score them against what really happened.

`backtest` evaluates each rule at ``start``, ``start + step``, ... up to ``end`` through the
engine's pure `observe_rule` (nothing is written), keeps the first time each entity was
flagged, and then asks the data what happened afterwards: was the flagged deal lost, did the
customer go silent, did the rep miss the quarter? Each entity type has one outcome
definition (`OUTCOMES`), computed set-based for all the entities a rule ever saw. The scores
are precision, recall, median lead time and false alarms per rep per week; docs/backtesting.md
defines each one. `suggest_thresholds` replays a threshold rule once and scores a grid of
levels taken from the values it saw, so a manager can pick a level from the team's own data.

Outcomes are events with a time (a loss, the 30th day of a stall, a quarter ending below
target), independent of any flag, so that recall can count the bad outcomes no rule flagged.
A flag is a true positive when one of its entity's events follows it within the window that
entity type allows (``horizon``; for reps and teams, the end of the flag's quarter). Every
result depends only on the arguments and the data recorded up to ``as_of``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import operator
import statistics
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesradar.accounts.models import Team
from salesradar.activities.models import Activity
from salesradar.alerts import outcomes as deal_outcomes
from salesradar.alerts.baselines import (
    COMPARE,
    Baseline,
    CurvePoint,
    best_at_recall,
    score_baselines,
)
from salesradar.alerts.conditions import ForClause, Threshold, build_condition, parse_for
from salesradar.alerts.engine import entity_type_for, observe_rule, rule_scope
from salesradar.alerts.models import Rule
from salesradar.crm.models import Customer, Lead
from salesradar.metrics.catalogue import local_midnight, local_zone, quarter_bounds, reps_in_scope
from salesradar.metrics.registry import get_metric
from salesradar.pipeline.models import Contract, Invoice, Opportunity, Quote, StageChange, Target

logger = logging.getLogger(__name__)

DAY = dt.timedelta(days=1)
DEFAULT_STEP = dt.timedelta(days=7)
DEFAULT_HORIZON = dt.timedelta(days=60)
# How long each "it went wrong" condition must last to count as an outcome (docs/backtesting.md).
STALL_DAYS = 30  # an open opportunity without a stage change
QUOTE_UNANSWERED_DAYS = 7  # a quote request without a quote sent
CUSTOMER_SILENCE_DAYS = 60  # a customer without any activity
INVOICE_LATE_DAYS = 30  # an invoice unpaid after its due date
RENEWAL_GRACE_DAYS = 30  # a renewal signed this long after the end still counts
LEAD_COLD_DAYS = 7  # an assigned lead without a first contact
SUGGESTION_QUANTILES = tuple(q / 20 for q in range(1, 20))  # 5 %, 10 %, ... 95 %
ID_CHUNK = 10_000  # ids per IN list, well inside SQLite's and PostgreSQL's parameter limits

Severity = Literal["warning", "danger"]
Case = tuple[int, dt.date | None]
"""What one flag is about: an entity, and for reps and teams also the quarter (its first day)."""


class BacktestError(ValueError):
    """A backtest that cannot run as asked: a bad window or an unsuitable rule."""


@dataclass(frozen=True)
class OutcomeEvent:
    """Something bad that happened to an entity, and when."""

    at: dt.datetime
    kind: str


@dataclass(frozen=True)
class Outcome:
    """How the bad outcomes of one entity type are found, and how long a flag waits for one.

    ``facts(cases, since, until)`` returns, for all ``cases`` at once, the events after
    ``since`` and at or before ``until`` and when each case was settled. With
    ``per_quarter`` a case is an entity in one calendar quarter and a flag waits until that
    quarter ends, not for the horizon.
    """

    entity_type: str
    description: str | Promise  # translated lazily
    facts: Callable[[Collection[Case], dt.datetime, dt.datetime], Facts]
    per_quarter: bool = False

    def case(self, entity_id: int, at: dt.datetime) -> Case:
        return (entity_id, quarter_bounds(at)[0] if self.per_quarter else None)

    def deadline(self, case: Case, flagged_at: dt.datetime, horizon: dt.timedelta) -> dt.datetime:
        """Return the last moment an outcome still counts for a flag raised at ``flagged_at``."""
        if self.per_quarter and case[1] is not None:
            return quarter_end(case[1])
        return flagged_at + horizon


@dataclass(frozen=True)
class Flag:
    """The first time a rule flagged one case during a replay."""

    at: dt.datetime
    value: float | None
    severity: str


@dataclass
class Replay:
    """What a rule saw at each step: when each case first appeared and was first flagged."""

    steps: list[dt.datetime]
    first_seen: dict[Case, dt.datetime] = field(default_factory=dict)
    flags: dict[Case, Flag] = field(default_factory=dict)
    #: entity -> {step index: value}; kept only for threshold suggestions
    series: dict[int, dict[int, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Tally:
    """Flags set against outcomes."""

    alerts: int
    true_positives: int
    false_positives: int
    pending: int
    bad_outcomes: int
    lead_days: tuple[float, ...]
    outcome_kinds: dict[str, int]

    @property
    def precision(self) -> float | None:
        decided = self.true_positives + self.false_positives
        return self.true_positives / decided if decided else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.bad_outcomes if self.bad_outcomes else None

    @property
    def median_lead_days(self) -> float | None:
        return statistics.median(self.lead_days) if self.lead_days else None


@dataclass(frozen=True)
class RuleScore:
    """How a rule would have done over the replayed window (docs/backtesting.md)."""

    rule: str
    entity_type: str
    population: int = 0
    alerts: int = 0
    true_positives: int = 0
    false_positives: int = 0
    pending: int = 0
    bad_outcomes: int = 0
    precision: float | None = None
    recall: float | None = None
    median_lead_days: float | None = None
    false_alarms_per_rep_week: float | None = None
    reps: int = 0
    weeks: float = 0.0
    outcome_kinds: dict[str, int] = field(default_factory=dict)
    outcome: str = ""  # what counts as a bad outcome for the rule's entity type
    note: str = ""
    error: str = ""
    # issue 11 §1: never a precision without its base rate and the best baseline beside it
    base_rate: float | None = None
    lift: float | None = None
    late: int = 0
    lead_days_p25: float | None = None
    lead_days_p75: float | None = None
    alerts_per_rep_week: float | None = None
    best_baseline: str = ""  # the most precise baseline at this rule's recall, e.g. rotting>14
    best_baseline_precision: float | None = None
    best_baseline_recall: float | None = None
    precision_over_baseline: float | None = None  # precision − best_baseline_precision
    # "rule", "pack" (every rule of a pack at once), "group" (the rules of one concern at
    # once, as the grouped alert reads them) or "baseline"
    kind: str = "rule"
    curve: list[dict[str, Any]] = field(default_factory=list)  # precision/recall by level

    def as_dict(self) -> dict[str, Any]:
        return {
            key: round(value, 4) if isinstance(value, float) else value
            for key, value in asdict(self).items()
        }


@dataclass
class BacktestReport:
    """Every rule's score, the baselines on the same snapshots, and each pack and concern
    group as a whole (``packs``: rows named ``pack:KEY`` and ``group:CONCERN``)."""

    scores: list[RuleScore]
    baselines: list[RuleScore] = field(default_factory=list)
    packs: list[RuleScore] = field(default_factory=list)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    step: dt.timedelta = DEFAULT_STEP
    horizon: dt.timedelta = DEFAULT_HORIZON
    observed_until: dt.datetime | None = None
    snapshots: int = 0
    deal_problem: str = ""  # why deal rules could not be scored (bad input), if so

    def rows(self) -> list[RuleScore]:
        return [*self.scores, *self.packs, *self.baselines]

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "step_days": self.step / DAY,
            "horizon_days": self.horizon / DAY,
            "observed_until": self.observed_until.isoformat() if self.observed_until else None,
            "snapshots": self.snapshots,
            "deal_outcome": str(deal_outcomes.OPPORTUNITY_OUTCOME),
            "deal_problem": self.deal_problem,
            "rules": [score.as_dict() for score in self.scores],
            "packs": [score.as_dict() for score in self.packs],
            "baselines": [score.as_dict() for score in self.baselines],
        }


@dataclass(frozen=True)
class Suggestion:
    """One candidate level for a threshold rule and how it would have scored."""

    op: str
    threshold: float
    alerts: int
    true_positives: int
    false_positives: int
    pending: int
    bad_outcomes: int
    precision: float | None
    recall: float | None
    median_lead_days: float | None
    false_alarms_per_rep_week: float | None
    current: str = ""  # "warning" or "danger" when the rule uses this level today
    recommended: bool = False
    base_rate: float | None = None
    lift: float | None = None
    best_baseline: str = ""  # deal rules: the most precise baseline at this level's recall
    best_baseline_precision: float | None = None
    beats_baseline: bool | None = None  # None when there is no baseline to compare with

    def as_dict(self) -> dict[str, Any]:
        return {
            key: round(value, 4) if isinstance(value, float) else value
            for key, value in asdict(self).items()
        }


# --------------------------------------------------------------------------- replay


def replay_steps(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> list[dt.datetime]:
    """Return start, start + step, ... up to and including ``end``."""
    if start.tzinfo is None or end.tzinfo is None:
        raise BacktestError(_("start and end must be timezone-aware"))
    if step <= dt.timedelta(0):
        raise BacktestError(_("the step must be longer than zero"))
    if end < start:
        raise BacktestError(
            _("the end {end} comes before the start {start}").format(
                end=end.isoformat(), start=start.isoformat()
            )
        )
    count = int((end - start) / step) + 1
    return [start + index * step for index in range(count)]


def replay(
    rule: Rule,
    steps: Sequence[dt.datetime],
    outcome: Outcome | None,
    *,
    severity: Severity = "warning",
    keep_series: bool = False,
) -> Replay:
    """Observe ``rule`` at every step and keep each case's first sighting and first flag.

    A flag is a warning or danger (only danger with ``severity="danger"``) whose ``for``
    clause holds: the engine judges "N of M"; a duration is counted here, from the first
    step of an unbroken run of steps at which the entity fired.
    """
    metric = get_metric(rule.metric)
    duration = parse_for(rule.for_clause or None, f"rule {rule.key}.for").duration
    counted = ("danger",) if severity == "danger" else ("warning", "danger")
    result = Replay(steps=list(steps))
    firing_since: dict[int, dt.datetime] = {}
    for index, at in enumerate(steps):
        findings, _rows = observe_rule(rule, metric, at)
        seen: set[int] = set()
        for finding in findings:
            entity_id = finding.entity_id
            seen.add(entity_id)
            case = outcome.case(entity_id, at) if outcome else (entity_id, None)
            result.first_seen.setdefault(case, at)
            obs = finding.observation
            if keep_series:
                result.series.setdefault(entity_id, {})[index] = obs.value
            if obs.severity not in counted:
                firing_since.pop(entity_id, None)
                continue
            started = firing_since.setdefault(entity_id, at)
            held = obs.held and (duration is None or at - started >= duration)
            if held and case not in result.flags:
                result.flags[case] = Flag(at, obs.value, obs.severity)
        for entity_id in set(firing_since) - seen:
            del firing_since[entity_id]  # gone from the metric's rows: the run is broken
    return result


def tally(
    flags: Mapping[Case, dt.datetime],
    facts: Facts,
    first_seen: Mapping[Case, dt.datetime],
    outcome: Outcome,
    *,
    horizon: dt.timedelta,
    observed_until: dt.datetime,
) -> Tally:
    """Set first flags against outcome events.

    A flag is a true positive when an event follows it by its deadline; pending when none
    did, the deadline lies after ``observed_until`` and the case was not settled by then; a
    false positive otherwise. A bad outcome is a case with an event after it first appeared
    in the rule's rows.
    """
    events = facts.events
    true_positives = false_positives = pending = 0
    lead_days: list[float] = []
    kinds: Counter[str] = Counter()
    for case, flagged_at in flags.items():
        deadline = outcome.deadline(case, flagged_at, horizon)
        hits = [event for event in events.get(case, ()) if flagged_at < event.at <= deadline]
        if hits:
            first = min(hits, key=lambda event: event.at)
            true_positives += 1
            lead_days.append((first.at - flagged_at) / DAY)
            kinds[first.kind] += 1
        elif deadline > observed_until and case not in facts.settled:
            pending += 1
        else:
            false_positives += 1
    bad_outcomes = sum(
        1
        for case, seen_at in first_seen.items()
        if any(seen_at < event.at <= observed_until for event in events.get(case, ()))
    )
    return Tally(
        alerts=len(flags),
        true_positives=true_positives,
        false_positives=false_positives,
        pending=pending,
        bad_outcomes=bad_outcomes,
        lead_days=tuple(sorted(lead_days)),
        outcome_kinds=dict(sorted(kinds.items())),
    )


def observation_bounds(
    start: dt.datetime, end: dt.datetime, horizon: dt.timedelta | None, as_of: dt.datetime | None
) -> tuple[dt.timedelta, dt.datetime]:
    """Return the horizon and the last moment whose outcomes count."""
    horizon = DEFAULT_HORIZON if horizon is None else horizon
    if horizon <= dt.timedelta(0):
        raise BacktestError(_("the horizon must be longer than zero"))
    until = end + horizon
    if as_of is not None:
        if as_of.tzinfo is None:
            raise BacktestError(_("as_of must be timezone-aware"))
        until = min(until, as_of)
    return horizon, until


def count_reps(rule: Rule, at: dt.datetime) -> int:
    """Count the active reps the rule's scope covers, the base of false alarms per rep."""
    return reps_in_scope(rule_scope(rule), at).count()


def backtest(
    rules: Sequence[Rule],
    *,
    start: dt.datetime,
    end: dt.datetime,
    step: dt.timedelta = DEFAULT_STEP,
    horizon: dt.timedelta | None = None,
    as_of: dt.datetime | None = None,
    severity: Severity = "warning",
) -> list[RuleScore]:
    """Replay ``rules`` from ``start`` to ``end`` every ``step`` and score each one.

    Outcomes count up to ``end + horizon`` (default 60 days), or ``as_of`` when that is
    earlier: pass the present moment so flags whose outcome cannot be known yet are reported
    as pending instead of as false alarms. Nothing is written. `run_backtest` also returns
    the baselines and the packs as a whole.
    """
    report = run_backtest(
        rules, start=start, end=end, step=step, horizon=horizon, as_of=as_of, severity=severity
    )
    return report.scores


@dataclass
class DealFrame:
    """The opportunity snapshots of a backtest, labelled once and shared by every deal rule."""

    frame: pd.DataFrame
    entities: pd.DataFrame
    baselines: list[Baseline]
    weeks: float


def is_deal_rule(rule: Rule) -> bool:
    metric = get_metric(rule.metric)
    return metric.source != "data_health" and entity_type_for(metric.grain) == "opportunity"


def label_deals(
    steps: Sequence[dt.datetime],
    *,
    horizon: dt.timedelta,
    observed_until: dt.datetime,
    weeks: float,
) -> DealFrame:
    """Label every open opportunity at every step and score the baselines on them.

    Raises `BacktestError` naming what is missing when the window cannot be scored.
    """
    try:
        frame = deal_outcomes.opportunity_labels(
            steps, horizon=horizon, observed_until=observed_until
        )
        deal_outcomes.check_scorable(
            frame, start=steps[0], end=steps[-1], horizon=horizon, observed_until=observed_until
        )
    except deal_outcomes.OutcomeError as error:
        raise BacktestError(str(error)) from None
    return DealFrame(
        frame,
        deal_outcomes.entity_outcomes(frame),
        score_baselines(frame, weeks=weeks),
        weeks,
    )


def run_backtest(
    rules: Sequence[Rule],
    *,
    start: dt.datetime,
    end: dt.datetime,
    step: dt.timedelta = DEFAULT_STEP,
    horizon: dt.timedelta | None = None,
    as_of: dt.datetime | None = None,
    severity: Severity = "warning",
    progress: Callable[[str, float], None] | None = None,
) -> BacktestReport:
    """Score every rule, the built-in baselines and each pack as a whole (docs/backtesting.md).

    Deal rules are scored on the snapshot labels of `salesradar.alerts.outcomes`; the other
    entity types on their outcome events (`OUTCOMES`). When the deal labels cannot be scored
    (no closed outcome in the window, a horizon longer than the history) and only deal rules
    were asked for, `BacktestError` names what is missing; otherwise each deal rule carries
    that message as its note.
    """
    steps = replay_steps(start, end, step)
    horizon, observed_until = observation_bounds(start, end, horizon, as_of)
    weeks = len(steps) * step / dt.timedelta(weeks=1)
    report = BacktestReport(
        scores=[],
        start=start,
        end=end,
        step=step,
        horizon=horizon,
        observed_until=observed_until,
        snapshots=len(steps),
    )
    ordered = sorted(rules, key=lambda rule: rule.key)
    deal_keys = set()
    for rule in ordered:
        try:
            if is_deal_rule(rule):
                deal_keys.add(rule.key)
        except Exception:  # an unknown metric is reported as the rule's error below
            pass
    deals: DealFrame | None = None
    if deal_keys:
        try:
            deals = label_deals(steps, horizon=horizon, observed_until=observed_until, weeks=weeks)
        except BacktestError as error:
            if len(deal_keys) == len(ordered):
                raise
            report.deal_problem = str(error)
    pack_flags: dict[str, list[pd.DataFrame]] = defaultdict(list)
    for rule in ordered:
        began = time.monotonic()
        try:
            if rule.key in deal_keys:
                if deals is None:
                    report.scores.append(
                        RuleScore(
                            rule=rule.key, entity_type="opportunity", note=report.deal_problem
                        )
                    )
                    continue
                score, flags = score_deal_rule(rule, steps, deals, severity=severity)
                if flags is not None:
                    pack_flags[f"pack:{rule.pack or '-'}"].append(flags)
                    concern = getattr(rule, "concern", None)
                    if concern is not None:
                        pack_flags[f"group:{concern.key}"].append(flags)
                report.scores.append(score)
            else:
                report.scores.append(
                    score_rule(
                        rule,
                        steps,
                        horizon=horizon,
                        observed_until=observed_until,
                        weeks=weeks,
                        severity=severity,
                    )
                )
        except Exception as error:  # one broken rule must not stop the others
            logger.exception("backtest of rule %s failed", rule.key)
            report.scores.append(
                RuleScore(
                    rule=rule.key,
                    entity_type=entity_type_for(rule.grain),
                    error=f"{type(error).__name__}: {error}",
                )
            )
        if progress is not None:
            progress(rule.key, time.monotonic() - began)
    if deals is not None:
        for pack, frames in sorted(pack_flags.items()):
            pack_score = deal_outcomes.score_flags(
                pd.concat(frames, ignore_index=True),
                deals.frame,
                weeks=weeks,
                entities=deals.entities,
            )
            kind = pack.split(":")[0]
            report.packs.append(deal_score(pack, pack_score, deals, kind=kind))
        report.baselines = baseline_rows(deals)
    return report


def deal_score(
    name: str,
    score: deal_outcomes.Score,
    deals: DealFrame,
    *,
    kind: str = "rule",
    curve: Sequence[CurvePoint] = (),
    note: str = "",
) -> RuleScore:
    """Turn an outcomes `Score` into a report row, with the best baseline at its recall."""
    match = best_at_recall(deals.baselines, score.recall) if kind != "baseline" else None
    return RuleScore(
        rule=name,
        entity_type="opportunity",
        population=score.in_scope,
        alerts=score.alerts,
        true_positives=score.hits,
        false_positives=score.false_positives,
        pending=score.pending,
        bad_outcomes=score.met_outcome,
        precision=score.precision,
        recall=score.recall,
        median_lead_days=score.median_lead_days,
        false_alarms_per_rep_week=score.false_alarms_per_rep_week,
        reps=score.owners,
        weeks=score.weeks,
        outcome_kinds=score.outcome_kinds,
        outcome=str(deal_outcomes.OPPORTUNITY_OUTCOME),
        note=note,
        base_rate=score.base_rate,
        lift=score.lift,
        late=score.late,
        lead_days_p25=score.lead_days_p25,
        lead_days_p75=score.lead_days_p75,
        alerts_per_rep_week=score.alerts_per_rep_week,
        best_baseline=match.label() if match else "",
        best_baseline_precision=match.precision if match else None,
        best_baseline_recall=match.recall if match else None,
        precision_over_baseline=(
            score.precision - match.precision
            if match is not None and score.precision is not None
            else None
        ),
        kind=kind,
        curve=[point.as_dict() for point in curve],
    )


def baseline_rows(deals: DealFrame) -> list[RuleScore]:
    """One row per named baseline point (rotting>7, >14, >30, ...), with its family's curve."""
    rows = []
    for baseline in deals.baselines:
        for level in baseline.named:
            point = baseline.point(level)
            if point is None:
                continue
            name = "flag_all" if baseline.key == "flag_all" else f"{baseline.key}>{level:g}"
            rows.append(
                deal_score(
                    f"baseline:{name}", point.score, deals, kind="baseline", curve=baseline.curve
                )
            )
    return rows


def score_deal_rule(
    rule: Rule, steps: Sequence[dt.datetime], deals: DealFrame, *, severity: Severity
) -> tuple[RuleScore, pd.DataFrame | None]:
    """Score one deal rule on the shared snapshot labels; return its row and its flags."""
    condition = build_condition(rule.condition, f"rule {rule.key}.condition")
    threshold = isinstance(condition, Threshold)
    result = replay(rule, steps, None, severity=severity, keep_series=threshold)
    if not result.first_seen:
        return RuleScore(
            rule=rule.key, entity_type="opportunity", note=no_history(rule, steps)
        ), None
    flags = deal_outcomes.flags_frame((case[0], flag.at) for case, flag in result.flags.items())
    score = deal_outcomes.score_flags(
        flags, deals.frame, weeks=deals.weeks, entities=deals.entities
    )
    curve: list[CurvePoint] = []
    if isinstance(condition, Threshold):
        curve = threshold_curve(result, condition.op, deals, current=condition_levels(condition))
    return deal_score(rule.key, score, deals, curve=curve), flags


def no_history(rule: Rule, steps: Sequence[dt.datetime]) -> str:
    return _(
        "the metric {metric} has no history in the rule's scope from {start} to {end}: it "
        "returned no rows at any step, so there is nothing to score"
    ).format(
        metric=rule.metric, start=steps[0].date().isoformat(), end=steps[-1].date().isoformat()
    )


def condition_levels(condition: Threshold) -> dict[float, str]:
    current = {}
    if condition.danger is not None:
        current[round(condition.danger, 2)] = "danger"
    if condition.warning is not None:
        current[round(condition.warning, 2)] = "warning"
    return current


def series_frame(result: Replay) -> pd.DataFrame:
    """Every value a replay saw as a frame (entity, snapshot, value)."""
    return pd.DataFrame(
        [
            (entity_id, result.steps[index], value)
            for entity_id, by_step in result.series.items()
            for index, value in by_step.items()
            if value is not None and math.isfinite(value)
        ],
        columns=["entity", "snapshot", "value"],
    ).astype({"entity": "int64"})


def threshold_curve(
    result: Replay, op: str, deals: DealFrame, *, current: Mapping[float, str]
) -> list[CurvePoint]:
    """Score the rule at every candidate level (quantiles of its values, its own levels).

    The curve applies the level alone, without the ``for`` clause: it shows how well the
    metric separates good from bad deals, from the loosest level to the strictest.
    """
    values = series_frame(result)
    if values.empty:
        return []
    values["snapshot"] = pd.to_datetime(values["snapshot"], utc=True)
    ordered = sorted(values["value"].tolist())
    candidates = {quantile(ordered, q) for q in SUGGESTION_QUANTILES} | set(current)
    compare = COMPARE[op]
    points = []
    for level in sorted(candidates, reverse=op in ("<", "<=")):
        chosen = values.loc[compare(values["value"], level)]
        score = deal_outcomes.score_flags(
            chosen[["entity", "snapshot"]], deals.frame, weeks=deals.weeks, entities=deals.entities
        )
        points.append(CurvePoint(float(level), score))
    return points


def score_rule(
    rule: Rule,
    steps: Sequence[dt.datetime],
    *,
    horizon: dt.timedelta,
    observed_until: dt.datetime,
    weeks: float,
    severity: Severity,
) -> RuleScore:
    metric = get_metric(rule.metric)
    entity_type = entity_type_for(metric.grain)
    outcome = outcome_for(rule)
    result = replay(rule, steps, outcome, severity=severity)
    if outcome is None:
        return RuleScore(
            rule=rule.key,
            entity_type=entity_type,
            population=len(result.first_seen),
            alerts=len(result.flags),
            note=unscored_reason(rule),
        )
    if not result.first_seen:
        return RuleScore(rule=rule.key, entity_type=entity_type, note=no_history(rule, steps))
    facts = outcome.facts(result.first_seen.keys(), steps[0], observed_until)
    counts = tally(
        {case: flag.at for case, flag in result.flags.items()},
        facts,
        result.first_seen,
        outcome,
        horizon=horizon,
        observed_until=observed_until,
    )
    reps = count_reps(rule, steps[-1])
    population = len(result.first_seen)
    base_rate = counts.bad_outcomes / population if population else None
    return RuleScore(
        rule=rule.key,
        entity_type=entity_type,
        population=population,
        alerts=counts.alerts,
        true_positives=counts.true_positives,
        false_positives=counts.false_positives,
        pending=counts.pending,
        bad_outcomes=counts.bad_outcomes,
        precision=counts.precision,
        recall=counts.recall,
        median_lead_days=counts.median_lead_days,
        false_alarms_per_rep_week=false_alarm_rate(counts.false_positives, reps, weeks),
        reps=reps,
        weeks=weeks,
        outcome_kinds=counts.outcome_kinds,
        outcome=str(outcome.description),
        base_rate=base_rate,
        lift=(counts.precision / base_rate if counts.precision is not None and base_rate else None),
        alerts_per_rep_week=counts.alerts / reps / weeks if reps and weeks else None,
    )


def false_alarm_rate(false_positives: int, reps: int, weeks: float) -> float | None:
    return false_positives / reps / weeks if reps and weeks else None


def outcome_for(rule: Rule) -> Outcome | None:
    """Return the outcome a rule is scored against; data-health rules and org rules have none."""
    metric = get_metric(rule.metric)
    if metric.source == "data_health":
        return None
    return OUTCOMES.get(entity_type_for(metric.grain))


def unscored_reason(rule: Rule) -> str:
    metric = get_metric(rule.metric)
    if metric.source == "data_health":
        return _("data-health rule: it guards the data, it does not predict an outcome")
    return _("no outcome is defined for the grain {grain}").format(grain=metric.grain)


# --------------------------------------------------------------------------- suggestions


def suggest_thresholds(
    rule: Rule,
    *,
    start: dt.datetime,
    end: dt.datetime,
    step: dt.timedelta = DEFAULT_STEP,
    target_precision: float = 0.7,
    target_recall: float | None = None,
    horizon: dt.timedelta | None = None,
    as_of: dt.datetime | None = None,
) -> list[Suggestion]:
    """Score a grid of levels for a threshold rule from one replay; mark the one to use.

    Candidates are the 5 %, 10 %, ... 95 % quantiles of every value the rule's metric
    returned during the replay (rounded to two decimals), plus the rule's own warning and
    danger levels; they come back from the loosest (most alerts) to the strictest. With
    ``target_recall`` the recommended level is the one with the highest lift among those
    catching at least that share of bad outcomes; otherwise the one that catches the most
    (highest recall) among those whose precision reaches ``target_precision``. Ties go to
    fewer alerts. Deal rules are scored on the snapshot labels and each level is set
    against the best baseline at its recall (``beats_baseline``).
    """
    condition = build_condition(rule.condition, f"rule {rule.key}.condition")
    if not isinstance(condition, Threshold):
        raise BacktestError(
            _(
                "rule {rule} has a {kind} condition; threshold suggestions work only for "
                "threshold conditions, which have a single level to move"
            ).format(rule=rule.key, kind=condition.kind)
        )
    if not 0 < target_precision <= 1:
        raise BacktestError(_("the target precision must be above 0 and at most 1"))
    if target_recall is not None and not 0 < target_recall <= 1:
        raise BacktestError(_("the target recall must be above 0 and at most 1"))
    outcome = outcome_for(rule)
    if outcome is None:
        raise BacktestError(
            _("rule {rule} cannot be scored: {reason}").format(
                rule=rule.key, reason=unscored_reason(rule)
            )
        )
    steps = replay_steps(start, end, step)
    horizon, observed_until = observation_bounds(start, end, horizon, as_of)
    weeks = len(steps) * step / dt.timedelta(weeks=1)
    deals = (
        label_deals(steps, horizon=horizon, observed_until=observed_until, weeks=weeks)
        if is_deal_rule(rule)
        else None
    )
    result = replay(rule, steps, outcome, keep_series=True)
    values = sorted(
        value
        for by_step in result.series.values()
        for value in by_step.values()
        if value is not None and math.isfinite(value)
    )
    if not values:
        raise BacktestError(
            _(
                "rule {rule} saw no values from {start} to {end}; there is nothing to learn from"
            ).format(rule=rule.key, start=start.date().isoformat(), end=end.date().isoformat())
        )
    for_clause = parse_for(rule.for_clause or None, f"rule {rule.key}.for")
    current = condition_levels(condition)
    candidates = {quantile(values, q) for q in SUGGESTION_QUANTILES} | set(current)
    tighter_is_higher = condition.op in (">", ">=")
    levels = sorted(candidates, reverse=not tighter_is_higher)
    if deals is not None:
        suggestions = [
            deal_suggestion(
                condition.op,
                level,
                flags_at_level(result, outcome, condition.op, level, for_clause),
                deals,
                current.get(level, ""),
            )
            for level in levels
        ]
    else:
        facts = outcome.facts(result.first_seen.keys(), steps[0], observed_until)
        reps = count_reps(rule, steps[-1])
        suggestions = []
        for threshold in levels:
            flags = flags_at_level(result, outcome, condition.op, threshold, for_clause)
            counts = tally(
                flags,
                facts,
                result.first_seen,
                outcome,
                horizon=horizon,
                observed_until=observed_until,
            )
            base_rate = counts.bad_outcomes / len(result.first_seen) if result.first_seen else None
            suggestions.append(
                Suggestion(
                    op=condition.op,
                    threshold=threshold,
                    alerts=counts.alerts,
                    true_positives=counts.true_positives,
                    false_positives=counts.false_positives,
                    pending=counts.pending,
                    bad_outcomes=counts.bad_outcomes,
                    precision=counts.precision,
                    recall=counts.recall,
                    median_lead_days=counts.median_lead_days,
                    false_alarms_per_rep_week=false_alarm_rate(counts.false_positives, reps, weeks),
                    current=current.get(threshold, ""),
                    base_rate=base_rate,
                    lift=(
                        counts.precision / base_rate
                        if counts.precision is not None and base_rate
                        else None
                    ),
                )
            )
    return mark_recommended(suggestions, target_precision, target_recall)


def deal_suggestion(
    op: str, level: float, flags: Mapping[Case, dt.datetime], deals: DealFrame, current: str
) -> Suggestion:
    frame = deal_outcomes.flags_frame((case[0], at) for case, at in flags.items())
    score = deal_outcomes.score_flags(
        frame, deals.frame, weeks=deals.weeks, entities=deals.entities
    )
    match = best_at_recall(deals.baselines, score.recall)
    return Suggestion(
        op=op,
        threshold=level,
        alerts=score.alerts,
        true_positives=score.hits,
        false_positives=score.false_positives,
        pending=score.pending,
        bad_outcomes=score.met_outcome,
        precision=score.precision,
        recall=score.recall,
        median_lead_days=score.median_lead_days,
        false_alarms_per_rep_week=score.false_alarms_per_rep_week,
        current=current,
        base_rate=score.base_rate,
        lift=score.lift,
        best_baseline=match.label() if match else "",
        best_baseline_precision=match.precision if match else None,
        beats_baseline=(
            None
            if score.precision is None or score.recall in (None, 0.0)
            else match is None or score.precision > match.precision
        ),
    )


def quantile(values: Sequence[float], q: float) -> float:
    """Return the nearest-rank ``q`` quantile of sorted ``values``, rounded to two decimals."""
    rank = max(1, math.ceil(q * len(values)))
    return round(values[rank - 1], 2)


def flags_at_level(
    result: Replay, outcome: Outcome, op: str, threshold: float, for_clause: ForClause
) -> dict[Case, dt.datetime]:
    """Return each case's first flag had the rule used ``op threshold`` as its only level.

    The ``for`` clause is applied over the replay's steps: a duration from the first step of
    an unbroken run of crossings, "N of M" over the last M steps.
    """
    compare = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}[op]
    flags: dict[Case, dt.datetime] = {}
    for entity_id, by_step in result.series.items():
        run_start: dt.datetime | None = None
        recent: deque[bool] = deque(maxlen=for_clause.m or 1)
        for index, at in enumerate(result.steps):
            value = by_step.get(index)
            crossed = value is not None and compare(value, threshold)
            recent.append(crossed)
            if not crossed:
                run_start = None
                continue
            run_start = run_start or at
            if for_clause.n is not None:
                held = sum(recent) >= for_clause.n
            else:
                held = for_clause.duration is None or at - run_start >= for_clause.duration
            if held:
                flags.setdefault(outcome.case(entity_id, at), at)
    return flags


def mark_recommended(
    suggestions: list[Suggestion], target_precision: float, target_recall: float | None = None
) -> list[Suggestion]:
    """Mark the level to use: the highest lift at the requested recall, or the highest
    recall at the requested precision; never simply the loosest level."""
    if target_recall is not None:
        reaching = [
            (index, suggestion)
            for index, suggestion in enumerate(suggestions)
            if suggestion.recall is not None
            and suggestion.recall >= target_recall
            and suggestion.precision is not None
        ]

        def rank(item: tuple[int, Suggestion]) -> tuple[float, ...]:
            return (item[1].lift or item[1].precision or 0.0, -item[1].alerts, item[0])
    else:
        reaching = [
            (index, suggestion)
            for index, suggestion in enumerate(suggestions)
            if suggestion.precision is not None and suggestion.precision >= target_precision
        ]

        def rank(item: tuple[int, Suggestion]) -> tuple[float, ...]:
            return (item[1].recall or 0.0, -item[1].alerts, -item[0])

    if not reaching:
        return suggestions
    best, _suggestion = max(reaching, key=rank)
    return [
        Suggestion(**{**asdict(suggestion), "recommended": index == best})
        for index, suggestion in enumerate(suggestions)
    ]


# --------------------------------------------------------------------------- outcomes


def quarter_end(first: dt.date) -> dt.datetime:
    """Return the moment the quarter starting on ``first`` ends (local midnight)."""
    return local_midnight(quarter_bounds(local_midnight(first))[1])


def end_of_day(day: dt.date) -> dt.datetime:
    return local_midnight(day + DAY)


def chunked(ids: Collection[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for begin in range(0, len(ordered), ID_CHUNK):
        yield ordered[begin : begin + ID_CHUNK]


def entity_ids(cases: Collection[Case]) -> set[int]:
    return {entity_id for entity_id, _quarter in cases}


def silences(
    boundaries: Sequence[dt.datetime], closed_at: dt.datetime | None, gap: dt.timedelta
) -> list[dt.datetime]:
    """Return the moments at which ``gap`` passed without a boundary (and before closing).

    ``boundaries`` are sorted moments something happened (a stage change, an activity);
    after the last one the silence runs until ``closed_at``, or on without end.
    """
    moments = []
    for index, begin in enumerate(boundaries):
        following = boundaries[index + 1] if index + 1 < len(boundaries) else closed_at
        if following is None or following > begin + gap:
            moments.append(begin + gap)
    return moments


class Facts:
    """What happened to a set of cases by ``until``: bad outcome events after ``since``, and
    when a case was settled (closed, paid, contacted) so that no bad outcome can follow."""

    def __init__(self, since: dt.datetime, until: dt.datetime) -> None:
        self.since = since
        self.until = until
        self.events: dict[Case, list[OutcomeEvent]] = defaultdict(list)
        self.settled: dict[Case, dt.datetime] = {}

    def add(self, case: Case, at: dt.datetime, kind: str) -> None:
        if self.since < at <= self.until:
            self.events[case].append(OutcomeEvent(at, kind))

    def settle(self, case: Case, at: dt.datetime | None) -> None:
        if at is not None and at <= self.until:
            self.settled[case] = min(at, self.settled.get(case, at))


def opportunity_facts(cases: Collection[Case], since: dt.datetime, until: dt.datetime) -> Facts:
    """Lost (closed in a lost stage), or stalled: 30 days open without a stage change.

    Settled when closed, won or lost.
    """
    facts = Facts(since, until)
    gap = STALL_DAYS * DAY
    for ids in chunked(entity_ids(cases)):
        changes: dict[int, list[dt.datetime]] = defaultdict(list)
        for opportunity_id, changed_at in (
            StageChange.objects.filter(
                opportunity_id__in=ids, changed_at__gt=since - gap, changed_at__lte=until
            )
            .order_by("opportunity_id", "changed_at", "id")
            .values_list("opportunity_id", "changed_at")
        ):
            changes[opportunity_id].append(changed_at)
        for pk, created_at, closed_at, is_lost in Opportunity.objects.filter(
            pk__in=ids
        ).values_list("pk", "created_at", "closed_at", "stage__is_lost"):
            case = (pk, None)
            closed = closed_at if closed_at is not None and closed_at <= until else None
            if closed is not None and is_lost:
                facts.add(case, closed, "lost")
            facts.settle(case, closed)
            # Changes older than the gap cannot start a stall that ends after ``since``.
            moments = {created_at, *changes[pk]} if created_at > since - gap else {*changes[pk]}
            boundaries = sorted(moment for moment in moments if moment != closed)
            for moment in silences(boundaries, closed, gap):
                facts.add(case, moment, "stalled")
    return facts


def quote_facts(cases: Collection[Case], since: dt.datetime, until: dt.datetime) -> Facts:
    """Its opportunity was lost, or the quote was still unanswered 7 days after the request.

    Settled when its opportunity closed.
    """
    facts = Facts(since, until)
    wait = QUOTE_UNANSWERED_DAYS * DAY
    for ids in chunked(entity_ids(cases)):
        for pk, requested_at, sent_at, closed_at, is_lost in Quote.objects.filter(
            pk__in=ids
        ).values_list(
            "pk",
            "requested_at",
            "sent_at",
            "opportunity__closed_at",
            "opportunity__stage__is_lost",
        ):
            case = (pk, None)
            if closed_at is not None and is_lost:
                facts.add(case, closed_at, "opportunity_lost")
            facts.settle(case, closed_at)
            overdue_at = requested_at + wait
            unanswered = sent_at is None or sent_at > overdue_at
            still_open = closed_at is None or closed_at > overdue_at
            if unanswered and still_open:
                facts.add(case, overdue_at, "unanswered")
    return facts


CONTRACT_FIELDS = ("pk", "customer_id", "ends_on", "status", "renewals__signed_at")


def contract_endings(
    rows: Sequence[tuple[int, int, dt.date, str, dt.datetime | None]],
) -> tuple[dict[int, tuple[int, dt.datetime]], dict[int, dt.datetime]]:
    """Split contract rows into those that ended without renewal and those renewed.

    Returns contract -> (customer, end) for the first and contract -> moment of renewal for
    the second. A renewal is a contract renewing it signed by 30 days after the end (the
    moment it was signed), or the status ``renewed`` (the end, having no better moment).
    """
    grace = RENEWAL_GRACE_DAYS * DAY
    ends: dict[int, tuple[int, dt.datetime]] = {}
    renewed: dict[int, dt.datetime] = {}
    for pk, customer_id, ends_on, status, renewal_signed_at in rows:
        ends_at = end_of_day(ends_on)
        ends[pk] = (customer_id, ends_at)
        if renewal_signed_at is not None and renewal_signed_at <= ends_at + grace:
            renewed[pk] = min(renewal_signed_at, renewed.get(pk, renewal_signed_at))
        elif status == "renewed":
            renewed.setdefault(pk, ends_at)
    ended = {pk: ending for pk, ending in ends.items() if pk not in renewed}
    return ended, renewed


def contract_facts(cases: Collection[Case], since: dt.datetime, until: dt.datetime) -> Facts:
    """The contract ended without a renewal contract signed by 30 days after its end.

    The end counts once those 30 days have passed; settled when renewed.
    """
    facts = Facts(since, until)
    grace = RENEWAL_GRACE_DAYS * DAY
    for ids in chunked(entity_ids(cases)):
        ended, renewed = contract_endings(
            list(Contract.objects.filter(pk__in=ids).values_list(*CONTRACT_FIELDS))
        )
        for pk, (_customer_id, ends_at) in ended.items():
            if ends_at + grace <= until:
                facts.add((pk, None), ends_at, "not_renewed")
        for pk, renewed_at in renewed.items():
            facts.settle((pk, None), renewed_at)
    return facts


def customer_facts(cases: Collection[Case], since: dt.datetime, until: dt.datetime) -> Facts:
    """Churned: 60 days without any activity, marked churned, or a contract that ended
    without renewal. A customer is never settled: silence can always come."""
    facts = Facts(since, until)
    gap = CUSTOMER_SILENCE_DAYS * DAY
    grace = RENEWAL_GRACE_DAYS * DAY
    for ids in chunked(entity_ids(cases)):
        touches: dict[int, list[dt.datetime]] = defaultdict(list)
        for customer_id, occurred_at in (
            Activity.objects.filter(
                customer_id__in=ids, occurred_at__gt=since - gap, occurred_at__lte=until
            )
            .order_by("customer_id", "occurred_at")
            .values_list("customer_id", "occurred_at")
        ):
            touches[customer_id].append(occurred_at)
        for pk, created_at, lifecycle, updated_at in Customer.objects.filter(
            pk__in=ids
        ).values_list("pk", "created_at", "lifecycle", "updated_at"):
            case = (pk, None)
            # Activities older than the gap cannot start a silence that ends after ``since``.
            moments = {created_at, *touches[pk]} if created_at > since - gap else {*touches[pk]}
            for moment in silences(sorted(moments), None, gap):
                facts.add(case, moment, "silent")
            if lifecycle == "churned":
                # TRICKY: no lifecycle history is kept, so the last update stands for the
                # moment the customer was marked churned.
                facts.add(case, updated_at, "churned")
        contracts = Contract.objects.filter(
            customer_id__in=ids, ends_on__gte=(since - DAY).astimezone(local_zone()).date()
        )
        ended, _renewed = contract_endings(list(contracts.values_list(*CONTRACT_FIELDS)))
        for customer_id, ends_at in ended.values():
            if ends_at + grace <= until:
                facts.add((customer_id, None), ends_at, "contract_not_renewed")
    return facts


def invoice_facts(cases: Collection[Case], since: dt.datetime, until: dt.datetime) -> Facts:
    """Still unpaid 30 days after the due date. Settled when paid."""
    facts = Facts(since, until)
    for ids in chunked(entity_ids(cases)):
        for pk, due_on, paid_at in Invoice.objects.filter(pk__in=ids).values_list(
            "pk", "due_on", "paid_at"
        ):
            late_at = local_midnight(due_on + INVOICE_LATE_DAYS * DAY)
            if paid_at is None or paid_at > late_at:
                facts.add((pk, None), late_at, "unpaid")
            facts.settle((pk, None), paid_at)
    return facts


def lead_facts(cases: Collection[Case], since: dt.datetime, until: dt.datetime) -> Facts:
    """Not contacted within 7 days of being assigned. Settled by the first contact."""
    facts = Facts(since, until)
    wait = LEAD_COLD_DAYS * DAY
    for ids in chunked(entity_ids(cases)):
        for pk, assigned_at, first_contact_at in Lead.objects.filter(
            pk__in=ids, assigned_at__isnull=False
        ).values_list("pk", "assigned_at", "first_contact_at"):
            if assigned_at is None:  # excluded by the filter; keeps the type checker sure
                continue
            cold_at = assigned_at + wait
            if first_contact_at is None or first_contact_at > cold_at:
                facts.add((pk, None), cold_at, "not_contacted")
            facts.settle((pk, None), first_contact_at)
    return facts


def quarter_range(cases: Collection[Case]) -> tuple[dt.date, dt.date]:
    quarters = sorted(quarter for _entity_id, quarter in cases if quarter is not None)
    return quarters[0], quarter_bounds(local_midnight(quarters[-1]))[1]


def quarter_targets(
    rows: Sequence[tuple[Any, str, dt.date, Any]],
) -> dict[tuple[Any, dt.date], float]:
    """Sum (owner, period, start, value) rows per owner and quarter: a quarterly target where
    one is set, else the sum of the monthly targets."""
    monthly: dict[tuple[Any, dt.date], float] = defaultdict(float)
    quarterly: dict[tuple[Any, dt.date], float] = defaultdict(float)
    for owner, period, period_start, value in rows:
        first = quarter_bounds(local_midnight(period_start))[0]
        chosen = quarterly if period == "quarter" else monthly
        chosen[(owner, first)] += float(value)
    return {**monthly, **quarterly}


def won_by_quarter(
    rows: Sequence[tuple[Any, dt.datetime | None, Any]],
) -> dict[tuple[Any, dt.date], float]:
    won: dict[tuple[Any, dt.date], float] = defaultdict(float)
    for owner, closed_at, amount in rows:
        if closed_at is not None:
            won[(owner, quarter_bounds(closed_at)[0])] += float(amount)
    return won


def add_missed_targets(
    facts: Facts,
    cases: Collection[Case],
    targets: Mapping[tuple[Any, dt.date], float],
    won: Mapping[tuple[Any, dt.date], float],
) -> None:
    """Add an event at the end of each case's quarter when less than the target was won."""
    for case in cases:
        entity_id, quarter = case
        if quarter is None:
            continue
        target = targets.get((entity_id, quarter), 0.0)
        if target > 0 and won.get((entity_id, quarter), 0.0) < target:
            facts.add(case, quarter_end(quarter), "target_missed")


def rep_facts(cases: Collection[Case], since: dt.datetime, until: dt.datetime) -> Facts:
    """Won less than the quarter's won-amount target (a quarterly target, else the sum of the
    monthly ones); known when the quarter ends."""
    facts = Facts(since, until)
    if not cases:
        return facts
    first, last = quarter_range(cases)
    for ids in chunked(entity_ids(cases)):
        targets = quarter_targets(
            list(
                Target.objects.filter(
                    user_id__in=ids,
                    measure="won_amount",
                    period__in=("month", "quarter"),
                    period_start__gte=first,
                    period_start__lt=last,
                ).values_list("user_id", "period", "period_start", "value")
            )
        )
        won = won_by_quarter(
            list(
                Opportunity.objects.filter(
                    owner_id__in=ids,
                    stage__is_won=True,
                    closed_at__gte=local_midnight(first),
                    closed_at__lt=local_midnight(last),
                ).values_list("owner_id", "closed_at", "amount")
            )
        )
        chunk = set(ids)
        add_missed_targets(facts, [case for case in cases if case[0] in chunk], targets, won)
    return facts


def team_facts(cases: Collection[Case], since: dt.datetime, until: dt.datetime) -> Facts:
    """The team won less than its quarter's won-amount target: its own target where one is
    set, else the sum of its reps' targets; reps of sub-teams count for their parents too."""
    facts = Facts(since, until)
    if not cases:
        return facts
    first, last = quarter_range(cases)
    paths = dict(Team.objects.filter(pk__in=entity_ids(cases)).values_list("pk", "path"))

    def teams_of(path: str | None) -> list[int]:
        return [pk for pk, team_path in paths.items() if path and path.startswith(team_path)]

    in_quarters = Q(measure="won_amount", period__in=("month", "quarter"))
    in_quarters &= Q(period_start__gte=first, period_start__lt=last)
    own_rows: list[tuple[Any, str, dt.date, Any]] = []
    rep_rows: list[tuple[Any, str, dt.date, Any]] = []
    for team_id, user_path, period, period_start, value in Target.objects.filter(
        in_quarters & (Q(team_id__in=list(paths)) | Q(user__isnull=False))
    ).values_list("team_id", "user__team__path", "period", "period_start", "value"):
        if team_id is not None:
            own_rows.append((team_id, period, period_start, value))
        else:
            rep_rows.extend((pk, period, period_start, value) for pk in teams_of(user_path))
    targets = {**quarter_targets(rep_rows), **quarter_targets(own_rows)}
    won_rows: list[tuple[Any, dt.datetime | None, Any]] = []
    for path, closed_at, amount in Opportunity.objects.filter(
        stage__is_won=True,
        closed_at__gte=local_midnight(first),
        closed_at__lt=local_midnight(last),
    ).values_list("owner__team__path", "closed_at", "amount"):
        won_rows.extend((pk, closed_at, amount) for pk in teams_of(path))
    add_missed_targets(facts, cases, targets, won_by_quarter(won_rows))
    return facts


OUTCOMES: dict[str, Outcome] = {
    outcome.entity_type: outcome
    for outcome in (
        Outcome(
            "opportunity",
            gettext_lazy("lost, or 30 days open without a stage change"),
            opportunity_facts,
        ),
        Outcome(
            "quote",
            gettext_lazy("its opportunity lost, or still unanswered 7 days after the request"),
            quote_facts,
        ),
        Outcome(
            "customer",
            gettext_lazy(
                "60 days without any activity, marked churned, or a contract ended without renewal"
            ),
            customer_facts,
        ),
        Outcome("invoice", gettext_lazy("still unpaid 30 days after the due date"), invoice_facts),
        Outcome("contract", gettext_lazy("ended without a renewal contract"), contract_facts),
        Outcome("lead", gettext_lazy("not contacted within 7 days of assignment"), lead_facts),
        Outcome(
            "user",
            gettext_lazy("won less than the quarter's won-amount target"),
            rep_facts,
            per_quarter=True,
        ),
        Outcome(
            "team",
            gettext_lazy("the team won less than the quarter's won-amount target"),
            team_facts,
            per_quarter=True,
        ),
    )
}
