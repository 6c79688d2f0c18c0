"""Rule packs: early-warning rules as YAML data, validated whole before anything is loaded.

A pack has a ``pack`` key, a ``version`` and a list of ``rules``. Each rule names a metric
from the registry, a scope (team codes, tiers, stages, process, metric parameters), a
condition (see ``conditions``), an optional ``for`` clause, lifecycle timings, routing hints,
labels and inhibition links. Every fault is reported as ``file: rule ID: field: message`` and
a pack with any fault loads nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils.translation import gettext as _

from salesradar.alerts.conditions import ForClause, RuleError, build_condition, parse_for
from salesradar.metrics.registry import METRICS, get_metric

RULE_ID = re.compile(r"^[a-z][a-z0-9_-]{0,79}$")
RULE_FIELDS = {
    "id",
    "name",
    "description",
    "metric",
    "scope",
    "condition",
    "for",
    "keep_firing_for",
    "escalate_after",
    "repeat_interval",
    "routing",
    "notify",
    "labels",
    "inhibits",
    "depends_on",
    "enabled",
    "period",
    "history",
}
SCOPE_FIELDS = {"grain", "teams", "tiers", "stages", "process", "params"}


class RulePackError(ValueError):
    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            _("{source}: the rule pack is invalid and nothing was loaded:\n{lines}").format(
                source=source, lines=lines
            )
        )


@dataclass(frozen=True)
class RuleSpec:
    key: str
    names: dict[str, str]
    descriptions: dict[str, str]
    metric: str
    grain: str
    scope: dict[str, Any]
    condition: dict[str, Any]
    for_clause: str
    keep_firing_for: dt.timedelta | None
    escalate_after: dt.timedelta | None
    repeat_interval: dt.timedelta | None
    routing: dict[str, Any]
    notify: dict[str, Any]
    labels: dict[str, Any]
    inhibits: list[str]
    depends_on: list[str]
    enabled: bool
    source: str


@dataclass(frozen=True)
class ConcernSpec:
    key: str
    names: dict[str, str]
    entity_type: str
    rules: list[str]


@dataclass(frozen=True)
class RulePack:
    key: str
    version: int
    rules: list[RuleSpec] = field(default_factory=list)
    concerns: list[ConcernSpec] = field(default_factory=list)


CONCERN_FIELDS = {"id", "name", "entity", "rules"}
CONCERN_ENTITIES = ("opportunity", "customer", "quote", "lead", "invoice", "contract")


def _check_concerns(raw: Any, rules: list[RuleSpec]) -> tuple[list[ConcernSpec], list[str]]:
    """Validate the pack's ``concerns``: which rules' alerts about one entity read as one."""
    from salesradar.alerts.engine import entity_type_for
    from salesradar.alerts.grouping import can_group

    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], ["concerns: " + _("must be a list")]
    by_key = {rule.key: rule for rule in rules}
    concerns: list[ConcernSpec] = []
    problems: list[str] = []
    claimed: dict[str, str] = {}
    for index, item in enumerate(raw):
        key = item.get("id") if isinstance(item, dict) else None
        where = f"concern {key}" if isinstance(key, str) else f"concerns[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: " + _("each concern is a map"))
            continue
        if not isinstance(key, str) or not RULE_ID.match(key):
            problems.append(f"{where}.id: " + _("a lower-case id of letters, digits, - or _"))
            continue
        for extra in sorted(set(item) - CONCERN_FIELDS):
            problems.append(f"{where}.{extra}: " + _("unknown field"))
        if key in by_key:
            problems.append(f"{where}.id: " + _("a rule of this pack has the same id"))
        entity = item.get("entity")
        if entity not in CONCERN_ENTITIES:
            problems.append(
                f"{where}.entity: "
                + _("one of {entities}").format(entities=", ".join(CONCERN_ENTITIES))
            )
            continue
        try:
            members = _string_list(item.get("rules"), f"{where}.rules")
            names = _labels(item.get("name", key), f"{where}.name")
        except RuleError as error:
            problems.append(str(error))
            continue
        if not members:
            problems.append(f"{where}.rules: " + _("name at least one rule of this pack"))
        for member in members:
            rule = by_key.get(member)
            if rule is None:
                problems.append(
                    f"{where}.rules: " + _("no rule {target!r} in this pack").format(target=member)
                )
            elif member in claimed:
                problems.append(
                    f"{where}.rules: "
                    + _("rule {rule!r} already belongs to concern {concern!r}").format(
                        rule=member, concern=claimed[member]
                    )
                )
            elif not can_group(entity_type_for(rule.grain), entity):
                problems.append(
                    f"{where}.rules: "
                    + _("rule {rule!r} is about a {grain}, which is not part of a {entity}").format(
                        rule=member, grain=rule.grain, entity=entity
                    )
                )
            else:
                claimed[member] = key
        concerns.append(ConcernSpec(key, names, entity, members))
    keys = [concern.key for concern in concerns]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        problems.append(_("concern ids used twice: {ids}").format(ids=duplicates))
    return concerns, problems


def normalised_for(clause: ForClause, raw: Any) -> str:
    """Store ``for`` in the form the engine parses back: "3" becomes "3 of 3"."""
    if clause.n is not None:
        return f"{clause.n} of {clause.m}"
    return str(raw).strip() if clause.duration is not None else ""


def parse_duration(value: Any, where: str) -> dt.timedelta | None:
    """Parse a lifecycle timing such as ``48h``; unlike ``for`` it takes no 'N of M'."""
    if value is None or value == "":
        return None
    clause = parse_for(str(value), where)
    if clause.n is not None:
        raise RuleError(where, _("use a duration such as 30m, 48h, 7d or 2w"))
    return clause.duration


def _labels(value: Any, where: str) -> dict[str, str]:
    if isinstance(value, str) and value.strip():
        return {"en": value}
    if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
        unknown = set(value) - {"en", "zh-hans"}
        if unknown:
            raise RuleError(
                where, _("unknown languages {languages}").format(languages=sorted(unknown))
            )
        return {str(k): str(v) for k, v in value.items()}
    raise RuleError(where, _("give a text or a map of language to text"))


def _string_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RuleError(where, _("must be a list of texts"))
    return list(value)


def _check_scope(raw: Any, metric: Any, where: str) -> dict[str, Any]:
    from salesradar.accounts.models import Team
    from salesradar.pipeline.models import Stage

    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RuleError(where, _("must be a map"))
    for extra in sorted(set(raw) - SCOPE_FIELDS):
        raise RuleError(f"{where}.{extra}", _("unknown field"))
    metric_grain = metric.grain
    for name in ("tiers", "stages", "process"):
        if raw.get(name) and name not in metric.scope_fields:
            raise RuleError(
                f"{where}.{name}",
                _("the metric {metric} cannot be filtered by {name}").format(
                    metric=metric.key, name=name
                ),
            )
    grain = raw.get("grain", metric_grain)
    if grain != metric_grain:
        raise RuleError(
            f"{where}.grain",
            _("the metric works at grain {expected}, not {grain}").format(
                expected=metric_grain, grain=grain
            ),
        )
    teams = _string_list(raw.get("teams"), f"{where}.teams")
    known_teams = set(Team.objects.filter(code__in=teams).values_list("code", flat=True))
    missing = [code for code in teams if code not in known_teams]
    if missing:
        raise RuleError(f"{where}.teams", _("no team with code {codes}").format(codes=missing))
    tiers = _string_list(raw.get("tiers"), f"{where}.tiers")
    if any(tier not in ("A", "B", "C") for tier in tiers):
        raise RuleError(f"{where}.tiers", _("tiers are A, B and C"))
    stages = _string_list(raw.get("stages"), f"{where}.stages")
    known_stages = set(Stage.objects.values_list("key", flat=True))
    unknown = [key for key in stages if key not in known_stages]
    if unknown:
        raise RuleError(f"{where}.stages", _("unknown stages {keys}").format(keys=unknown))
    process = raw.get("process")
    if process:
        from salesradar.pipeline.models import Process

        if not Process.objects.filter(key=str(process)).exists():
            raise RuleError(f"{where}.process", _("no sales process {key!r}").format(key=process))
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise RuleError(f"{where}.params", _("must be a map"))
    return {
        "grain": grain,
        "teams": teams,
        "tiers": tiers,
        "stages": stages,
        "process": str(raw.get("process") or ""),
        "params": params,
    }


def _check_rule(raw: Any, index: int, source: str) -> RuleSpec:
    if not isinstance(raw, dict):
        raise RuleError(f"rules[{index}]", _("each rule is a map"))
    key = raw.get("id")
    where = f"rule {key}" if isinstance(key, str) else f"rules[{index}]"
    if not isinstance(key, str) or not RULE_ID.match(key):
        raise RuleError(f"{where}.id", _("a lower-case id of letters, digits, - or _"))
    for extra in sorted(set(raw) - RULE_FIELDS):
        raise RuleError(f"{where}.{extra}", _("unknown field"))
    metric_key = raw.get("metric")
    if metric_key not in METRICS:
        raise RuleError(
            f"{where}.metric",
            _("unknown metric {metric!r}; known metrics: {known}").format(
                metric=metric_key, known=", ".join(sorted(METRICS))
            ),
        )
    metric = get_metric(metric_key)
    scope = _check_scope(raw.get("scope"), metric, f"{where}.scope")
    condition_spec = raw.get("condition")
    if not isinstance(condition_spec, dict):
        raise RuleError(f"{where}.condition", _("a condition map with a kind is required"))
    condition = build_condition(condition_spec, f"{where}.condition")
    if condition.needs_history and not metric.per_period:
        raise RuleError(
            f"{where}.condition.kind",
            _("{kind} needs a per-period metric; {metric} is a snapshot").format(
                kind=condition.kind, metric=metric_key
            ),
        )
    for_clause: ForClause = parse_for(raw.get("for"), f"{where}.for")
    if for_clause.n is not None and not metric.per_period:
        raise RuleError(
            f"{where}.for", _("'N of M' needs a per-period metric; use a duration instead")
        )
    period = raw.get("period", metric.default_period)
    if period not in ("week", "month"):
        raise RuleError(f"{where}.period", _("week or month"))
    history = raw.get("history", 12)
    if isinstance(history, bool) or not isinstance(history, int) or not 1 <= history <= 104:
        raise RuleError(f"{where}.history", _("a whole number of periods from 1 to 104"))
    scope["params"] = {**scope["params"], "period": period, "history": history}
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleError(f"{where}.enabled", _("must be true or false"))
    for name in ("routing", "notify", "labels"):
        if raw.get(name) is not None and not isinstance(raw.get(name), dict):
            raise RuleError(f"{where}.{name}", _("must be a map"))
    return RuleSpec(
        key=key,
        names=_labels(raw.get("name", key), f"{where}.name"),
        descriptions=_labels(raw["description"], f"{where}.description")
        if raw.get("description")
        else {},
        metric=metric_key,
        grain=metric.grain,
        scope=scope,
        condition=dict(condition_spec),
        for_clause=normalised_for(for_clause, raw.get("for")),
        keep_firing_for=parse_duration(raw.get("keep_firing_for"), f"{where}.keep_firing_for"),
        escalate_after=parse_duration(raw.get("escalate_after"), f"{where}.escalate_after"),
        repeat_interval=parse_duration(raw.get("repeat_interval"), f"{where}.repeat_interval"),
        routing=dict(raw.get("routing") or {"to": ["owner"]}),
        notify=dict(raw.get("notify") or {}),
        labels={str(k): v for k, v in (raw.get("labels") or {}).items()},
        inhibits=_string_list(raw.get("inhibits"), f"{where}.inhibits"),
        depends_on=_string_list(raw.get("depends_on"), f"{where}.depends_on"),
        enabled=enabled,
        source=yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
    )


def parse_rule_pack(text: str, source: str = "<rules>") -> RulePack:
    """Validate a rule pack and return it, or raise RulePackError listing every fault."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RulePackError(source, [_("not valid YAML: {error}").format(error=error)]) from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RulePackError(source, [_("the top level needs pack, version and a rules list")])
    problems: list[str] = []
    pack_key = data.get("pack")
    if not isinstance(pack_key, str) or not RULE_ID.match(pack_key):
        problems.append(f"pack: {_('a lower-case key is required')}")
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.append(f"version: {_('a whole number from 1')}")
    rules: list[RuleSpec] = []
    for index, raw in enumerate(data["rules"]):
        try:
            rules.append(_check_rule(raw, index, source))
        except RuleError as error:
            problems.append(str(error))
    keys = [rule.key for rule in rules]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        problems.append(_("rule ids used twice: {ids}").format(ids=duplicates))
    for rule in rules:
        for link_field in ("inhibits", "depends_on"):
            for target in getattr(rule, link_field):
                if target not in keys:
                    problems.append(
                        f"rule {rule.key}.{link_field}: "
                        + _("no rule {target!r} in this pack").format(target=target)
                    )
    concerns, concern_problems = _check_concerns(data.get("concerns"), rules)
    problems.extend(concern_problems)
    for extra in sorted(set(data) - {"pack", "version", "rules", "concerns"}):
        problems.append(f"{extra}: {_('unknown field')}")
    if problems:
        raise RulePackError(source, [f"{source}: {problem}" for problem in problems])
    return RulePack(str(pack_key), int(version), rules, concerns)


