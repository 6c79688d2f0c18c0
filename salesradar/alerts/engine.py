"""Evaluate rules: metric rows in, alert transitions out, one pass, pure in ``at``.

For each enabled rule the engine computes its metric for every entity of the scope at once,
judges each entity's value with the rule's condition, works out whether the ``for`` clause
holds, and steps each alert through the lifecycle state machine. New alerts, changed alerts
and their events are written in bulk. Rules that others depend on (data health) or that
inhibit others run first, so inhibition is decided on this pass's facts. Running the same
evaluation twice at the same ``at`` changes nothing.

The scale mode shares one pass among workers (``alerts.tasks``): each rule is cut into
chunks (``rule_chunks``), one per top-level team subtree plus the owners outside them,
each computed set-based for its scope (``evaluate_chunk``); a finishing step
(``finish_split_rules``) then clears what no chunk observed and sets each rule's status,
so the result is the single pass's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.accounts.models import Team
from salesradar.accounts.visibility import in_team_subtree
from salesradar.alerts.choices import AlertState, CheckOutcome, EventKind, RuleStatus
from salesradar.alerts.conditions import (
    Condition,
    Threshold,
    Verdict,
    build_condition,
    n_of_m,
    parse_for,
)
from salesradar.alerts.grouping import group_alerts
from salesradar.alerts.lifecycle import (
    AlertSnapshot,
    Observation,
    Transition,
    event_rows,
    snapshot_of,
    step,
)
from salesradar.alerts.models import Alert, AlertCheck, AlertEvent, Rule
from salesradar.core.bulk import update_from_values
from salesradar.metrics.registry import (
    Metric,
    MetricRow,
    Scope,
    compute,
    get_metric,
    metric_pass,
)

logger = logging.getLogger(__name__)

ENTITY_TYPES = {"rep": "user"}
ACTIVE_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED)
SNAPSHOT_FIELDS = tuple(item.name for item in dataclasses.fields(AlertSnapshot))


def entity_type_for(grain: str) -> str:
    return ENTITY_TYPES.get(grain, grain)


@dataclass
class Finding:
    """What the engine concluded about one entity for one rule."""

    entity_id: int
    observation: Observation
    owner_id: int | None
    team_id: int | None
    context: dict[str, Any] = field(default_factory=dict)
    since: dt.datetime | None = None  # when the condition began to hold, known from the data


@dataclass
class RuleOutcome:
    rule: str
    metric: str
    rows: int = 0
    seconds: float = 0.0
    error: str = ""
    events: int = 0
    matched: int = 0
    attempts: int = 1
    outcome: str = CheckOutcome.OK
    kinds: dict[str, int] = field(default_factory=dict)
    observed: list[int] = field(default_factory=list)  # split chunks: seen, not rewritten


@dataclass
class EvaluationReport:
    at: dt.datetime
    outcomes: list[RuleOutcome] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(outcome.events for outcome in self.outcomes)


def rule_scope(rule: Rule) -> Scope:
    raw = rule.scope or {}
    codes = raw.get("teams") or []
    teams = dict(Team.objects.filter(code__in=codes).values_list("code", "pk"))
    missing = sorted(set(codes) - set(teams))
    if missing:
        raise ValueError(
            _("the scope names teams that no longer exist: {codes}").format(codes=missing)
        )
    return Scope(
        team_ids=tuple(teams.values()),
        tiers=tuple(raw.get("tiers") or ()),
        stages=tuple(raw.get("stages") or ()),
        process=raw.get("process") or "",
        params=dict(raw.get("params") or {}),
    )


def judge_series(
    condition: Condition, rows: Sequence[MetricRow], evaluations: int
) -> list[Verdict]:
    """Judge the last ``evaluations`` periods of one entity, each against what came before."""
    values = [row.value for row in rows]
    context = rows[-1].context if rows else {}
    verdicts = []
    for end in range(max(1, len(values) - evaluations + 1), len(values) + 1):
        verdicts.append(condition.judge(values[end - 1], values[: end - 1], context))
    return verdicts


def observe_rule(
    rule: Rule, metric: Metric, at: dt.datetime, scope: Scope | None = None
) -> tuple[list[Finding], int]:
    """Compute the rule's metric and judge every entity; return findings and the row count.

    ``scope`` narrows the rule's own scope to one chunk of a pass shared among workers.
    """
    where = f"rule {rule.key}"
    condition = build_condition(rule.condition, f"{where}.condition")
    for_clause = parse_for(rule.for_clause or None, f"{where}.for")
    scope = scope or rule_scope(rule)
    params = scope.params
    history = int(params.get("history", 12))
    evaluations = for_clause.m or 1
    rows = compute(
        metric,
        at=at,
        scope=scope,
        period=params.get("period", metric.default_period),
        periods=history + evaluations,
    )
    findings: list[Finding] = []
    if metric.per_period:
        series: dict[int, list[MetricRow]] = defaultdict(list)
        for row in rows:
            series[row.entity_id].append(row)
        for entity_id, entity_rows in series.items():
            entity_rows.sort(key=lambda row: row.period or dt.date.min)
            verdicts = judge_series(condition, entity_rows, evaluations)
            current = verdicts[-1]
            held = (
                n_of_m(verdicts, for_clause.n, for_clause.m)
                if for_clause.n is not None and for_clause.m is not None
                else True
            )
            last = entity_rows[-1]
            findings.append(
                Finding(
                    entity_id,
                    observation(current, held),
                    last.owner_id,
                    last.team_id,
                    {"period": last.period.isoformat() if last.period else None},
                )
            )
    else:
        for row in rows:
            verdict = condition.judge(row.value, [], row.context)
            findings.append(
                Finding(
                    row.entity_id,
                    observation(verdict, True),
                    row.owner_id,
                    row.team_id,
                    dict(row.context),
                    crossing_time(condition, metric, row, at) if verdict.severity != "ok" else None,
                )
            )
    return findings, len(rows)


def crossing_time(
    condition: Condition, metric: Metric, row: MetricRow, at: dt.datetime
) -> dt.datetime | None:
    """Return when a rising threshold on time elapsed was crossed, worked back from the value.

    A quote unanswered for 50 hours against a 48-hour threshold crossed it 2 hours ago. Only
    thresholds that a value growing with time crosses upwards qualify; None otherwise.
    """
    per_unit = metric.time_per_unit(row)
    if per_unit is None or row.value is None or not isinstance(condition, Threshold):
        return None
    if condition.op not in (">", ">="):
        return None
    levels = [level for level in (condition.warning, condition.danger) if level is not None]
    excess = row.value - min(levels)
    if excess < 0:
        return None
    return at - per_unit * excess


def observation(verdict: Verdict, held: bool) -> Observation:
    return Observation(
        severity=verdict.severity,
        value=verdict.value,
        threshold=verdict.threshold,
        reference=verdict.reference,
        message=verdict.detail,
        held=held,
    )


def apply_duration_clause(
    finding: Finding, existing: Alert | None, duration: dt.timedelta | None, at: dt.datetime
) -> Observation:
    """A duration ``for`` holds once the condition has been true that long in this episode."""
    obs = finding.observation
    if duration is None or obs.severity not in ("warning", "danger"):
        return obs
    counting = (AlertState.PENDING, AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED)
    # An alert coming back from no data or an error starts counting its condition again.
    started = existing.started_at if existing is not None and existing.state in counting else at
    return replace(obs, held=at - started >= duration)


def order_rules(rules: Sequence[Rule]) -> list[Rule]:
    """Put rules that others depend on or inhibit first."""
    first = {key for rule in rules for key in (rule.depends_on or [])}
    first |= {rule.key for rule in rules if rule.inhibits}
    return sorted(rules, key=lambda rule: (rule.key not in first, rule.key))


def evaluate(rules: Iterable[Rule] | None = None, *, at: dt.datetime) -> EvaluationReport:
    """Evaluate ``rules`` (default: every enabled rule) at ``at`` and record the transitions."""
    chosen = list(Rule.objects.filter(enabled=True) if rules is None else rules)
    refuse_going_back(chosen, at)
    report = EvaluationReport(at=at)
    with metric_pass():  # rules reading the same metric share one computation
        for rule in order_rules(chosen):
            report.outcomes.append(evaluate_rule(rule, at))
    if rules is None:
        retire_disabled_rules(at)
    apply_inhibitions(chosen, at)
    group_alerts(at)
    return report


def refuse_going_back(rules: Sequence[Rule], at: dt.datetime) -> None:
    """Refuse an evaluation earlier than one already recorded: it would rewrite history."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    latest = max((rule.last_evaluated_at for rule in rules if rule.last_evaluated_at), default=None)
    if latest is not None and at < latest:
        raise ValueError(
            _(
                "Rules were already evaluated at {latest}; evaluating at the earlier {at} would "
                "rewrite alert history. Use backtesting to look at the past."
            ).format(latest=latest.isoformat(), at=at.isoformat())
        )


