"""YAML playbooks: the sales process as data, validated before anything is written.

A playbook has a ``process`` block (key, name per language, version, default flag) and an
ordered ``stages`` list (key, label per language, probability, dwell SLA, gate, won/lost).
Validation collects every problem with the file, the stage and the field it concerns, and a
playbook with any problem loads nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from django.db import models, transaction
from django.utils.translation import gettext as _

from salesradar.activities.choices import ActivityKind
from salesradar.crm.choices import DecisionRole

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")
LANGUAGES = ("en", "zh-hans")
GATE_FIELDS = ("amount", "expected_close_date", "product_line", "lost_reason", "name")
GATE_KINDS = ("field", "evidence", "contact_role", "quote", "contract", "activity")


class PlaybookError(ValueError):
    """A playbook that cannot be loaded; ``problems`` lists each fault in reading order."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            _("{source}: the playbook is invalid and nothing was loaded:\n{lines}").format(
                source=source, lines=lines
            )
        )


@dataclass(frozen=True)
class StageSpec:
    key: str
    labels: dict[str, str]
    order: int
    probability: int
    dwell_sla_days: int | None
    gate: list[dict[str, str]]
    is_won: bool = False
    is_lost: bool = False


@dataclass(frozen=True)
class PlaybookSpec:
    key: str
    names: dict[str, str]
    version: int
    is_default: bool
    stages: list[StageSpec] = field(default_factory=list)
    source_text: str = ""


def default_playbook_path() -> Path:
    return Path(str(resources.files("salesradar.pipeline") / "playbooks" / "default.yaml"))


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def labels(self, where: str, value: Any) -> dict[str, str]:
        if isinstance(value, str) and value.strip():
            return {"en": value}
        if not isinstance(value, dict) or not value:
            self.fail(where, _("give a text or a map of language to text"))
            return {}
        unknown = [lang for lang in value if lang not in LANGUAGES]
        if unknown:
            self.fail(where, _("unknown language {languages}").format(languages=unknown))
        if not all(isinstance(text, str) and text.strip() for text in value.values()):
            self.fail(where, _("every label must be a non-empty text"))
        return {str(lang): str(text) for lang, text in value.items()}

    def integer(self, where: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(
                where,
                _("must be a whole number from {low} to {high}, not {value!r}").format(
                    low=low, high=high, value=value
                ),
            )
            return low
        return value

    def gate(self, where: str, value: Any) -> list[dict[str, str]]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, _("must be a list of requirements"))
            return []
        requirements: list[dict[str, str]] = []
        for index, item in enumerate(value):
            here = f"{where}[{index}]"
            if not isinstance(item, dict) or len(item) != 1:
                self.fail(here, _("each requirement is one 'kind: value' pair"))
                continue
            ((kind, target),) = item.items()
            target = str(target)
            if kind not in GATE_KINDS:
                self.fail(
                    here,
                    _("unknown requirement kind {kind!r}; use one of {kinds}").format(
                        kind=kind, kinds=", ".join(GATE_KINDS)
                    ),
                )
                continue
            allowed: tuple[str, ...] | None = {
                "field": GATE_FIELDS,
                "contact_role": tuple(DecisionRole.values),
                "quote": ("sent",),
                "contract": ("signed",),
                "activity": tuple(ActivityKind.values),
            }.get(kind)
            if allowed is not None and target not in allowed:
                self.fail(
                    here,
                    _("{kind} must be one of {allowed}, not {target!r}").format(
                        kind=kind, allowed=", ".join(allowed), target=target
                    ),
                )
                continue
            if kind == "evidence" and not KEY_PATTERN.match(target):
                self.fail(
                    here,
                    _("an evidence kind is a lower-case key, not {target!r}").format(target=target),
                )
                continue
            requirements.append({kind: target})
        return requirements


