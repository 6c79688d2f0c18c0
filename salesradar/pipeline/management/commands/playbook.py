from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salesradar.pipeline.playbook import PlaybookError, load_playbook, read_playbook


class Command(BaseCommand):
    help = "Validate or load a sales-process playbook (YAML)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        validate = actions.add_parser("validate", help="check a playbook without loading it")
        validate.add_argument("file")
        load = actions.add_parser("load", help="create or upgrade the process, all or nothing")
        load.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            spec = read_playbook(options["file"])
            if options["action"] == "validate":
                self.stdout.write(
                    f"{options['file']}: valid — process {spec.key} v{spec.version}, "
                    f"{len(spec.stages)} stages ({', '.join(s.key for s in spec.stages)})"
                )
                return
            result = load_playbook(spec)
        except PlaybookError as error:
            raise CommandError(str(error)) from None
        if not result.changed:
            self.stdout.write(f"Process {spec.key} v{spec.version} is already loaded; unchanged.")
        else:
            verb = "Created" if result.created else "Upgraded"
            self.stdout.write(f"{verb} process {spec.key} v{spec.version}.")
