"""Customer health verbs: refresh the scores, act on tier moves, block and clear new deals.

``refresh_health(at=...)`` is what the scheduler, the CLI and the tests call. It scores every
customer set-based (``pillars.compute_pillars``), stores the result, and for each customer
whose tier changed takes that tier's action once:

- blue: the owner gets one digest listing the customers to send this month's nurture content;
- yellow: a joint-visit task for the owner and one for a presales colleague of the team;
- red: the director is told, and new opportunities are blocked until a manager clears it
  (``clear_block``); the block names who can clear it, and ``ensure_can_open_opportunity``
  is what the deal-opening verbs call.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.activities.choices import TaskOrigin
from salesradar.activities.models import Task
from salesradar.core.errors import CONFLICT, DomainError
from salesradar.core.fields import require_aware
from salesradar.crm.choices import Lifecycle
from salesradar.crm.models import Customer
from salesradar.health.choices import HealthActionKind, HealthTier, Pillar
from salesradar.health.models import (
    CustomerHealth,
    HealthAction,
    HealthCalibration,
    OpportunityBlock,
)
from salesradar.health.pillars import PILLARS, PillarScores, compute_pillars
from salesradar.notify.models import Delivery
from salesradar.notify.services import (
    default_inbox,
    personal_deliveries,
    preferences_of,
    render_payload,
    summary_item,
)

DEFAULT_WEIGHTS: dict[str, float] = {name: 0.25 for name in PILLARS}
BLUE_FROM, YELLOW_FROM = 60, 40  # score at or above → blue; at or above → yellow; else red
TASK_DAYS = 14


class OpportunityBlocked(DomainError):
    """A new opportunity for a customer whose health block is still open (API: 409)."""

    def __init__(self, message: str, block: OpportunityBlock) -> None:
        self.block = block
        super().__init__(
            message,
            code="opportunity_blocked",
            kind=CONFLICT,
            fields={"customer": [message]},
            extra={"block": block.pk},
        )


def current_weights() -> dict[str, float]:
    """Return the latest applied calibration's weights, or the defaults."""
    latest = HealthCalibration.objects.filter(applied=True).order_by("-computed_at").first()
    if latest is None or set(latest.weights) != set(PILLARS):
        return dict(DEFAULT_WEIGHTS)
    return {name: float(latest.weights[name]) for name in PILLARS}


def weighted_score(pillars: dict[str, int], weights: dict[str, float]) -> int:
    """Combine the pillars into one 0–100 score with weights that sum to one."""
    total = sum(weights.values()) or 1.0
    return round(sum(pillars[name] * weights[name] for name in PILLARS) / total)


def tier_of(score: int) -> str:
    if score >= BLUE_FROM:
        return HealthTier.BLUE
    if score >= YELLOW_FROM:
        return HealthTier.YELLOW
    return HealthTier.RED


@dataclass
class HealthRun:
    scored: int = 0
    entered: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    tasks: int = 0
    blocks: int = 0
    messages: int = 0


def refresh_health(*, at: dt.datetime) -> HealthRun:
    """Score every customer as of ``at``, store it, and act on each change of tier."""
    require_aware(at, "at")
    pillars = compute_pillars(at)
    weights = current_weights()
    run = HealthRun(scored=len(pillars))
    existing = {row.customer_id: row for row in CustomerHealth.objects.all()}
    created, updated = [], []
    for customer_id, scores in pillars.items():
        score = weighted_score(scores.as_dict(), weights)
        tier = tier_of(score)
        row = existing.get(customer_id)
        if row is None:
            row = CustomerHealth(customer_id=customer_id, tier_since=at)
            created.append(row)
        else:
            updated.append(row)
        if row.pk is None or row.tier != tier:
            row.tier_since = at
            run.entered[tier].append(customer_id)
        _fill(row, scores, score, tier, at)
    with transaction.atomic():
        CustomerHealth.objects.bulk_create(created, batch_size=1000)
        CustomerHealth.objects.bulk_update(
            updated,
            [*PILLARS, "score", "tier", "tier_since", "weakest", "facts", "computed_at"],
            batch_size=1000,
        )
        _take_actions(run, at)
    return run


def _fill(
    row: CustomerHealth, scores: PillarScores, score: int, tier: str, at: dt.datetime
) -> None:
    for name in PILLARS:
        setattr(row, name, getattr(scores, name))
    row.score, row.tier, row.computed_at = score, tier, at
    row.weakest = scores.weakest()
    row.facts = scores.facts


def manager_for(team_id: int | None, teams: dict[int, Team]) -> int | None:
    """Return the manager of the team or of the nearest ancestor that has one."""
    while team_id is not None:
        team = teams.get(team_id)
        if team is None:
            return None
        if team.manager_id is not None:
            return team.manager_id
        team_id = team.parent_id
    return None


