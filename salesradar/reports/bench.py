"""``salesradar bench report``: time the weekly report on the database in use (the demo)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from django.db import connection
from django.utils import timezone

from salesradar.crm.models import Customer
from salesradar.pipeline.models import Opportunity
from salesradar.reports.render import render_document, render_pdf, render_xlsx
from salesradar.reports.weekly import build_weekly_report, last_full_week


def run(*, repeat: int = 3) -> dict[str, Any]:
    """Return the median seconds of computing and rendering last week's org report."""
    if not Customer.objects.exists():
        raise LookupError(
            "the database is empty: build the demo first (salesradar demo --no-serve)"
        )
    week = last_full_week(timezone.now())
    timings: dict[str, list[float]] = {"compute": [], "html": [], "pdf": [], "xlsx": []}
    sizes: dict[str, int] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        report = build_weekly_report(week_start=week)
        timings["compute"].append(time.perf_counter() - started)
        for kind, render in (("html", render_document), ("pdf", render_pdf), ("xlsx", render_xlsx)):
            started = time.perf_counter()
            output = render(report)
            timings[kind].append(time.perf_counter() - started)
            sizes[kind] = len(output)
    return {
        "benchmark": "report weekly",
        "database": connection.vendor,
        "week": week.isoformat(),
        "customers": Customer.objects.count(),
        "opportunities": Opportunity.objects.count(),
        "repeat": repeat,
        "median_seconds": {
            kind: round(statistics.median(values), 3) for kind, values in timings.items()
        },
        "bytes": sizes,
    }
