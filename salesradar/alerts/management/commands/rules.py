from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesradar.alerts.backtest import (
    DEFAULT_HORIZON,
    BacktestError,
    Suggestion,
    suggest_thresholds,
)
from salesradar.alerts.management.commands.backtest import (
    format_number,
    parse_length,
    parse_moment,
)
from salesradar.alerts.models import Rule
from salesradar.alerts.rules import (
    RulePackError,
    ensure_default_rules,
    load_rule_pack,
    read_rule_pack,
)
from salesradar.core.datadir import require_schema
from salesradar.core.terminal import write_table


class Command(BaseCommand):
    help = "Validate or load an early-warning rule pack (YAML), or suggest a rule's levels."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        validate = actions.add_parser("validate", help="check a rule pack without loading it")
        validate.add_argument("file")
        load = actions.add_parser("load", help="create or update the pack's rules, all or nothing")
        load.add_argument("file")
        suggest = actions.add_parser(
            "suggest", help="replay a threshold rule and propose levels from past outcomes"
        )
        suggest.add_argument("rule", metavar="RULE")
        suggest.add_argument(
            "--from", dest="start", help="ISO date: first step (default: 13 weeks before --to)"
        )
        suggest.add_argument(
            "--to", dest="end", help="ISO date: last step (default: the horizon before now)"
        )
        suggest.add_argument("--step", default="7d", help="time between steps (default 7d)")
        suggest.add_argument(
            "--horizon", default="60d", help="how long after a flag an outcome counts (60d)"
        )
        suggest.add_argument(
            "--precision",
            type=float,
            default=0.7,
            help="the precision the recommended level must reach (default 0.7)",
        )
        suggest.add_argument(
            "--recall",
            type=float,
            help="instead of --precision: the share of bad outcomes the level must catch; "
            "the level with the highest lift among those is recommended",
        )
        suggest.add_argument("--format", choices=["table", "json"], default="table")
        suggest.add_argument("--language", choices=["zh-hans", "en"], help="output language")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "suggest":
            with translation.override(options["language"] or translation.get_language()):
                self.suggest(options)
            return
        require_schema()  # a pack is checked against the teams and stages in the database
        try:
            pack = read_rule_pack(options["file"])
        except RulePackError as error:
            raise CommandError(str(error)) from None
        if options["action"] == "validate":
            self.stdout.write(
                f"{options['file']}: valid — pack {pack.key} v{pack.version}, "
                f"{len(pack.rules)} rules"
            )
            return
        created, updated = load_rule_pack(pack)
        self.stdout.write(
            f"Pack {pack.key} v{pack.version}: {created} rules created, {updated} updated."
        )

    def suggest(self, options: dict[str, Any]) -> None:
        require_schema()
        step = parse_length(options["step"], "--step")
        horizon = parse_length(options["horizon"], "--horizon") or DEFAULT_HORIZON
        if step is None:
            raise CommandError(_("--step must be a duration such as 7d"))
        now = timezone.now()
        end = parse_moment(options["end"], "--to") if options["end"] else now - horizon
        start = (
            parse_moment(options["start"], "--from")
            if options["start"]
            else end - dt.timedelta(weeks=13)
        )
        ensure_default_rules()
        rule = Rule.objects.filter(key=options["rule"]).first()
        if rule is None:
            raise CommandError(_("no rule with key {keys}").format(keys=options["rule"]))
        try:
            suggestions = suggest_thresholds(
                rule,
                start=start,
                end=end,
                step=step,
                target_precision=options["precision"],
                target_recall=options["recall"],
                horizon=horizon,
                as_of=now,
            )
        except BacktestError as error:
            raise CommandError(str(error)) from None
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    [suggestion.as_dict() for suggestion in suggestions],
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return
        self.write_suggestions(rule, suggestions, options["precision"], options["recall"])

    def write_suggestions(
        self,
        rule: Rule,
        suggestions: list[Suggestion],
        target: float,
        target_recall: float | None = None,
    ) -> None:
        headers = [
            _("level"),
            _("alerts"),
            _("TP"),
            _("pending"),
            _("base rate"),
            _("precision"),
            _("recall"),
            _("lift"),
            _("best baseline at recall"),
            _("its precision"),
            _("median lead days"),
            _("false alarms/rep/week"),
            "",
        ]
        rows = []
        for suggestion in suggestions:
            marks = []
            if suggestion.current:
                marks.append(_("current {severity}").format(severity=suggestion.current))
            if suggestion.recommended:
                marks.append(_("recommended"))
            rows.append(
                [
                    f"{suggestion.op} {suggestion.threshold:g}",
                    str(suggestion.alerts),
                    str(suggestion.true_positives),
                    str(suggestion.pending),
                    format_number(suggestion.base_rate),
                    format_number(suggestion.precision),
                    format_number(suggestion.recall),
                    format_number(suggestion.lift),
                    suggestion.best_baseline or "-",
                    format_number(suggestion.best_baseline_precision),
                    format_number(suggestion.median_lead_days, 1),
                    format_number(suggestion.false_alarms_per_rep_week, 3),
                    ", ".join(marks),
                ]
            )
        write_table(self.stdout, headers, rows)
        chosen = next((s for s in suggestions if s.recommended), None)
        if chosen is None:
            if target_recall is not None:
                self.stdout.write(
                    _("No level catches {target:.0%} of the bad outcomes for {rule}.").format(
                        target=target_recall, rule=rule.key
                    )
                )
            else:
                self.stdout.write(
                    _("No level reaches a precision of {target:.0%} for {rule}.").format(
                        target=target, rule=rule.key
                    )
                )
        else:
            self.stdout.write(
                _(
                    "Recommended for {rule}: {op} {level:g} (precision {precision:.0%}, "
                    "recall {recall:.0%}); edit the rule pack to use it."
                ).format(
                    rule=rule.key,
                    op=chosen.op,
                    level=chosen.threshold,
                    precision=chosen.precision or 0,
                    recall=chosen.recall or 0,
                )
            )
        compared = [s for s in suggestions if s.beats_baseline is not None]
        if compared and not any(s.beats_baseline for s in compared):
            self.stdout.write(
                _(
                    "No level of {rule} beats the best baseline at the same recall: "
                    "a one-line rule such as {baseline} would be right more often."
                ).format(
                    rule=rule.key,
                    baseline=next((s.best_baseline for s in compared if s.best_baseline), "-"),
                )
            )
        elif chosen is not None and chosen.beats_baseline is False:
            self.stdout.write(
                _(
                    "The recommended level does not beat {baseline} at its recall "
                    "(precision {precision:.0%})."
                ).format(
                    baseline=chosen.best_baseline, precision=chosen.best_baseline_precision or 0
                )
            )
