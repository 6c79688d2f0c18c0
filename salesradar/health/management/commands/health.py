"""``salesradar health run|calibrate``: score customers or fit the weights by hand."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Customer health: `run` scores every customer as of --at and takes each tier's action; "
        "`calibrate` fits the pillar weights on renewal history and prints the report."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        for name in ("run", "calibrate"):
            sub = actions.add_parser(name)
            sub.add_argument("--at", help="ISO date or datetime (default: now)")

    def handle(self, *args: Any, **options: Any) -> None:
        from salesradar.alerts.management.commands.evaluate import parse_at
        from salesradar.health.calibration import calibrate
        from salesradar.health.services import refresh_health

        at = parse_at(options.get("at"))
        if options["action"] == "calibrate":
            result = calibrate(at=at)
            report: dict[str, Any] = {
                "samples": result.samples,
                "renewals": result.renewals,
                "applied": result.applied,
                "weights": result.weights,
                "pillar_auc": result.pillar_auc,
                "model_auc": result.model_auc,
                "default_auc": result.default_auc,
                "note": result.note,
            }
        else:
            run = refresh_health(at=at)
            report = {
                "scored": run.scored,
                "entered": {tier: len(ids) for tier, ids in run.entered.items()},
                "tasks": run.tasks,
                "blocks": run.blocks,
                "messages": run.messages,
            }
        self.stdout.write(json.dumps(report, indent=1, ensure_ascii=False))