def parse_playbook(text: str, source: str = "<playbook>") -> PlaybookSpec:
    """Validate a playbook's text and return its spec, or raise PlaybookError listing faults."""
    check = _Checker()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PlaybookError(source, [_("not valid YAML: {error}").format(error=error)]) from None
    if not isinstance(data, dict):
        raise PlaybookError(source, [_("the top level must be a map with process and stages")])
    unknown_top = sorted(set(data) - {"process", "stages"})
    if unknown_top:
        check.fail("top level", _("unknown top-level keys {keys}").format(keys=unknown_top))
    process = data.get("process")
    if not isinstance(process, dict):
        check.fail("process", _("missing or not a map"))
        process = {}
    key = process.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        check.fail("process.key", _("a lower-case key of letters, digits, - or _ is required"))
        key = ""
    names = check.labels("process.name", process.get("name", key or None))
    version = check.integer("process.version", process.get("version", 1), 1, 1_000_000)
    is_default = process.get("default", False)
    if not isinstance(is_default, bool):
        check.fail("process.default", _("must be true or false"))
        is_default = False

    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        check.fail("stages", _("a non-empty list of stages is required"))
        raw_stages = []
    stages: list[StageSpec] = []
    seen: set[str] = set()
    allowed_stage_keys = {"key", "label", "probability", "dwell_sla_days", "gate", "won", "lost"}
    for index, raw in enumerate(raw_stages):
        stage_key = raw.get("key") if isinstance(raw, dict) else None
        where = f"stages[{index}]" + (f" ({stage_key})" if isinstance(stage_key, str) else "")
        if not isinstance(raw, dict):
            check.fail(where, _("each stage is a map"))
            continue
        for extra in sorted(set(raw) - allowed_stage_keys):
            check.fail(f"{where}.{extra}", _("unknown field"))
        if not isinstance(stage_key, str) or not KEY_PATTERN.match(stage_key):
            check.fail(f"{where}.key", _("a lower-case key is required"))
            stage_key = f"#{index}"
        elif stage_key in seen:
            check.fail(f"{where}.key", _("the key {key!r} is used twice").format(key=stage_key))
        seen.add(stage_key)
        is_won, is_lost = raw.get("won", False), raw.get("lost", False)
        if not isinstance(is_won, bool) or not isinstance(is_lost, bool):
            check.fail(f"{where}.won", _("won and lost must be true or false"))
            is_won = is_lost = False
        if is_won and is_lost:
            check.fail(f"{where}.won", _("a stage cannot be both won and lost"))
        if "probability" not in raw:
            check.fail(f"{where}.probability", _("missing"))
        probability = check.integer(f"{where}.probability", raw.get("probability", 0), 0, 100)
        sla = raw.get("dwell_sla_days")
        if sla is not None:
            sla = check.integer(f"{where}.dwell_sla_days", sla, 1, 3650)
        if (is_won or is_lost) and sla is not None:
            check.fail(f"{where}.dwell_sla_days", _("a won or lost stage has no dwell SLA"))
        stages.append(
            StageSpec(
                key=stage_key,
                labels=check.labels(f"{where}.label", raw.get("label")),
                order=index + 1,
                probability=probability,
                dwell_sla_days=sla,
                gate=check.gate(f"{where}.gate", raw.get("gate")),
                is_won=is_won,
                is_lost=is_lost,
            )
        )
    if stages:
        if sum(stage.is_won for stage in stages) != 1:
            check.fail("stages", _("exactly one stage must be marked won: true"))
        if sum(stage.is_lost for stage in stages) != 1:
            check.fail("stages", _("exactly one stage must be marked lost: true"))
        if stages[0].is_won or stages[0].is_lost:
            check.fail("stages[0]", _("the first stage must be an open stage"))
        first_terminal = next((s.order for s in stages if s.is_won or s.is_lost), None)
        if first_terminal and any(
            not (s.is_won or s.is_lost) for s in stages if s.order > first_terminal
        ):
            check.fail("stages", _("won and lost stages come after every open stage"))
    if check.problems:
        raise PlaybookError(source, check.problems)
    return PlaybookSpec(key, names, version, is_default, stages, text)