def presales_for(
    team_id: int | None, teams: dict[int, Team], presales: dict[int, list[int]]
) -> list[int]:
    """Return the presales colleagues of the team or of the nearest ancestor that has some."""
    while team_id is not None:
        if presales.get(team_id):
            return presales[team_id]
        team = teams.get(team_id)
        team_id = team.parent_id if team else None
    return []


def _take_actions(run: HealthRun, at: dt.datetime) -> None:
    entered = [pk for pks in run.entered.values() for pk in pks]
    if not entered:
        return
    customers = {
        customer.pk: customer
        for customer in Customer.objects.filter(pk__in=entered, owner__isnull=False)
        .exclude(lifecycle=Lifecycle.CHURNED)
        .select_related("owner")
    }
    teams = {team.pk: team for team in Team.objects.all()}
    presales: dict[int, list[int]] = defaultdict(list)
    for pk, team_id in (
        User.objects.filter(role=Role.PRESALES, is_active=True)
        .values_list("pk", "team_id")
        .order_by("pk")
    ):
        presales[team_id].append(pk)
    presales_names = {
        pk: str(user)
        for pk, user in User.objects.in_bulk(
            [pk for pks in presales.values() for pk in pks]
        ).items()
    }
    actions: list[HealthAction] = []
    tasks: list[Task] = []
    blocks: list[OpportunityBlock] = []
    owner_lines: dict[int, list[str]] = defaultdict(list)
    director_lines: list[str] = []
    clearer_lines: dict[int, list[str]] = defaultdict(list)
    health = CustomerHealth.objects.filter(customer_id__in=list(customers)).in_bulk(
        field_name="customer_id"
    )
    open_blocks = set(
        OpportunityBlock.objects.filter(
            customer_id__in=list(customers), cleared_at__isnull=True
        ).values_list("customer_id", flat=True)
    )
    due = at + dt.timedelta(days=TASK_DAYS)
    for tier, ids in run.entered.items():
        for customer_id in ids:
            customer = customers.get(customer_id)
            if customer is None:
                continue
            owner = customer.owner
            assert owner is not None
            row = health[customer_id]
            if tier == HealthTier.BLUE:
                content = nurture_content(customer)
                owner_lines[owner.pk].append(f"{customer.name}: {content}")
                actions.append(_action(customer, tier, HealthActionKind.NURTURE, content, at))
            elif tier == HealthTier.YELLOW:
                colleagues = presales_for(owner.team_id, teams, presales)
                colleague = colleagues[customer_id % len(colleagues)] if colleagues else None
                title = _("Joint visit to {customer} (health yellow, weakest: {pillar})").format(
                    customer=customer.name, pillar=Pillar(row.weakest).label
                )
                for assignee in [owner.pk, colleague]:
                    if assignee is not None:
                        tasks.append(
                            Task(
                                title=title[:200],
                                assignee_id=assignee,
                                due_at=due,
                                origin=TaskOrigin.HEALTH,
                                origin_ref=f"health:{customer_id}",
                                customer_id=customer_id,
                                created_at=at,
                            )
                        )
                detail = (
                    _("with presales colleague {name}").format(name=presales_names[colleague])
                    if colleague
                    else _("no presales colleague in the team: the owner visits alone")
                )
                actions.append(_action(customer, tier, HealthActionKind.JOINT_VISIT, detail, at))
            else:
                clearer = manager_for(owner.team_id, teams)
                if customer_id not in open_blocks:
                    blocks.append(
                        OpportunityBlock(
                            customer_id=customer_id,
                            opened_at=at,
                            score=row.score,
                            reason=_("Health turned red ({score}); weakest: {pillar}.").format(
                                score=row.score, pillar=Pillar(row.weakest).label
                            ),
                            clearable_by_id=clearer,
                        )
                    )
                line = _("{customer} ({owner}): health {score}, weakest {pillar}").format(
                    customer=customer.name,
                    owner=owner,
                    score=row.score,
                    pillar=Pillar(row.weakest).label,
                )
                director_lines.append(line)
                if clearer is not None:
                    clearer_lines[clearer].append(line)
                actions.append(_action(customer, tier, HealthActionKind.ESCALATION, line, at))
    Task.objects.bulk_create(tasks, batch_size=1000)
    OpportunityBlock.objects.bulk_create(blocks, batch_size=1000)
    HealthAction.objects.bulk_create(actions, batch_size=1000)
    run.tasks, run.blocks = len(tasks), len(blocks)
    run.messages = _notify(owner_lines, director_lines, clearer_lines, at)


def _action(customer: Customer, tier: str, kind: str, detail: str, at: dt.datetime) -> HealthAction:
    return HealthAction(customer=customer, tier=tier, kind=kind, detail=detail[:2000], taken_at=at)