def read_rule_pack(path: Path | str) -> RulePack:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RulePackError(str(path), [f"{path}: {error}"]) from None
    return parse_rule_pack(text, source=str(path))


def default_rule_pack_path() -> Path:
    return Path(str(resources.files("salesradar.alerts") / "packs" / "default.yaml"))


@transaction.atomic
def load_rule_pack(pack: RulePack) -> tuple[int, int]:
    """Create or update the pack's rules; return (created, updated). Other packs are untouched.

    Rules of this pack that the new version no longer lists are disabled, not deleted, so
    their alert history stays.
    """
    from salesradar.alerts.models import Concern, Rule

    concern_ids: dict[str, int] = {}
    rule_concern: dict[str, int] = {}
    for concern_spec in pack.concerns:
        concern, _created = Concern.objects.update_or_create(
            key=concern_spec.key,
            defaults={
                "pack": pack.key,
                "names": concern_spec.names,
                "entity_type": concern_spec.entity_type,
            },
        )
        concern_ids[concern_spec.key] = concern.pk
        rule_concern.update({member: concern.pk for member in concern_spec.rules})
    Concern.objects.filter(pack=pack.key).exclude(key__in=list(concern_ids)).delete()
    created = updated = 0
    for spec in pack.rules:
        values = {
            "pack": pack.key,
            "names": spec.names,
            "descriptions": spec.descriptions,
            "metric": spec.metric,
            "grain": spec.grain,
            "scope": spec.scope,
            "condition": spec.condition,
            "for_clause": spec.for_clause,
            "keep_firing_for": spec.keep_firing_for,
            "escalate_after": spec.escalate_after,
            "repeat_interval": spec.repeat_interval,
            "routing": spec.routing,
            "notify": spec.notify,
            "labels": spec.labels,
            "inhibits": spec.inhibits,
            "depends_on": spec.depends_on,
            "enabled": spec.enabled,
            "source": spec.source,
            "version": pack.version,
            "concern_id": rule_concern.get(spec.key),
        }
        _rule, was_created = Rule.objects.update_or_create(key=spec.key, defaults=values)
        created += was_created
        updated += not was_created
    Rule.objects.filter(pack=pack.key).exclude(key__in=[r.key for r in pack.rules]).update(
        enabled=False
    )
    return created, updated


