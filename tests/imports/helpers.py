"""Builders for import tests: files written the way spreadsheet programs write them."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from salesradar.imports import services
from salesradar.imports.presets import detect_preset, mapping_from_preset
from salesradar.imports.readers import open_table
from salesradar.imports.schema import kind_named


def write_csv(
    path: Path, rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]], merges: Sequence[str] = ()) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    workbook.save(path)
    return path


def auto_options(path: Path, kind: str, **overrides: Any) -> services.ImportOptions:
    """Options as the CLI builds them: the detected preset's mapping and source."""
    table = open_table(path)
    table.close()
    preset = detect_preset(table.headers, kind_named(kind))
    options = services.ImportOptions(
        kind=kind,
        mapping=mapping_from_preset(table.headers, preset),
        source=preset.source if preset else "file",
        preset=preset.key if preset else "",
    )
    for name, value in overrides.items():
        setattr(options, name, value)
    return options


def import_file(path: Path, kind: str, **overrides: Any) -> services.ImportReport:
    return services.run_import(path, auto_options(path, kind, **overrides), error_dir=path.parent)
