"""Routing rules: ordered, data-defined, first match assigns.

A rule matches a lead when every criterion it sets (regions, industries, sources, sizes)
contains the lead's value; an empty criterion matches anything. Within the matching rule a
rep is chosen round-robin (the rule keeps its cursor) or load-balanced (fewest open leads),
skipping reps who are deactivated, out of office, at the rule's capacity or excluded (the rep
who let the lead lapse). When the first matching rule has nobody available the next matching
rule is tried; a lead no rule can place stays in the pool and is counted as unrouted.

``route_leads`` works on batches: the rules, members, loads and absences are read once, every
lead of a batch is decided in memory, and the batch is written with one bulk update and one
bulk insert of ``Assignment`` rows, so routing 100,000 leads is a few hundred queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.accounts.models import Team, User
from salesradar.core import outbox
from salesradar.core.fields import require_aware
from salesradar.crm.calendar import WorkingCalendar
from salesradar.crm.choices import (
    AssignmentKind,
    CompanySize,
    LeadSource,
    LeadStatus,
    RoutingStrategy,
)
from salesradar.crm.models import Assignment, Lead, OutOfOffice, RoutingRule
from salesradar.crm.normalize import PLACE_NAMES
from salesradar.crm.pool import (
    CLAIMABLE_LEAD_STATUSES,
    OPEN_LEAD_STATUSES,
    response_deadline,
    source_rules,
)

BATCH = 2000


def known_regions() -> set[str]:
    """Regions a lead or rule may name: China's provinces and big cities, and the teams' regions."""
    regions = set(PLACE_NAMES)
    regions.update(place + suffix for place in PLACE_NAMES for suffix in ("省", "市"))
    regions.update(
        region for region in Team.objects.exclude(region="").values_list("region", flat=True)
    )
    return regions


def validate_rule_fields(
    *,
    regions: Sequence[str],
    industries: Sequence[str],
    sources: Sequence[str],
    sizes: Sequence[str],
    strategy: str,
    members: Iterable[User],
    capacity: int | None,
) -> None:
    """Refuse a rule that names an unknown region, source or size, or a deactivated rep."""
    errors: dict[str, list[str]] = defaultdict(list)
    for name, value in (
        ("regions", regions),
        ("industries", industries),
        ("sources", sources),
        ("sizes", sizes),
    ):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            errors[name].append(_("must be a list of texts."))
    if not errors:
        unknown = sorted(set(regions) - known_regions())
        if unknown:
            errors["regions"].append(
                _("unknown region(s): {regions}").format(regions=", ".join(unknown))
            )
        bad_sources = sorted(set(sources) - set(LeadSource.values))
        if bad_sources:
            errors["sources"].append(
                _("unknown source(s): {sources}; known: {known}").format(
                    sources=", ".join(bad_sources), known=", ".join(LeadSource.values)
                )
            )
        bad_sizes = sorted(set(sizes) - set(CompanySize.values))
        if bad_sizes:
            errors["sizes"].append(
                _("unknown size(s): {sizes}; known: {known}").format(
                    sizes=", ".join(bad_sizes), known=", ".join(CompanySize.values)
                )
            )
    if strategy not in RoutingStrategy.values:
        errors["strategy"].append(_("unknown strategy {value!r}").format(value=strategy))
    members = list(members)
    inactive = [str(user) for user in members if not user.is_active]
    if inactive:
        errors["members"].append(
            _("deactivated rep(s) cannot receive leads: {names}").format(names=", ".join(inactive))
        )
    if not members:
        errors["members"].append(_("a rule needs at least one rep."))
    if capacity is not None and capacity < 1:
        errors["capacity"].append(_("must be at least 1 when set."))
    if errors:
        raise ValidationError(dict(errors))


def save_routing_rule(
    *,
    name: str,
    members: Sequence[User],
    order: int = 100,
    regions: Sequence[str] = (),
    industries: Sequence[str] = (),
    sources: Sequence[str] = (),
    sizes: Sequence[str] = (),
    strategy: str = RoutingStrategy.ROUND_ROBIN,
    capacity: int | None = None,
    rule: RoutingRule | None = None,
) -> RoutingRule:
    """Create or change a routing rule, all or nothing."""
    validate_rule_fields(
        regions=list(regions),
        industries=list(industries),
        sources=list(sources),
        sizes=list(sizes),
        strategy=strategy,
        members=members,
        capacity=capacity,
    )
    with transaction.atomic():
        rule = rule or RoutingRule()
        rule.name, rule.order, rule.strategy, rule.capacity = name, order, strategy, capacity
        rule.regions, rule.industries = list(regions), list(industries)
        rule.sources, rule.sizes = list(sources), list(sizes)
        rule.save()
        rule.members.set(members)
    return rule


@dataclass
class _Rule:
    pk: int
    regions: frozenset[str]
    industries: frozenset[str]
    sources: frozenset[str]
    sizes: frozenset[str]
    strategy: str
    members: list[int]
    capacity: int | None
    cursor: int
    moved: bool = False

    def matches(self, region: str, industry: str, source: str, size: str) -> bool:
        return (
            (not self.regions or region in self.regions)
            and (not self.industries or industry in self.industries)
            and (not self.sources or source in self.sources)
            and (not self.sizes or size in self.sizes)
        )


@dataclass
class Router:
    """The routing rules and the reps' state, loaded once for a batch of decisions."""

    rules: list[_Rule]
    load: dict[int, int]
    unavailable: set[int]

    @classmethod
    def load_at(cls, at: dt.datetime) -> Router:
        members: dict[int, list[int]] = defaultdict(list)
        through = RoutingRule.members.through
        for rule_id, user_id in through.objects.order_by("user_id").values_list(
            "routingrule_id", "user_id"
        ):
            members[rule_id].append(user_id)
        rules = [
            _Rule(
                pk=rule.pk,
                regions=frozenset(rule.regions or ()),
                industries=frozenset(rule.industries or ()),
                sources=frozenset(rule.sources or ()),
                sizes=frozenset(rule.sizes or ()),
                strategy=rule.strategy,
                members=members.get(rule.pk, []),
                capacity=rule.capacity,
                cursor=rule.cursor,
            )
            for rule in RoutingRule.objects.filter(enabled=True).order_by("order", "pk")
        ]
        everyone = {user for rule in rules for user in rule.members}
        load = dict(
            Lead.objects.filter(owner_id__in=everyone, status__in=OPEN_LEAD_STATUSES)
            .values_list("owner_id")
            .annotate(open=Count("pk"))
            .values_list("owner_id", "open")
        )
        unavailable = set(
            User.objects.filter(pk__in=everyone, is_active=False).values_list("pk", flat=True)
        )
        unavailable.update(
            OutOfOffice.objects.filter(
                user_id__in=everyone, starts_at__lte=at, ends_at__gt=at
            ).values_list("user_id", flat=True)
        )
        return cls(rules=rules, load=load, unavailable=unavailable)

    def _available(self, rule: _Rule, user: int, exclude: int | None) -> bool:
        if user in self.unavailable or user == exclude:
            return False
        return rule.capacity is None or self.load.get(user, 0) < rule.capacity

    def pick(
        self, region: str, industry: str, source: str, size: str, *, exclude: int | None = None
    ) -> tuple[int, int] | None:
        """Return (rule id, rep id) for a lead with these attributes, or None."""
        for rule in self.rules:
            if not rule.members or not rule.matches(region, industry, source, size):
                continue
            chosen = self._choose(rule, exclude)
            if chosen is not None:
                self.load[chosen] = self.load.get(chosen, 0) + 1
                return rule.pk, chosen
        return None

    def _choose(self, rule: _Rule, exclude: int | None) -> int | None:
        count = len(rule.members)
        if rule.strategy == RoutingStrategy.LOAD_BALANCED:
            candidates = [u for u in rule.members if self._available(rule, u, exclude)]
            if not candidates:
                return None
            return min(candidates, key=lambda u: (self.load.get(u, 0), u))
        for step in range(count):
            user = rule.members[(rule.cursor + step) % count]
            if self._available(rule, user, exclude):
                rule.cursor = (rule.cursor + step + 1) % count
                rule.moved = True
                return user
        return None

    def save_cursors(self) -> None:
        for rule in self.rules:
            if rule.moved:
                RoutingRule.objects.filter(pk=rule.pk).update(cursor=rule.cursor)
                rule.moved = False


