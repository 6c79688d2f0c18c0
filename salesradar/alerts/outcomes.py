"""What "went wrong" means in a backtest, in one place, and how a set of flags is scored.

A backtest looks at the pipeline on a series of **snapshot dates**. At each snapshot every
entity then open is **in scope**, and gets an **outcome label** decided only by what happened
*after* the snapshot, within the horizon ``H`` (default 60 days):

- opportunity: **bad** when it was lost within ``H`` days after the snapshot, or made no
  forward stage progress within them (reached no stage further than the one it was in at the
  snapshot, and was not won); **good** when it progressed or was won first; unknown while
  ``H`` days have not passed and neither happened yet.

Because the label depends only on the future of the snapshot, a rule cannot meet it by
construction: "days in stage > N" reads the past, and a deal that has sat in a stage for 40
days may still move next week. (The old definition, "30 days open without a stage change",
was reached by every rotting deal automatically, so the trivial rule scored as well as any.)

Scoring one set of flags (entity, snapshot) against the labels, all at once (pandas, no loop
per entity):

- an **alert** is an entity's first flag: the alert lifecycle raises one alert per entity;
- an entity **met the outcome** when one of its labels is bad; its outcome moment is the
  earliest bad label's outcome (the loss, or the snapshot + ``H`` for a stall);
- a **hit** is an alert whose snapshot is labelled bad and that came before the entity's
  outcome moment; an alert raised at or after that moment is **late**, not a hit;
- **base rate** = entities that met the outcome / entities in scope with a known label;
- **precision** = hits / decided alerts (late ones included); **recall** = hits / entities
  that met the outcome, whether or not any rule looked at them (one denominator for every
  rule and baseline); **lift** = precision / base rate;
- **lead time** = outcome moment − alert, over the hits (median, p25, p75, in days);
- **alerts per rep per week** = alerts / owners in scope / weeks replayed.

Public API, reused by the forecast slice to compare its risk rule with the baselines::

    from salesradar.alerts import outcomes
    snapshots = outcomes.snapshot_dates(start, end, step)
    frame = outcomes.opportunity_labels(snapshots, horizon=H, observed_until=now)
    # frame: one row per (entity, snapshot) in scope, with owner, stage, days_in_stage,
    # days_since_activity, label (1.0 bad, 0.0 good, NaN unknown), outcome_at, outcome_kind
    flags = outcomes.flags_frame([(entity_id, snapshot), ...])
    score = outcomes.score_flags(flags, frame, weeks=len(snapshots) * step / WEEK)
    score.precision, score.recall, score.lift, score.base_rate, score.median_lead_days

``salesradar.alerts.baselines`` scores the built-in baselines on the same frame, and
``best_at_recall`` gives the best baseline's precision at a rule's recall.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from django.db.models import F, IntegerField, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesradar.activities.models import Activity
from salesradar.metrics.catalogue import activity_known_by
from salesradar.pipeline.models import Opportunity, StageChange

DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(weeks=1)
DEFAULT_HORIZON = dt.timedelta(days=60)
OPPORTUNITY_OUTCOME = gettext_lazy(
    "lost, or no forward stage progress, within the horizon after the snapshot"
)
FRAME_COLUMNS = (
    "entity",
    "snapshot",
    "owner",
    "stage",
    "days_in_stage",
    "days_since_activity",
    "label",
    "outcome_at",
    "outcome_kind",
)


class OutcomeError(ValueError):
    """The data cannot be scored as asked; the message names what is missing."""


def snapshot_dates(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> list[dt.datetime]:
    """Return start, start + step, ... up to and including ``end``."""
    if start.tzinfo is None or end.tzinfo is None:
        raise OutcomeError(_("start and end must be timezone-aware"))
    if step <= dt.timedelta(0):
        raise OutcomeError(_("the step must be longer than zero"))
    if end < start:
        raise OutcomeError(
            _("the end {end} comes before the start {start}").format(
                end=end.isoformat(), start=start.isoformat()
            )
        )
    count = int((end - start) / step) + 1
    return [start + index * step for index in range(count)]


def opportunities_at(at: dt.datetime, window_end: dt.datetime) -> list[tuple[Any, ...]]:
    """Return one row per opportunity open at ``at`` with its state then and what followed.

    One query, set-based: the stage as of ``at`` (from the stage history), when it entered
    it, its newest follow-up known by ``at``, the furthest stage it reached after ``at`` up
    to ``window_end`` (lost excluded), and how and when it closed.
    """
    history = StageChange.objects.filter(opportunity=OuterRef("pk")).order_by()
    last = history.filter(changed_at__lte=at).order_by("-changed_at", "-id")
    furthest = (
        history.filter(changed_at__gt=at, changed_at__lte=window_end, to_stage__is_lost=False)
        .values("opportunity")
        .annotate(furthest=Max("to_stage__order"))
        .values("furthest")
    )
    last_touch = (
        Activity.objects.filter(activity_known_by(at), opportunity=OuterRef("pk"))
        .order_by()
        .values("opportunity")
        .annotate(last=Max("occurred_at"))
        .values("last")
    )
    return list(
        Opportunity.objects.filter(created_at__lte=at)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at))
        .annotate(
            stage_then=Coalesce(
                Subquery(last.values("to_stage_id")[:1]),
                F("stage_id"),
                output_field=IntegerField(),
            ),
            order_then=Coalesce(
                Subquery(last.values("to_stage__order")[:1]),
                F("stage__order"),
                output_field=IntegerField(),
            ),
            entered_then=Coalesce(Subquery(last.values("changed_at")[:1]), F("created_at")),
            furthest_after=Subquery(furthest[:1], output_field=IntegerField()),
            last_touch=Subquery(last_touch[:1]),
        )
        .order_by("pk")
        .values_list(
            "pk",
            "owner_id",
            "stage_then",
            "order_then",
            "entered_then",
            "last_touch",
            "created_at",
            "furthest_after",
            "closed_at",
            "stage__is_won",
            "stage__is_lost",
        )
    )


def opportunity_labels(
    snapshots: Sequence[dt.datetime],
    *,
    horizon: dt.timedelta = DEFAULT_HORIZON,
    observed_until: dt.datetime,
) -> pd.DataFrame:
    """Return the (opportunity, snapshot) pairs in scope with their outcome labels.

    One query per snapshot over all opportunities (never one per opportunity); the labels
    are then worked out column-wise. Outcomes after ``observed_until`` are not known.
    """
    if horizon <= dt.timedelta(0):
        raise OutcomeError(_("the horizon must be longer than zero"))
    parts = []
    for at in snapshots:
        rows = opportunities_at(at, min(at + horizon, observed_until))
        if not rows:
            continue
        part = pd.DataFrame(
            rows,
            columns=[
                "entity",
                "owner",
                "stage",
                "order_then",
                "entered_then",
                "last_touch",
                "created_at",
                "furthest_after",
                "closed_at",
                "is_won",
                "is_lost",
            ],
        )
        part["snapshot"] = pd.Timestamp(at)
        parts.append(part)
    if not parts:
        return empty_frame()
    frame = pd.concat(parts, ignore_index=True)
    for column in ("entered_then", "last_touch", "created_at", "closed_at", "snapshot"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    window_end = (frame["snapshot"] + pd.Timedelta(horizon)).clip(
        upper=pd.Timestamp(observed_until)
    )
    closed_in = frame["closed_at"].notna() & (frame["closed_at"] <= window_end)
    lost = closed_in & frame["is_lost"].astype(bool)
    won = closed_in & frame["is_won"].astype(bool)
    progressed = won | (frame["furthest_after"].fillna(-1) > frame["order_then"])
    horizon_passed = frame["snapshot"] + pd.Timedelta(horizon) <= pd.Timestamp(observed_until)
    stalled = ~lost & ~progressed & horizon_passed
    frame["label"] = float("nan")
    frame.loc[lost | stalled, "label"] = 1.0
    frame.loc[~lost & progressed, "label"] = 0.0
    frame["outcome_at"] = pd.NaT
    frame["outcome_at"] = pd.to_datetime(frame["outcome_at"], utc=True)
    frame.loc[lost, "outcome_at"] = frame.loc[lost, "closed_at"]
    frame.loc[stalled, "outcome_at"] = frame.loc[stalled, "snapshot"] + pd.Timedelta(horizon)
    frame["outcome_kind"] = ""
    frame.loc[lost, "outcome_kind"] = "lost"
    frame.loc[stalled, "outcome_kind"] = "stalled"
    frame["days_in_stage"] = (frame["snapshot"] - frame["entered_then"]) / pd.Timedelta(DAY)
    touched = frame["last_touch"].fillna(frame["created_at"])
    frame["days_since_activity"] = (frame["snapshot"] - touched) / pd.Timedelta(DAY)
    frame["closed"] = closed_in
    return frame


def empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({column: [] for column in (*FRAME_COLUMNS, "closed")})
    frame["snapshot"] = pd.to_datetime(frame["snapshot"], utc=True)
    frame["outcome_at"] = pd.to_datetime(frame["outcome_at"], utc=True)
    return frame


def check_scorable(
    frame: pd.DataFrame,
    *,
    start: dt.datetime,
    end: dt.datetime,
    horizon: dt.timedelta,
    observed_until: dt.datetime,
) -> None:
    """Refuse a frame that cannot give an honest score, naming what is missing."""
    days = round(horizon / DAY)
    if start + horizon > observed_until and not frame["label"].notna().any():
        raise OutcomeError(
            _(
                "the horizon of {days} days is longer than the history after {start}: "
                "outcomes are known only up to {until}; shorten --horizon or start earlier"
            ).format(
                days=days, start=start.date().isoformat(), until=observed_until.date().isoformat()
            )
        )
    if frame.empty:
        raise OutcomeError(
            _("no opportunity was open between {start} and {end}: nothing to score").format(
                start=start.date().isoformat(), end=end.date().isoformat()
            )
        )
    if not frame["closed"].any():
        raise OutcomeError(
            _(
                "no opportunity open between {start} and {end} was won or lost by {until}: "
                "the window has no closed outcomes to score against"
            ).format(
                start=start.date().isoformat(),
                end=end.date().isoformat(),
                until=observed_until.date().isoformat(),
            )
        )


def flags_frame(pairs: Iterable[tuple[int, dt.datetime]]) -> pd.DataFrame:
    """Build a flags frame (entity, snapshot) from (entity id, snapshot moment) pairs."""
    frame = pd.DataFrame(list(pairs), columns=["entity", "snapshot"])
    frame["snapshot"] = pd.to_datetime(frame["snapshot"], utc=True)
    frame["entity"] = frame["entity"].astype("int64")
    return frame


@dataclass(frozen=True)
class Score:
    """A set of flags scored against the outcome labels (definitions in the module doc)."""

    in_scope: int = 0
    met_outcome: int = 0
    base_rate: float | None = None
    alerts: int = 0
    hits: int = 0
    late: int = 0
    false_positives: int = 0
    pending: int = 0
    precision: float | None = None
    recall: float | None = None
    lift: float | None = None
    lead_days_p25: float | None = None
    median_lead_days: float | None = None
    lead_days_p75: float | None = None
    alerts_per_rep_week: float | None = None
    owners: int = 0
    weeks: float = 0.0
    outcome_kinds: dict[str, int] = field(default_factory=dict)  # hits per kind of outcome

    @property
    def false_alarms_per_rep_week(self) -> float | None:
        if not self.owners or not self.weeks:
            return None
        return self.false_positives / self.owners / self.weeks

    def as_dict(self) -> dict[str, Any]:
        return {
            key: round(value, 4) if isinstance(value, float) else value
            for key, value in asdict(self).items()
        }


def entity_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Per entity: whether its outcome is known, whether it met it, and when first."""
    known = frame["label"].notna().groupby(frame["entity"]).any()
    bad = frame["label"].eq(1.0).groupby(frame["entity"]).any()
    first = (
        frame.loc[frame["label"].eq(1.0), ["entity", "outcome_at", "outcome_kind"]]
        .sort_values(["outcome_at", "outcome_kind"])
        .drop_duplicates("entity")
        .set_index("entity")
    )
    return pd.DataFrame(
        {
            "known": known,
            "bad": bad,
            "first_outcome_at": first["outcome_at"],
            "first_kind": first["outcome_kind"],
        }
    )


