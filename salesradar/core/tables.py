"""Stream rows into tables fast: COPY on PostgreSQL, executemany on SQLite.

The demo writes millions of rows; the ORM's per-object work would dominate, so rows are
plain tuples in a fixed column order, flushed in batches so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


class TableWriter:
    def __init__(self, model: type[models.Model], columns: Sequence[str], batch_size: int = 5000):
        by_attname = {field.attname: field for field in model._meta.concrete_fields}
        unknown = [column for column in columns if column not in by_attname]
        if unknown:
            raise ValueError(f"{model.__name__} has no columns {unknown}")
        self.model = model
        self.fields = [by_attname[column] for column in columns]
        self.columns = [str(field.column) for field in self.fields]
        self.batch_size = batch_size
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0
        self._json = [isinstance(field, models.JSONField) for field in self.fields]

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.batch_size

    def flush(self) -> None:
        if not self.rows:
            return
        table = connection.ops.quote_name(self.model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(column) for column in self.columns)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                from psycopg.types.json import Jsonb

                # TRICKY: COPY runs on the raw psycopg cursor, which Django does not wrap;
                # wrapping its errors lets callers catch django.db.IntegrityError as usual.
                with (
                    connection.wrap_database_errors,
                    cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
                ):
                    for row in self.rows:
                        if any(self._json):
                            row = tuple(
                                Jsonb(v) if is_json else v
                                for v, is_json in zip(row, self._json, strict=True)
                            )
                        copy.write_row(row)
            else:
                prepared = [
                    tuple(
                        field.get_db_prep_save(value, connection)
                        for field, value in zip(self.fields, row, strict=True)
                    )
                    for row in self.rows
                ]
                placeholders = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", prepared
                )
        self.written += len(self.rows)
        self.rows.clear()


def flush_in_order(writers: Sequence[TableWriter]) -> None:
    """Flush every writer, parents before children, so foreign keys hold at each step."""
    for writer in writers:
        writer.flush()


def next_id(model: type[models.Model]) -> int:
    """Return the first free primary key, so generated rows can carry their ids."""
    highest = model._default_manager.aggregate(top=models.Max("pk"))["top"]
    return (highest or 0) + 1


def reset_sequences(models_written: Sequence[type[models.Model]]) -> None:
    """Move PostgreSQL's id sequences past the explicit ids the writers used."""
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows explicit ids by itself
    with connection.cursor() as cursor:
        for model in models_written:
            table = model._meta.db_table
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {connection.ops.quote_name(table)}), 1))",
                [table],
            )
