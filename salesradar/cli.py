"""The ``salesradar`` command: Django's management commands with SalesRadar's settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesradar.config.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    from salesradar.core import env
    from salesradar.core.datadir import ForeignDatabaseError, check_sqlite_file

    if not env.get("DATABASE_URL"):
        try:
            check_sqlite_file(env.sqlite_path())
        except ForeignDatabaseError as error:
            print(f"salesradar: {error}", file=sys.stderr)
            return 2
    from django.core.management import execute_from_command_line

    execute_from_command_line(["salesradar", *(args or ["help"])])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
