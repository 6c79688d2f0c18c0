from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesradar.alerts.choices import AlertState, Severity
from salesradar.alerts.engine import evaluate
from salesradar.alerts.models import Alert
from salesradar.alerts.rules import RulePackError, ensure_default_rules
from salesradar.alerts.scoring import score
from salesradar.core import env
from salesradar.core.datadir import require_schema
from salesradar.core.terminal import write_table


def parse_at(raw: str | None) -> dt.datetime:
    if not raw:
        return timezone.now()
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(
            _("--at {value!r} is not an ISO date or datetime").format(value=raw)
        ) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)  # a bare date means midnight in the org's zone
    if value > timezone.now() + dt.timedelta(minutes=5):
        raise CommandError(_("--at {value} is in the future.").format(value=value.isoformat()))
    return value


class Command(BaseCommand):
    help = "Evaluate every enabled rule at a moment and print the open alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", help="ISO date or datetime (default: now)")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--language", choices=["zh-hans", "en"], help="output language")
        parser.add_argument(
            "--score",
            nargs="?",
            const="",
            metavar="GROUND_TRUTH",
            help="after evaluating, score the open alerts against a ground truth file "
            "(default: ground_truth.json in the data dir)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        require_schema()
        at = parse_at(options["at"])
        try:
            ensure_default_rules()
        except RulePackError as error:  # e.g. the pack's stages are not in this database
            raise CommandError(str(error)) from None
        with translation.override(options["language"] or translation.get_language()):
            try:
                report = evaluate(at=at)
            except ValueError as error:
                raise CommandError(str(error)) from None
            alerts = (
                Alert.objects.exclude(state=AlertState.RESOLVED)
                .select_related("rule")
                .order_by("rule__key", "entity_id")
            )
            rows = [
                {
                    "rule": alert.rule.key,
                    "entity_type": alert.entity_type,
                    "entity_id": alert.entity_id,
                    "severity": alert.severity,
                    "state": alert.state,
                    "value": alert.value,
                    "threshold": alert.threshold,
                    # Stored times come back in UTC; print them in the organisation's zone.
                    "since": timezone.localtime(alert.since).isoformat(),
                    "message": alert.message,
                    "inhibited": alert.inhibited_by_id is not None,
                }
                for alert in alerts
            ]
            # Danger first, then warnings, then alerts without a severity (no data, errors).
            rows.sort(key=lambda row: {"danger": 0, "warning": 1}.get(row["severity"], 2))
            for outcome in report.outcomes:
                if outcome.error:
                    self.stderr.write(f"{outcome.rule}: {outcome.error}")
            if options["score"] is not None:
                self.write_score(options["score"], at)
                return
            if options["format"] == "json":
                self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
                return
            self.write_table(rows)

    def write_score(self, path: str, at: dt.datetime) -> None:
        truth_path = Path(path) if path else env.data_dir() / "ground_truth.json"
        try:
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(f"{truth_path}: {error}") from None
        result = score(truth, at=at)
        report = {
            "at": at.isoformat(),
            "planted": result.planted,
            "caught": result.caught,
            "recall": round(result.recall, 3),
            "recall_by_kind": result.recall_by_kind,
            "missed": result.missed,
            "danger_alerts": result.danger_alerts,
            "danger_in_ground_truth": result.danger_in_truth,
            "danger_genuinely_abnormal": result.danger_abnormal,
            "danger_precision_ground_truth_only": round(result.danger_precision_strict, 3),
            "danger_precision": round(result.danger_precision, 3),
            "unjustified_danger": result.unjustified,
        }
        self.stdout.write(json.dumps(report, ensure_ascii=False, indent=1))

    def write_table(self, rows: list[dict[str, Any]]) -> None:
        headers = [
            _("severity"),
            _("state"),
            _("rule"),
            _("entity"),
            _("value"),
            _("threshold"),
            _("since"),
        ]
        table = [
            [
                Severity(row["severity"]).label if row["severity"] else "-",
                AlertState(row["state"]).label,
                row["rule"],
                f"{row['entity_type']} {row['entity_id']}",
                "-" if row["value"] is None else f"{row['value']:.1f}",
                "-" if row["threshold"] is None else f"{row['threshold']:.1f}",
                row["since"][:16].replace("T", " "),
            ]
            for row in rows
        ]
        write_table(self.stdout, headers, table)
        self.stdout.write(_("{count} open alerts").format(count=len(rows)))
