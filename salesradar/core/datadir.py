"""Refuse to touch a data dir whose database file is not SalesRadar's own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"


def own_app_labels() -> frozenset[str]:
    """Every app this installation migrates: ours, Django's and the third-party ones we ship."""
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    return frozenset(config.label for config in apps.get_app_configs())


class ForeignDatabaseError(RuntimeError):
    """The file in the data dir is corrupt or belongs to something else; it is left alone."""


def check_sqlite_file(path: Path) -> None:
    """Raise ForeignDatabaseError unless ``path`` is absent, empty, or a SalesRadar database.

    A SalesRadar database is one with no tables yet, or one whose migration table records the
    ``pipeline`` app; anything else would be overwritten by migrations, so it is refused.
    """
    if not path.exists() or path.stat().st_size == 0:
        return
    advice = (
        "SalesRadar will not overwrite it. Move the file away, or point SALESRADAR_DATA_DIR "
        "at another folder."
    )
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise ForeignDatabaseError(
            f"{path} is not a SQLite database (corrupt or foreign). {advice}"
        )
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if not tables:
                return
            if "django_migrations" not in tables:
                raise ForeignDatabaseError(
                    f"{path} holds tables of another application ({', '.join(sorted(tables)[:5])}"
                    f"). {advice}"
                )
            applied = {
                row[0] for row in connection.execute("SELECT DISTINCT app FROM django_migrations")
            }
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise ForeignDatabaseError(
            f"{path} is a damaged SQLite database ({error}). {advice}"
        ) from None
    # A first migration interrupted half way leaves only some of our apps: still ours.
    if applied - own_app_labels():
        raise ForeignDatabaseError(f"{path} belongs to another Django project. {advice}")


def require_schema() -> None:
    """Stop with a clear message when the database has not been set up yet."""
    from django.core.management.base import CommandError
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise CommandError(
            "The database is not set up or not up to date; run `salesradar migrate` "
            "(or `salesradar demo` for a demo organisation) first."
        )
