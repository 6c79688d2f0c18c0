"""`salesradar bench pages`: server render time of the main pages for a manager and a rep.

Requests go through Django's test client in this process (the whole middleware stack,
sessions, templates and queries, no network), so the figure is the time the server spends on
a page, which is what the 300 ms target of issue 5 is about.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, reset_queries
from django.db.models import Count, Q
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

TARGET_MS = 300.0


@dataclass(frozen=True)
class PageCase:
    who: str
    name: str
    url: str


def pick_people() -> tuple[Any, Any]:
    """The manager who sees the most open alerts and the rep with the most open deals."""
    from salesradar.accounts.choices import Role
    from salesradar.accounts.models import User

    rep = (
        User.objects.filter(role=Role.REP)
        .annotate(deals=Count("opportunities", filter=Q(opportunities__closed_at__isnull=True)))
        .order_by("-deals", "username")
        .first()
    )
    manager = (
        User.objects.filter(role=Role.MANAGER, managed_teams__isnull=False)
        .annotate(teams=Count("managed_teams"))
        .order_by("username")
        .first()
    )
    if rep is None or manager is None:
        raise ValueError("The database has no rep or no manager leading a team; build the demo.")
    return manager, rep


def page_cases(manager: Any, rep: Any) -> list[PageCase]:
    """The main pages, with record pages of the busiest customer and deal each person sees."""
    from salesradar.accounts.visibility import visible
    from salesradar.crm.models import Customer
    from salesradar.pipeline.models import Opportunity

    cases: list[PageCase] = []

    def add(who: str, label: str, name: str, *args: Any, query: str = "") -> None:
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:  # a page of the issue not installed in this build
            return
        cases.append(PageCase(who, label, url + (f"?{query}" if query else "")))

    for who, person in (("manager", manager), ("rep", rep)):
        customer = (
            visible(person, Customer)
            .annotate(activity_count=Count("activities"))
            .order_by("-activity_count")
            .first()
        )
        deal = (
            visible(person, Opportunity)
            .filter(closed_at__isnull=True)
            .annotate(changes=Count("stage_changes"))
            .order_by("-changes", "-amount")
            .first()
        )
        if who == "manager":
            add(who, "cockpit", "web:cockpit")
            add(who, "alert list", "web:alert_list")
        else:
            add(who, "workspace", "web:workspace")
        add(who, "customer list", "web:customer_list")
        add(who, "customer search", "web:customer_list", query="q=%E7%A7%91%E6%8A%80&sort=name")
        add(who, "contact list", "web:contact_list")
        add(who, "opportunity list", "web:opportunity_list", query="status=open")
        add(who, "deals by amount", "web:opportunity_list", query="status=open&sort=-amount")
        add(who, "deal board", "web:deal_board")
        add(who, "lead pool", "web:pool")
        if customer is not None:
            add(who, "customer detail", "web:customer_detail", customer.pk)
        if deal is not None:
            add(who, "opportunity detail", "web:opportunity_detail", deal.pk)
    return cases


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def measure(client: Client, case: PageCase, repeat: int) -> dict[str, Any]:
    debug_cursor = connection.force_debug_cursor
    connection.force_debug_cursor = True
    try:
        reset_queries()
        first = client.get(case.url, HTTP_HOST="localhost")  # warm-up, and the query count
        query_count = len(connection.queries)
    finally:
        connection.force_debug_cursor = debug_cursor
    if first.status_code != 200:
        raise ValueError(f"{case.url} answered {first.status_code} for the {case.who}")
    samples, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(case.url, HTTP_HOST="localhost")
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return {
        "who": case.who,
        "page": case.name,
        "url": case.url,
        "queries": query_count,
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
        "max_ms": round(max(samples), 1),
        # This process's CPU time: steadier than the wall clock on a busy machine, but it
        # leaves out the database server's own work on PostgreSQL.
        "cpu_p50_ms": round(statistics.median(cpu), 1),
    }


def run(repeat: int, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Request every main page ``repeat`` times as a manager and as a rep; return the timings."""
    from salesradar.activities.models import Activity
    from salesradar.alerts.models import Alert
    from salesradar.crm.models import Customer
    from salesradar.pipeline.models import Opportunity

    manager, rep = pick_people()
    clients = {}
    for who, person in (("manager", manager), ("rep", rep)):
        client = Client()
        client.force_login(person)
        clients[who] = client
    pages = []
    for case in page_cases(manager, rep):
        result = measure(clients[case.who], case, repeat)
        if progress is not None:
            progress(
                f"  {case.who:8} {case.name:20} p50 {result['p50_ms']:7.1f} ms  "
                f"p95 {result['p95_ms']:7.1f} ms  cpu p50 {result['cpu_p50_ms']:7.1f} ms  "
                f"{result['queries']} queries"
            )
        pages.append(result)
    return {
        "benchmark": "pages",
        "database": connection.vendor,
        "customers": Customer.objects.count(),
        "opportunities": Opportunity.objects.count(),
        "activities": Activity.objects.count(),
        "open_alerts": Alert.objects.open().count(),
        "manager": manager.username,
        "rep": rep.username,
        "repeat": repeat,
        "target_ms": TARGET_MS,
        "over_target": [page["page"] for page in pages if page["p95_ms"] > TARGET_MS],
        "measured_at": timezone.now().isoformat(timespec="seconds"),
        "load_average": [round(value, 1) for value in os.getloadavg()],
        "pages": pages,
    }