@dataclass
class RoutingResult:
    assigned: int = 0
    unrouted: int = 0
    by_rule: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def route_leads(
    lead_ids: Iterable[int] | None = None,
    *,
    at: dt.datetime | None = None,
    exclude: dict[int, int] | None = None,
    router: Router | None = None,
    calendar: WorkingCalendar | None = None,
) -> RoutingResult:
    """Route ownerless, claimable leads (the given ones, or the whole pool) through the rules.

    ``exclude`` maps a lead to a rep who must not get it back (the one who let it lapse).
    Leads a rep claimed meanwhile are skipped; nothing is half-assigned: each batch commits
    its lead updates and assignment rows together.
    """
    at = at or timezone.now()
    require_aware(at, "at")
    exclude = dict(exclude or {})
    router = router or Router.load_at(at)
    calendar = calendar or WorkingCalendar.load()
    rules = source_rules()
    result = RoutingResult()
    pending = Lead.objects.filter(owner__isnull=True, status__in=CLAIMABLE_LEAD_STATUSES)
    if lead_ids is None:
        ids = list(pending.order_by("created_at", "pk").values_list("pk", flat=True))
    else:
        ids = list(lead_ids)
    for start in range(0, len(ids), BATCH):
        _route_batch(ids[start : start + BATCH], at, exclude, router, calendar, rules, result)
    return result


