"""The weekly report as HTML (page, e-mail, PDF source), PDF (WeasyPrint) and XLSX (openpyxl)."""

from __future__ import annotations

import io
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from salesradar.reports.weekly import Section, WeeklyReport


def bars(section: Section) -> list[dict[str, Any]]:
    """The section's chart as bars with a width in percent, drawn in HTML for mail and PDF."""
    values = [float(value or 0) for value in section.chart.get("values", [])]
    top = max([*values, 0.0]) or 1.0
    return [
        {"label": label, "value": value, "width": round(100 * value / top, 1)}
        for label, value in zip(section.chart.get("labels", []), values, strict=True)
    ]


def report_context(report: WeeklyReport) -> dict[str, Any]:
    return {
        "report": report,
        "sections": [{"section": section, "bars": bars(section)} for section in report.sections],
    }


def render_document(report: WeeklyReport) -> str:
    """A self-contained HTML document (inline styles and charts): the e-mail and the PDF."""
    return render_to_string("reports/weekly_document.html", report_context(report))


def render_pdf(report: WeeklyReport) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_document(report)).write_pdf()


def render_xlsx(report: WeeklyReport) -> bytes:
    """One sheet per section; numbers are stored as numbers, the total row last."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for section in report.sections:
        sheet = book.create_sheet(title=_sheet_title(section.key))
        sheet.append([section.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(list(section.columns))
        for row in section.rows:
            sheet.append(list(row))
        if section.total is not None:
            sheet.append(list(section.total))
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
        if section.note:
            sheet.append([section.note])
    cover = book.create_sheet(title="report", index=0)
    cover.append([_("Weekly process-health report")])
    cover.append([_("Week starting"), report.week_start])
    cover.append([_("Scope"), report.scope])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_title(key: str) -> str:
    return key[:31]
