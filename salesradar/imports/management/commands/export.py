"""``salesradar export --kind KIND --as USER``: what that user may see, as .csv or .xlsx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from salesradar.imports import schema
from salesradar.imports.exports import FORMATS, export_rows, write_export


class Command(BaseCommand):
    help = (
        "Export one kind of record that a user may see (the web's visibility rules) to a "
        ".csv or .xlsx file in the SalesRadar template's columns, which re-imports as is."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=list(schema.KINDS))
        parser.add_argument(
            "--as", dest="user", required=True, help="user name whose view to export"
        )
        parser.add_argument("--output", "-o", help="file to write (default: KIND.FORMAT)")
        parser.add_argument("--format", choices=FORMATS, help="default: from --output, else xlsx")
        parser.add_argument("--language", choices=["zh-hans", "en"], default="zh-hans")

    def handle(self, *args: Any, **options: Any) -> None:
        from salesradar.accounts.models import User

        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(_("No user {name}.").format(name=options["user"]))
        file_format = options["format"]
        if file_format is None and options["output"]:
            file_format = Path(options["output"]).suffix.lower().lstrip(".")
        file_format = file_format or "xlsx"
        if file_format not in FORMATS:
            raise CommandError(_("Export to .csv or .xlsx."))
        target = Path(options["output"] or f"{options['kind']}.{file_format}")
        count = write_export(
            export_rows(user, options["kind"], language=options["language"]), target, file_format
        )
        self.stdout.write(_("{count} rows written to {path}.").format(count=count, path=target))