def _route_batch(
    ids: list[int],
    at: dt.datetime,
    exclude: dict[int, int],
    router: Router,
    calendar: WorkingCalendar,
    rules: dict,
    result: RoutingResult,
) -> None:
    with transaction.atomic():
        queryset = Lead.objects.filter(
            pk__in=ids, owner__isnull=True, status__in=CLAIMABLE_LEAD_STATUSES
        )
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        rows = list(
            queryset.values_list(
                "pk", "region", "industry", "source", "size", "created_at", "previous_owner_id"
            )
        )
        # Leads given to the same rep by the same rule at the same moment form one group,
        # written with one conditional UPDATE (still ownerless), far cheaper than a per-row
        # CASE update.
        groups: dict[tuple[int, int, dt.datetime, dt.datetime], list[int]] = defaultdict(list)
        for pk, region, industry, source, size, created_at, previous_owner in rows:
            # never straight back to the rep who just lost or gave up the lead
            excluded = exclude.get(pk, previous_owner)
            picked = router.pick(region, industry, source, size, exclude=excluded)
            if picked is None:
                result.unrouted += 1
                continue
            rule_id, owner_id = picked
            assigned_at = max(at, created_at)
            due = response_deadline(source, assigned_at, rules=rules, calendar=calendar)
            groups[(rule_id, owner_id, assigned_at, due)].append(pk)
            if excluded is not None:
                exclude[pk] = excluded
        history: list[Assignment] = []
        for (rule_id, owner_id, assigned_at, due), pks in groups.items():
            changed = Lead.objects.filter(
                pk__in=pks, owner__isnull=True, status__in=CLAIMABLE_LEAD_STATUSES
            ).update(
                owner_id=owner_id,
                routing_rule_id=rule_id,
                status=LeadStatus.ASSIGNED,
                assigned_at=assigned_at,
                response_due_at=due,
                first_contact_at=None,
                last_followup_at=None,
                ladder_step=0,
                ladder_since=None,
                high_risk=False,
                expiry_notified_at=None,
            )
            if changed != len(pks):  # a rep claimed some meanwhile: record only what we moved
                pks = list(
                    Lead.objects.filter(
                        pk__in=pks, owner_id=owner_id, routing_rule_id=rule_id
                    ).values_list("pk", flat=True)
                )
            history.extend(
                Assignment(
                    lead_id=pk,
                    kind=AssignmentKind.ROUTED,
                    owner_id=owner_id,
                    previous_owner_id=exclude.get(pk),
                    rule_id=rule_id,
                    at=assigned_at,
                )
                for pk in pks
            )
            result.by_rule[rule_id] += len(pks)
            result.assigned += len(pks)
            outbox.announce(outbox.LEAD_ASSIGNED, pks, at=assigned_at)
        Assignment.objects.bulk_create(history, batch_size=2000)
        router.save_cursors()


def unrouted_count() -> int:
    """Leads in the pool that no rule has placed yet (new and never assigned)."""
    return Lead.objects.filter(owner__isnull=True, status=LeadStatus.NEW).count()


def pool_counts() -> dict[str, int]:
    """What is waiting in the pools: never routed, recycled, and in nurture."""
    counts = Lead.objects.filter(owner__isnull=True).aggregate(
        unrouted=Count("pk", filter=Q(status=LeadStatus.NEW)),
        recycled=Count("pk", filter=Q(status=LeadStatus.RECYCLED)),
    )
    return {key: value or 0 for key, value in counts.items()}
