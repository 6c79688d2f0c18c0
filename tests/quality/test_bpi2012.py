"""The BPI Challenge 2012 converter, on a tiny XES log written here (same shape as the real one)."""

from __future__ import annotations

import datetime as dt
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from salesradar.accounts.models import User
from salesradar.activities.models import Activity
from salesradar.metrics.catalogue import reps_in_scope
from salesradar.metrics.registry import Scope
from salesradar.pipeline.models import Opportunity, StageChange
from salesradar.quality.bpi2012 import build_bpi2012, read_applications
from salesradar.quality.datasets import Dataset, get_dataset, register_dataset
from salesradar.quality.report import write_section

pytestmark = pytest.mark.django_db

# (case, registered, amount, [(event, lifecycle, when, resource)])
TRACES = [
    (
        "101",
        "2011-10-01T08:00:00.000+02:00",
        "20000",
        [
            ("A_SUBMITTED", "COMPLETE", "2011-10-01T08:00:00.000+02:00", "112"),
            ("A_PARTLYSUBMITTED", "COMPLETE", "2011-10-01T08:00:01.000+02:00", "112"),
            ("A_PREACCEPTED", "COMPLETE", "2011-10-01T08:01:00.000+02:00", "112"),
            ("W_Completeren aanvraag", "SCHEDULE", "2011-10-01T08:01:01.000+02:00", "112"),
            ("W_Completeren aanvraag", "COMPLETE", "2011-10-02T10:00:00.000+02:00", ""),
            ("A_ACCEPTED", "COMPLETE", "2011-10-02T10:05:00.000+02:00", "10862"),
            ("O_CREATED", "COMPLETE", "2011-10-02T10:06:00.000+02:00", "10862"),
            ("O_SENT", "COMPLETE", "2011-10-02T10:06:01.000+02:00", "10862"),
            ("W_Nabellen offertes", "COMPLETE", "2011-10-10T11:00:00.000+02:00", "10913"),
            ("O_SENT_BACK", "COMPLETE", "2011-10-20T09:00:00.000+02:00", "10862"),
            ("A_APPROVED", "COMPLETE", "2011-11-01T09:00:00.000+01:00", "10862"),
            ("A_REGISTERED", "COMPLETE", "2011-11-01T09:00:01.000+01:00", "10862"),
        ],
    ),
    (
        "102",
        "2011-10-05T09:00:00.000+02:00",
        "5000",
        [
            ("A_SUBMITTED", "COMPLETE", "2011-10-05T09:00:00.000+02:00", "112"),
            ("A_DECLINED", "COMPLETE", "2011-10-05T09:00:05.000+02:00", "112"),
        ],
    ),
    (
        "103",
        "2011-10-10T09:00:00.000+02:00",
        "15000",
        [
            ("A_SUBMITTED", "COMPLETE", "2011-10-10T09:00:00.000+02:00", "112"),
            ("A_PREACCEPTED", "COMPLETE", "2011-10-10T09:01:00.000+02:00", "112"),
            ("W_Completeren aanvraag", "COMPLETE", "2011-10-12T15:00:00.000+02:00", "10913"),
            ("A_CANCELLED", "COMPLETE", "2011-11-25T12:00:00.000+01:00", "10913"),
            ("O_CANCELLED", "COMPLETE", "2011-11-25T12:00:01.000+01:00", "10913"),
        ],
    ),
    (
        "104",
        "2011-10-15T09:00:00.000+02:00",
        "30000",
        [
            ("A_SUBMITTED", "COMPLETE", "2011-10-15T09:00:00.000+02:00", "112"),
            ("A_PREACCEPTED", "COMPLETE", "2011-10-15T09:01:00.000+02:00", "112"),
            ("A_ACCEPTED", "COMPLETE", "2011-10-16T10:00:00.000+02:00", "11119"),
            ("O_SENT", "COMPLETE", "2011-10-17T10:00:00.000+02:00", "11119"),
            ("W_Nabellen offertes", "COMPLETE", "2011-12-31T10:00:00.000+01:00", "11119"),
        ],
    ),
    (
        "105",
        "2011-11-20T09:00:00.000+01:00",
        "10000",
        [
            ("A_SUBMITTED", "COMPLETE", "2011-11-20T09:00:00.000+01:00", "112"),
            ("A_PREACCEPTED", "COMPLETE", "2011-11-20T09:01:00.000+01:00", "112"),
            ("A_ACCEPTED", "COMPLETE", "2011-11-21T09:01:00.000+01:00", "11119"),
            ("O_SENT", "COMPLETE", "2011-11-22T09:01:00.000+01:00", "11119"),
            ("O_SENT_BACK", "COMPLETE", "2011-12-05T09:01:00.000+01:00", "11119"),
            ("O_ACCEPTED", "COMPLETE", "2011-12-15T09:01:00.000+01:00", "11119"),
        ],
    ),
]