def ensure_default_rules() -> None:
    """Load the shipped pack unless its rules are already there."""
    from salesradar.alerts.models import Rule
    from salesradar.pipeline.playbook import ensure_default_process

    ensure_default_process()  # the pack's stage scopes name the default playbook's stages
    pack = read_rule_pack(default_rule_pack_path())
    if not Rule.objects.filter(pack=pack.key).exists():
        load_rule_pack(pack)


def check_rule_fields(values: dict[str, Any]) -> RuleSpec:
    """Validate a rule edited field by field (in the admin) with the pack loader's checks.

    ``values`` holds the Rule model's fields; links to other rules must name existing rules.
    """
    from salesradar.alerts.models import Rule

    scope = dict(values.get("scope") or {})
    params = dict(scope.get("params") or {})
    raw: dict[str, Any] = {
        "id": values.get("key"),
        "metric": values.get("metric"),
        "condition": values.get("condition"),
        "for": values.get("for_clause") or None,
        "inhibits": values.get("inhibits") or [],
        "depends_on": values.get("depends_on") or [],
    }
    for name in ("period", "history"):
        if name in params:
            raw[name] = params.pop(name)
    scope["params"] = params
    raw["scope"] = {key: value for key, value in scope.items() if key in SCOPE_FIELDS}
    spec = _check_rule(raw, 0, "admin")
    if values.get("grain") and values["grain"] != spec.grain:
        raise RuleError(
            f"rule {spec.key}.grain",
            _("the metric works at grain {expected}").format(expected=spec.grain),
        )
    linked = set(spec.inhibits) | set(spec.depends_on)
    known = set(Rule.objects.filter(key__in=linked).values_list("key", flat=True))
    missing = sorted(linked - known - {spec.key})
    if missing:
        raise RuleError(f"rule {spec.key}.inhibits", _("no rules {keys}").format(keys=missing))
    return spec