def retire_disabled_rules(at: dt.datetime) -> None:
    """Resolve the open alerts of rules switched off, so they neither linger nor inhibit."""
    open_alerts = Alert.objects.exclude(state=AlertState.RESOLVED)
    for rule in Rule.objects.filter(enabled=False, pk__in=open_alerts.values("rule_id")):
        with transaction.atomic():
            record_findings(rule, entity_type_for(rule.grain), [], at)


TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
"""Failures of the database rather than of the rule: locked, connection lost, shut down."""
RETRY_DELAYS: tuple[float, ...] = (0.5, 2.0)
"""Seconds to wait before each retry of a rule whose evaluation hit a transient error."""
TRANSIENT_PASSES_BEFORE_ERROR = 3
"""A 'transient' error that persists this many passes in a row is taken as the rule's fault."""


def evaluate_rule(rule: Rule, at: dt.datetime) -> RuleOutcome:
    """Evaluate one rule at ``at``, retrying transient database errors, and record the check.

    A transient failure (database locked, connection lost) is retried; if it persists, the
    pass skips the rule and changes none of its alerts. A failure of the rule itself (its
    metric or scope is broken) marks the rule errored and keeps its alerts as they are:
    their acknowledgements, snoozes and escalation levels survive until it works again.
    """
    return run_check(rule, WHOLE, at)


