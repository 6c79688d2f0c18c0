"""Set-based writes of many changed rows: one ``UPDATE … FROM (VALUES …)`` per batch.

Django's ``bulk_update`` emits a ``CASE WHEN id = … THEN …`` per column per row, which the
database evaluates row by row against every branch: at a hundred thousand alerts it took 80
seconds where joining a list of values took under two. PostgreSQL joins one array per
column (``unnest``); SQLite (3.33 and later) a ``VALUES`` list, both on the primary key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import connections, models, router

POSTGRES_BATCH = 20000


def update_from_values(
    model: type[models.Model], objects: Sequence[models.Model], fields: Sequence[str]
) -> int:
    """Write ``fields`` of ``objects`` (saved instances of ``model``); return the rows updated.

    Only the named columns are written; values go through each field's own preparation, so
    time zones, JSON and foreign keys are stored exactly as ``save()`` would store them.
    """
    if not objects or not fields:
        return 0
    db = router.db_for_write(model)
    connection = connections[db]
    meta = model._meta
    chosen = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields]
    columns = [cast("models.Field[Any, Any]", meta.pk), *chosen]
    table = connection.ops.quote_name(meta.db_table)
    quoted = [connection.ops.quote_name(str(field.column)) for field in columns]
    if connection.vendor == "postgresql":
        return _update_from_arrays(connection, table, quoted, columns, chosen, objects)
    cells = ", ".join(["%s"] * len(columns))
    limit = connection.features.max_query_params or 999
    batch = max(1, limit // len(columns))
    # SQLite names the columns of a VALUES list column1, column2, ...
    assignments = ", ".join(
        f"{name} = v.column{index}" for index, name in enumerate(quoted[1:], start=2)
    )
    template = (
        f"UPDATE {table} SET {assignments} FROM (VALUES {{rows}}) AS v "
        f"WHERE {table}.{quoted[0]} = v.column1"
    )
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objects), batch):
            part = objects[start : start + batch]
            params: list[Any] = []
            for obj in part:
                params.append(obj.pk)
                for field in chosen:
                    params.append(field.get_db_prep_save(getattr(obj, field.attname), connection))
            cursor.execute(template.format(rows=", ".join([f"({cells})"] * len(part))), params)
            updated += cursor.rowcount
    return updated


def _update_from_arrays(
    connection: Any,
    table: str,
    quoted: list[str],
    columns: list[models.Field[Any, Any]],
    chosen: list[models.Field[Any, Any]],
    objects: Sequence[models.Model],
) -> int:
    """PostgreSQL: one array per column, zipped by ``unnest`` into the rows to join.

    A ``VALUES`` list needs a placeholder per cell, which the driver parses and binds one
    by one; an array per column is one parameter whatever the number of rows.
    """
    arrays = ", ".join(f"CAST(%s AS {field.cast_db_type(connection)}[])" for field in columns)
    names = ", ".join(quoted)
    assignments = ", ".join(f"{name} = v.{name}" for name in quoted[1:])
    sql = (
        f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v({names}) "
        f"WHERE t.{quoted[0]} = v.{quoted[0]}"
    )
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objects), POSTGRES_BATCH):
            part = objects[start : start + POSTGRES_BATCH]
            params = [[obj.pk for obj in part]]
            for field in chosen:
                params.append(
                    [
                        field.get_db_prep_save(getattr(obj, field.attname), connection)
                        for obj in part
                    ]
                )
            cursor.execute(sql, params)
            updated += cursor.rowcount
    return updated
