"""Hand a leaving rep's customers, deals, leads, tasks, action cards and alerts to successors.

One verb for the web, the API and the CLI. ``plan_handover`` says exactly what would move to
whom without writing; ``hand_over`` records the handover and, once its date has come, moves
everything in a few set-based updates: only rows still owned by the leaving rep move, so
running it again moves nothing twice. A customer's open deals, tasks, action cards and
alerts follow the customer to its successor; the ownership countdown restarts for the
successor (``owned_since`` is the handover), and the assignment history says who handed
what over. Each successor gets one brief per customer as a task (last interactions, open
commitments, open deals and their stage, health), and the leaving rep is deactivated and
their API tokens revoked at the handover's date.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesradar.accounts.choices import ALL_SEEING_ROLES, Role
from salesradar.accounts.models import User
from salesradar.accounts.visibility import visible
from salesradar.core.errors import Forbidden, Invalid
from salesradar.core.fields import require_aware
from salesradar.handover.models import Handover, HandoverItem, HandoverStatus, Split

KINDS = ("customer", "opportunity", "lead", "task", "action_card", "alert")
OPEN_TASK = "open"
OPEN_CARD_STATES = ("open", "delivered")
LAST_INTERACTIONS = 3


@dataclass(frozen=True)
class Move:
    kind: str
    object_id: int
    label: str
    to_id: int


@dataclass
class HandoverPlan:
    """What would move to whom; ``counts`` per successor and kind, for the preview."""

    leaving: User
    successors: list[User]
    moves: list[Move] = field(default_factory=list)

    def counts(self) -> dict[int, dict[str, int]]:
        table: dict[int, dict[str, int]] = {s.pk: dict.fromkeys(KINDS, 0) for s in self.successors}
        for move in self.moves:
            table[move.to_id][move.kind] += 1
        return table

    def by_kind(self, kind: str) -> dict[int, list[int]]:
        grouped: dict[int, list[int]] = defaultdict(list)
        for move in self.moves:
            if move.kind == kind:
                grouped[move.to_id].append(move.object_id)
        return grouped


def may_hand_over(by: Any, leaving: User) -> bool:
    """Admins, ops and directors may; a manager for the reps in the teams they lead."""
    if by.is_superuser or by.role in ALL_SEEING_ROLES:
        return True
    return by.role == Role.MANAGER and visible(by, User).filter(pk=leaving.pk).exists()


def _check(
    leaving: User, successors: list[User], split: str, mapping: dict[str, int], by: Any
) -> None:
    if not may_hand_over(by, leaving):
        raise Forbidden(
            _(
                "Only an admin, ops, a director or {name}'s manager may hand over their work."
            ).format(name=leaving),
            code="handover_forbidden",
        )
    if split not in Split.values:
        raise Invalid(
            _("Unknown split {split!r}; use one of: {choices}.").format(
                split=split, choices=", ".join(Split.values)
            ),
            code="handover_split",
            fields={"split": [_("Unknown split.")]},
        )
    if not successors:
        raise Invalid(
            _("Name at least one successor."),
            code="handover_successors",
            fields={"successors": [_("Name at least one successor.")]},
        )
    for successor in successors:
        if successor.pk == leaving.pk:
            raise Invalid(
                _("{name} is the one leaving and cannot be their own successor.").format(
                    name=leaving
                ),
                code="handover_successors",
                fields={"successors": [_("The leaving rep cannot be a successor.")]},
            )
        if not successor.is_active:
            raise Invalid(
                _("{name} is deactivated and cannot take over customers.").format(name=successor),
                code="handover_successors",
                fields={"successors": [_("A successor must be active.")]},
            )
    ids = {s.pk for s in successors}
    strays = sorted(key for key, user_id in mapping.items() if user_id not in ids)
    if strays:
        raise Invalid(
            _("The mapping sends {keys} to someone who is not a successor.").format(
                keys=", ".join(strays)
            ),
            code="handover_mapping",
            fields={"mapping": [_("Map only to the successors named.")]},
        )


def plan_handover(
    leaving: User,
    *,
    successors: list[User],
    split: str,
    mapping: dict[str, int] | None = None,
    by: Any,
) -> HandoverPlan:
    """Return what would move to whom, read in one query per kind; nothing is written."""
    from salesradar.activities.models import ActionCard, Task
    from salesradar.alerts.models import Alert
    from salesradar.crm.models import Customer, Lead
    from salesradar.crm.pool import OPEN_LEAD_STATUSES
    from salesradar.pipeline.models import Opportunity

    mapping = {str(key): int(value) for key, value in (mapping or {}).items()}
    _check(leaving, successors, split, mapping, by)
    plan = HandoverPlan(leaving=leaving, successors=successors)
    first = successors[0].pk
    cycle = itertools.cycle([s.pk for s in successors])

    def choose(tier: str, region: str) -> int:
        if split == Split.ONE:
            return first
        if split == Split.TIER:
            return mapping.get(tier, first)
        if split == Split.REGION:
            return mapping.get(region, first)
        return next(cycle)

    customer_to: dict[int, int] = {}
    customers = (
        Customer.objects.filter(owner=leaving)
        .order_by("tier", "pk")
        .values_list("pk", "name", "tier", "region")
    )
    for pk, name, tier, region in customers:
        customer_to[pk] = choose(tier, region)
        plan.moves.append(Move("customer", pk, name, customer_to[pk]))

    deal_to: dict[int, int] = {}
    deals = (
        Opportunity.objects.open()
        .filter(owner=leaving)
        .order_by("pk")
        .values_list("pk", "name", "customer_id", "customer__tier", "customer__region")
    )
    for pk, name, customer_id, tier, region in deals:
        deal_to[pk] = customer_to.get(customer_id) or choose(tier, region)
        plan.moves.append(Move("opportunity", pk, name, deal_to[pk]))

    lead_to: dict[int, int] = {}
    leads = (
        Lead.objects.filter(owner=leaving, status__in=OPEN_LEAD_STATUSES)
        .order_by("tier", "pk")
        .values_list("pk", "company_name", "tier", "region")
    )
    for pk, name, tier, region in leads:
        lead_to[pk] = choose(tier, region)
        plan.moves.append(Move("lead", pk, name, lead_to[pk]))

    def follow(opportunity_id: int | None, customer_id: int | None) -> int:
        return deal_to.get(opportunity_id or 0) or customer_to.get(customer_id or 0) or next(cycle)

    tasks = Task.objects.filter(assignee=leaving, status=OPEN_TASK).values_list(
        "pk", "title", "opportunity_id", "customer_id"
    )
    for pk, title, opportunity_id, customer_id in tasks.order_by("pk"):
        plan.moves.append(Move("task", pk, title, follow(opportunity_id, customer_id)))
    cards = ActionCard.objects.filter(owner=leaving, status__in=OPEN_CARD_STATES).values_list(
        "pk", "what", "opportunity_id", "customer_id"
    )
    for pk, what, opportunity_id, customer_id in cards.order_by("pk"):
        plan.moves.append(Move("action_card", pk, what, follow(opportunity_id, customer_id)))
    targets = {"customer": customer_to, "opportunity": deal_to, "lead": lead_to}
    alerts = (
        Alert.objects.filter(owner=leaving)
        .exclude(state="resolved")
        .values_list("pk", "entity_type", "entity_id", "rule__key")
    )
    for pk, entity_type, entity_id, rule_key in alerts.order_by("pk"):
        to = targets.get(entity_type, {}).get(entity_id) or first
        plan.moves.append(Move("alert", pk, f"{rule_key} {entity_type} {entity_id}", to))
    return plan


def hand_over(
    leaving: User,
    *,
    successors: list[User],
    split: str,
    mapping: dict[str, int] | None = None,
    effective_at: dt.datetime,
    by: Any,
    at: dt.datetime,
    note: str = "",
) -> Handover:
    """Record the handover; carry it out now when its date has come (else it is scheduled)."""
    require_aware(effective_at, "effective_at")
    require_aware(at, "at")
    plan_handover(leaving, successors=successors, split=split, mapping=mapping, by=by)
    handover = Handover.objects.create(
        leaving=leaving,
        successors=[s.pk for s in successors],
        split=split,
        mapping={str(k): int(v) for k, v in (mapping or {}).items()},
        effective_at=effective_at,
        created_by=by if getattr(by, "pk", None) else None,
        created_at=at,
        note=note[:200],
    )
    if effective_at <= at:
        return carry_out(handover, at=at)
    return handover


def run_due_handovers(*, at: dt.datetime) -> int:
    """Carry out every scheduled handover whose date has come; return how many."""
    due = list(
        Handover.objects.filter(status=HandoverStatus.SCHEDULED, effective_at__lte=at).order_by(
            "effective_at", "pk"
        )
    )
    for handover in due:
        carry_out(handover, at=at)
    return len(due)


def carry_out(handover: Handover, *, at: dt.datetime) -> Handover:
    """Move what the leaving rep still owns, write the briefs, deactivate the rep."""
    from salesradar.activities.models import ActionCard, Task
    from salesradar.alerts.models import Alert
    from salesradar.api.models import ApiToken
    from salesradar.core import outbox
    from salesradar.crm.models import Assignment, Customer, Lead
    from salesradar.pipeline.models import Opportunity

    with transaction.atomic():
        handover = Handover.objects.select_for_update().get(pk=handover.pk)
        if handover.status == HandoverStatus.DONE:
            return handover
        leaving = handover.leaving
        successors = list(User.objects.filter(pk__in=handover.successors))
        successors.sort(key=lambda user: handover.successors.index(user.pk))
        plan = plan_handover(
            leaving,
            successors=successors,
            split=handover.split,
            mapping=handover.mapping,
            by=handover.created_by or _system_actor(),
        )
        team_of = {s.pk: s.team_id for s in successors}
        history_note = _("handover #{number}").format(number=handover.pk)
        moved: dict[str, int] = dict.fromkeys(KINDS, 0)
        for to_id, ids in plan.by_kind("customer").items():
            moved["customer"] += Customer.objects.filter(pk__in=ids, owner=leaving).update(
                owner_id=to_id,
                owned_since=at,
                previous_owner_id=leaving.pk,
                ladder_step=0,
                ladder_since=None,
                updated_at=at,
            )
            _history(Assignment, "customer", ids, to_id, leaving, at, handover, history_note)
        for to_id, ids in plan.by_kind("opportunity").items():
            moved["opportunity"] += Opportunity.objects.filter(pk__in=ids, owner=leaving).update(
                owner_id=to_id
            )
        for to_id, ids in plan.by_kind("lead").items():
            moved["lead"] += Lead.objects.filter(pk__in=ids, owner=leaving).update(
                owner_id=to_id, assigned_at=at, ladder_step=0, ladder_since=None
            )
            _history(Assignment, "lead", ids, to_id, leaving, at, handover, history_note)
            outbox.announce(outbox.LEAD_ASSIGNED, ids, at=at)
        for to_id, ids in plan.by_kind("task").items():
            moved["task"] += Task.objects.filter(pk__in=ids, assignee=leaving).update(
                assignee_id=to_id
            )
        for to_id, ids in plan.by_kind("action_card").items():
            moved["action_card"] += ActionCard.objects.filter(pk__in=ids, owner=leaving).update(
                owner_id=to_id
            )
        for to_id, ids in plan.by_kind("alert").items():
            moved["alert"] += Alert.objects.filter(pk__in=ids, owner=leaving).update(
                owner_id=to_id, team_id=team_of[to_id]
            )
        HandoverItem.objects.bulk_create(
            [
                HandoverItem(
                    handover=handover,
                    kind=move.kind,
                    object_id=move.object_id,
                    label=move.label[:200],
                    to_owner_id=move.to_id,
                )
                for move in plan.moves
            ],
            ignore_conflicts=True,
        )
        _write_briefs(plan, handover, at)
        User.objects.filter(pk=leaving.pk).update(is_active=False)
        ApiToken.objects.filter(user=leaving, revoked_at__isnull=True).update(revoked_at=at)
        handover.status = HandoverStatus.DONE
        handover.done_at = at
        handover.moved = moved
        handover.save(update_fields=["status", "done_at", "moved"])
    return handover


def _system_actor() -> Any:
    """The actor a scheduled handover runs as when its author has gone: an all-seeing one."""
    return type("System", (), {"is_superuser": True, "role": Role.ADMIN, "pk": None})()


def _history(
    assignment: Any,
    kind: str,
    ids: Iterable[int],
    to_id: int,
    leaving: User,
    at: dt.datetime,
    handover: Handover,
    note: str,
) -> None:
    from salesradar.crm.choices import AssignmentKind

    assignment.objects.bulk_create(
        [
            assignment(
                **{f"{kind}_id": pk},
                kind=AssignmentKind.MANUAL,
                owner_id=to_id,
                previous_owner_id=leaving.pk,
                at=at,
                by=handover.created_by,
                note=note,
            )
            for pk in ids
        ]
    )


def _write_briefs(plan: HandoverPlan, handover: Handover, at: dt.datetime) -> int:
    """One task per customer for its successor: what they need to know to carry on."""
    from salesradar.activities.choices import TaskOrigin
    from salesradar.activities.models import Activity, Task
    from salesradar.pipeline.models import Opportunity

    customers = plan.by_kind("customer")
    customer_ids = [pk for ids in customers.values() for pk in ids]
    if not customer_ids:
        return 0
    names = {m.object_id: m.label for m in plan.moves if m.kind == "customer"}
    recent: dict[int, list[Any]] = defaultdict(list)
    for activity in (
        Activity.objects.filter(customer_id__in=customer_ids)
        .order_by("customer_id", "-occurred_at")
        .only("customer_id", "occurred_at", "kind", "summary", "next_step", "next_step_due")
        .iterator(chunk_size=2000)
    ):
        if len(recent[activity.customer_id]) < LAST_INTERACTIONS:
            recent[activity.customer_id].append(activity)
    deals: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for customer_id, name, stage in (
        Opportunity.objects.open()
        .filter(customer_id__in=customer_ids)
        .values_list("customer_id", "name", "stage__key")
    ):
        deals[customer_id].append((name, stage))
    commitments: dict[int, list[str]] = defaultdict(list)
    for customer_id, title, due in Task.objects.filter(
        customer_id__in=customer_ids, status=OPEN_TASK
    ).values_list("customer_id", "title", "due_at"):
        commitments[customer_id].append(f"{title} ({timezone.localtime(due):%Y-%m-%d})")
    health = _health_tiers(customer_ids)
    language = {u.pk: u.language or "zh-hans" for u in plan.successors}
    briefs = []
    for to_id, ids in customers.items():
        with translation.override(language.get(to_id, "zh-hans")):
            for customer_id in ids:
                briefs.append(
                    Task(
                        title=_("Handover brief: {customer}").format(customer=names[customer_id])[
                            :200
                        ],
                        description=_brief_text(
                            plan.leaving,
                            recent[customer_id],
                            commitments[customer_id],
                            deals[customer_id],
                            health.get(customer_id),
                        ),
                        assignee_id=to_id,
                        created_by=handover.created_by,
                        due_at=at + dt.timedelta(days=3),
                        origin=TaskOrigin.MANUAL,
                        origin_ref=f"handover:{handover.pk}:{customer_id}",
                        customer_id=customer_id,
                        created_at=at,
                    )
                )
    Task.objects.bulk_create(briefs, batch_size=2000)
    return len(briefs)


def _health_tiers(customer_ids: list[int]) -> dict[int, str]:
    try:
        from salesradar.health.models import CustomerHealth
    except ImportError:  # the health app is optional for a handover
        return {}
    return {
        customer_id: tier
        for customer_id, tier in CustomerHealth.objects.filter(
            customer_id__in=customer_ids
        ).values_list("customer_id", "tier")
    }


def _brief_text(
    leaving: User,
    recent: list[Any],
    commitments: list[str],
    deals: list[tuple[str, str]],
    health: str | None,
) -> str:
    lines = [_("Taken over from {name}.").format(name=leaving)]
    if health:
        lines.append(_("Health: {tier}").format(tier=health))
    lines.append(_("Last interactions:"))
    for activity in recent:
        lines.append(
            f"- {timezone.localtime(activity.occurred_at):%Y-%m-%d} "
            f"{activity.get_kind_display()}: {activity.summary or '—'}"
        )
    if not recent:
        lines.append("- " + _("none recorded"))
    promised = [f"{a.next_step} ({a.next_step_due})" for a in recent if a.next_step]
    lines.append(_("Open commitments:"))
    lines.extend(f"- {item}" for item in [*commitments, *promised])
    if not commitments and not promised:
        lines.append("- " + _("none"))
    lines.append(_("Open deals:"))
    lines.extend(f"- {name} ({stage})" for name, stage in deals)
    if not deals:
        lines.append("- " + _("none"))
    return "\n".join(lines)
