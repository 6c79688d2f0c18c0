from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from salesradar.alerts.backtest import BacktestError
from salesradar.core.datadir import require_schema
from salesradar.quality.datasets import DATASETS, get_dataset
from salesradar.quality.report import DEFAULT_OUTPUT, run_quality


class Command(BaseCommand):
    help = (
        "Build a data set into a scratch database, backtest the default deal rules with the "
        "baselines, and write its tables to docs/quality.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dataset", required=True, help=f"one of: {', '.join(sorted(DATASETS))}"
        )
        parser.add_argument("--source", help="the data set's file (default: ../shared/datasets)")
        parser.add_argument(
            "--output", default=str(DEFAULT_OUTPUT), help="Markdown file to write (docs/quality.md)"
        )
        parser.add_argument(
            "--data-dir",
            help="scratch data directory for the database (default: a new temporary one)",
        )
        parser.add_argument(
            "--in-place",
            action="store_true",
            help="build into the configured database instead (it must hold no deals)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            dataset = get_dataset(options["dataset"])
        except KeyError as error:
            raise CommandError(str(error.args[0])) from None
        command = f"salesradar quality --dataset {dataset.key}"
        if not options["in_place"]:
            self.run_in_scratch(options)
            return
        require_schema()
        started = time.monotonic()
        try:
            with translation.override("en"):  # docs/quality.md is written in English
                result = run_quality(
                    dataset,
                    source=Path(options["source"]) if options["source"] else None,
                    output=Path(options["output"]),
                    command=command,
                    progress=lambda message: self.stderr.write(f"  {message}"),
                )
        except (ValidationError, BacktestError) as error:
            message = "; ".join(error.messages) if isinstance(error, ValidationError) else error
            raise CommandError(str(message)) from None
        self.stdout.write(result.markdown)
        self.stdout.write(
            _("Wrote the {dataset} tables to {path} in {seconds:.0f} s.").format(
                dataset=dataset.key, path=options["output"], seconds=time.monotonic() - started
            )
        )

    def run_in_scratch(self, options: dict[str, Any]) -> None:
        """Run migrate and ``quality --in-place`` in a fresh SQLite data directory."""
        directory = Path(
            options["data_dir"]
            or tempfile.mkdtemp(prefix=f"salesradar-quality-{options['dataset']}-")
        )
        if directory.exists() and any(directory.iterdir()):
            raise CommandError(
                _("the data directory {path} is not empty; give an empty or new one").format(
                    path=directory
                )
            )
        directory.mkdir(parents=True, exist_ok=True)
        environment = {
            key: value for key, value in os.environ.items() if key != "SALESRADAR_DATABASE_URL"
        }
        environment["SALESRADAR_DATA_DIR"] = str(directory)
        environment.pop("DJANGO_SETTINGS_MODULE", None)
        self.stderr.write(_("scratch data directory: {path}").format(path=directory))
        base = [sys.executable, "-m", "salesradar.cli"]
        arguments = ["--dataset", options["dataset"], "--in-place", "--output"]
        arguments.append(str(Path(options["output"]).resolve()))
        if options["source"]:
            arguments += ["--source", str(Path(options["source"]).resolve())]
        for step in (["migrate", "--verbosity", "0"], ["quality", *arguments]):
            done = subprocess.run([*base, *step], env=environment, check=False)
            if done.returncode != 0:
                raise CommandError(
                    _("{step} failed in {path}").format(step=" ".join(step[:1]), path=directory)
                )
