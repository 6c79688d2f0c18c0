"""Build a realistic sales organisation, deterministically from a seed, with planted problems.

The simulation walks customer by customer: each customer's contacts, opportunities (moving
through the process with realistic dwell times, wins, losses and the odd regression),
follow-ups, quotes, contracts, renewals and invoices are generated together and streamed to
the database in batches, so memory stays flat at any size.

Problems are planted on purpose (a rep whose follow-ups thin out, a team whose proposal
conversion falls, a rep who stops winning new customers) and every entity that ends up
showing a symptom (an unanswered quote, an untouched key account, a stuck negotiation, an
overdue invoice, a renewal at risk) is written to the ground truth, so a detector can be
scored on precision as well as recall.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.activities.models import Activity
from salesradar.core.tables import TableWriter, flush_in_order, next_id, reset_sequences
from salesradar.crm.models import Contact, Customer, Lead
from salesradar.crm.normalize import (
    CREDIT_CODE_CHARSET,
    credit_code_check_char,
    normalize_company_name,
)
from salesradar.demo import names
from salesradar.pipeline.models import (
    Contract,
    Evidence,
    Invoice,
    Opportunity,
    Quote,
    Stage,
    StageChange,
    Target,
)
from salesradar.pipeline.playbook import ensure_default_process

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
HISTORY_DAYS = 548  # 18 months
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class DemoSize:
    teams: int
    reps: int
    customers: int
    opportunities: int
    activities: int


SIZES = {
    "small": DemoSize(teams=2, reps=6, customers=300, opportunities=750, activities=9_000),
    "medium": DemoSize(teams=3, reps=20, customers=2_000, opportunities=5_000, activities=60_000),
    "large": DemoSize(
        teams=100,
        reps=5_000,
        customers=400_000,
        opportunities=1_000_000,
        activities=10_000_000,
    ),
}


@dataclass
class GroundTruth:
    kind: str
    entity_type: str
    entity_id: int
    starts_at: str
    description: str
    planted: bool = True


@dataclass
class DemoResult:
    rows: dict[str, int]
    ground_truth: list[GroundTruth]
    anchor: dt.datetime
    seed: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass
class Rep:
    id: int
    team_id: int
    name: str
    skill: float
    activity_rate: float
    response_hours: float
    hunter: float = 1.0
    declines_from: dt.datetime | None = None
    stops_hunting_from: dt.datetime | None = None


def work_time(moment: dt.datetime) -> dt.datetime:
    """Map a moment onto office hours of its own local day, keeping order between moments.

    Weekdays are squeezed into 09:00-18:00, weekends into 10:00-16:00; the date never changes,
    so nothing generated before the anchor day can move past it.
    """
    local = moment.astimezone(LOCAL_ZONE)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    fraction = (local - midnight) / DAY
    if local.weekday() < 5:
        mapped = midnight + dt.timedelta(hours=9 + 9 * fraction)
    else:
        mapped = midnight + dt.timedelta(hours=10 + 6 * fraction)
    return mapped.astimezone(UTC).replace(microsecond=0)


class DemoBuilder:
    """Generate the demo into the current database; call ``build()`` once."""

    ACTIVE_STAGES = ("initial_contact", "needs_confirmed", "proposal", "negotiation")
    ADVANCE = (0.64, 0.74, 0.68, 0.66)
    DWELL_DAYS = (10.0, 15.0, 11.0, 13.0)
    STAGE_ACTIVITY_PER_WEEK = (1.75, 1.75, 1.75, 2.0)
    CADENCE_DAYS = {"A": 7.0, "B": 14.0, "C": 30.0}
    TIER_AMOUNT = {"A": 480_000.0, "B": 160_000.0, "C": 45_000.0}

    def __init__(
        self,
        *,
        seed: int,
        size: DemoSize,
        today: dt.date,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.size = size
        self.anchor = dt.datetime.combine(today, dt.time(0, 0), LOCAL_ZONE).astimezone(UTC)
        self.start = self.anchor - HISTORY_DAYS * DAY
        self.progress = progress or (lambda message: None)
        self.truth: list[GroundTruth] = []
        # Per-customer rates are tuned so that the medium size lands near its activity count.
        self.activity_scale = (size.activities / size.customers) / 30.0
        self.opps_per_customer = size.opportunities / size.customers
        self.password = make_password(None)  # demo users sign in only after an admin sets one
        # won amount per (rep id, local month start), so targets follow what each rep wins
        self.won_by_rep_month: dict[tuple[int, dt.date], Decimal] = {}

    # ----------------------------------------------------------------- helpers
    def uniform_time(self, low: dt.datetime, high: dt.datetime) -> dt.datetime:
        return low + (high - low) * self.rng.random()

    def days(self, value: float) -> dt.timedelta:
        return dt.timedelta(days=value)

    def person_name(self) -> str:
        given = self.rng.choice(names.GIVEN) + (
            self.rng.choice(names.GIVEN) if self.rng.random() < 0.6 else ""
        )
        return self.rng.choice(names.SURNAMES) + given

    def monday_weeks_ago(self, weeks: int) -> dt.datetime:
        local = self.anchor.astimezone(LOCAL_ZONE)
        monday = local - self.days(local.weekday() + 7 * weeks)
        return monday.astimezone(UTC)

    def add_truth(
        self,
        kind: str,
        entity_type: str,
        entity_id: int,
        starts_at: dt.datetime,
        description: str,
        *,
        planted: bool,
    ) -> None:
        self.truth.append(
            GroundTruth(kind, entity_type, entity_id, starts_at.isoformat(), description, planted)
        )

    # ----------------------------------------------------------------- build
    def build(self) -> DemoResult:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Deferred foreign-key checks would pile up millions of queued events until
                # commit; checking each row as it arrives keeps memory and time flat.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            process_id = ensure_default_process()
            self.stages = {
                stage.key: stage for stage in Stage.objects.filter(process_id=process_id)
            }
            self.process_id = process_id
            self._open_writers()
            self._build_org()
            self._plan_problems()
            self._build_customers()
            self._build_targets()
            flush_in_order(list(self.writers.values()))
            reset_sequences([writer.model for writer in self.writers.values()])
        with connection.cursor() as cursor:
            # Fresh planner statistics: without them PostgreSQL guesses row counts of
            # millions-row tables from empty ones and picks nested loops that take minutes.
            cursor.execute("ANALYZE")
        rows = {name: writer.written for name, writer in self.writers.items()}
        rows["users"] = len(self.reps) + self.extra_users
        rows["teams"] = self.team_count
        return DemoResult(rows=rows, ground_truth=self.truth, anchor=self.anchor, seed=self.seed)

    def _open_writers(self) -> None:
        spec: dict[str, tuple[type, list[str]]] = {
            "customers": (
                Customer,
                [
                    "id",
                    "code",
                    "name",
                    "normalized_name",
                    "credit_code",
                    "industry",
                    "region",
                    "size",
                    "tier",
                    "lifecycle",
                    "owner_id",
                    "created_at",
                    "updated_at",
                ],
            ),
            "contacts": (
                Contact,
                [
                    "id",
                    "customer_id",
                    "name",
                    "title",
                    "decision_role",
                    "phone",
                    "email",
                    "created_at",
                ],
            ),
            "leads": (
                Lead,
                [
                    "id",
                    "code",
                    "company_name",
                    "normalized_name",
                    "contact_name",
                    "phone",
                    "email",
                    "region",
                    "industry",
                    "source",
                    "status",
                    "owner_id",
                    "customer_id",
                    "created_at",
                    "assigned_at",
                    "first_contact_at",
                    "recycle_count",
                ],
            ),
            "opportunities": (
                Opportunity,
                [
                    "id",
                    "code",
                    "name",
                    "customer_id",
                    "owner_id",
                    "process_id",
                    "stage_id",
                    "amount",
                    "currency",
                    "product_line",
                    "expected_close_date",
                    "created_at",
                    "updated_at",
                    "stage_entered_at",
                    "closed_at",
                    "lost_reason",
                    "lost_note",
                ],
            ),
            "stage_changes": (
                StageChange,
                [
                    "id",
                    "opportunity_id",
                    "from_stage_id",
                    "to_stage_id",
                    "changed_at",
                    "changed_by_id",
                    "is_regression",
                    "note",
                ],
            ),
            "evidence": (
                Evidence,
                ["id", "opportunity_id", "kind", "title", "url", "added_by_id", "added_at"],
            ),
            "quotes": (
                Quote,
                [
                    "id",
                    "opportunity_id",
                    "version",
                    "status",
                    "requested_at",
                    "sent_at",
                    "amount",
                    "currency",
                ],
            ),
            "contracts": (
                Contract,
                [
                    "id",
                    "code",
                    "customer_id",
                    "opportunity_id",
                    "renewal_of_id",
                    "signed_at",
                    "starts_on",
                    "ends_on",
                    "amount",
                    "currency",
                    "status",
                ],
            ),
            "invoices": (
                Invoice,
                [
                    "id",
                    "code",
                    "contract_id",
                    "customer_id",
                    "issued_on",
                    "due_on",
                    "amount",
                    "currency",
                    "paid_amount",
                    "paid_at",
                ],
            ),
            "activities": (
                Activity,
                [
                    "id",
                    "kind",
                    "customer_id",
                    "opportunity_id",
                    "contact_id",
                    "owner_id",
                    "occurred_at",
                    "duration_minutes",
                    "outcome",
                    "summary",
                    "decision_maker_present",
                    "next_step",
                    "next_step_due",
                    "created_at",
                    "backfilled",
                ],
            ),
            "targets": (
                Target,
                [
                    "id",
                    "user_id",
                    "team_id",
                    "period",
                    "period_start",
                    "measure",
                    "value",
                    "currency",
                ],
            ),
        }
        self.writers = {
            name: TableWriter(model, columns) for name, (model, columns) in spec.items()
        }
        self.ids = {name: next_id(writer.model) for name, writer in self.writers.items()}

    def take_id(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value

    # ----------------------------------------------------------------- organisation
    def _build_org(self) -> None:
        rng = self.rng
        self.extra_users = 0

        def user(username: str, role: str, team: Team | None, name: str, hired: dt.date) -> User:
            self.extra_users += 1
            return User.objects.create(
                username=username,
                first_name=name[1:],
                last_name=name[0],
                email=f"{username}@demo.salesradar.example",
                role=role,
                team=team,
                password=self.password,
                hired_on=hired,
                date_joined=self.start,
            )

        root = Team.objects.create(code="demo-sales", name="全国销售部")
        director = user("director", Role.DIRECTOR, root, self.person_name(), self.start.date())
        root.manager = director
        root.save()
        user("ops", Role.OPS, root, self.person_name(), self.start.date())
        leaves: list[Team] = []
        region_count = min(self.size.teams, len(names.TEAM_REGIONS))
        per_region = max(1, math.ceil(self.size.teams / region_count))
        made = 0
        for index in range(region_count):
            code, zh_name, _en = names.TEAM_REGIONS[index]
            region = Team.objects.create(
                code=f"demo-{code}", name=zh_name, parent=root, region=code
            )
            manager = user(
                f"mgr-{code}", Role.MANAGER, region, self.person_name(), self.start.date()
            )
            region.manager = manager
            region.save()
            # one presales engineer per region joins the health tier's joint visits; the name
            # is not drawn from the random stream, so the rest of the demo stays as it was
            user(
                f"presales-{code}",
                Role.PRESALES,
                region,
                names.SURNAMES[index % len(names.SURNAMES)] + names.GIVEN[index % len(names.GIVEN)],
                self.start.date(),
            )
            if per_region == 1:
                leaves.append(region)
                made += 1
                continue
            for group in range(per_region):
                if made >= self.size.teams:
                    break
                team = Team.objects.create(
                    code=f"demo-{code}-{group + 1}",
                    name=f"{zh_name}{group + 1}组",
                    parent=region,
                    region=code,
                )
                lead = user(
                    f"mgr-{code}-{group + 1}",
                    Role.MANAGER,
                    team,
                    self.person_name(),
                    self.start.date(),
                )
                team.manager = lead
                team.save()
                leaves.append(team)
                made += 1
        self.team_count = Team.objects.filter(path__startswith=root.path).count()
        self.leaves = leaves

        reps: list[User] = []
        specs: list[tuple[str, str, Team, dt.date]] = []
        for number in range(1, self.size.reps + 1):
            team = leaves[(number - 1) % len(leaves)]
            hired = (self.start - self.days(rng.uniform(0, 900))).date()
            if rng.random() < 0.12:
                hired = (self.start + self.days(rng.uniform(30, HISTORY_DAYS - 120))).date()
            specs.append((f"rep{number:04d}", self.person_name(), team, hired))
        for username, name, team, hired in specs:
            reps.append(
                User(
                    username=username,
                    first_name=name[1:],
                    last_name=name[0],
                    email=f"{username}@demo.salesradar.example",
                    role=Role.REP,
                    team=team,
                    password=self.password,
                    hired_on=hired,
                    date_joined=self.start,
                    phone=f"+86 138{rng.randrange(10**8):08d}",
                )
            )
        created = User.objects.bulk_create(reps, batch_size=2000)
        self.reps = [
            Rep(
                id=rep.pk,
                team_id=rep.team_id or 0,
                name=str(rep),
                skill=min(1.35, max(0.65, rng.gauss(1.0, 0.15))),
                activity_rate=min(1.4, max(0.7, rng.gauss(1.0, 0.12))),
                response_hours=min(30.0, max(3.0, rng.gauss(12.0, 5.0))),
            )
            for rep in created
        ]
        self.rep_hired = {rep.pk: rep.hired_on for rep in created}
        self.reps_by_team: dict[int, list[Rep]] = {}
        for rep in self.reps:
            self.reps_by_team.setdefault(rep.team_id, []).append(rep)
        self.team_names = {team.pk: team.name for team in leaves}

    # ----------------------------------------------------------------- plan problems
    def _plan_problems(self) -> None:
        """Pick who carries the rep- and team-level problems; symptoms follow in the data."""
        rng = self.rng
        per_team = max(1, len(self.leaves) // 50)
        self.declining: set[int] = set()
        self.non_hunting: set[int] = set()
        self.conversion_drop: dict[int, dt.datetime] = {}
        for team in rng.sample(self.leaves, k=min(len(self.leaves), per_team)):
            members = self.reps_by_team.get(team.pk, [])
            if len(members) < 2:
                continue
            decliner, hunter = rng.sample(members, 2)
            decliner.declines_from = self.monday_weeks_ago(6)
            self.declining.add(decliner.id)
            self.add_truth(
                "followup_decline",
                "user",
                decliner.id,
                decliner.declines_from,
                f"{decliner.name}: follow-ups fall to about a third of the usual rate from "
                f"{decliner.declines_from.astimezone(LOCAL_ZONE):%Y-%m-%d}",
                planted=True,
            )
            hunter.hunter = 2.0
            hunter.stops_hunting_from = self.monday_weeks_ago(6)
            self.non_hunting.add(hunter.id)
            self.add_truth(
                "new_customers_low",
                "user",
                hunter.id,
                hunter.stops_hunting_from,
                f"{hunter.name}: no new customers for six weeks running, after winning "
                "twice the team's average",
                planted=True,
            )
        self.hunting_weights = list(itertools.accumulate(rep.hunter for rep in self.reps))
        troubled = {rep.team_id for rep in self.reps if rep.id in self.declining}
        drop_teams = [team for team in self.leaves if team.pk not in troubled] or self.leaves
        for team in rng.sample(drop_teams, k=min(len(drop_teams), per_team)):
            since = self.monday_weeks_ago(10)
            self.conversion_drop[team.pk] = since
            self.add_truth(
                "conversion_drop",
                "team",
                team.pk,
                since,
                f"{team.name}: proposal→negotiation conversion falls from about 68% to about "
                f"20% for deals reaching proposal since {since.astimezone(LOCAL_ZONE):%Y-%m-%d}",
                planted=True,
            )
        quota = max(3, self.size.customers // 250)
        counts = {
            "quote_unanswered": quota,
            "a_tier_untouched": quota,
            "stuck_negotiation": quota,
            "overdue_invoice": quota,
            "renewal_at_risk": max(2, quota // 2),
        }
        # Each plant is due at a chosen customer and taken by the first eligible one from
        # there on, so every kind is planted however the dice fall for single customers.
        self.plants_due: dict[int, list[str]] = {}
        spread = max(1, int(self.size.customers * 0.8))
        for kind, count in counts.items():
            for index in rng.sample(range(spread), k=min(count, spread)):
                self.plants_due.setdefault(index, []).append(kind)
        self.pending = dict.fromkeys(counts, 0)

    def take_plant(self, kind: str) -> bool:
        if self.pending[kind] <= 0:
            return False
        self.pending[kind] -= 1
        return True

    # ----------------------------------------------------------------- customers
    def _build_customers(self) -> None:
        total = self.size.customers
        step = max(1, total // 10)
        writers = list(self.writers.values())
        for index in range(total):
            self._build_customer(index)
            if any(writer.full for writer in writers):
                flush_in_order(writers)
            if (index + 1) % step == 0 or index + 1 == total:
                self.progress(f"customers {index + 1:,}/{total:,}")

    def _pick_owner(self, created_at: dt.datetime) -> Rep:
        """Pick an owner in proportion to hunting weight; nobody owns before being hired."""
        rng = self.rng
        for _attempt in range(100):
            rep = rng.choices(self.reps, cum_weights=self.hunting_weights)[0]
            hired = self.rep_hired[rep.id]
            if hired and created_at.date() < hired:
                continue
            if rep.stops_hunting_from and created_at >= rep.stops_hunting_from:
                continue
            return rep
        return next(r for r in self.reps if not r.stops_hunting_from)

    def _build_customer(self, index: int) -> None:
        rng = self.rng
        for kind in self.plants_due.pop(index, []):
            self.pending[kind] += 1
        customer_id = self.take_id("customers")
        tier = rng.choices("ABC", weights=(10, 30, 60))[0]
        is_new = rng.random() < 0.4
        if is_new:
            created_at = self.uniform_time(self.start, self.anchor - DAY)
        else:
            created_at = self.uniform_time(self.start - self.days(1000), self.start)
        created_at = work_time(created_at)
        if rng.random() < 0.15 and is_new:
            owner = None  # still in the public pool
            owner_rep = None
        else:
            owner_rep = self._pick_owner(created_at)
            owner = owner_rep.id
        city = rng.choice(names.CITIES)
        company = (
            f"{city}{rng.choice(names.BRAND_HEADS)}{rng.choice(names.BRAND_TAILS)}"
            f"{rng.choice(names.TRADES)}有限公司"
        )
        serial = ""
        number = customer_id
        for _ in range(9):
            number, digit = divmod(number, 31)
            serial = CREDIT_CODE_CHARSET[digit] + serial
        first17 = f"91{rng.randrange(110000, 659999):06d}{serial}"
        credit_code = first17 + credit_code_check_char(first17)
        ctx = CustomerContext(
            id=customer_id,
            tier=tier,
            created_at=created_at,
            owner=owner_rep,
            name=company,
        )
        if owner_rep is not None:
            self._build_contacts(ctx)
            self._build_lead(ctx, converted=is_new)
            self._build_opportunities(ctx)
            self._build_cadence_touches(ctx)
            self._apply_customer_plants(ctx)
            self._build_renewals_and_invoices(ctx)
            self._collect_symptoms(ctx)
            self._write_activities(ctx)
        lifecycle = ctx.lifecycle(self.anchor, is_new)
        self.writers["customers"].add(
            (
                customer_id,
                f"C{customer_id:07d}",
                company,
                normalize_company_name(company),
                credit_code,
                rng.choice(names.INDUSTRIES),
                city,
                rng.choice(("micro", "small", "medium", "large", "enterprise")),
                tier,
                lifecycle,
                owner,
                created_at,
                max(created_at, ctx.last_touch or created_at),
            )
        )
        if rng.random() < 0.35:
            self._build_lead(ctx, converted=False)

    def _build_contacts(self, ctx: CustomerContext) -> None:
        rng = self.rng
        roles = ["decision_maker"] if rng.random() < 0.88 else []
        roles += rng.sample(["influencer", "user", "finance"], k=rng.randint(1, 3))
        for role in roles:
            contact_id = self.take_id("contacts")
            name = self.person_name()
            self.writers["contacts"].add(
                (
                    contact_id,
                    ctx.id,
                    name,
                    rng.choice(names.CONTACT_TITLES[role]),
                    role,
                    f"+86 13{rng.randrange(10**9):09d}",
                    f"c{contact_id}@customer.example",
                    ctx.created_at,
                )
            )
            ctx.contacts.append(contact_id)
            if role == "decision_maker":
                ctx.decision_maker = contact_id

    def _build_lead(self, ctx: CustomerContext, *, converted: bool) -> None:
        rng = self.rng
        lead_id = self.take_id("leads")
        if converted:
            created_at = ctx.created_at - self.days(rng.uniform(2, 20))
            status, customer_id = "converted", ctx.id
            owner = ctx.owner.id if ctx.owner else None
        else:
            created_at = self.uniform_time(self.start, self.anchor - DAY)
            status = rng.choices(
                ("disqualified", "contacted", "qualified", "recycled", "new"),
                weights=(45, 20, 15, 10, 10),
            )[0]
            customer_id = None
            owner = None if status in ("new", "recycled") else rng.choice(self.reps).id
        created_at = work_time(created_at)
        assigned_at = first_contact = None
        if owner is not None:
            assigned_at = max(
                work_time(created_at + dt.timedelta(hours=rng.uniform(0.2, 6))), created_at
            )
            first_contact = max(
                work_time(assigned_at + dt.timedelta(hours=rng.uniform(0.5, 20))), assigned_at
            )
            if first_contact >= self.anchor:
                first_contact = None
        name = ctx.name if converted else f"{rng.choice(names.CITIES)}{ctx.name[2:]}"
        self.writers["leads"].add(
            (
                lead_id,
                f"L{lead_id:07d}",
                name,
                normalize_company_name(name),
                self.person_name(),
                f"+86 139{rng.randrange(10**8):08d}",
                "",
                "",
                "",
                rng.choice(("web_form", "referral", "exhibition", "advertising", "import")),
                status,
                owner,
                customer_id,
                created_at,
                assigned_at,
                first_contact,
                1 if status == "recycled" else 0,
            )
        )

    # ----------------------------------------------------------------- opportunities
    def _build_opportunities(self, ctx: CustomerContext) -> None:
        rng = self.rng
        weight = {"A": 2.2, "B": 1.2, "C": 0.75}[ctx.tier]
        expected = self.opps_per_customer * weight / 1.0
        count = _poisson(rng, expected)
        window_start = max(ctx.created_at, self.start)
        if window_start >= self.anchor - 2 * DAY:
            return
        for _ in range(count):
            created_at = work_time(self.uniform_time(window_start, self.anchor - DAY))
            self._simulate_opportunity(ctx, created_at)
        assert ctx.owner is not None
        eligible = (
            ctx.owner.id not in self.declining
            and ctx.decision_maker is not None
            and ctx.created_at < self.anchor - 400 * DAY
        )
        if not eligible:
            return
        if self.take_plant("stuck_negotiation"):
            created_at = work_time(self.anchor - self.days(rng.uniform(40, 60)))
            self._simulate_opportunity(ctx, created_at, forced="stuck_negotiation")
        if self.take_plant("quote_unanswered"):
            created_at = work_time(self.anchor - self.days(rng.uniform(30, 45)))
            self._simulate_opportunity(ctx, created_at, forced="quote_unanswered")
        if self.take_plant("renewal_at_risk"):
            created_at = work_time(self.anchor - self.days(365 - rng.uniform(25, 45) + 22))
            self._simulate_opportunity(ctx, created_at, forced="renewal_at_risk")

    FORCED_STAGE = {
        "renewal": "won",
        "stuck_negotiation": "negotiation",
        "quote_unanswered": "proposal",
        "renewal_at_risk": "won",
    }

    def _simulate_opportunity(
        self, ctx: CustomerContext, created_at: dt.datetime, forced: str = ""
    ) -> None:
        """Walk one opportunity through the process; ``forced`` plants a known path."""
        rng = self.rng
        rep = ctx.owner
        assert rep is not None
        opp_id = self.take_id("opportunities")
        amount = Decimal(
            round(self.TIER_AMOUNT[ctx.tier] * rng.lognormvariate(0, 0.45), -2)
        ).quantize(Decimal("0.01"))
        close_date = (created_at + self.days(rng.uniform(45, 120))).date()
        product = rng.choice(names.PRODUCT_LINES)
        moves: list[tuple[str | None, str, dt.datetime, bool]] = [
            (None, "initial_contact", created_at, False)
        ]
        t = created_at
        index = 0
        regressed = False
        outcome = "open"
        lost_reason = ""
        while True:
            stage_key = self.ACTIVE_STAGES[index]
            mean = self.DWELL_DAYS[index]
            dwell = max(0.3, rng.lognormvariate(math.log(mean), 0.55))
            if forced:
                dwell = rng.uniform(3, 8)
                if stage_key == self.FORCED_STAGE[forced]:
                    break
            t_next = max(work_time(t + self.days(dwell)), t + dt.timedelta(hours=1))
            if t_next >= self.anchor:
                break
            advance = self.ADVANCE[index] * rep.skill * (1.08 if ctx.tier == "A" else 1.0)
            drop_since = self.conversion_drop.get(rep.team_id)
            if stage_key == "proposal" and drop_since is not None and t >= drop_since:
                advance = 0.2
            if index == 0 and ctx.decision_maker is None:
                advance = 0.0
            if forced:
                advance = 1.0
            if index >= 2 and not regressed and not forced and rng.random() < 0.05:
                regressed = True
                moves.append((stage_key, self.ACTIVE_STAGES[index - 1], t_next, True))
                t = t_next
                index -= 1
                continue
            if forced or rng.random() < min(0.95, advance):
                if index == 3:
                    moves.append((stage_key, "won", t_next, False))
                    outcome = "won"
                    t = t_next
                    break
                moves.append((stage_key, self.ACTIVE_STAGES[index + 1], t_next, False))
                t = t_next
                index += 1
            else:
                lost_reason = (
                    "no_decision"
                    if ctx.decision_maker is None
                    else rng.choices(
                        (
                            "price",
                            "competitor",
                            "no_budget",
                            "no_decision",
                            "product_fit",
                            "timing",
                        ),
                        weights=(30, 25, 15, 12, 10, 8),
                    )[0]
                )
                moves.append((stage_key, "lost", t_next, False))
                outcome = "lost"
                t = t_next
                break
        final_key = moves[-1][1]
        entered_at = moves[-1][2]
        closed_at = entered_at if outcome != "open" else None
        opp = OppContext(
            id=opp_id,
            rep=rep,
            created_at=created_at,
            amount=amount,
            moves=moves,
            closed_at=closed_at,
            outcome=outcome,
            stage_key=final_key,
            entered_at=entered_at,
            forced=forced,
        )
        self._opp_evidence_quotes_contract(ctx, opp)
        self._opp_activities(ctx, opp)
        ctx.opps.append(opp)
        opp.row = [
            opp_id,
            f"O{opp_id:07d}",
            f"{product} · {ctx.name[:-4]}",
            ctx.id,
            rep.id,
            self.process_id,
            self.stages[final_key].pk,
            amount,
            "CNY",
            product,
            close_date,
            created_at,
            None,
            entered_at,
            closed_at,
            lost_reason,
            "",
        ]

    def _opp_evidence_quotes_contract(self, ctx: CustomerContext, opp: OppContext) -> None:
        rng = self.rng
        entered_before: set[str] = set()
        for _from, to_key, at, _regression in opp.moves:
            if to_key in entered_before:
                continue
            entered_before.add(to_key)
            before = at - dt.timedelta(hours=rng.uniform(1, 30))
            before = max(before, opp.created_at)
            if to_key == "needs_confirmed":
                self._evidence(opp, "pain_points", "需求痛点清单", before)
            elif to_key == "negotiation":
                self._evidence(opp, "nda", "保密协议（已签署）", before)
            elif to_key == "proposal":
                opp.proposal_at = at
        if opp.proposal_at is not None:
            leave = next(
                (move[2] for move in opp.moves if move[0] == "proposal" and not move[3]),
                None,
            )
            requested = work_time(opp.proposal_at + dt.timedelta(hours=rng.uniform(0.5, 24)))
            if leave is not None and requested >= leave:
                requested = opp.proposal_at
            response = min(40.0, rng.lognormvariate(math.log(opp.rep.response_hours), 0.5))
            sent = requested + dt.timedelta(hours=response)
            if leave is not None and sent >= leave:
                sent = max(requested, leave - dt.timedelta(minutes=30))
            opp.quotes.append([1, requested, sent if sent < self.anchor else None])
            if opp.stage_key in ("negotiation", "won") and rng.random() < 0.45:
                base = next(m[2] for m in opp.moves if m[1] == "negotiation")
                end = opp.closed_at or self.anchor
                if end - base > 2 * DAY:
                    requested2 = work_time(self.uniform_time(base, end - 2 * DAY))
                    sent2 = requested2 + dt.timedelta(hours=min(40.0, response * 0.8))
                    opp.quotes.append([2, requested2, sent2 if sent2 < end else None])
        if opp.outcome == "won":
            assert opp.closed_at is not None
            won_month = (opp.rep.id, opp.closed_at.astimezone(LOCAL_ZONE).date().replace(day=1))
            self.won_by_rep_month[won_month] = self.won_by_rep_month.get(won_month, 0) + opp.amount
            signed = max(opp.closed_at - dt.timedelta(hours=rng.uniform(1, 20)), opp.created_at)
            ctx.contracts.append(
                ContractPlan(
                    opportunity_id=opp.id,
                    signed_at=signed,
                    starts_on=opp.closed_at.astimezone(LOCAL_ZONE).date(),
                    months=12 if opp.forced else rng.choice((12, 12, 12, 24)),
                    at_risk=opp.forced == "renewal_at_risk",
                    amount=opp.amount,
                )
            )

    def _evidence(self, opp: OppContext, kind: str, title: str, at: dt.datetime) -> None:
        evidence_id = self.take_id("evidence")
        self.writers["evidence"].add((evidence_id, opp.id, kind, title, "", opp.rep.id, at))

    def _opp_activities(self, ctx: CustomerContext, opp: OppContext) -> None:
        rng = self.rng
        segments = list(zip(opp.moves, [*opp.moves[1:], None], strict=True))
        for (_from, to_key, at, _regression), following in segments:
            if to_key in ("won", "lost"):
                continue
            end = following[2] if following else self.anchor
            index = self.ACTIVE_STAGES.index(to_key)
            rate = self.STAGE_ACTIVITY_PER_WEEK[index] * opp.rep.activity_rate
            rate *= self.activity_scale
            t = at
            kinds = {
                0: (("call", 50), ("im", 25), ("email", 15), ("visit", 10)),
                1: (("visit", 35), ("call", 30), ("demo", 20), ("meeting", 15)),
                2: (("meeting", 30), ("call", 30), ("email", 25), ("visit", 15)),
                3: (("meeting", 40), ("call", 30), ("visit", 20), ("im", 10)),
            }[index]
            while True:
                t = t + self.days(7.0 / rate * rng.uniform(0.3, 1.7))
                if t >= end:
                    break
                kind = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
                ctx.activities.append(
                    self._activity(ctx, opp.rep, work_time(t), kind, opp.id, index >= 2)
                )

    def _activity(
        self,
        ctx: CustomerContext,
        rep: Rep,
        at: dt.datetime,
        kind: str,
        opportunity_id: int | None,
        late_stage: bool,
    ) -> list[Any]:
        rng = self.rng
        dm_present = ctx.decision_maker is not None and rng.random() < (0.45 if late_stage else 0.2)
        contact = (
            ctx.decision_maker
            if dm_present
            else (rng.choice(ctx.contacts) if ctx.contacts else None)
        )
        duration = {"visit": 90, "meeting": 60, "demo": 75, "call": 12, "email": 5, "im": 3}.get(
            kind, 5
        )
        outcome = rng.choices(
            ("positive", "neutral", "negative", "no_response"), weights=(40, 40, 8, 12)
        )[0]
        return [
            0,
            kind,
            ctx.id,
            opportunity_id,
            contact,
            rep.id,
            at,
            int(duration * rng.uniform(0.5, 1.6)),
            outcome,
            "",
            dm_present,
            "",
            None,
            min(at + dt.timedelta(minutes=rng.randint(1, 240)), self.anchor),
            True,  # generated history: known from when it occurred (issue 11 §2)
        ]

    def _build_cadence_touches(self, ctx: CustomerContext) -> None:
        """Routine account care: a good rep never lets a customer exceed its tier cadence.

        Follow-ups on the customer's deals count, so a touch is added only when nothing else
        happened within the cadence.
        """
        rng = self.rng
        assert ctx.owner is not None
        cadence = self.CADENCE_DAYS[ctx.tier]
        existing = sorted(activity[6] for activity in ctx.activities)
        t = max(ctx.created_at, self.start)
        while True:
            due = t + self.days(cadence * rng.uniform(0.7, 0.98))
            if due >= self.anchor:
                break
            position = bisect.bisect_right(existing, due)
            if position and existing[position - 1] > t:
                t = existing[position - 1]
                continue
            kind = rng.choices(("call", "im", "visit", "email"), weights=(45, 25, 20, 10))[0]
            ctx.activities.append(self._activity(ctx, ctx.owner, work_time(due), kind, None, False))
            t = due

    # ----------------------------------------------------------------- contracts
    def _build_renewals_and_invoices(self, ctx: CustomerContext) -> None:
        rng = self.rng
        anchor_date = self.anchor.astimezone(LOCAL_ZONE).date()
        position = 0
        while position < len(ctx.contracts):
            plan = ctx.contracts[position]
            position += 1
            contract_id = self.take_id("contracts")
            plan.id = contract_id
            ends_on = _add_months(plan.starts_on, plan.months) - DAY
            status = "active" if ends_on >= anchor_date else "expired"
            renewal_starts = ends_on - dt.timedelta(days=75)
            renewing_now = ends_on >= anchor_date  # every live contract gets its renewal deal
            if (
                renewal_starts < anchor_date
                and not plan.at_risk
                and ctx.decision_maker is not None
                and (renewing_now or rng.random() < 0.75)
            ):
                # A renewal is sold like any deal: an opportunity ~75 days before the end,
                # walked through the process; its contract renews this one.
                before = len(ctx.contracts)
                created_at = work_time(dt.datetime.combine(renewal_starts, dt.time(2, 0), UTC))
                self._simulate_opportunity(ctx, created_at, forced="renewal")
                if len(ctx.contracts) > before:
                    renewal = ctx.contracts[-1]
                    renewal.renewal_of = contract_id
                    renewal.starts_on = ends_on + DAY
                    renewal.months = 12
                    renewal.amount = (plan.amount * Decimal("1.05")).quantize(Decimal("0.01"))
                    status = "renewed" if status == "expired" else status
            elif status == "expired":
                ctx.churned_on = ends_on
            self.writers["contracts"].add(
                (
                    contract_id,
                    f"HT{contract_id:07d}",
                    ctx.id,
                    plan.opportunity_id,
                    plan.renewal_of,
                    plan.signed_at,
                    plan.starts_on,
                    ends_on,
                    plan.amount,
                    "CNY",
                    status,
                )
            )
            plan.ends_on = ends_on
            plan.status = status
            self._invoices(ctx, plan, anchor_date)

    def _invoices(self, ctx: CustomerContext, plan: ContractPlan, anchor_date: dt.date) -> None:
        rng = self.rng
        instalments = rng.choice((1, 2, 3))
        share = (plan.amount / instalments).quantize(Decimal("0.01"))
        for number in range(instalments):
            issued = _add_months(plan.starts_on, number * 3)
            if issued >= anchor_date:
                break
            due = issued + dt.timedelta(days=30)
            invoice_id = self.take_id("invoices")
            pay_day = due + dt.timedelta(days=rng.randint(-20, 7))
            paid_at: dt.datetime | None = work_time(
                dt.datetime.combine(pay_day, dt.time(4, 0), UTC)
            )
            overdue_window = dt.timedelta(days=20) <= anchor_date - due <= dt.timedelta(days=75)
            if overdue_window and self.take_plant("overdue_invoice"):
                paid_at = None
                ctx.planted_overdue.add(invoice_id)
            if paid_at is not None and paid_at >= self.anchor:
                paid_at = None
            self.writers["invoices"].add(
                (
                    invoice_id,
                    f"FP{invoice_id:08d}",
                    plan.id,
                    ctx.id,
                    issued,
                    due,
                    share,
                    "CNY",
                    share if paid_at else Decimal("0.00"),
                    paid_at,
                )
            )
            ctx.invoices.append((invoice_id, due, paid_at))

    # ----------------------------------------------------------------- plants & truth
    def _apply_customer_plants(self, ctx: CustomerContext) -> None:
        rng = self.rng
        rep = ctx.owner
        assert rep is not None
        for opp in ctx.opps:
            if opp.forced == "quote_unanswered":
                # The customer asked for a revised quote days ago and heard nothing back.
                requested = work_time(self.anchor - self.days(rng.uniform(3.2, 6.5)))
                opp.quotes = [q for q in opp.quotes if q[1] < requested]
                opp.quotes.append([len(opp.quotes) + 1, requested, None])
            elif opp.forced == "stuck_negotiation":
                cutoff = opp.entered_at + self.days(rng.uniform(0.5, 2.0))
                ctx.activities = [
                    a for a in ctx.activities if not (a[3] == opp.id and a[6] > cutoff)
                ]
                opp.quotes = [q for q in opp.quotes if q[1] <= cutoff]
            elif opp.forced == "renewal_at_risk":
                cutoff = self.anchor - self.days(rng.uniform(35, 50))
                ctx.activities = [a for a in ctx.activities if a[6] <= cutoff]
                for activity in ctx.activities[-2:]:
                    activity[8] = "negative"
                ctx.planted.add("renewal_at_risk")
        untouchable = (
            rep.id not in self.declining
            and ctx.tier == "A"
            and ctx.created_at < self.anchor - 60 * DAY
            and not any(opp.outcome == "open" for opp in ctx.opps)
            and not any(plan.at_risk for plan in ctx.contracts)
        )
        if untouchable and self.take_plant("a_tier_untouched"):
            cutoff = self.anchor - self.days(rng.uniform(21, 35))
            ctx.activities = [a for a in ctx.activities if a[6] <= cutoff]
            ctx.planted.add("a_tier_untouched")
        # The rep whose follow-ups thin out: two in three activities after the date vanish.
        if rep.declines_from is not None:
            ctx.activities = [
                a for a in ctx.activities if a[6] < rep.declines_from or rng.random() < 0.33
            ]

    def _collect_symptoms(self, ctx: CustomerContext) -> None:
        """Record every entity that shows a problem at the anchor, planted or consequential."""
        rep = ctx.owner
        assert rep is not None
        by_opp: dict[int, dt.datetime] = {}
        for activity in ctx.activities:
            if activity[3] is not None:
                by_opp[activity[3]] = max(by_opp.get(activity[3], activity[6]), activity[6])
        ctx.last_touch = max((a[6] for a in ctx.activities), default=None)
        cause = "" if rep.id not in self.declining else f" (owner {rep.name}'s follow-ups thinned)"
        for opp in ctx.opps:
            last = max([opp.entered_at, by_opp.get(opp.id, opp.entered_at)])
            for _version, requested, sent in opp.quotes:
                last = max(last, sent or requested)
            opp.row[12] = last
            for version, requested, sent in opp.quotes:
                if sent is None and opp.outcome == "open" and self.anchor - requested > 2 * DAY:
                    self.add_truth(
                        "quote_unanswered",
                        "quote",
                        0,
                        requested,
                        f"Quote v{version} for O{opp.id:07d} requested "
                        f"{requested.astimezone(LOCAL_ZONE):%Y-%m-%d %H:%M} and not sent",
                        planted=opp.forced == "quote_unanswered",
                    )
                    opp.pending_truth.append((len(self.truth) - 1, version))
            if (
                opp.outcome == "open"
                and opp.stage_key == "negotiation"
                and self.anchor - last > 7 * DAY
            ):
                self.add_truth(
                    "stuck_negotiation",
                    "opportunity",
                    opp.id,
                    last,
                    f"O{opp.id:07d} in negotiation since "
                    f"{opp.entered_at.astimezone(LOCAL_ZONE):%Y-%m-%d} with no update since "
                    f"{last.astimezone(LOCAL_ZONE):%Y-%m-%d}{cause}",
                    planted=opp.forced == "stuck_negotiation",
                )
            self._write_opportunity(opp)
        churned = ctx.churned_on is not None and not any(
            plan.status == "active" for plan in ctx.contracts
        )
        if not churned:
            # Twice the tier's cadence without a follow-up is a neglected customer.
            last = ctx.last_touch or ctx.created_at
            if self.anchor - last > 2 * self.CADENCE_DAYS[ctx.tier] * DAY:
                self.add_truth(
                    "a_tier_untouched" if ctx.tier == "A" else "customer_untouched",
                    "customer",
                    ctx.id,
                    last,
                    f"{ctx.tier}-tier customer C{ctx.id:07d} not followed up since "
                    f"{last.astimezone(LOCAL_ZONE):%Y-%m-%d}{cause}",
                    planted="a_tier_untouched" in ctx.planted,
                )
        anchor_date = self.anchor.astimezone(LOCAL_ZONE).date()
        for invoice_id, due, paid_at in ctx.invoices:
            if paid_at is None and (anchor_date - due).days > 15:
                self.add_truth(
                    "overdue_invoice",
                    "invoice",
                    invoice_id,
                    dt.datetime.combine(due + DAY, dt.time(0, 0), LOCAL_ZONE),
                    f"Invoice FP{invoice_id:08d} due {due:%Y-%m-%d} is unpaid",
                    planted=invoice_id in ctx.planted_overdue,
                )
        renewed = {plan.renewal_of for plan in ctx.contracts if plan.signed_at < self.anchor}
        for plan in ctx.contracts:
            if plan.status != "active" or plan.ends_on is None or plan.id in renewed:
                continue
            renewal_window = dt.datetime.combine(
                plan.ends_on - dt.timedelta(days=120), dt.time(0, 0), LOCAL_ZONE
            )
            if any(opp.outcome == "open" and opp.created_at >= renewal_window for opp in ctx.opps):
                continue
            days_left = (plan.ends_on - anchor_date).days
            quiet_since = ctx.last_touch or plan.signed_at
            if days_left <= 60 and self.anchor - quiet_since > 30 * DAY:
                self.add_truth(
                    "renewal_at_risk",
                    "contract",
                    plan.id or 0,
                    quiet_since,
                    f"Contract HT{plan.id:07d} ends {plan.ends_on:%Y-%m-%d}; customer quiet "
                    f"since {quiet_since.astimezone(LOCAL_ZONE):%Y-%m-%d}, no renewal",
                    planted=plan.at_risk,
                )

    def _write_opportunity(self, opp: OppContext) -> None:
        rng = self.rng
        self.writers["opportunities"].add(tuple(opp.row))
        stage_ids = self.stages
        for from_key, to_key, at, regression in opp.moves:
            self.writers["stage_changes"].add(
                (
                    self.take_id("stage_changes"),
                    opp.id,
                    stage_ids[from_key].pk if from_key else None,
                    stage_ids[to_key].pk,
                    at,
                    opp.rep.id,
                    regression,
                    "",
                )
            )
        quote_ids: dict[int, int] = {}
        for version, requested, sent in opp.quotes:
            quote_id = self.take_id("quotes")
            quote_ids[version] = quote_id
            latest = version == len(opp.quotes)
            if sent is None:
                status = "requested"
            elif not latest:
                status = "superseded"
            elif opp.outcome == "won":
                status = "accepted"
            elif opp.outcome == "lost":
                status = "rejected"
            else:
                status = "sent"
            amount = (opp.amount * Decimal(str(round(rng.uniform(0.9, 1.15), 2)))).quantize(
                Decimal("0.01")
            )
            self.writers["quotes"].add(
                (quote_id, opp.id, version, status, requested, sent, amount, "CNY")
            )
        for truth_index, version in opp.pending_truth:
            self.truth[truth_index].entity_id = quote_ids[version]

    def _write_activities(self, ctx: CustomerContext) -> None:
        writer = self.writers["activities"]
        for activity in ctx.activities:
            activity[0] = self.take_id("activities")
            writer.add(tuple(activity))

    # ----------------------------------------------------------------- targets
    def _build_targets(self) -> None:
        """Monthly won-amount and new-customer targets per rep, rolled up per team.

        A quarter's monthly target is 10 % above what the rep won per month in the last
        complete quarter before it, the way sales managers usually set them; a formula from
        the demo's size stands in where there is no such quarter yet. Fixed targets would
        read as several hundred percent attained, because the demo's wins grow with its
        customer base over the 18 months.
        """
        wins_per_rep_month = (self.size.opportunities * 0.2) / (len(self.reps) * 18)
        monthly = Decimal(round(wins_per_rep_month * 150_000 * 0.9, -3))
        anchor_date = self.anchor.astimezone(LOCAL_ZONE).date()
        first = _add_months(anchor_date.replace(day=1), -18)
        months = [_add_months(first, offset) for offset in range(21)]
        last_complete_quarter = _quarter_start(_add_months(_quarter_start(anchor_date), -3))
        writer = self.writers["targets"]

        def add_target(
            user_id: int | None, team_id: int | None, month: dt.date, measure: str, value: Decimal
        ) -> None:
            row = (self.take_id("targets"), user_id, team_id, "month", month, measure, value)
            writer.add((*row, "CNY"))

        def rep_target(rep: Rep, month: dt.date) -> Decimal:
            basis = min(_add_months(_quarter_start(month), -3), last_complete_quarter)
            if basis >= first:
                won = sum(
                    (
                        self.won_by_rep_month.get((rep.id, _add_months(basis, offset)), Decimal(0))
                        for offset in range(3)
                    ),
                    Decimal(0),
                )
                if won > 0:
                    return (won / 3 * Decimal("1.1")).quantize(Decimal("1000"))
            return (monthly * Decimal(str(round(0.8 + 0.4 * rep.skill, 2)))).quantize(Decimal("1"))

        for month in months:
            team_sum: dict[int, Decimal] = {}
            for rep in self.reps:
                value = rep_target(rep, month)
                team_sum[rep.team_id] = team_sum.get(rep.team_id, Decimal(0)) + value
                add_target(rep.id, None, month, "won_amount", value)
                add_target(rep.id, None, month, "new_customers", Decimal(2))
            for team_id, value in team_sum.items():
                add_target(None, team_id, month, "won_amount", value)


@dataclass
class ContractPlan:
    opportunity_id: int | None
    signed_at: dt.datetime
    starts_on: dt.date
    months: int
    amount: Decimal
    renewal_of: int | None = None
    id: int | None = None
    ends_on: dt.date | None = None
    status: str = "active"
    at_risk: bool = False


@dataclass
class OppContext:
    id: int
    rep: Rep
    created_at: dt.datetime
    amount: Decimal
    moves: list[tuple[str | None, str, dt.datetime, bool]]
    closed_at: dt.datetime | None
    outcome: str
    stage_key: str
    entered_at: dt.datetime
    proposal_at: dt.datetime | None = None
    forced: str = ""
    quotes: list[list[Any]] = field(default_factory=list)
    row: list[Any] = field(default_factory=list)
    pending_truth: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class CustomerContext:
    id: int
    tier: str
    created_at: dt.datetime
    owner: Rep | None
    name: str
    contacts: list[int] = field(default_factory=list)
    decision_maker: int | None = None
    opps: list[OppContext] = field(default_factory=list)
    activities: list[list[Any]] = field(default_factory=list)
    contracts: list[ContractPlan] = field(default_factory=list)
    invoices: list[tuple[int, dt.date, dt.datetime | None]] = field(default_factory=list)
    planted: set[str] = field(default_factory=set)
    planted_overdue: set[int] = field(default_factory=set)
    churned_on: dt.date | None = None
    last_touch: dt.datetime | None = None

    def lifecycle(self, anchor: dt.datetime, is_new: bool) -> str:
        if self.owner is None:
            return "prospect"
        if any(plan.status == "active" for plan in self.contracts):
            if "renewal_at_risk" in self.planted:
                return "at_risk"
            recent = anchor - self.created_at < dt.timedelta(days=90)
            return "new" if recent else "active"
        if self.churned_on is not None:
            return "churned"
        return "prospect" if is_new else "active"


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the means here are small, so it is fast and exact enough."""
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, 28))


def write_ground_truth(result: DemoResult, path: Path) -> None:
    payload = [asdict(item) for item in result.ground_truth]
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
