from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from salesradar.core.datadir import ForeignDatabaseError, check_sqlite_file


def test_missing_or_empty_file_is_accepted(tmp_path: Path) -> None:
    check_sqlite_file(tmp_path / "absent.sqlite3")
    (tmp_path / "empty.sqlite3").touch()
    check_sqlite_file(tmp_path / "empty.sqlite3")


def test_corrupt_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "salesradar.sqlite3"
    path.write_bytes(b"this is a spreadsheet, not a database")
    with pytest.raises(ForeignDatabaseError, match="not a SQLite database"):
        check_sqlite_file(path)
    assert path.read_bytes() == b"this is a spreadsheet, not a database"


def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "salesradar.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(ForeignDatabaseError, match="another application"):
        check_sqlite_file(path)


def test_another_django_projects_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "salesradar.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE django_migrations (id INTEGER, app TEXT, name TEXT)")
        connection.execute("INSERT INTO django_migrations VALUES (1, 'blog', '0001_initial')")
    with pytest.raises(ForeignDatabaseError, match="another Django project"):
        check_sqlite_file(path)


def test_damaged_database_after_a_valid_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "salesradar.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with pytest.raises(ForeignDatabaseError, match="damaged"):
        check_sqlite_file(path)


def test_a_first_migration_interrupted_half_way_is_still_ours(tmp_path: Path) -> None:
    path = tmp_path / "salesradar.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE django_migrations (id INTEGER, app TEXT, name TEXT)")
        connection.execute("INSERT INTO django_migrations VALUES (1, 'contenttypes', '0001')")
        connection.execute("INSERT INTO django_migrations VALUES (2, 'accounts', '0001')")

    check_sqlite_file(path)