def run_check(rule: Rule, chunk: Chunk, at: dt.datetime) -> RuleOutcome:
    """Evaluate the rule (or one chunk of it) with retries; record the check; never raise.

    A whole rule sets its own status. A split chunk leaves status and unobserved alerts to
    ``finish_split_rules``, which reads the chunks' checks.
    """
    outcome = RuleOutcome(rule=rule.key, metric=rule.metric)
    started = time.monotonic()
    tally: Counter[str] = Counter()
    error: Exception | None = None
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS), start=1):
        if delay:
            time.sleep(delay)
            reconnect_if_unusable()
        outcome.attempts, error, tally = attempt, None, Counter()
        try:
            with transaction.atomic():
                observe_and_record(rule, chunk, at, outcome, tally)
        except TRANSIENT_ERRORS as failure:
            logger.warning("rule %s: transient error on attempt %d: %s", rule.key, attempt, failure)
            error = failure
            continue
        except Exception as failure:  # one broken rule must not stop the others
            logger.exception("rule %s, chunk %s failed", rule.key, chunk.key)
            error = failure
        break
    outcome.seconds = time.monotonic() - started
    outcome.kinds = dict(tally)
    chunk_key = "" if chunk.whole else chunk.key
    if error is None:
        record_check(rule, at, outcome, chunk=chunk_key)
        return outcome
    outcome.error = f"{type(error).__name__}: {error}"
    outcome.events = outcome.matched = 0
    outcome.kinds = {}
    transient = isinstance(error, TRANSIENT_ERRORS) and not persistently_transient(rule, at)
    outcome.outcome = CheckOutcome.TRANSIENT if transient else CheckOutcome.RULE_ERROR
    try:
        with transaction.atomic():
            if not transient and chunk.whole:
                mark_rule_failed(rule, outcome.error, at)
            record_check(rule, at, outcome, chunk=chunk_key)
    except TRANSIENT_ERRORS:  # the database is still away: the log is all we can leave
        logger.exception("rule %s: could not record the failed check", rule.key)
    return outcome


