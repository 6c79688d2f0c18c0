from __future__ import annotations

import datetime as dt
import json
import resource
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from salesradar.demo.generator import DemoResult
from salesradar.demo.services import COUNT_OPTIONS, build_demo, count_overrides


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
        evaluation = actions.add_parser(
            "evaluate",
            help="time a full evaluation of the default rule pack on the configured database, "
            "building a demo of the given size first unless one is there",
        )
        pages = actions.add_parser(
            "pages",
            help="time the main web pages (p50/p95 server render) for a manager and a rep, "
            "building a demo of the given size first unless one is there",
        )
        pages.add_argument("--repeat", type=int, default=20, help="requests per page (default 20)")
        for parser_ in (demo, evaluation, pages):
            parser_.add_argument("--size", choices=["small", "medium", "large"], default="medium")
            parser_.add_argument("--seed", type=int, default=42)
            for name in COUNT_OPTIONS:
                parser_.add_argument(f"--{name}", type=int)
        evaluation.add_argument("--at", help="ISO date to evaluate at (default: now)")
        evaluation.add_argument(
            "--steady",
            action="store_true",
            help="time the pass `serve` really runs: evaluate 15 minutes before --at, give 5 %% "
            "of the open deals a fresh follow-up and half of those a stage move, then time the "
            "pass at --at",
        )
        evaluation.add_argument(
            "--reference",
            action="store_true",
            help="also time each metric that has hand-written SQL in benchmarks/reference_sql "
            "against that SQL and report the ratio",
        )
        budget = actions.add_parser(
            "budget",
            help="replay the default rule pack day by day over the last weeks (rolled back) and "
            "print the new and open alert groups per rep against the budget, and the planted "
            "problems caught",
        )
        budget.add_argument("--at", help="ISO date of the last pass (default: now)")
        budget.add_argument("--weeks", type=int, default=4)
        budget.add_argument("--step-hours", type=float, default=24.0)
        budget.add_argument("--pack", help="a rule pack file (default: the shipped pack)")
        budget.add_argument(
            "--truth", help="ground truth file (default: ground_truth.json in the data dir)"
        )
        notify = actions.add_parser(
            "notify", help="drain an outbox of webhook deliveries into a receiver on loopback"
        )
        notify.add_argument("--deliveries", type=int, default=50_000)
        notify.add_argument("--workers", type=int, nargs="+", default=[1, 2])
        imports = actions.add_parser(
            "import",
            help="import generated customers and opportunities CSV files (the database is "
            "flushed first, like bench demo)",
        )
        imports.add_argument("--rows", type=int, default=1_000_000)
        imports.add_argument("--opportunities", type=int, help="default: as many as --rows")
        imports.add_argument("--batch-size", type=int, default=2000)
        imports.add_argument("--seed", type=int, default=42)
        imports.add_argument(
            "--kind",
            choices=["all", "customers"],
            default="all",
            help="customers: time the customers file (and its duplicate guard) only",
        )
        imports.add_argument(
            "--shared-prefix",
            action="store_true",
            help="every company name starts with the same characters (the guard's worst case)",
        )
        actions.add_parser(
            "capture",
            help="field-level precision and recall of the note parser on the labelled notes "
            "(no database needed)",
        )
        report = actions.add_parser(
            "report", help="time the weekly process-health report (compute, HTML, PDF, XLSX)"
        )
        report.add_argument("--repeat", type=int, default=3)
        leads = actions.add_parser(
            "leads", help="route incoming leads through the rules with duplicate checks"
        )
        leads.add_argument("--leads", type=int, default=100_000)
        leads.add_argument("--existing", type=int, default=1_000_000)
        leads.add_argument("--rules", type=int, default=50)
        leads.add_argument("--batch", type=int, default=1000)
        leads.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["target"] == "budget":
            self.bench_budget(options)
            return
        if options["target"] == "evaluate":
            self.bench_evaluate(options)
            return
        if options["target"] == "pages":
            self.bench_pages(options)
            return
        if options["target"] == "report":
            from salesradar.reports.bench import run as run_report_bench

            try:
                self.stdout.write(json.dumps(run_report_bench(repeat=options["repeat"]), indent=1))
            except LookupError as error:
                raise CommandError(str(error)) from None
            return
        if options["target"] == "capture":
            from salesradar.capture.evaluation import report

            self.stdout.write(report())
            return
        if options["target"] == "leads":
            from salesradar.crm import bench as lead_bench

            call_command("migrate", interactive=False, verbosity=0)
            try:
                report = lead_bench.run(
                    leads=options["leads"],
                    existing=options["existing"],
                    rules=options["rules"],
                    batch=options["batch"],
                    seed=options["seed"],
                    progress=lambda message: self.stderr.write(f"  {message}"),
                )
            except lead_bench.ForeignData as error:
                raise CommandError(str(error)) from None
            self.stdout.write(json.dumps(report, indent=1))
            return
        if options["target"] == "notify":
            from salesradar.notify.bench import run

            call_command("migrate", interactive=False, verbosity=0)
            results = [run(options["deliveries"], workers) for workers in options["workers"]]
            self.stdout.write(
                json.dumps(
                    {"benchmark": "notify", "database": connection.vendor, "runs": results},
                    indent=1,
                )
            )
            return
        call_command("migrate", interactive=False, verbosity=0)
        from salesradar.crm.models import Customer
        from salesradar.demo.services import demo_present

        bench_data = Customer.objects.filter(code__startswith="BC").exists()
        if Customer.objects.exists() and not demo_present() and not bench_data:
            raise CommandError(
                "The database holds data that is not a demo; the benchmark empties the database "
                "it runs on, so point SALESRADAR_DATABASE_URL or SALESRADAR_DATA_DIR at a "
                "throw-away one."
            )
        call_command("flush", interactive=False, verbosity=0)
        if options["target"] == "import":
            from salesradar.imports.bench import run as run_import_bench

            report_ = run_import_bench(
                options["rows"],
                opportunities=options["opportunities"],
                batch_size=options["batch_size"],
                seed=options["seed"],
                kind=options["kind"],
                shared_prefix=options["shared_prefix"],
            )
            self.stdout.write(json.dumps(report_, indent=1, ensure_ascii=False))
            return
        started = time.monotonic()
        result = self.build(options)
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

    def build(self, options: dict[str, Any]) -> DemoResult:
        return build_demo(
            seed=options["seed"],
            size=options["size"],
            overrides=count_overrides(options),
            today=timezone.localdate(),
            truth_path=None,
            progress=lambda message: self.stderr.write(f"  {message}"),
        )

    def bench_evaluate(self, options: dict[str, Any]) -> None:
        from salesradar.activities.models import Activity
        from salesradar.alerts.management.commands.evaluate import parse_at
        from salesradar.alerts.models import Alert, AlertCheck, AlertEvent, Rule
        from salesradar.alerts.rules import ensure_default_rules
        from salesradar.demo.services import demo_present
        from salesradar.pipeline.models import Opportunity

        call_command("migrate", interactive=False, verbosity=0)
        if not demo_present():
            self.stderr.write("Building the data set first (not timed) ...")
            self.build(options)
        ensure_default_rules()
        at = parse_at(options.get("at"))
        with transaction.atomic():
            # Measured from a clean slate, then rolled back: the real alerts stay untouched.
            AlertEvent.objects.all()._raw_delete(AlertEvent.objects.db)
            Alert.objects.all().delete()
            AlertCheck.objects.all().delete()
            Rule.objects.update(last_evaluated_at=None)
            runs = self.steady_evaluations(at) if options["steady"] else self.timed_evaluations(at)
            open_alerts = Alert.objects.exclude(state="resolved").count()
            transaction.set_rollback(True)
        report = {
            "benchmark": "evaluate",
            "database": connection.vendor,
            "opportunities": Opportunity.objects.count(),
            "activities": Activity.objects.count(),
            "open_alerts": open_alerts,
            "peak_rss_mib": round(peak_rss_mib(), 1),
            "runs": runs,
        }
        if options["reference"]:
            from salesradar.metrics.reference import time_references

            self.stderr.write("Timing the metrics against their reference SQL ...")
            report["reference"] = [timing.as_dict() for timing in time_references(at)]
        self.stdout.write(json.dumps(report, indent=1))

    def bench_budget(self, options: dict[str, Any]) -> None:
        from pathlib import Path

        from salesradar.alerts.budget import measure_budget
        from salesradar.alerts.management.commands.evaluate import parse_at
        from salesradar.alerts.rules import (
            RulePackError,
            default_rule_pack_path,
            ensure_default_rules,
            read_rule_pack,
        )
        from salesradar.core import env
        from salesradar.demo.services import demo_present

        call_command("migrate", interactive=False, verbosity=0)
        if not demo_present():
            raise CommandError("Build the demo first: salesradar demo --no-serve")
        truth_path = Path(options["truth"] or env.data_dir() / "ground_truth.json")
        try:
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
            pack = read_rule_pack(options["pack"] or default_rule_pack_path())
        except (OSError, ValueError) as error:
            raise CommandError(f"{truth_path}: {error}") from None
        except RulePackError as error:
            raise CommandError(str(error)) from None
        ensure_default_rules()
        try:
            report = measure_budget(
                at=parse_at(options.get("at")),
                truth=truth,
                weeks=options["weeks"],
                step=dt.timedelta(hours=options["step_hours"]),
                pack=pack,
                progress=lambda message: self.stderr.write(f"  {message}"),
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(report, indent=1, ensure_ascii=False))

    def bench_pages(self, options: dict[str, Any]) -> None:
        from salesradar.alerts.engine import evaluate
        from salesradar.alerts.models import Alert
        from salesradar.alerts.rules import ensure_default_rules
        from salesradar.demo.services import demo_present
        from salesradar.web.records.bench import run

        if options["repeat"] < 1:
            raise CommandError("--repeat must be at least 1.")
        call_command("migrate", interactive=False, verbosity=0)
        if not demo_present():
            self.stderr.write("Building the data set first (not timed) ...")
            self.build(options)
        if not Alert.objects.exists():
            # The pages show alerts; evaluate once as `salesradar serve` would.
            self.stderr.write("Evaluating the rules once so alerts exist (not timed) ...")
            ensure_default_rules()
            evaluate(at=timezone.now())
        report = run(options["repeat"], progress=self.stderr.write)
        self.stdout.write(json.dumps(report, indent=1, ensure_ascii=False))

    def timed_evaluations(self, at: Any) -> list[dict[str, Any]]:
        return [
            timed_pass("first evaluation (opens alerts)", at),
            timed_pass("second evaluation (same moment)", at),
        ]

    def steady_evaluations(self, at: Any) -> list[dict[str, Any]]:
        from salesradar.demo.steady import advance

        before = at - STEADY_STEP
        first = timed_pass("first evaluation (opens alerts), 15 minutes earlier", before)
        started = time.monotonic()
        moved = advance(before, at, share=STEADY_SHARE)
        self.stderr.write(
            f"  {moved.deals} deals got a follow-up, {moved.stage_moves} a stage move "
            f"({time.monotonic() - started:.1f} s, not timed)"
        )
        second = timed_pass("steady pass: 15 minutes later, 5 % of open deals touched", at)
        second["touched"] = {"deals": moved.deals, "stage_moves": moved.stage_moves}
        return [first, second]


STEADY_STEP = dt.timedelta(minutes=15)
STEADY_SHARE = 0.05


def timed_pass(label: str, at: Any) -> dict[str, Any]:
    from salesradar.alerts.engine import evaluate

    started = time.monotonic()
    outcome = evaluate(at=at)
    return {
        "run": label,
        "at": at.isoformat(),
        "seconds": round(time.monotonic() - started, 2),
        "events": outcome.events,
        "rules": [
            {
                "rule": item.rule,
                "metric": item.metric,
                "seconds": round(item.seconds, 3),
                "rows": item.rows,
                "error": item.error,
            }
            for item in outcome.outcomes
        ],
    }
