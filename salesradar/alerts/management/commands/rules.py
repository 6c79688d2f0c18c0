from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salesradar.alerts.rules import RulePackError, load_rule_pack, read_rule_pack
from salesradar.core.datadir import require_schema


class Command(BaseCommand):
    help = "Validate or load an early-warning rule pack (YAML)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        validate = actions.add_parser("validate", help="check a rule pack without loading it")
        validate.add_argument("file")
        load = actions.add_parser("load", help="create or update the pack's rules, all or nothing")
        load.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
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