def observe_and_record(
    rule: Rule, chunk: Chunk, at: dt.datetime, outcome: RuleOutcome, tally: Counter[str]
) -> None:
    """One attempt at evaluating the rule or chunk, inside the caller's transaction."""
    metric = get_metric(rule.metric)
    if chunk.whole:
        # one evaluator per rule at a time; people acting on its alerts wait for the write
        Rule.objects.select_for_update().filter(pk=rule.pk).first()
        findings, outcome.rows = observe_rule(rule, metric, at)
    else:
        findings, outcome.rows = observe_rule(rule, metric, at, chunk_scope(rule, chunk))
    outcome.matched = sum(1 for finding in findings if finding.observation.is_true)
    outcome.events = record_findings(
        rule,
        entity_type_for(metric.grain),
        findings,
        at,
        observed_only=not chunk.whole,
        tally=tally,
        chunk="" if chunk.whole else chunk.key,
        unchanged=outcome.observed,
    )
    if chunk.whole:
        Rule.objects.filter(pk=rule.pk).update(
            status=RuleStatus.OK, last_error="", last_evaluated_at=at
        )


def reconnect_if_unusable() -> None:
    """Drop a broken connection before retrying, so the retry opens a fresh one."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def persistently_transient(rule: Rule, at: dt.datetime) -> bool:
    """Return whether the rule's last passes all failed transiently: then it is no accident."""
    needed = TRANSIENT_PASSES_BEFORE_ERROR - 1
    recent = list(
        AlertCheck.objects.filter(rule=rule, evaluated_at__lt=at)
        .order_by("-evaluated_at")
        .values_list("outcome", flat=True)[:needed]
    )
    return len(recent) == needed and all(item == CheckOutcome.TRANSIENT for item in recent)


def mark_rule_failed(rule: Rule, message: str, at: dt.datetime) -> None:
    """Put the rule in error with the message; its alerts keep their state."""
    Rule.objects.filter(pk=rule.pk).update(
        status=RuleStatus.ERROR, last_error=message, last_evaluated_at=at
    )


def condition_snapshot(rule: Rule) -> dict[str, Any]:
    """The parts of a rule that decide what it fires on, as one check judged them."""
    return {
        "condition": rule.condition,
        "for": rule.for_clause,
        "scope": rule.scope,
        "keep_firing_for": rule.keep_firing_for.total_seconds() if rule.keep_firing_for else None,
    }


def record_check(rule: Rule, at: dt.datetime, outcome: RuleOutcome, *, chunk: str = "") -> None:
    """Write (or, for a pass run again at the same moment, rewrite) the rule's check row."""
    failed = outcome.outcome == CheckOutcome.RULE_ERROR
    was_failing = failed and (
        AlertCheck.objects.filter(rule=rule, evaluated_at__lt=at)
        .exclude(outcome=CheckOutcome.TRANSIENT)
        .order_by("-evaluated_at")
        .values_list("outcome", flat=True)
        .first()
        == CheckOutcome.RULE_ERROR
    )
    kinds = outcome.kinds
    check = AlertCheck.objects.filter(rule=rule, evaluated_at=at, chunk=chunk).first()
    if check is None:
        check = AlertCheck(rule=rule, evaluated_at=at, chunk=chunk, attempts=0)
    # A pass run again at the same moment adds to its check: what it wrote stays counted.
    check.opened += kinds.get(EventKind.OPENED, 0) + kinds.get(EventKind.REOPENED, 0)
    check.fired += kinds.get(EventKind.FIRING, 0)
    check.resolved += kinds.get(EventKind.RESOLVED, 0)
    check.events += outcome.events
    check.attempts += outcome.attempts
    check.duration_ms += round(outcome.seconds * 1000)
    check.new_failure = check.new_failure or (failed and not was_failing)
    check.rule_version = rule.version
    check.condition = condition_snapshot(rule)
    check.outcome = outcome.outcome
    check.evaluated = outcome.rows
    check.matched = outcome.matched
    check.error = outcome.error
    check.observed = sorted({*check.observed, *outcome.observed}) if chunk else []
    check.created_at = timezone.now()
    check.save()


