"""Export what a person may see, as .csv or .xlsx, in the SalesRadar template's columns.

Rows come from ``visible(user, Model)`` (the one visibility rule), streamed with one query
per chunk; references are written as the numbers and user names an import reads back, so an
exported file re-imports into SalesRadar without any column mapping.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation

from salesradar.accounts.visibility import visible
from salesradar.core.spreadsheet import guard_row
from salesradar.imports import schema
from salesradar.pipeline.models import localized

CHUNK_SIZE = 2000
FORMATS = ("csv", "xlsx")


def _lookup(column: schema.Column) -> str | None:
    """The ``values()`` path that yields what the column's cell shows."""
    if column.attname is None:
        return None
    field = column.attname.removesuffix("_id")
    return {
        schema.USER: f"{field}__username",
        schema.TEAM: f"{field}__code",
        schema.CUSTOMER: f"{field}__code",
        schema.OPPORTUNITY: f"{field}__code",
        schema.CONTRACT: f"{field}__code",
        schema.STAGE: f"{field}__labels",
    }.get(column.type, column.attname)


def export_rows(user: Any, kind_key: str, *, language: str = "zh-hans") -> Iterator[list[Any]]:
    """Yield the header, then one list of cells per visible record, oldest first."""
    kind = schema.kind_named(kind_key)
    zone = ZoneInfo(getattr(user, "time_zone", "") or settings.TIME_ZONE)
    lookups = [_lookup(column) for column in kind.columns]
    with translation.override(language):
        yield schema.template_headers(kind, language)
        labels = {
            column.key: dict(choices.choices)
            for column in kind.columns
            if (choices := column.choices) is not None
        }
        queryset = visible(user, kind.model).order_by("pk")
        paths = sorted({path for path in lookups if path})
        for record in queryset.values(*paths).iterator(chunk_size=CHUNK_SIZE):
            row: list[Any] = []
            for column, path in zip(kind.columns, lookups, strict=True):
                value = record.get(path) if path else None
                row.append(_cell(column, value, labels, zone))
            yield row


def _cell(column: schema.Column, value: Any, labels: dict[str, Any], zone: ZoneInfo) -> Any:
    if value is None:
        return ""
    if column.type == schema.STAGE:
        return localized(value or {}, "")
    if column.key in labels and value != "":
        return str(labels[column.key].get(value, value))
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).replace(tzinfo=None)
    return value


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def csv_chunks(rows: Iterator[list[Any]]) -> Iterator[str]:
    """Yield CSV text (with a UTF-8 BOM so Excel opens Chinese correctly), a chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    for count, row in enumerate(rows, start=1):
        writer.writerow([_text(cell) for cell in guard_row(row)])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_export(rows: Iterator[list[Any]], target: Path, file_format: str) -> int:
    """Write ``rows`` to ``target`` as csv or xlsx; return the number of data rows."""
    count = -1
    if file_format == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        for count, row in enumerate(rows):  # noqa: B007 - the count is the result
            sheet.append(guard_row(row))
        workbook.save(target)
    elif file_format == "csv":
        with target.open("w", encoding="utf-8", newline="") as handle:
            for chunk in csv_chunks(_counting(rows, counter := [0])):
                handle.write(chunk)
        count = counter[0] - 1
    else:
        raise ValueError(f"unknown export format {file_format}")
    return max(count, 0)


def _counting(rows: Iterator[list[Any]], counter: list[int]) -> Iterator[list[Any]]:
    for row in rows:
        counter[0] += 1
        yield row