def xes(traces: list) -> str:
    """Write ``traces`` as an XES log with the real log's header and attribute layout."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8" ?>',
        '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">',
        '<global scope="trace"><string key="concept:name" value="UNKNOWN"/></global>',
        '<int key="meta_general:traces_total" value="5"><int key="x" value="1"/></int>',
    ]
    for case, registered, amount, events in traces:
        parts.append("<trace>")
        parts.append(f'<date key="REG_DATE" value="{registered}"/>')
        parts.append(f'<string key="concept:name" value="{case}"/>')
        parts.append(f'<string key="AMOUNT_REQ" value="{amount}"/>')
        for name, lifecycle, when, resource in events:
            parts.append("<event>")
            if resource:
                parts.append(f'<string key="org:resource" value="{resource}"/>')
            parts.append(f'<string key="lifecycle:transition" value="{lifecycle}"/>')
            parts.append(f'<string key="concept:name" value="{name}"/>')
            parts.append(f'<date key="time:timestamp" value="{when}"/>')
            parts.append("</event>")
        parts.append("</trace>")
    parts.append("</log>")
    return "\n".join(parts)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "BPI_Challenge_2012.xes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("BPI_Challenge_2012.xes/BPI_Challenge_2012.xes", xes(TRACES))
    return path


def test_applications_stream_out_of_the_zip_with_their_events_in_time_order(log: Path):
    applications = list(read_applications(log))

    assert [a.case_id for a in applications] == ["101", "102", "103", "104", "105"]
    first = applications[0]
    assert first.amount == "20000"
    assert first.registered_at == dt.datetime(2011, 10, 1, 6, 0, tzinfo=dt.UTC)
    assert [event.name for event in first.events][:3] == [
        "A_SUBMITTED",
        "A_PARTLYSUBMITTED",
        "A_PREACCEPTED",
    ]
    assert first.events[4].resource == ""  # a work item completed without a resource


def test_applications_become_deals_with_stages_outcomes_and_activities(log: Path):
    built = build_bpi2012(log, lambda message: None)

    assert built.counts == {
        "reps": 4,  # 112, 10862, 10913, 11119
        "opportunities": 5,
        "stage_changes": 18,
        "activities": 4,
        "won": 2,
        "lost": 2,
    }
    won = Opportunity.objects.get(code="BPI-101")
    history = list(
        StageChange.objects.filter(opportunity=won)
        .order_by("changed_at")
        .values_list("to_stage__key", flat=True)
    )
    assert history == ["initial_contact", "needs_confirmed", "proposal", "negotiation", "won"]
    assert won.closed_at == dt.datetime(2011, 11, 1, 8, 0, tzinfo=dt.UTC)
    assert won.owner.username == "bpi-10862"  # most events among people, not the system
    assert won.amount == 20000 and won.currency == "EUR"
    lost = Opportunity.objects.get(code="BPI-102")
    assert (lost.stage.key, lost.owner.username) == ("lost", "bpi-112")
    assert Opportunity.objects.get(code="BPI-103").stage.is_lost  # cancelled
    assert Opportunity.objects.get(code="BPI-104").closed_at is None  # still open
    assert (built.first_event, built.last_event) == (
        dt.datetime(2011, 10, 1, 6, 0, tzinfo=dt.UTC),
        dt.datetime(2011, 12, 31, 9, 0, tzinfo=dt.UTC),
    )


def test_work_items_are_backfilled_activities_by_their_resource(log: Path):
    build_bpi2012(log, lambda message: None)

    rows = list(
        Activity.objects.order_by("occurred_at").values_list(
            "opportunity__code", "kind", "owner__username", "summary", "backfilled"
        )
    )
    assert rows[:3] == [
        ("BPI-101", "note", "bpi-10862", "W_Completeren aanvraag", True),  # owner: no resource
        ("BPI-101", "call", "bpi-10913", "W_Nabellen offertes", True),
        ("BPI-103", "note", "bpi-10913", "W_Completeren aanvraag", True),
    ]


def test_reps_created_at_import_count_from_their_first_record(log: Path):
    build_bpi2012(log, lambda message: None)

    active = set(
        reps_in_scope(Scope(), dt.datetime(2011, 10, 3, tzinfo=dt.UTC)).values_list(
            "username", flat=True
        )
    )
    # only 10862 has a record by then (deal 101, opened on 1 October); 112's first deal
    # opens on 5 October, 10913's first work item is on 10 October
    assert active == {"bpi-10862"}
    assert User.objects.get(username="bpi-11119").date_joined.year >= 2026


def test_a_database_with_deals_is_refused(log: Path):
    build_bpi2012(log, lambda message: None)

    with pytest.raises(ValidationError, match="already holds opportunities"):
        build_bpi2012(log, lambda message: None)


def test_quality_builds_backtests_and_writes_the_tables(log: Path, tmp_path: Path):
    output = tmp_path / "quality.md"
    output.write_text("# Quality\n\n<!-- quality:demo:begin -->\nkept\n<!-- quality:demo:end -->\n")

    call_command(
        "quality",
        "--dataset",
        "bpi2012",
        "--in-place",
        "--source",
        str(log),
        "--output",
        str(output),
        stdout=StringIO(),
        stderr=StringIO(),
    )

    text = output.read_text()
    assert "kept" in text  # the demo's section is left alone
    assert "$ salesradar quality --dataset bpi2012" in text
    assert "| `stage-over-sla` |" in text
    assert "| `baseline:rotting>14` |" in text
    assert "| `baseline:flag_all` |" in text
    assert "horizon 30 days" in text
    assert "Where each default rule stands:" in text
    assert "the best baseline at its recall" in text or "caught no deal" in text


def test_writing_a_section_twice_replaces_it(tmp_path: Path):
    output = tmp_path / "quality.md"
    write_section(output, "bpi2012", "first")
    write_section(output, "bpi2012", "second")

    text = output.read_text()
    assert "second" in text and "first" not in text
    assert text.startswith("# Warning quality")


def test_the_dataset_registry_refuses_a_second_key_and_a_wrong_type():
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(Dataset("bpi2012", "again", build=build_bpi2012))
    with pytest.raises(TypeError):
        register_dataset("bohanec")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="known: bpi2012, demo"):
        get_dataset("nope")