def record_findings(
    rule: Rule,
    entity_type: str,
    findings: list[Finding],
    at: dt.datetime,
    *,
    observed_only: bool = False,
    tally: Counter[str] | None = None,
    chunk: str = "",
    unchanged: list[int] | None = None,
) -> int:
    """Step every alert of the rule that is open or observed now, and write the changes.

    With ``observed_only`` (one chunk of a shared pass) only the alerts of the entities
    observed are stepped; open alerts nobody observed are left to ``finish_split_rules``.
    Only alerts whose state changed are written; the ids of those stepped unchanged are
    added to ``unchanged``, which a chunk's check keeps for the finishing step.
    """
    by_fingerprint = {
        Alert.fingerprint_for(rule.key, entity_type, finding.entity_id): finding
        for finding in findings
    }
    relevant = [
        fingerprint
        for fingerprint, finding in by_fingerprint.items()
        if finding.observation.severity != "ok"
    ]
    open_alerts = (
        Alert.objects.select_for_update().filter(rule=rule).exclude(state=AlertState.RESOLVED)
    )
    if observed_only:
        observed = sorted(by_fingerprint)
        existing = {
            alert.fingerprint: alert
            for start in range(0, len(observed), CHUNK)
            for alert in open_alerts.filter(fingerprint__in=observed[start : start + CHUNK])
        }
    else:
        existing = {alert.fingerprint: alert for alert in open_alerts}
    for start in range(0, len(relevant), CHUNK):  # bounded IN lists for SQLite's limits
        for alert in Alert.objects.filter(
            fingerprint__in=relevant[start : start + CHUNK], state=AlertState.RESOLVED
        ):
            existing[alert.fingerprint] = alert
    duration = parse_for(rule.for_clause or None, f"rule {rule.key}.for").duration
    todo = sorted(set(relevant) | set(existing))
    written = 0
    stepped_at = last_good_check(rule, at, chunk)
    # Chunks keep memory flat when a rule touches a hundred thousand deals at once.
    for start in range(0, len(todo), CHUNK):
        written += write_chunk(
            rule,
            entity_type,
            todo[start : start + CHUNK],
            by_fingerprint,
            existing,
            duration,
            at,
            tally=tally,
            stepped_at=stepped_at,
            unchanged=unchanged,
        )
    return written


def last_good_check(rule: Rule, at: dt.datetime, chunk: str = "") -> dt.datetime | None:
    """When this rule (or this chunk of it) last stepped all its open alerts, by ``at``.

    "Last evaluated" is kept per rule check, not per alert: an alert that a check stepped
    without changing it is not rewritten, so its own ``last_evaluated_at`` only says when
    it last changed. A good check stepped every open alert it covered, so the later of the
    two is when the alert was last evaluated (what reminders count from).
    """
    return AlertCheck.objects.filter(
        rule=rule, chunk=chunk, evaluated_at__lte=at, outcome=CheckOutcome.OK
    ).aggregate(latest=Max("evaluated_at"))["latest"]


def evaluated_snapshot(alert: Alert, stepped_at: dt.datetime | None) -> AlertSnapshot:
    """The alert as ``step`` needs it, last evaluated at the rule's last good check."""
    snapshot = snapshot_of(alert)
    if (
        stepped_at is not None
        and snapshot.state != AlertState.RESOLVED
        and (snapshot.last_evaluated_at is None or snapshot.last_evaluated_at < stepped_at)
    ):
        return replace(snapshot, last_evaluated_at=stepped_at)
    return snapshot


CHUNK = 5000
CHANGED_FIELDS = [
    *SNAPSHOT_FIELDS,
    "condition_since",
    "value",
    "threshold",
    "reference",
    "message",
    "acknowledged_by",
    "ack_note",
    "owner",
    "team",
]

FIELD_ATTNAMES = {
    name: cast("models.Field[Any, Any]", Alert._meta.get_field(name)).attname
    for name in CHANGED_FIELDS
}


