"""The ``evaluate`` and ``rules`` management commands: what a person at a terminal sees.

``evaluate`` loads the shipped pack on first use, evaluates every enabled rule and prints
the open alerts; ``rules`` validates or loads a pack from a file, all or nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from salesradar.alerts.models import Alert, Rule
from salesradar.pipeline.models import Process, Quote, Stage
from tests.factories import CREATED_AT, OpportunityFactory, QuoteFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = "2025-06-10"
REQUESTED = dt.datetime(2025, 6, 6, 9, 0, tzinfo=SHANGHAI)
"""A quote requested 87 hours before midnight of AT: past quote-unanswered's danger level."""

PACK = """\
pack: team
version: 3
rules:
  - id: quote-slow
    metric: quote_hours_unanswered
    condition: {kind: threshold, op: ">=", warning: 48, danger: 72}
"""


@pytest.fixture
def quote(stages: dict[str, Stage]) -> Quote:
    """An unanswered quote of a rep in team ``east``; the default process is loaded."""
    rep = UserFactory(team=TeamFactory(code="east"), date_joined=CREATED_AT)
    return QuoteFactory(opportunity=OpportunityFactory(owner=rep), requested_at=REQUESTED)


def run_command(*args: str, **options: object) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


# --- evaluate ---------------------------------------------------------------------------------


def test_evaluate_prints_the_open_alerts_as_json(quote: Quote) -> None:
    rows = json.loads(run_command("evaluate", at=AT, format="json"))

    assert rows, "the unanswered quote should raise an alert"
    expected = {
        "rule",
        "entity_type",
        "entity_id",
        "severity",
        "state",
        "value",
        "threshold",
        "since",
        "message",
    }
    assert all(expected <= set(row) for row in rows)
    (row,) = [row for row in rows if row["rule"] == "quote-unanswered"]
    assert (row["entity_type"], row["entity_id"]) == ("quote", quote.pk)
    assert (row["severity"], row["state"], row["threshold"]) == ("danger", "firing", 72)
    assert row["value"] == pytest.approx(87)
    # since the warning level (48 h) was crossed, not since the engine first looked
    assert row["since"] == (REQUESTED + dt.timedelta(hours=48)).isoformat()


def test_evaluate_loads_the_shipped_pack_once(quote: Quote) -> None:
    run_command("evaluate", at=AT, format="json")
    count = Rule.objects.count()

    run_command("evaluate", at="2025-06-10T12:00", format="json")

    assert count > 0
    assert Rule.objects.count() == count


def test_evaluate_prints_a_table_with_headers_and_a_count(quote: Quote) -> None:
    output = run_command("evaluate", at=AT)

    lines = output.splitlines()
    assert lines[0].split() == [
        "severity",
        "state",
        "rule",
        "entity",
        "value",
        "threshold",
        "since",
    ]
    (row,) = [line for line in lines if "quote-unanswered" in line]
    assert row.split()[:6] == [
        "Danger",  # the table shows labels in the reader's language; JSON keeps the keys
        "Firing",
        "quote-unanswered",
        "quote",
        str(quote.pk),
        "87.0",
    ]
    assert "2025-06-08 09:00" in row
    assert lines[-1] == f"{Alert.objects.open().count()} open alerts"


def test_evaluate_in_chinese_prints_chinese_headers(quote: Quote) -> None:
    output = run_command("evaluate", at=AT, language="zh-hans")

    header = output.splitlines()[0]
    assert "severity" not in header
    assert "严重" in header


def test_evaluate_on_an_empty_database_loads_the_default_process_and_pack(db: None) -> None:
    output = run_command("evaluate", at=AT, format="json")

    assert json.loads(output) == []
    assert Process.objects.filter(is_default=True).exists()
    assert Rule.objects.filter(pack="default").count() >= 18


def test_evaluate_refuses_a_moment_that_is_not_a_date(db: None) -> None:
    with pytest.raises(CommandError, match="not an ISO date"):
        run_command("evaluate", at="next tuesday")


# --- rules ------------------------------------------------------------------------------------


@pytest.fixture
def pack_file(tmp_path: Path) -> Path:
    path = tmp_path / "team.yaml"
    path.write_text(PACK, encoding="utf-8")
    return path


def test_rules_validate_checks_a_pack_without_loading_it(pack_file: Path) -> None:
    output = run_command("rules", "validate", str(pack_file))

    assert "valid" in output
    assert "pack team v3, 1 rules" in output
    assert not Rule.objects.exists()


def test_rules_load_creates_then_updates_the_packs_rules(pack_file: Path) -> None:
    first = run_command("rules", "load", str(pack_file))
    second = run_command("rules", "load", str(pack_file))

    assert "1 rules created, 0 updated" in first
    assert "0 rules created, 1 updated" in second
    assert list(Rule.objects.values_list("key", "pack", "version")) == [("quote-slow", "team", 3)]


@pytest.mark.parametrize("action", ["validate", "load"])
def test_rules_refuses_an_invalid_pack_naming_the_field(pack_file: Path, action: str) -> None:
    pack_file.write_text(PACK.replace('op: ">="', 'op: "=>"'), encoding="utf-8")

    with pytest.raises(CommandError) as caught:
        run_command("rules", action, str(pack_file))

    assert f"{pack_file}: rule quote-slow.condition.op: " in str(caught.value)
    assert not Rule.objects.exists()
