"""`salesradar bench pages` builds a demo when there is none and times every main page."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_bench_pages_reports_every_main_page_for_a_manager_and_a_rep() -> None:
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "bench",
        "pages",
        "--size=small",
        "--teams=1",
        "--reps=3",
        "--customers=30",
        "--opportunities=40",
        "--activities=300",
        "--repeat=2",
        stdout=out,
        stderr=err,
    )

    report = json.loads(out.getvalue())
    pages = {(page["who"], page["page"]) for page in report["pages"]}
    assert {
        ("rep", "workspace"),
        ("manager", "customer list"),
        ("rep", "opportunity detail"),
    } <= pages
    assert ("manager", "cockpit") in pages
    for page in report["pages"]:
        assert page["p50_ms"] > 0 and page["p95_ms"] >= page["p50_ms"], page
        assert page["queries"] > 0, page
    assert report["customers"] == 30
    assert "Building the data set first" in err.getvalue()