def write_chunk(
    rule: Rule,
    entity_type: str,
    fingerprints: Sequence[str],
    by_fingerprint: dict[str, Finding],
    existing: dict[str, Alert],
    duration: dt.timedelta | None,
    at: dt.datetime,
    *,
    tally: Counter[str] | None = None,
    stepped_at: dt.datetime | None = None,
    unchanged: list[int] | None = None,
) -> int:
    """Step the alerts of ``fingerprints``, write those that changed, append their events.

    An alert whose stored state the step leaves as it was (apart from when it was last
    evaluated, which the rule's check records) is not written; the changed ones are
    written set-based. Event kinds are counted into ``tally``.
    """
    cleared = Observation(severity="ok")
    new_alerts: list[tuple[Alert, tuple[Transition, ...]]] = []
    changed: list[Alert] = []
    changed_names: set[str] = set()
    events: list[AlertEvent] = []
    for fingerprint in fingerprints:
        finding = by_fingerprint.get(fingerprint)
        alert = existing.get(fingerprint)
        obs = cleared if finding is None else apply_duration_clause(finding, alert, duration, at)
        result = step(
            evaluated_snapshot(alert, stepped_at) if alert else None,
            obs,
            at=at,
            keep_firing_for=rule.keep_firing_for,
            escalate_after=rule.escalate_after,
            repeat_interval=rule.repeat_interval,
        )
        if result.snapshot is None:
            continue
        values = {name: getattr(result.snapshot, name) for name in SNAPSHOT_FIELDS}
        if obs.severity != "ok":
            values.update(
                value=obs.value,
                threshold=obs.threshold,
                reference=obs.reference,
                message=obs.message,
            )
        if EventKind.REOPENED in result.kinds:
            # A new episode: the last one's acknowledgement does not cover it.
            values.update(acknowledged_by_id=None, ack_note="", condition_since=None)
        starts = alert is None or not alert.condition_since or "condition_since" in values
        if obs.is_true and starts:
            values["condition_since"] = (finding.since if finding else None) or at
        if finding is not None:
            # follow the entity to its current owner, so visibility and routing stay right
            values.update(owner_id=finding.owner_id, team_id=finding.team_id)
        if alert is None:
            assert finding is not None
            alert = Alert(
                rule=rule,
                fingerprint=fingerprint,
                entity_type=entity_type,
                entity_id=finding.entity_id,
                labels=alert_labels(rule, finding),
                created_at=at,
                **values,
            )
            new_alerts.append((alert, result.events))
            continue
        differing = {name for name, value in values.items() if getattr(alert, name) != value}
        if differing - {"last_evaluated_at"}:
            for name, value in values.items():
                setattr(alert, name, value)
            changed.append(alert)
            changed_names |= differing
        elif unchanged is not None:
            unchanged.append(alert.pk)
        events.extend(
            event_rows(
                alert, result.events, at=at, reason=obs.message or alert.message, value=alert.value
            )
        )
    if new_alerts:
        Alert.objects.bulk_create([alert for alert, _events in new_alerts], batch_size=2000)
        for alert, transitions in new_alerts:
            events.extend(
                event_rows(alert, transitions, at=at, reason=alert.message, value=alert.value)
            )
    if changed:
        update_from_values(
            Alert,
            changed,
            [name for name in CHANGED_FIELDS if FIELD_ATTNAMES[name] in changed_names],
        )
    AlertEvent.objects.bulk_create(events, batch_size=5000)
    if tally is not None:
        tally.update(str(event.kind) for event in events)
    return len(events)


def alert_labels(rule: Rule, finding: Finding) -> dict[str, Any]:
    return {
        **(rule.labels or {}),
        "rule": rule.key,
        "metric": rule.metric,
        "owner": finding.owner_id,
        "team": finding.team_id,
        **{key: value for key, value in finding.context.items() if key in ("tier", "stage")},
    }


# --- One pass shared among workers ---------------------------------------------------------

SPLIT_GRAINS = frozenset({"opportunity", "customer", "lead", "quote", "rep"})
"""Grains whose every metric row has an owner and is filtered by the owner's team, so team
subtrees plus the owners outside them cover each entity exactly once. Team and org rules
(whose rows aggregate across teams) and invoice/contract rules (whose customer may be in
the pool, without an owner) run whole."""


