"""Builders shared by the metric tests: local times, reps, opportunities with stage history.

Every metric test builds a small data set by hand and works the expected answer out in
comments, so the builders stay thin: they only fill in what the metric does not look at.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from salesradar.accounts.models import Team, User
from salesradar.crm.models import Lead
from salesradar.metrics.registry import MetricRow, Scope, compute
from salesradar.pipeline.models import Opportunity, Stage, StageChange, Target
from tests.factories import OpportunityFactory, UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
JOINED = dt.datetime(2025, 1, 1, tzinfo=SHANGHAI)


def local(month: int, day: int, hour: int = 0, minute: int = 0, *, year: int = 2025) -> dt.datetime:
    """Return an aware Asia/Shanghai time (2025 unless told otherwise)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def rep(team: Team | None = None, **fields: Any) -> User:
    """Return an active rep who joined before every ``at`` the tests use."""
    fields.setdefault("date_joined", JOINED)
    return UserFactory(team=team, **fields)


def enter(opportunity: Opportunity, stage_key: str, at: dt.datetime) -> StageChange:
    """Append a move to ``stage_key`` at ``at``, as move_stage would but without its gates."""
    target = Stage.objects.get(process_id=opportunity.process_id, key=stage_key)
    current = opportunity.stage
    change = StageChange.objects.create(
        opportunity=opportunity,
        from_stage=current,
        to_stage=target,
        changed_at=at,
        is_regression=target.order < current.order and not target.is_terminal,
    )
    opportunity.stage = target
    opportunity.stage_entered_at = opportunity.updated_at = at
    if target.is_terminal:
        opportunity.closed_at = at
        opportunity.lost_reason = "price" if target.is_lost else ""
    opportunity.save()
    return change


def opportunity(
    owner: User,
    *,
    created: dt.datetime,
    stage: str = "initial_contact",
    entered: dt.datetime | None = None,
    **fields: Any,
) -> Opportunity:
    """Return an opportunity that entered the first stage at ``created``, then ``stage``."""
    created_opportunity = OpportunityFactory(
        owner=owner, created_at=created, updated_at=created, stage_entered_at=created, **fields
    )
    StageChange.objects.create(
        opportunity=created_opportunity,
        from_stage=None,
        to_stage=created_opportunity.stage,
        changed_at=created,
    )
    if stage != created_opportunity.stage.key:
        enter(created_opportunity, stage, entered or created)
    return created_opportunity


def rows(key: str, at: dt.datetime, **options: Any) -> list[MetricRow]:
    options.setdefault("scope", Scope())
    return compute(key, at=at, **options)


def values(key: str, at: dt.datetime, **options: Any) -> dict[int, float | None]:
    """Return a snapshot metric as {entity id: value}."""
    return {row.entity_id: row.value for row in rows(key, at, **options)}


def series(key: str, at: dt.datetime, **options: Any) -> dict[int, list[tuple[dt.date, Any]]]:
    """Return a per-period metric as {entity id: [(period start, value), ...]} in row order."""
    result: dict[int, list[tuple[dt.date, Any]]] = {}
    for row in rows(key, at, **options):
        result.setdefault(row.entity_id, []).append((row.period, row.value))
    return result


def lead(owner: User | None, **fields: Any) -> Lead:
    fields.setdefault("created_at", local(6, 1))
    fields.setdefault("status", "assigned")
    return Lead.objects.create(
        code=f"L{Lead.objects.count():06d}",
        company_name="杭州线索科技",
        source="web_form",
        owner=owner,
        **fields,
    )


def target(
    user: User, start: dt.date, value: int, *, period: str = "month", measure: str = "won_amount"
) -> Target:
    return Target.objects.create(
        user=user, period=period, period_start=start, measure=measure, value=Decimal(value)
    )


def monthly_targets(user: User, value: int) -> None:
    """Give ``user`` a won-amount target of ``value`` for each month of Q2 2025."""
    for month in (4, 5, 6):
        target(user, dt.date(2025, month, 1), value)


def won(owner: User, amount: int, closed: dt.datetime) -> Opportunity:
    """Return a deal created 03-01 and won at ``closed`` for ``amount``."""
    return opportunity(
        owner, created=local(3, 1), stage="won", entered=closed, amount=Decimal(amount)
    )
