"""Plain-text tables for the terminal that stay aligned with Chinese text."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def write_table(stdout: Any, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write ``headers`` and ``rows`` as space-aligned columns, one line each."""
    lines = [[str(cell) for cell in headers], *[[str(cell) for cell in row] for row in rows]]
    widths = [max(display_width(cell) for cell in column) for column in zip(*lines, strict=True)]
    for line in lines:
        stdout.write(
            "  ".join(pad(cell, width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
