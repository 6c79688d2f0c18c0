"""Rule packs: the shipped pack loads, and a pack with any fault is refused whole.

Every refusal must name the file, the rule and the field at fault, and leave the rules
table as it was: a pack with one bad rule loads none of its good ones either.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from salesradar.alerts.conditions import RuleError
from salesradar.alerts.models import Rule
from salesradar.alerts.rules import (
    RulePackError,
    default_rule_pack_path,
    load_rule_pack,
    parse_duration,
    parse_rule_pack,
    read_rule_pack,
)
from salesradar.pipeline.models import Stage
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

SOURCE = "team-rules.yaml"
GOOD_RULE = """
  - id: quote-slow
    metric: quote_hours_unanswered
    condition: {kind: threshold, op: ">=", warning: 48, danger: 72}
"""


def pack(*rules: str, version: int = 1, key: str = "team") -> str:
    """Return a pack holding ``rules``, each a YAML list item at any indentation."""
    items = "".join(textwrap.indent(textwrap.dedent(rule), "  ") for rule in rules)
    return f"pack: {key}\nversion: {version}\nrules:{items}"


def refusal(text: str) -> str:
    """Parse and load ``text``, expecting a refusal; return its message."""
    with pytest.raises(RulePackError) as caught:
        load_rule_pack(parse_rule_pack(text, source=SOURCE))
    return str(caught.value)


# --- The shipped pack ----------------------------------------------------------------------


def test_shipped_default_pack_validates(stages: dict[str, Stage]) -> None:
    loaded = read_rule_pack(default_rule_pack_path())

    assert loaded.key == "default"
    assert "quote-unanswered" in [rule.key for rule in loaded.rules]
    assert all(rule.names["en"] and rule.names["zh-hans"] for rule in loaded.rules)


def test_loading_the_default_pack_twice_creates_each_rule_once(stages: dict[str, Stage]) -> None:
    loaded = read_rule_pack(default_rule_pack_path())

    first = load_rule_pack(loaded)
    second = load_rule_pack(loaded)

    assert first == (len(loaded.rules), 0)
    assert second == (0, len(loaded.rules))
    assert Rule.objects.count() == len(loaded.rules)
    assert Rule.objects.get(key="quote-unanswered").escalate_after == dt.timedelta(hours=24)


def test_rule_dropped_from_a_new_version_is_disabled_not_deleted(db: None) -> None:
    load_rule_pack(
        parse_rule_pack(
            pack(
                GOOD_RULE,
                """
                - id: invoice-late
                  metric: invoice_days_overdue
                  condition: {kind: threshold, op: ">=", warning: 1}
                """,
            )
        )
    )

    load_rule_pack(parse_rule_pack(pack(GOOD_RULE, version=2)))

    assert Rule.objects.get(key="invoice-late").enabled is False
    kept = Rule.objects.get(key="quote-slow")
    assert (kept.enabled, kept.version) == (True, 2)


def test_loading_a_pack_leaves_other_packs_rules_alone(db: None) -> None:
    load_rule_pack(parse_rule_pack(pack(GOOD_RULE)))
    other = GOOD_RULE.replace("quote-slow", "other-quote")

    load_rule_pack(parse_rule_pack(pack(other, key="other")))

    assert Rule.objects.get(key="quote-slow").enabled is True


# --- Refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_rule", "where", "detail"),
    [
        pytest.param(
            """
            - id: bad
              metric: quote_hours_unanswerd
              condition: {kind: threshold, op: ">=", warning: 48}
            """,
            "rule bad.metric",
            "known metrics: ",
            id="unknown-metric",
        ),
        pytest.param(
            """
            - id: bad
              metric: quote_hours_unanswered
              condition: {kind: threshold, op: "=>", warning: 48}
            """,
            "rule bad.condition.op",
            "'=>'",
            id="wrong-operator",
        ),
        pytest.param(
            """
            - id: bad
              metric: rep_followups
              condition: {kind: baseline, direction: below, warning_pct: 30}
            """,
            "rule bad.condition.window",
            "is required",
            id="baseline-without-window",
        ),
        pytest.param(
            """
            - id: bad
              metric: quote_hours_unanswered
              scope: {teams: [nowhere]}
              condition: {kind: threshold, op: ">=", warning: 48}
            """,
            "rule bad.scope.teams",
            "nowhere",
            id="unknown-team",
        ),
        pytest.param(
            """
            - id: bad
              metric: opportunity_hours_since_update
              scope: {stages: [limbo]}
              condition: {kind: threshold, op: ">=", warning: 48}
            """,
            "rule bad.scope.stages",
            "limbo",
            id="unknown-stage",
        ),
        pytest.param(
            """
            - id: bad
              metric: quote_hours_unanswered
              scope: {grain: rep}
              condition: {kind: threshold, op: ">=", warning: 48}
            """,
            "rule bad.scope.grain",
            "grain quote, not rep",
            id="grain-mismatch",
        ),
        pytest.param(
            """
            - id: bad
              metric: quote_hours_unanswered
              for: 3 of 4
              condition: {kind: threshold, op: ">=", warning: 48}
            """,
            "rule bad.for",
            "'N of M' needs a per-period metric",
            id="n-of-m-on-snapshot",
        ),
        pytest.param(
            """
            - id: bad
              metric: quote_hours_unanswered
              condition: {kind: baseline, window: 4, warning_pct: 30}
            """,
            "rule bad.condition.kind",
            "baseline needs a per-period metric",
            id="history-on-snapshot",
        ),
        pytest.param(
            """
            - id: bad
              metric: quote_hours_unanswered
              colour: red
              condition: {kind: threshold, op: ">=", warning: 48}
            """,
            "rule bad.colour",
            "unknown field",
            id="unknown-field",
        ),
        pytest.param(
            """
            - id: bad
              metric: quote_hours_unanswered
              depends_on: [ghost]
              condition: {kind: threshold, op: ">=", warning: 48}
            """,
            "rule bad.depends_on",
            "'ghost'",
            id="depends-on-missing-rule",
        ),
        pytest.param(
            """
            - id: bad
              metric: team_days_since_activity_logged
              inhibits: [ghost]
              condition: {kind: threshold, op: ">=", warning: 3}
            """,
            "rule bad.inhibits",
            "'ghost'",
            id="inhibits-missing-rule",
        ),
        pytest.param(
            """
            - id: bad
              metric: quote_hours_unanswered
              scope: {tiers: [A]}
              condition: {kind: threshold, op: ">=", warning: 48}
            """,
            "rule bad.scope.tiers",
            "cannot be filtered by tiers",
            id="scope-the-metric-ignores",
        ),
        pytest.param(
            """
            - id: bad
              metric: opportunity_days_in_stage
              scope: {process: no-such-process}
              condition: {kind: threshold, op: ">=", warning: 48}
            """,
            "rule bad.scope.process",
            "no-such-process",
            id="unknown-process",
        ),
    ],
)
def test_pack_with_a_bad_rule_is_refused_naming_file_rule_and_field_and_loads_nothing(
    stages: dict[str, Stage], bad_rule: str, where: str, detail: str
) -> None:
    TeamFactory(code="east")
    load_rule_pack(parse_rule_pack(pack(GOOD_RULE)))
    before = list(Rule.objects.values_list("key", "version", "enabled"))

    message = refusal(pack(GOOD_RULE, bad_rule, version=2))

    assert f"{SOURCE}: {where}: " in message
    assert detail in message
    assert list(Rule.objects.values_list("key", "version", "enabled")) == before


def test_unknown_metric_refusal_lists_the_known_metrics(db: None) -> None:
    message = refusal(pack(GOOD_RULE.replace("quote_hours_unanswered", "quote_hours")))

    assert "unknown metric 'quote_hours'" in message
    assert "quote_hours_unanswered" in message
    assert "team_days_since_activity_logged" in message


def test_duplicate_rule_ids_are_refused(db: None) -> None:
    message = refusal(pack(GOOD_RULE, GOOD_RULE))

    assert SOURCE in message
    assert "rule ids used twice: ['quote-slow']" in message
    assert not Rule.objects.exists()


def test_every_fault_of_a_pack_is_listed_at_once(db: None) -> None:
    message = refusal(
        pack(
            """
            - id: first
              metric: nope
            - id: second
              metric: quote_hours_unanswered
              condition: {kind: threshold, op: "!=", warning: 1}
            """
        )
    )

    assert "rule first.metric" in message
    assert "rule second.condition.op" in message


def test_invalid_yaml_is_refused_naming_the_file(db: None) -> None:
    message = refusal("pack: team\nrules: [\n  - id: broken")

    assert message.startswith(f"{SOURCE}: ")
    assert "not valid YAML" in message
    assert not Rule.objects.exists()


def test_unreadable_file_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"

    with pytest.raises(RulePackError, match=r"absent\.yaml"):
        read_rule_pack(missing)


# --- Durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("48h", dt.timedelta(hours=48)),
        ("7d", dt.timedelta(days=7)),
        ("30m", dt.timedelta(minutes=30)),
    ],
)
def test_parse_duration_accepts_lifecycle_timings(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text, "rule r.escalate_after") == expected


def test_parse_duration_of_nothing_is_no_timing() -> None:
    assert parse_duration(None, "rule r.escalate_after") is None


@pytest.mark.parametrize("text", ["3 of 4", "48", "soon"])
def test_parse_duration_refuses_anything_but_a_duration(text: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_duration(text, "rule r.escalate_after")

    assert caught.value.where == "rule r.escalate_after"


def test_a_bare_number_for_clause_is_stored_as_n_of_n(db: None) -> None:
    pack = parse_rule_pack(
        """
pack: test
version: 1
rules:
  - id: declining
    metric: rep_followups
    for: 3
    condition: {kind: baseline, window: 4, warning_pct: 30}
"""
    )
    load_rule_pack(pack)

    assert Rule.objects.get(key="declining").for_clause == "3 of 3"
