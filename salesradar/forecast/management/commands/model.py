"""``salesradar model train|evaluate|show``: the deal-outcome models from the CLI."""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesradar.alerts.management.commands.backtest import format_number, parse_moment
from salesradar.core.datadir import require_schema
from salesradar.core.terminal import write_table
from salesradar.forecast.models import ModelRecord
from salesradar.forecast.services import Evaluation, evaluate_history, store
from salesradar.forecast.training import (
    DEFAULT_HORIZON_DAYS,
    CorruptModelError,
    TrainingError,
    load_estimator,
)


class Command(BaseCommand):
    help = "Train, evaluate or show the deal-outcome models (P(won), P(slip or loss))."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["train", "evaluate", "show", "proof"])
        parser.add_argument(
            "--dataset",
            choices=["bohanec", "current"],
            default="current",
            help="proof: the Bohanec deals (cross-validated) or the current database",
        )
        parser.add_argument("--start", help="proof: first replay snapshot (ISO date)")
        parser.add_argument("--output", help="proof: Markdown file to put the tables in")
        parser.add_argument("--section", help="proof: the section key in that file")
        parser.add_argument("--at", help="ISO date: history known up to then (default: now)")
        parser.add_argument(
            "--horizon-days",
            type=int,
            default=DEFAULT_HORIZON_DAYS,
            help="days within which a slip or loss counts (default 60)",
        )
        parser.add_argument("--by", default="", help="who trains (default: the system user name)")
        parser.add_argument("--language", choices=["zh-hans", "en"], help="output language")

    def handle(self, *args: Any, **options: Any) -> None:
        require_schema()
        with translation.override(options["language"] or translation.get_language()):
            if options["action"] == "show":
                self.show()
                return
            if options["action"] == "proof":
                self.proof(options)
                return
            at = parse_moment(options["at"], "--at") if options["at"] else timezone.now()
            started = time.perf_counter()
            try:
                evaluations = evaluate_history(
                    at=at, horizon_days=options["horizon_days"], progress=self.progress
                )
            except TrainingError as error:
                raise CommandError(str(error)) from None
            sys.stderr.write("\n")
            for evaluation in evaluations.values():
                self.report(evaluation)
            if options["action"] == "train":
                by = options["by"] or "cli"
                for evaluation in evaluations.values():
                    record = store(evaluation, by=by, at=at)
                    self.stdout.write(
                        _(
                            "Stored model {target} v{version} ({algorithm}, {calibration}); it is "
                            "now active."
                        ).format(
                            target=record.target,
                            version=record.version,
                            algorithm=record.algorithm,
                            calibration=record.calibration,
                        )
                    )
            self.stdout.write(
                _("Done in {seconds:.1f} s.").format(seconds=time.perf_counter() - started)
            )

    def proof(self, options: dict[str, Any]) -> None:
        from pathlib import Path

        from salesradar.forecast.proof import bohanec_table, database_tables, proof_window
        from salesradar.quality.report import write_section

        started = time.perf_counter()
        if options["dataset"] == "bohanec":
            markdown = (
                "### Deal-outcome model on the Bohanec B2B deals\n\n"
                "`salesradar model proof --dataset bohanec`: 448 closed deals without dates, so "
                "**stratified 5-fold cross-validation** instead of a time split.\n\n"
                + bohanec_table()
            )
            key = "forecast-bohanec"
        else:
            start, end, as_of = proof_window(
                parse_moment(options["start"], "--start") if options["start"] else None,
                dt.timedelta(days=options["horizon_days"]),
            )
            tables = database_tables(
                start=start,
                end=end,
                step=dt.timedelta(days=7),
                horizon_days=options["horizon_days"],
                as_of=as_of,
                progress=self.progress,
            )
            markdown = (
                "### Deal-outcome model and risk rule on this database\n\n"
                f"`salesradar model proof --dataset current --start {start:%Y-%m-%d} "
                f"--horizon-days {options['horizon_days']}`\n\n" + tables
            )
            key = "forecast-current"
        self.stdout.write(markdown)
        if options["output"]:
            write_section(Path(options["output"]), options.get("section") or key, markdown)
        self.stdout.write(
            _("Done in {seconds:.1f} s.").format(seconds=time.perf_counter() - started)
        )

    def progress(self, done: int, total: int) -> None:
        sys.stderr.write(
            "\r" + _("features at snapshot {done} of {total}").format(done=done, total=total)
        )
        sys.stderr.flush()

    def report(self, evaluation: Evaluation) -> None:
        metrics = evaluation.metrics
        split = metrics["split"]
        self.stdout.write(
            _(
                "Target {target}: time split train {train} / calibration {calibration} "
                "/ test {test} examples (test from {start}); chosen: {algorithm}, "
                "{calibration_kind}"
            ).format(
                target=evaluation.target,
                train=split["train"],
                calibration=split["calibration"],
                test=split["test"],
                start=metrics["test_from"][:10],
                algorithm=evaluation.model.algorithm,
                calibration_kind=evaluation.model.calibration,
            )
        )
        rows = []
        for name, label in (
            ("model", _("model (calibrated)")),
            ("stage_default", _("stage default probability")),
            ("naive_bayes", _("naive Bayes on stage and owner")),
        ):
            figures = metrics["test"][name]
            rows.append(
                [
                    label,
                    figures["n"],
                    format_number(figures["base_rate"], 3),
                    format_number(figures["brier"], 4),
                    format_number(figures["auc"], 3),
                    format_number(figures["ece"], 3),
                ]
            )
        write_table(self.stdout, [_("scorer"), "n", _("base rate"), "Brier", "AUC", "ECE"], rows)

    def show(self) -> None:
        records = list(ModelRecord.objects.order_by("target", "-version"))
        if not records:
            self.stdout.write(
                _(
                    "No model has been trained yet: scores use the stages' default "
                    "probabilities. Run: salesradar model train"
                )
            )
            return
        rows = []
        for record in records:
            try:
                load_estimator(record)
                integrity = _("ok")
            except CorruptModelError:
                integrity = _("CORRUPT, refused")
            test = record.metrics.get("test", {}).get("model", {})
            rows.append(
                [
                    record.target,
                    record.version,
                    _("yes") if record.is_active else "",
                    record.algorithm,
                    record.calibration,
                    f"{record.window_start:%Y-%m-%d}..{record.window_end:%Y-%m-%d}",
                    record.trained_by,
                    f"{record.trained_at:%Y-%m-%d %H:%M}",
                    format_number(test.get("brier"), 4),
                    format_number(test.get("auc"), 3),
                    format_number(test.get("ece"), 3),
                    integrity,
                ]
            )
        write_table(
            self.stdout,
            [
                _("target"),
                _("version"),
                _("active"),
                _("algorithm"),
                _("calibration"),
                _("training window"),
                _("trained by"),
                _("trained at"),
                "Brier",
                "AUC",
                "ECE",
                _("integrity"),
            ],
            rows,
        )