def nurture_content(customer: Customer) -> str:
    """Return the nurture piece suggested for a healthy customer (rotating by customer)."""
    choices = [
        _("a case study from the customer's industry"),
        _("this quarter's product update newsletter"),
        _("an invitation to the next customer event"),
    ]
    return choices[customer.pk % len(choices)]


def _notify(
    owner_lines: dict[int, list[str]],
    director_lines: list[str],
    clearer_lines: dict[int, list[str]],
    at: dt.datetime,
) -> int:
    """Queue one inbox digest (and the person's channels) per person concerned."""
    directors = list(
        User.objects.filter(role=Role.DIRECTOR, is_active=True).values_list("pk", flat=True)
    )
    per_person: dict[int, list[tuple[str, list[str]]]] = defaultdict(list)
    for owner_id, lines in owner_lines.items():
        per_person[owner_id].append(("nurture", lines))
    for director_id in directors if director_lines else []:
        per_person[director_id].append(("red", director_lines))
    for clearer_id, lines in clearer_lines.items():
        if clearer_id not in directors:
            per_person[clearer_id].append(("clear", lines))
    if not per_person:
        return 0
    people = User.objects.in_bulk(list(per_person))
    preferences = preferences_of(list(per_person))
    inbox = default_inbox()
    deliveries: list[Delivery] = []
    for pk, sections in per_person.items():
        person = people.get(pk)
        if person is None or not person.is_active:
            continue
        language = person.language or "zh-hans"
        with translation.override(language):
            items, subjects = [], []
            for kind, lines in sections:
                if kind == "nurture":
                    subjects.append(
                        _("{count} customers are healthy: send them nurture content").format(
                            count=len(lines)
                        )
                    )
                elif kind == "red":
                    subjects.append(
                        _("{count} customers turned red: new opportunities blocked").format(
                            count=len(lines)
                        )
                    )
                else:
                    subjects.append(
                        _("{count} red customers wait for you to clear their block").format(
                            count=len(lines)
                        )
                    )
                items += [summary_item(line) for line in lines[:50]]
            payload = render_payload(
                items, language, person, subject=_("SalesRadar health: ") + "; ".join(subjects)
            )
        deliveries += personal_deliveries(
            person,
            preferences.get(pk),
            inbox,
            payload,
            at,
            alert_events=[],
            urgent=any(kind == "red" for kind, _lines in sections),
        )
    Delivery.objects.bulk_create(deliveries, batch_size=1000)
    return len(deliveries)


def open_block(customer: Customer) -> OpportunityBlock | None:
    return (
        OpportunityBlock.objects.filter(customer=customer, cleared_at__isnull=True)
        .select_related("clearable_by")
        .first()
    )


def ensure_can_open_opportunity(customer: Customer) -> None:
    """Refuse a new opportunity for a customer whose red-health block is not cleared yet."""
    block = open_block(customer)
    if block is None:
        return
    person = str(block.clearable_by) if block.clearable_by else _("a sales director")
    raise OpportunityBlocked(
        _(
            "New opportunities for {customer} are blocked since {date}: its health is red "
            "({score}). {person} can clear the block."
        ).format(
            customer=customer.name,
            date=timezone.localtime(block.opened_at).date().isoformat(),
            score=block.score,
            person=person,
        ),
        block,
    )


def may_clear(user: User, block: OpportunityBlock) -> bool:
    """The named manager, a manager above the owner's team, a director or an admin may clear."""
    if not user.is_active:
        return False
    if user.is_superuser or user.role in (Role.DIRECTOR, Role.ADMIN):
        return True
    if user.pk == block.clearable_by_id:
        return True
    if user.role != Role.MANAGER:
        return False
    owner = block.customer.owner
    if owner is None or owner.team_id is None:
        return False
    team_path = Team.objects.filter(pk=owner.team_id).values_list("path", flat=True).first()
    return any(
        team_path and team_path.startswith(path)
        for path in Team.objects.filter(manager=user).values_list("path", flat=True)
    )


def clear_block(block: OpportunityBlock, *, by: User, note: str, at: dt.datetime) -> None:
    """Lift a red customer's block on new opportunities, recording who did it and why."""
    require_aware(at, "at")
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Say why the block is cleared (what was done for the customer)."))
    if not may_clear(by, block):
        raise PermissionDenied(
            _("Only {person}, a manager above the owner, or a director can clear it.").format(
                person=block.clearable_by or _("the owner's manager")
            )
        )
    with transaction.atomic():
        changed = OpportunityBlock.objects.filter(pk=block.pk, cleared_at__isnull=True).update(
            cleared_at=at, cleared_by=by, clear_note=note
        )
        if not changed:
            raise ValidationError(_("The block was already cleared."))
    block.cleared_at, block.cleared_by, block.clear_note = at, by, note