@dataclass(frozen=True)
class Chunk:
    """A share of one rule's evaluation: a team subtree, the owners outside all, or all."""

    key: str  # "team-12", "rest" or "whole"
    team_id: int | None = None
    owner_ids: tuple[int, ...] = ()

    @property
    def whole(self) -> bool:
        return self.key == "whole"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "team_id": self.team_id, "owner_ids": list(self.owner_ids)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Chunk:
        return cls(raw["key"], raw.get("team_id"), tuple(raw.get("owner_ids") or ()))


WHOLE = Chunk("whole")


def top_level_teams() -> list[Team]:
    """The teams a pass is cut by: the children of each root team (a lone root stands alone)."""
    teams = list(Team.objects.order_by("path"))
    roots = [team for team in teams if team.parent_id is None]
    children = {root.pk: [team for team in teams if team.parent_id == root.pk] for root in roots}
    return [team for root in roots for team in (children[root.pk] or [root])]


def rule_chunks(
    rule: Rule, top_teams: Sequence[Team], owners_outside: Sequence[int]
) -> list[Chunk]:
    """Cut one rule's evaluation into chunks that together observe each entity once."""
    if rule.grain not in SPLIT_GRAINS or len(top_teams) < 2:
        return [WHOLE]
    try:
        scope = rule_scope(rule)
    except ValueError:
        return [WHOLE]  # the whole-rule path records the scope error on the rule
    paths = dict(Team.objects.filter(pk__in=scope.team_ids).values_list("pk", "path"))
    chunks = [
        Chunk(f"team-{team.pk}", team_id=team.pk)
        for team in top_teams
        if not scope.team_ids or chunk_team_ids(team, paths)
    ]
    if owners_outside:
        chunks.append(Chunk("rest", owner_ids=tuple(owners_outside)))
    return chunks or [WHOLE]


def owners_outside(top_teams: Sequence[Team]) -> list[int]:
    """People whose team lies in none of the top-level subtrees (or who have no team)."""
    from salesradar.accounts.models import User

    inside = in_team_subtree("team", [team.path for team in top_teams])
    return sorted(User.objects.exclude(inside).values_list("pk", flat=True))


def chunk_team_ids(top: Team, rule_paths: dict[int, str]) -> tuple[int, ...]:
    """The rule's teams within the subtree ``top``, or ``top`` itself when a rule team holds it."""
    if not rule_paths:
        return (top.pk,)
    if any(top.path.startswith(path) for path in rule_paths.values()):
        return (top.pk,)
    return tuple(pk for pk, path in rule_paths.items() if path.startswith(top.path))


def chunk_scope(rule: Rule, chunk: Chunk) -> Scope:
    """The rule's scope narrowed to one chunk."""
    scope = rule_scope(rule)
    if chunk.team_id is not None:
        top = Team.objects.get(pk=chunk.team_id)
        paths = dict(Team.objects.filter(pk__in=scope.team_ids).values_list("pk", "path"))
        return replace(scope, team_ids=chunk_team_ids(top, paths))
    return replace(scope, owner_ids=chunk.owner_ids)


def evaluate_chunk(rule: Rule, chunk: Chunk, at: dt.datetime) -> RuleOutcome:
    """Evaluate one chunk of a rule; a whole chunk is exactly ``evaluate_rule``.

    A split chunk neither sets the rule's status nor clears alerts it did not observe:
    ``finish_split_rules`` does both once every chunk is in. A failing chunk writes no
    alert, only its check with the error.
    """
    return run_check(rule, chunk, at)


