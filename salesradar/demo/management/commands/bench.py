from __future__ import annotations

import json
import resource
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.utils import timezone

from salesradar.demo.services import build_demo


def peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = (
        "Benchmarks. `bench demo` builds the demo into the configured database (which must be "
        "empty or hold only a previous demo: it is flushed) and reports time, rows/s and peak "
        "memory as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="target", required=True)
        demo = actions.add_parser("demo", help="time demo generation")
        demo.add_argument("--size", choices=["small", "medium", "large"], default="medium")
        demo.add_argument("--seed", type=int, default=42)
        for name in ("teams", "reps", "customers", "opportunities", "activities"):
            demo.add_argument(f"--{name}", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("flush", interactive=False, verbosity=0)
        overrides = {
            name: options[name]
            for name in ("teams", "reps", "customers", "opportunities", "activities")
            if options.get(name) is not None
        }
        started = time.monotonic()
        result = build_demo(
            seed=options["seed"],
            size=options["size"],
            overrides=overrides,
            today=timezone.localdate(),
            truth_path=None,
            progress=lambda message: self.stderr.write(f"  {message}"),
        )
        elapsed = time.monotonic() - started
        report = {
            "benchmark": "demo",
            "size": options["size"],
            "database": connection.vendor,
            "seconds": round(elapsed, 1),
            "rows": result.total_rows,
            "rows_per_second": round(result.total_rows / elapsed),
            "peak_rss_mib": round(peak_rss_mib(), 1),
            "counts": result.rows,
        }
        self.stdout.write(json.dumps(report, indent=1))
