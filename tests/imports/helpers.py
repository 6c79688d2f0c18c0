"""Builders for import tests: files written the way spreadsheet programs write them."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from salesradar.imports import services


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
    analysis = services.analyse_file(path, kind)
    preset = analysis.preset
    options = services.ImportOptions(
        kind=kind,
        mapping=analysis.mapping,
        source=preset.source if preset else "file",
        preset=preset.key if preset else "",
    )
    for name, value in overrides.items():
        setattr(options, name, value)
    return options


def import_file(path: Path, kind: str, **overrides: Any) -> services.ImportReport:
    return services.run_import(path, auto_options(path, kind, **overrides), error_dir=path.parent)
