from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesradar.alerts.backtest import (
    DEFAULT_HORIZON,
    BacktestError,
    RuleScore,
    backtest,
    replay_steps,
)
from salesradar.alerts.conditions import RuleError
from salesradar.alerts.models import Rule
from salesradar.alerts.rules import ensure_default_rules, parse_duration
from salesradar.core.datadir import require_schema
from salesradar.core.terminal import write_table


def parse_moment(raw: str, option: str) -> dt.datetime:
    """Parse an ISO date or datetime; a bare date means midnight in the organisation's zone."""
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(
            _("{option} {value!r} is not an ISO date or datetime").format(option=option, value=raw)
        ) from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def parse_length(raw: str | None, option: str) -> dt.timedelta | None:
    """Parse a duration such as ``7d`` or ``2w`` with the rule packs' own parser."""
    try:
        return parse_duration(raw, option)
    except RuleError as error:
        raise CommandError(str(error)) from None


def format_number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


class Command(BaseCommand):
    help = "Replay early-warning rules over past data and score them against what happened."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="ISO date: first step")
        parser.add_argument("--to", dest="end", required=True, help="ISO date: last step")
        parser.add_argument("--step", default="7d", help="time between steps (default 7d)")
        parser.add_argument(
            "--horizon", default="60d", help="how long after a flag an outcome counts (60d)"
        )
        parser.add_argument(
            "--as-of",
            dest="as_of",
            help="ISO date up to which outcomes are known (default: now)",
        )
        parser.add_argument(
            "--rule", dest="rules", nargs="+", metavar="KEY", help="rules to replay (default: all)"
        )
        parser.add_argument(
            "--severity",
            choices=["warning", "danger"],
            default="warning",
            help="the lowest severity that counts as a flag (default: warning)",
        )
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--language", choices=["zh-hans", "en"], help="output language")

    def handle(self, *args: Any, **options: Any) -> None:
        require_schema()
        with translation.override(options["language"] or translation.get_language()):
            start = parse_moment(options["start"], "--from")
            end = parse_moment(options["end"], "--to")
            step = parse_length(options["step"], "--step")
            horizon = parse_length(options["horizon"], "--horizon")
            as_of = (
                parse_moment(options["as_of"], "--as-of") if options["as_of"] else timezone.now()
            )
            if step is None:
                raise CommandError(_("--step must be a duration such as 7d"))
            try:
                steps = replay_steps(start, end, step)
            except BacktestError as error:
                raise CommandError(str(error)) from None
            ensure_default_rules()
            rules = self.chosen_rules(options["rules"])
            scores: list[RuleScore] = []
            started = time.monotonic()
            for rule in rules:
                rule_started = time.monotonic()
                try:
                    scores.extend(
                        backtest(
                            [rule],
                            start=start,
                            end=end,
                            step=step,
                            horizon=horizon,
                            as_of=as_of,
                            severity=options["severity"],
                        )
                    )
                except BacktestError as error:
                    raise CommandError(str(error)) from None
                if options["verbosity"] >= 2:
                    self.stderr.write(
                        _("{rule}: {seconds:.1f} s").format(
                            rule=rule.key, seconds=time.monotonic() - rule_started
                        )
                    )
            elapsed = time.monotonic() - started
            for score in scores:
                if score.error:
                    self.stderr.write(f"{score.rule}: {score.error}")
            if options["format"] == "json":
                self.stdout.write(
                    json.dumps([score.as_dict() for score in scores], ensure_ascii=False, indent=1)
                )
                return
            self.write_scores(scores)
            self.stdout.write(
                _(
                    "{rules} rules, {steps} steps from {start} to {end}, "
                    "outcomes within {horizon} days, in {seconds:.1f} s"
                ).format(
                    rules=len(scores),
                    steps=len(steps),
                    start=start.date().isoformat(),
                    end=end.date().isoformat(),
                    horizon=round((horizon or DEFAULT_HORIZON) / dt.timedelta(days=1)),
                    seconds=elapsed,
                )
            )

    def chosen_rules(self, keys: list[str] | None) -> list[Rule]:
        if not keys:
            return list(Rule.objects.filter(enabled=True).order_by("key"))
        rules = {rule.key: rule for rule in Rule.objects.filter(key__in=keys)}
        unknown = [key for key in keys if key not in rules]
        if unknown:
            raise CommandError(_("no rule with key {keys}").format(keys=", ".join(unknown)))
        return [rules[key] for key in sorted(set(keys))]

    def write_scores(self, scores: Sequence[RuleScore]) -> None:
        headers = [
            _("rule"),
            _("alerts"),
            _("TP"),
            _("pending"),
            _("outcomes"),
            _("precision"),
            _("recall"),
            _("median lead days"),
            _("false alarms/rep/week"),
        ]
        rows = [
            [
                score.rule,
                str(score.alerts),
                str(score.true_positives),
                str(score.pending),
                str(score.bad_outcomes),
                format_number(score.precision),
                format_number(score.recall),
                format_number(score.median_lead_days, 1),
                format_number(score.false_alarms_per_rep_week, 3),
            ]
            if not score.error and not score.note
            else [score.rule, str(score.alerts), "-", "-", "-", "-", "-", "-", "-"]
            for score in scores
        ]
        write_table(self.stdout, headers, rows)
        for score in scores:
            if score.note:
                self.stdout.write(f"{score.rule}: {score.note}")
        outcomes = {score.entity_type: score.outcome for score in scores if score.outcome}
        for entity_type, outcome in sorted(outcomes.items()):
            self.stdout.write(
                _("bad outcome for {entity_type}: {outcome}").format(
                    entity_type=entity_type, outcome=outcome
                )
            )
