"""``salesradar bench leads``: route incoming leads through the rules with duplicate checks.

The data set (built once, not timed, reused by later runs): ``existing`` records split
between customers (each with a contact carrying a phone and an e-mail) and leads, ``rules``
routing rules over regions, sources and sizes with two reps each. Then ``leads`` incoming
leads go through ``intake_leads`` in batches, exactly as an import does: validation,
duplicate guard (credit code, phone, e-mail, name block), creation, review rows, routing.
About 2 % of the incoming rows repeat an existing phone and 3 % a known company name.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from salesradar.crm.choices import CompanySize, LeadSource, RoutingStrategy
from salesradar.crm.normalize import (
    PLACE_NAMES,
    company_match_key,
    name_block,
    name_subblock,
    normalize_company_name,
)

EXISTING_PREFIX = "BX"
INCOMING_MARK = "bench"  # the contact name of incoming bench leads, so a rerun can remove them
CHARACTERS = (
    "安邦宝博辰诚创达德东方丰峰富光广海瀚和恒宏华辉汇佳嘉建杰金锦晶景凯康坤蓝乐力联林龙隆"
    "美明南鹏平齐启润瑞森盛顺泰天通威伟文祥新鑫信星兴旭亚扬耀益永优远跃云泽兆正志智中卓"
)
TRADES = (
    "科技",
    "信息",
    "网络",
    "软件",
    "数据",
    "机械",
    "电子",
    "贸易",
    "物流",
    "医药",
    "食品",
    "能源",
)
SUFFIXES = ("有限公司", "股份有限公司", "有限责任公司", "")
REGIONS = PLACE_NAMES[:20]
INDUSTRIES = ("manufacturing", "retail", "finance", "education", "logistics", "healthcare")


def company_name(rng: random.Random) -> str:
    brand = "".join(rng.choice(CHARACTERS) for _ in range(rng.randint(2, 4)))
    place = rng.choice(REGIONS)
    trade = rng.choice(TRADES)
    suffix = rng.choice(SUFFIXES)
    if rng.random() < 0.5:
        return f"{place}{brand}{trade}{suffix}"
    return f"{brand}{trade}（{place}）{suffix}"


MOBILE_PREFIXES = ("13", "15", "18")


def phone(rng: random.Random) -> str:
    """Return a valid Chinese mobile number in E.164 (13x, 15x without 154, 18x)."""
    second = rng.choice("01235789")
    return f"+86{rng.choice(MOBILE_PREFIXES)}{second}{rng.randint(10_000_000, 99_999_999)}"


class ForeignData(Exception):
    """The database holds records the benchmark did not write."""


def refuse_foreign_data() -> None:
    from salesradar.crm.models import Customer, Lead

    if Customer.objects.exclude(code__startswith=EXISTING_PREFIX).exists() or (
        Lead.objects.exclude(code__startswith=EXISTING_PREFIX)
        .exclude(contact_name=INCOMING_MARK)
        .exists()
    ):
        raise ForeignData(
            "The database holds customers or leads the benchmark did not write; it adds a "
            "million rows, so point SALESRADAR_DATABASE_URL or SALESRADAR_DATA_DIR at a "
            "throw-away database."
        )


def existing_present(count: int) -> bool:
    from salesradar.crm.models import Customer, Lead

    have = (
        Customer.objects.filter(code__startswith=EXISTING_PREFIX).count()
        + Lead.objects.filter(code__startswith=EXISTING_PREFIX).count()
    )
    return have == count


def build_existing(count: int, seed: int, progress: Callable[[str], None]) -> list[str]:
    """Write ``count`` customers+leads (half each) and a contact per customer; return phones."""
    from salesradar.core.tables import TableWriter, next_id
    from salesradar.crm.models import Contact, Customer, Lead

    rng = random.Random(seed)
    now = timezone.now()
    Contact.objects.filter(customer__code__startswith=EXISTING_PREFIX).delete()
    Customer.objects.filter(code__startswith=EXISTING_PREFIX).delete()
    Lead.objects.filter(code__startswith=EXISTING_PREFIX).delete()
    customers = TableWriter(
        Customer,
        [
            "id",
            "code",
            "name",
            "normalized_name",
            "name_key",
            "name_block",
            "name_subblock",
            "region",
            "industry",
            "size",
            "tier",
            "lifecycle",
            "created_at",
            "updated_at",
        ],
    )
    contacts = TableWriter(
        Contact,
        [
            "customer_id",
            "name",
            "title",
            "decision_role",
            "phone",
            "email",
            "phone_key",
            "email_key",
            "created_at",
        ],
    )
    leads = TableWriter(
        Lead,
        [
            "code",
            "company_name",
            "normalized_name",
            "name_key",
            "name_block",
            "name_subblock",
            "phone",
            "phone_key",
            "email",
            "email_key",
            "region",
            "source",
            "status",
            "created_at",
            "contact_name",
            "industry",
            "recycle_count",
        ],
    )
    first_customer = next_id(Customer)
    phones: list[str] = []
    half = count // 2
    with transaction.atomic():
        for index in range(count):
            name = company_name(rng)
            key = company_match_key(name)
            number = phone(rng)
            if len(phones) < 50_000:
                phones.append(number)
            email = f"c{index}@bench.example.com"
            if index < half:
                pk = first_customer + index
                customers.add(
                    (
                        pk,
                        f"{EXISTING_PREFIX}C{index}",
                        name,
                        normalize_company_name(name),
                        key,
                        name_block(key),
                        name_subblock(key),
                        rng.choice(REGIONS),
                        "",
                        "",
                        "C",
                        "prospect",
                        now,
                        now,
                    )
                )
                contacts.add((pk, "联系人", "", "", number, email, number, email, now))
            else:
                leads.add(
                    (
                        f"{EXISTING_PREFIX}L{index}",
                        name,
                        normalize_company_name(name),
                        key,
                        name_block(key),
                        name_subblock(key),
                        number,
                        number,
                        email,
                        email,
                        rng.choice(REGIONS),
                        "import",
                        "new",
                        now,
                        "",
                        "",
                        0,
                    )
                )
            if customers.full or leads.full:
                customers.flush()
                contacts.flush()
                leads.flush()
            if index and index % 100_000 == 0:
                progress(f"{index:,} existing records written")
        customers.flush()
        contacts.flush()
        leads.flush()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE crm_customer; ANALYZE crm_contact; ANALYZE crm_lead;")
    return phones


def build_rules(count: int, seed: int) -> None:
    from salesradar.accounts.models import User
    from salesradar.crm.models import RoutingRule

    rng = random.Random(seed)
    RoutingRule.objects.filter(name__startswith="bench ").delete()
    reps = []
    for number in range(count * 2):
        user, _created = User.objects.get_or_create(
            username=f"bench-rep-{number}", defaults={"role": "rep"}
        )
        reps.append(user)
    for number in range(count):
        rule = RoutingRule.objects.create(
            name=f"bench {number}",
            order=number,
            regions=rng.sample(REGIONS, 2) if number < count - 5 else [],
            sources=[rng.choice(LeadSource.values)] if number % 3 == 0 else [],
            sizes=[rng.choice(CompanySize.values)] if number % 4 == 0 else [],
            strategy=RoutingStrategy.ROUND_ROBIN if number % 2 else RoutingStrategy.LOAD_BALANCED,
        )
        rule.members.set(reps[number * 2 : number * 2 + 2])


def run(
    *,
    leads: int,
    existing: int,
    rules: int,
    batch: int,
    seed: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    from salesradar.crm.intake import LeadInput, intake_leads
    from salesradar.crm.models import Assignment, DuplicateReview, Lead
    from salesradar.crm.routing import Router, known_regions

    refuse_foreign_data()
    if existing_present(existing):
        progress("reusing the existing records")
        phones = list(
            Lead.objects.filter(code__startswith=EXISTING_PREFIX).values_list("phone", flat=True)[
                :50_000
            ]
        )
    else:
        progress(f"writing {existing:,} existing customers and leads (not timed) ...")
        phones = build_existing(existing, seed, progress)
    build_rules(rules, seed)
    incoming = Lead.objects.filter(contact_name=INCOMING_MARK)
    Assignment.objects.filter(lead__in=incoming)._raw_delete(Assignment.objects.db)
    DuplicateReview.objects.filter(lead__in=incoming).delete()
    incoming.delete()
    known_names = list(
        Lead.objects.filter(code__startswith=EXISTING_PREFIX).values_list(
            "company_name", flat=True
        )[:10_000]
    )
    rng = random.Random(seed + 1)
    rows = []
    for _index in range(leads):
        roll = rng.random()
        name = rng.choice(known_names) if roll < 0.03 and known_names else company_name(rng)
        number = rng.choice(phones) if 0.03 <= roll < 0.05 and phones else phone(rng)
        rows.append(
            LeadInput(
                company_name=name,
                contact_name=INCOMING_MARK,
                phone=number,
                region=rng.choice(REGIONS),
                industry=rng.choice(INDUSTRIES),
                size=rng.choice(CompanySize.values),
            )
        )
    at = timezone.now()
    regions = known_regions()
    router = Router.load_at(at)
    statuses: dict[str, int] = {}
    progress(f"taking in {leads:,} leads in batches of {batch:,} (timed) ...")
    started = time.monotonic()
    for start in range(0, leads, batch):
        for outcome in intake_leads(
            rows[start : start + batch],
            source=LeadSource.IMPORT,
            at=at,
            router=router,
            regions=regions,
        ):
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
        if start and start % (batch * 20) == 0:
            progress(f"{start:,} leads in {time.monotonic() - started:.0f} s")
    elapsed = time.monotonic() - started
    created = incoming.count()
    routed = incoming.filter(owner__isnull=False).count()
    return {
        "benchmark": "leads",
        "database": connection.vendor,
        "existing_records": existing,
        "rules": rules,
        "incoming_leads": leads,
        "batch": batch,
        "seconds": round(elapsed, 1),
        "leads_per_second": round(leads / elapsed),
        "outcomes": statuses,
        "created": created,
        "routed": routed,
        "unrouted": created - routed,
        "reviews": DuplicateReview.objects.filter(lead__in=incoming).count(),
        "at": at.isoformat(),
        "seed": seed,
    }