def score_flags(
    flags: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    weeks: float,
    entities: pd.DataFrame | None = None,
) -> Score:
    """Score flags (entity, snapshot) against ``frame``; flags outside the scope are ignored.

    ``entities`` (from `entity_outcomes`) may be passed in when many flag sets are scored
    against one frame, such as a precision/recall curve.
    """
    entities = entity_outcomes(frame) if entities is None else entities
    in_scope = int(entities["known"].sum())
    met = int(entities["bad"].sum())
    base_rate = met / in_scope if in_scope else None
    owners = frame["owner"].nunique()
    flagged = flags.merge(frame[["entity", "snapshot", "label"]], on=["entity", "snapshot"])
    first = flagged.sort_values("snapshot").drop_duplicates("entity", keep="first")
    first = first.join(entities, on="entity")
    late = first["bad"] & (first["snapshot"] >= first["first_outcome_at"])
    decided = first["label"].notna() | late
    hit = first["label"].eq(1.0) & ~late
    hits = int(hit.sum())
    decided_count = int(decided.sum())
    precision = hits / decided_count if decided_count else None
    recall = hits / met if met else None
    lead = (first.loc[hit, "first_outcome_at"] - first.loc[hit, "snapshot"]) / pd.Timedelta(DAY)
    alerts = len(first)
    return Score(
        in_scope=in_scope,
        met_outcome=met,
        base_rate=base_rate,
        alerts=alerts,
        hits=hits,
        late=int(late.sum()),
        false_positives=decided_count - hits - int(late.sum()),
        pending=alerts - decided_count,
        precision=precision,
        recall=recall,
        lift=precision / base_rate if precision is not None and base_rate else None,
        lead_days_p25=float(lead.quantile(0.25)) if hits else None,
        median_lead_days=float(lead.median()) if hits else None,
        lead_days_p75=float(lead.quantile(0.75)) if hits else None,
        alerts_per_rep_week=alerts / owners / weeks if owners and weeks else None,
        owners=int(owners),
        weeks=weeks,
        outcome_kinds={
            str(kind): int(count)
            for kind, count in sorted(first.loc[hit, "first_kind"].value_counts().items())
        },
    )
