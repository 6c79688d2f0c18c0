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
    replay_steps,
    run_backtest,
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
        parser.add_argument(
            "--curves",
            action="store_true",
            help="also print each rule's precision/recall across its level",
        )
        parser.add_argument(
            "--report",
            action="store_true",
            help="with --format json: the whole report (rules, packs, baselines, window)",
        )
        parser.add_argument(
            "--save",
            metavar="LABEL",
            help="also save the report under LABEL for /quality/backtests/ and the API",
        )
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
            started = time.monotonic()

            def progress(rule: str, seconds: float) -> None:
                if options["verbosity"] >= 2:
                    self.stderr.write(
                        _("{rule}: {seconds:.1f} s").format(rule=rule, seconds=seconds)
                    )

            try:
                report = run_backtest(
                    rules,
                    start=start,
                    end=end,
                    step=step,
                    horizon=horizon,
                    as_of=as_of,
                    severity=options["severity"],
                    progress=progress,
                )
            except BacktestError as error:
                raise CommandError(str(error)) from None
            elapsed = time.monotonic() - started
            scores = report.scores
            if options["save"]:
                from salesradar.quality.services import save_backtest

                run = save_backtest(report, label=options["save"])
                self.stderr.write(
                    _("saved as backtest {pk}: /quality/backtests/{pk}/").format(pk=run.pk)
                )
            for score in scores:
                if score.error:
                    self.stderr.write(f"{score.rule}: {score.error}")
            if all(score.note or score.error for score in scores):
                raise CommandError(
                    "\n".join(f"{score.rule}: {score.note or score.error}" for score in scores)
                )
            if options["format"] == "json":
                payload: Any = (
                    report.as_dict() if options["report"] else [score.as_dict() for score in scores]
                )
                self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1))
                return
            write_scores(self.stdout, report.rows())
            if options["curves"]:
                write_curves(self.stdout, report.rows())
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


def format_share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def write_scores(stdout: Any, scores: Sequence[RuleScore]) -> None:
    """Write one row per rule, pack and baseline; precision never without its base rate."""
    headers = [
        _("rule"),
        _("alerts"),
        _("TP"),
        _("late"),
        _("pending"),
        _("outcomes"),
        _("base rate"),
        _("precision"),
        _("recall"),
        _("lift"),
        _("best baseline at recall"),
        _("its precision"),
        _("difference"),
        _("lead days p25/median/p75"),
        _("alerts/rep/week"),
    ]
    rows = []
    for score in scores:
        if score.error or score.note:
            rows.append([score.rule, str(score.alerts), *["-"] * (len(headers) - 2)])
            continue
        lead = "/".join(
            format_number(value, 1)
            for value in (score.lead_days_p25, score.median_lead_days, score.lead_days_p75)
        )
        rows.append(
            [
                score.rule,
                str(score.alerts),
                str(score.true_positives),
                str(score.late),
                str(score.pending),
                str(score.bad_outcomes),
                format_number(score.base_rate),
                format_number(score.precision),
                format_number(score.recall),
                format_number(score.lift),
                score.best_baseline or "-",
                format_number(score.best_baseline_precision),
                format_number(score.precision_over_baseline),
                lead,
                format_number(score.alerts_per_rep_week, 3),
            ]
        )
    write_table(stdout, headers, rows)
    for score in scores:
        if score.note:
            stdout.write(f"{score.rule}: {score.note}")
    outcomes = {score.entity_type: score.outcome for score in scores if score.outcome}
    for entity_type, outcome in sorted(outcomes.items()):
        stdout.write(
            _("bad outcome for {entity_type}: {outcome}").format(
                entity_type=entity_type, outcome=outcome
            )
        )


def write_curves(stdout: Any, scores: Sequence[RuleScore]) -> None:
    """Write each rule's (and baseline family's) precision/recall across its level."""
    seen: set[str] = set()
    for score in scores:
        family = score.rule.split(">")[0]
        if not score.curve or family in seen:
            continue
        seen.add(family)
        stdout.write("")
        stdout.write(_("precision/recall of {rule} by level").format(rule=family))
        write_table(
            stdout,
            [
                _("level"),
                _("alerts"),
                _("precision"),
                _("recall"),
                _("lift"),
                _("median lead days"),
            ],
            [
                [
                    f"{point['level']:g}",
                    str(point["alerts"]),
                    format_number(point["precision"]),
                    format_number(point["recall"]),
                    format_number(point["lift"]),
                    format_number(point["median_lead_days"], 1),
                ]
                for point in score.curve
            ],
        )
