from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from salesradar.core import env
from salesradar.crm.dedup import refresh_match_keys
from salesradar.demo.services import (
    COUNT_OPTIONS,
    build_demo,
    count_overrides,
    demo_present,
    ensure_demo_admin,
)


class Command(BaseCommand):
    help = (
        "Build a demo sales organisation with planted problems into the data dir (reused if "
        "present), create an admin user, and serve the web app."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument(
            "--size",
            choices=["small", "medium", "large"],
            default="medium",
            help="preset size (default medium: 3 teams, ~20 reps, ~2,000 customers)",
        )
        for name in COUNT_OPTIONS:
            parser.add_argument(f"--{name}", type=int, help=f"override the preset's {name}")
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            help="the day the history runs up to, YYYY-MM-DD (default: today in Asia/Shanghai)",
        )
        parser.add_argument("--rebuild", action="store_true", help="drop existing data first")
        parser.add_argument("--no-serve", action="store_true", help="build and exit")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        truth_path = env.data_dir() / "ground_truth.json"
        overrides = count_overrides(options)
        if demo_present() and not options["rebuild"]:
            self.stdout.write(f"Reusing the demo already in the database ({truth_path}).")
        else:
            if options["rebuild"]:
                call_command("flush", interactive=False, verbosity=0)
            started = time.monotonic()
            today = options["today"] or timezone.localdate()
            result = build_demo(
                seed=options["seed"],
                size=options["size"],
                overrides=overrides,
                today=today,
                truth_path=truth_path,
                progress=lambda message: self.stderr.write(f"  {message}"),
            )
            # the generator writes rows in bulk; the duplicate guard needs their match keys
            refresh_match_keys()
            elapsed = time.monotonic() - started
            counts = ", ".join(f"{name} {count:,}" for name, count in result.rows.items())
            self.stdout.write(
                f"Built the demo in {elapsed:.1f} s ({result.total_rows:,} rows, "
                f"{result.total_rows / max(elapsed, 1e-9):,.0f} rows/s): {counts}."
            )
            self.stdout.write(
                f"Planted problems: {len(result.ground_truth)} entries in {truth_path}"
            )
        password = secrets.token_urlsafe(12)
        if ensure_demo_admin(password):
            self.stdout.write(
                self.style.SUCCESS(
                    f"Admin user: admin / {password}  (shown once; change it with "
                    "`salesradar changepassword admin`)"
                )
            )
        else:
            self.stdout.write(
                "Admin user 'admin' exists; `salesradar changepassword admin` resets it."
            )
        self.evaluate_once()
        self.score_health_once()
        if not options["no_serve"]:
            call_command("serve", host=options["host"], port=options["port"], migrate=False)

    def score_health_once(self) -> None:
        """Calibrate and score customer health, so the health pages and matrix start filled."""
        from django.utils import timezone

        from salesradar.health.jobs import run_due

        started = time.monotonic()
        report = run_due(at=timezone.now())
        self.stdout.write(f"Scored customer health in {time.monotonic() - started:.1f} s: {report}")

    def evaluate_once(self) -> None:
        """Evaluate the rules before serving, so the first page a person opens shows alerts.

        The server's scheduler evaluates too, but in the background: without this, the
        cockpit would be empty for the first seconds after the demo starts.
        """
        from salesradar.alerts.choices import AlertState
        from salesradar.alerts.models import Alert
        from salesradar.config.jobs import evaluate_rules

        started = time.monotonic()
        evaluate_rules()
        open_alerts = Alert.objects.exclude(state=AlertState.RESOLVED).count()
        self.stdout.write(
            f"Evaluated the early-warning rules in {time.monotonic() - started:.1f} s: "
            f"{open_alerts:,} open alerts; sign in to see them on the cockpit."
        )
