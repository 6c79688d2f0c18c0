"""YAML playbooks: validated with precise messages, loaded all or nothing, upgraded by version."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesradar.pipeline.models import Process, Stage
from salesradar.pipeline.playbook import (
    PlaybookError,
    default_playbook_path,
    ensure_default_process,
    load_playbook,
    read_playbook,
)
from salesradar.pipeline.services import move_stage
from tests.factories import EvidenceFactory, OpportunityFactory, days_after_creation

DEFAULT_TEXT = default_playbook_path().read_text(encoding="utf-8")

SMALL_PLAYBOOK = """\
process: {{key: small, name: {{en: Small sale, zh-hans: 小单流程}}, version: {version}}}
stages:
  - {{key: open, label: Open, probability: {open_probability}, dwell_sla_days: 7}}
{extra_stage}  - {{key: won, label: Won, probability: 100, won: true, gate: [{{contract: signed}}]}}
  - {{key: lost, label: Lost, probability: 0, lost: true}}
"""
QUALIFIED_STAGE = (
    "  - {key: qualified, label: Qualified, probability: 40, gate: [{evidence: pain_points}]}\n"
)


def write(tmp_path: Path, text: str, name: str = "playbook.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def small_playbook(
    version: int = 1, open_probability: int = 20, with_qualified: bool = False
) -> str:
    return SMALL_PLAYBOOK.format(
        version=version,
        open_probability=open_probability,
        extra_stage=QUALIFIED_STAGE if with_qualified else "",
    )


def counts() -> tuple[int, int]:
    return Process.objects.count(), Stage.objects.count()


# --- the shipped default ----------------------------------------------------------------


def test_shipped_default_playbook_validates_with_its_six_stages() -> None:
    spec = read_playbook(default_playbook_path())
    assert spec.key == "b2b-standard"
    assert spec.is_default is True
    assert [(stage.key, stage.probability) for stage in spec.stages] == [
        ("initial_contact", 10),
        ("needs_confirmed", 25),
        ("proposal", 50),
        ("negotiation", 75),
        ("won", 100),
        ("lost", 0),
    ]


@pytest.mark.django_db
def test_ensure_default_process_loads_open_and_terminal_stages_once() -> None:
    # when the default process is ensured twice
    process_id = ensure_default_process()
    assert ensure_default_process() == process_id
    # then one default process exists with four open stages, then won and lost
    process = Process.objects.get(pk=process_id)
    assert process.is_default and process.version == 1
    stages = list(process.stages.order_by("order"))
    assert [stage.key for stage in stages if not stage.is_terminal] == [
        "initial_contact",
        "needs_confirmed",
        "proposal",
        "negotiation",
    ]
    assert [(s.key, s.is_won, s.is_lost) for s in stages[4:]] == [
        ("won", True, False),
        ("lost", False, True),
    ]
    assert stages[1].gate == [{"evidence": "pain_points"}, {"contact_role": "decision_maker"}]
    assert counts() == (1, 6)


# --- invalid playbooks ------------------------------------------------------------------


def test_out_of_range_probability_names_the_file_the_stage_and_the_field(tmp_path: Path) -> None:
    # given the default playbook with the proposal stage's probability set to 150
    path = write(tmp_path, DEFAULT_TEXT.replace("probability: 50", "probability: 150"))
    # when it is read
    with pytest.raises(PlaybookError) as raised:
        read_playbook(path)
    # then the message names the file, the stage and the field
    message = str(raised.value)
    assert str(path) in message
    assert "stages[2] (proposal).probability" in message
    assert "150" in message
    assert raised.value.problems == [
        "stages[2] (proposal).probability: must be a whole number from 0 to 100, not 150"
    ]


def test_unknown_gate_kind_is_named_with_its_stage_and_position(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULT_TEXT.replace("- evidence: nda", "- handshake: firm"))
    with pytest.raises(PlaybookError) as raised:
        read_playbook(path)
    assert str(path) in str(raised.value)
    (problem,) = raised.value.problems
    assert problem.startswith("stages[3] (negotiation).gate[1]: unknown requirement kind")
    assert "'handshake'" in problem


def test_gate_target_outside_its_allowed_values_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, DEFAULT_TEXT.replace("contact_role: decision_maker", "contact_role: ceo")
    )
    with pytest.raises(PlaybookError, match=r"stages\[1\] \(needs_confirmed\)\.gate\[1\]"):
        read_playbook(path)


def test_duplicate_stage_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULT_TEXT.replace("key: negotiation", "key: proposal"))
    with pytest.raises(PlaybookError) as raised:
        read_playbook(path)
    assert "stages[3] (proposal).key: the key 'proposal' is used twice" in raised.value.problems


def test_two_won_stages_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULT_TEXT.replace("lost: true", "won: true"))
    with pytest.raises(PlaybookError) as raised:
        read_playbook(path)
    assert "stages: exactly one stage must be marked won: true" in raised.value.problems
    assert "stages: exactly one stage must be marked lost: true" in raised.value.problems


def test_invalid_yaml_is_reported_against_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "process: [unclosed\nstages: {")
    with pytest.raises(PlaybookError) as raised:
        read_playbook(path)
    assert str(path) in str(raised.value)
    assert raised.value.problems[0].startswith("not valid YAML")


def test_missing_file_is_a_playbook_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(PlaybookError, match=r"absent\.yaml"):
        read_playbook(path)


def test_every_problem_is_listed_not_just_the_first(tmp_path: Path) -> None:
    text = DEFAULT_TEXT.replace("probability: 50", "probability: -1").replace(
        "dwell_sla_days: 21", "dwell_sla_days: 0"
    )
    with pytest.raises(PlaybookError) as raised:
        read_playbook(write(tmp_path, text))
    assert [problem.split(":")[0] for problem in raised.value.problems] == [
        "stages[1] (needs_confirmed).dwell_sla_days",
        "stages[2] (proposal).probability",
    ]


@pytest.mark.django_db
def test_a_playbook_that_fails_validation_writes_nothing(tmp_path: Path) -> None:
    # given a loaded default process and a broken playbook
    ensure_default_process()
    before = counts()
    path = write(tmp_path, small_playbook(open_probability=101))
    # when it is read and (were it valid) loaded
    with pytest.raises(PlaybookError):
        load_playbook(read_playbook(path))
    # then no process or stage was written
    assert counts() == before


# --- loading and upgrading --------------------------------------------------------------


@pytest.mark.django_db
def test_loading_the_same_file_twice_is_a_no_op(tmp_path: Path) -> None:
    path = write(tmp_path, small_playbook())
    first = load_playbook(read_playbook(path))
    stage_ids = set(Stage.objects.values_list("pk", flat=True))
    second = load_playbook(read_playbook(path))
    assert (first.created, first.changed) == (True, True)
    assert (second.process_id, second.created, second.changed) == (first.process_id, False, False)
    assert set(Stage.objects.values_list("pk", flat=True)) == stage_ids


@pytest.mark.django_db
def test_changed_content_with_the_same_version_is_refused(tmp_path: Path) -> None:
    load_playbook(read_playbook(write(tmp_path, small_playbook())))
    changed = read_playbook(write(tmp_path, small_playbook(open_probability=30), "v1b.yaml"))
    with pytest.raises(PlaybookError, match="already at version 1"):
        load_playbook(changed)
    assert Stage.objects.get(key="open").probability == 20


@pytest.mark.django_db
def test_a_higher_version_updates_stages_and_keeps_their_identity(tmp_path: Path) -> None:
    # given version 1 loaded, with an opportunity sitting in the "open" stage
    result = load_playbook(read_playbook(write(tmp_path, small_playbook())))
    process = Process.objects.get(pk=result.process_id)
    open_stage = process.stages.get(key="open")
    opportunity = OpportunityFactory(process=process, stage=open_stage)
    # when version 2 changes a probability and inserts a stage before "won"
    upgrade = small_playbook(version=2, open_probability=30, with_qualified=True)
    outcome = load_playbook(read_playbook(write(tmp_path, upgrade, "v2.yaml")))
    # then the process is at version 2 with the new stage in its place
    process.refresh_from_db()
    assert (outcome.created, outcome.changed, process.version) == (False, True, 2)
    assert list(process.stages.order_by("order").values_list("key", "order")) == [
        ("open", 1),
        ("qualified", 2),
        ("won", 3),
        ("lost", 4),
    ]
    # and the existing stage was updated in place, so the opportunity keeps it
    open_stage.refresh_from_db()
    assert open_stage.probability == 30
    opportunity.refresh_from_db()
    assert opportunity.stage_id == open_stage.pk


@pytest.mark.django_db
def test_removing_a_stage_in_use_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    # given version 1 with a "qualified" stage that an opportunity sits in
    v1 = small_playbook(with_qualified=True)
    result = load_playbook(read_playbook(write(tmp_path, v1)))
    process = Process.objects.get(pk=result.process_id)
    OpportunityFactory(process=process, stage=process.stages.get(key="qualified"))
    before = list(Stage.objects.order_by("pk").values_list("pk", "key", "order", "probability"))
    # when version 2 drops "qualified"
    v2 = read_playbook(write(tmp_path, small_playbook(version=2, open_probability=30), "v2.yaml"))
    with pytest.raises(PlaybookError, match="qualified"):
        load_playbook(v2)
    # then the process, its version and its stages are exactly as before
    process.refresh_from_db()
    assert process.version == 1
    assert process.source == v1
    assert list(Stage.objects.order_by("pk").values_list("pk", "key", "order", "probability")) == (
        before
    )


@pytest.mark.django_db
def test_removing_a_stage_only_left_behind_in_history_is_refused(tmp_path: Path) -> None:
    # given an opportunity that moved from "open" to "qualified", so history names "open"
    v1 = small_playbook(with_qualified=True)
    result = load_playbook(read_playbook(write(tmp_path, v1)))
    process = Process.objects.get(pk=result.process_id)
    opportunity = OpportunityFactory(process=process, stage=process.stages.get(key="open"))
    EvidenceFactory(opportunity=opportunity, kind="pain_points")
    move_stage(opportunity, "qualified", by=opportunity.owner, at=days_after_creation(1))
    # when version 2 drops "open" (no opportunity sits there any more)
    v2 = "".join(
        line
        for line in v1.replace("version: 1", "version: 2").splitlines(keepends=True)
        if "key: open" not in line
    )
    assert "key: open" not in v2
    # then it is refused as a playbook problem, and nothing changed
    with pytest.raises(PlaybookError, match="open"):
        load_playbook(read_playbook(write(tmp_path, v2, "v2.yaml")))
    process.refresh_from_db()
    assert process.version == 1
    assert process.stages.filter(key="open").exists()


@pytest.mark.django_db
def test_a_new_default_process_takes_the_default_flag_from_the_old_one(tmp_path: Path) -> None:
    old_default = ensure_default_process()
    text = small_playbook().replace("version: 1}", "version: 1, default: true}")
    new_default = load_playbook(read_playbook(write(tmp_path, text))).process_id
    assert list(Process.objects.filter(is_default=True).values_list("pk", flat=True)) == [
        new_default
    ]
    assert old_default != new_default


@pytest.mark.django_db
def test_swapping_won_and_lost_on_stages_that_hold_deals_is_refused(tmp_path: Path) -> None:
    # given a won deal
    result = load_playbook(read_playbook(write(tmp_path, small_playbook())))
    process = Process.objects.get(pk=result.process_id)
    OpportunityFactory(process=process, stage=process.stages.get(key="won"))
    # when version 2 marks "won" as lost and "lost" as won
    swapped = (
        small_playbook(version=2)
        .replace("won: true", "lost: true, WONMARK")
        .replace("probability: 0, lost: true}", "probability: 0, won: true}")
        .replace("lost: true, WONMARK", "lost: true")
    )
    with pytest.raises(PlaybookError, match="hold deals"):
        load_playbook(read_playbook(write(tmp_path, swapped, "v2.yaml")))
    # then the stages keep their meaning
    assert process.stages.get(key="won").is_won