def finish_split_rules(
    rules: Sequence[Rule], at: dt.datetime, errors: dict[int, str] | None = None
) -> int:
    """Close a shared pass for rules evaluated in chunks; return the events written.

    Open alerts that no chunk observed are cleared, as the single pass clears an alert whose
    entity it no longer sees. A rule with a failed chunk keeps its unobserved alerts as they
    are: a chunk that failed by the rule's fault puts the rule in error, one that failed
    transiently leaves it alone. ``errors`` (rule id to message) adds failures known
    otherwise, such as a chunk task that never ran; they count as the rule's.
    """
    written = 0
    for rule in rules:
        with transaction.atomic():
            Rule.objects.select_for_update().filter(pk=rule.pk).first()
            failed = dict(
                AlertCheck.objects.filter(rule=rule, evaluated_at=at)
                .exclude(outcome=CheckOutcome.OK)
                .values_list("outcome", "error")
            )
            error = failed.get(CheckOutcome.RULE_ERROR) or (errors or {}).get(rule.pk, "")
            if error:
                mark_rule_failed(rule, error, at)
                continue
            if CheckOutcome.TRANSIENT in failed:
                continue
            # Chunks rewrite what they changed (stamped ``at``) and list what they saw unchanged.
            seen = {
                pk
                for observed in AlertCheck.objects.filter(rule=rule, evaluated_at=at)
                .exclude(chunk="")
                .values_list("observed", flat=True)
                for pk in observed or []
            }
            unobserved = {
                alert.fingerprint: alert
                for alert in Alert.objects.select_for_update()
                .filter(rule=rule, last_evaluated_at__lt=at)
                .exclude(state=AlertState.RESOLVED)
                if alert.pk not in seen
            }
            duration = parse_for(rule.for_clause or None, f"rule {rule.key}.for").duration
            fingerprints = sorted(unobserved)
            for start in range(0, len(fingerprints), CHUNK):
                written += write_chunk(
                    rule,
                    entity_type_for(rule.grain),
                    fingerprints[start : start + CHUNK],
                    {},
                    unobserved,
                    duration,
                    at,
                )
            Rule.objects.filter(pk=rule.pk).update(
                status=RuleStatus.OK, last_error="", last_evaluated_at=at
            )
    return written


def apply_inhibitions(rules: Sequence[Rule], at: dt.datetime) -> None:
    """Hold back alerts whose cause is already reported by another alert of the same team.

    A rule's ``depends_on`` names data-health rules: while one of them fires for a team, the
    rule's alerts in that team are inhibited, since they may only reflect missing data. A
    rule's ``inhibits`` names rules whose alerts in the same team its own firing alerts
    cover. Inhibited alerts keep their state; ``inhibited_by`` points at the cause.
    """
    by_key = {rule.key: rule for rule in Rule.objects.all()}
    causes: dict[int, dict[int, Alert]] = defaultdict(dict)  # inhibited rule id -> team -> cause
    for rule in rules:
        for source_key in rule.depends_on or []:
            source = by_key.get(source_key)
            if source is not None:
                for alert in firing_by_team(source):
                    causes[rule.pk].setdefault(alert.team_id or alert.entity_id, alert)
        for target_key in rule.inhibits or []:
            target = by_key.get(target_key)
            if target is not None:
                for alert in firing_by_team(rule):
                    causes[target.pk].setdefault(alert.team_id or alert.entity_id, alert)
    events: list[AlertEvent] = []
    changed: list[Alert] = []
    for rule in rules:
        teams = causes.get(rule.pk, {})
        open_alerts = Alert.objects.filter(rule=rule).exclude(state=AlertState.RESOLVED)
        for alert in open_alerts.only("pk", "team_id", "inhibited_by_id", "state", "severity"):
            cause = teams.get(alert.team_id) if alert.team_id is not None else None
            cause_id = cause.pk if cause is not None else None
            if cause_id == alert.inhibited_by_id:
                continue
            kind = EventKind.INHIBITED if cause_id else EventKind.UNINHIBITED
            alert.inhibited_by_id = cause_id
            changed.append(alert)
            events.append(
                AlertEvent(
                    alert=alert,
                    at=at,
                    kind=kind,
                    from_state=alert.state,
                    to_state=alert.state,
                    from_severity=alert.severity,
                    to_severity=alert.severity,
                    reason=cause.fingerprint if cause else "",
                )
            )
    with transaction.atomic():
        Alert.objects.bulk_update(changed, ["inhibited_by"], batch_size=2000)
        AlertEvent.objects.bulk_create(events, batch_size=5000)


def firing_by_team(rule: Rule) -> list[Alert]:
    alerts = Alert.objects.filter(rule=rule, state__in=ACTIVE_STATES)
    if rule.grain == "team":
        return [alert for alert in alerts if alert.team_id or alert.entity_id]
    return list(alerts.exclude(team__isnull=True))