def read_playbook(path: Path | str) -> PlaybookSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PlaybookError(str(path), [str(error)]) from None
    return parse_playbook(text, source=str(path))


@dataclass(frozen=True)
class LoadResult:
    process_id: int
    created: bool
    changed: bool


@transaction.atomic
def load_playbook(spec: PlaybookSpec) -> LoadResult:
    """Create or upgrade the process named by the playbook.

    An existing process changes only with a higher version; stages in use by opportunities
    may be relabelled and re-gated but not removed, so no opportunity loses its stage.
    """
    from salesradar.pipeline.models import Opportunity, Process, Stage, StageChange

    process = Process.objects.select_for_update().filter(key=spec.key).first()
    created = process is None
    if process is not None:
        if process.source == spec.source_text:
            return LoadResult(process.pk, created=False, changed=False)
        if spec.version <= process.version:
            raise PlaybookError(
                spec.key,
                [
                    _(
                        "process.version: {key} is already at version {current}; raise the "
                        "version to change it"
                    ).format(key=spec.key, current=process.version)
                ],
            )
    else:
        process = Process(key=spec.key)
    if spec.is_default:
        Process.objects.filter(is_default=True).exclude(pk=process.pk).update(is_default=False)
    process.names = spec.names
    process.version = spec.version
    process.is_default = spec.is_default
    process.source = spec.source_text
    process.save()

    existing = {stage.key: stage for stage in Stage.objects.filter(process=process)}
    removed = set(existing) - {s.key for s in spec.stages}

    def used(stage: Stage) -> bool:
        return (
            Opportunity.objects.filter(stage=stage).exists()
            or StageChange.objects.filter(
                models.Q(to_stage=stage) | models.Q(from_stage=stage)
            ).exists()
        )

    in_use = sorted(key for key in removed if used(existing[key]))
    reflagged = sorted(
        stage_spec.key
        for stage_spec in spec.stages
        if stage_spec.key in existing
        and (existing[stage_spec.key].is_won, existing[stage_spec.key].is_lost)
        != (stage_spec.is_won, stage_spec.is_lost)
        and used(existing[stage_spec.key])
    )
    if reflagged:
        raise PlaybookError(
            spec.key,
            [
                _(
                    "stages {keys} hold deals; turning won into lost or open into closed would "
                    "rewrite their history"
                ).format(keys=reflagged)
            ],
        )
    if in_use:
        raise PlaybookError(
            spec.key,
            [
                _("stages {keys} are used by opportunities and cannot be removed").format(
                    keys=in_use
                )
            ],
        )
    Stage.objects.filter(process=process, key__in=removed).delete()
    # Park current orders out of the way so the (process, order) unique index never clashes.
    for offset, stage in enumerate(existing.values(), start=1):
        if stage.key not in removed:
            Stage.objects.filter(pk=stage.pk).update(order=10_000 + offset)
    for stage_spec in spec.stages:
        Stage.objects.update_or_create(
            process=process,
            key=stage_spec.key,
            defaults={
                "labels": stage_spec.labels,
                "order": stage_spec.order,
                "probability": stage_spec.probability,
                "dwell_sla_days": stage_spec.dwell_sla_days,
                "gate": stage_spec.gate,
                "is_won": stage_spec.is_won,
                "is_lost": stage_spec.is_lost,
            },
        )
    return LoadResult(process.pk, created=created, changed=True)


def ensure_default_process() -> int:
    """Load the shipped playbook unless a process with its key exists; return its id."""
    from salesradar.pipeline.models import Process

    spec = read_playbook(default_playbook_path())
    existing = Process.objects.filter(key=spec.key).values_list("pk", flat=True).first()
    return existing if existing is not None else load_playbook(spec).process_id
