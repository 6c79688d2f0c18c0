"""Open a .csv or .xlsx file as a header and a stream of rows, whatever its encoding.

Nothing here reads a whole file into memory: CSV is decoded as a text stream once its
encoding is known (guessed from the first bytes with charset-normalizer), and xlsx is read
with openpyxl's read-only mode, which streams the sheet XML. Row numbers are the ones a
person sees in Excel (the header row included), so an error report points at the right line.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from salesradar.imports.parsing import normalize_text

SAMPLE_BYTES = 256 * 1024
HEADER_SEARCH_ROWS = 10
DELIMITERS = ",;\t|"
csv.field_size_limit(16 * 1024 * 1024)


class UnreadableFile(ValueError):
    """The file cannot be read as a table; the message says why and what to do."""


@dataclass
class Table:
    """A header and a one-shot iterator of ``(row_number, cells)``."""

    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    format: str
    encoding: str = ""
    delimiter: str = ""
    size_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    progress_position: Any = None  # callable returning bytes read so far, for progress bars

    def close(self) -> None:
        closer = getattr(self.rows, "close", None)
        if closer is not None:
            closer()


def detect_encoding(sample: bytes) -> str:
    """Return the codec of ``sample``; raise :class:`UnreadableFile` when none fits."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = _whole_lines(sample)
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    chinese = _as_chinese(sample)
    if chinese:
        return chinese
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise UnreadableFile(
            _(
                "The file's text encoding could not be recognised. Save it as UTF-8 or GB18030 "
                "CSV, or as .xlsx, and import it again."
            )
        )
    encoding = best.encoding.lower().replace("_", "-")
    # TRICKY: Chinese text guessed as gb2312 or gbk may still hold characters only GB18030
    # has; GB18030 is a superset of both, so reading with it loses nothing.
    if encoding in {"gb2312", "gbk", "hz", "gb18030"}:
        return "gb18030"
    return encoding


def _whole_lines(sample: bytes) -> bytes:
    """Cut a sample read from a larger file at its last line end, never mid-character.

    A newline byte is never part of a multi-byte character in UTF-8 or GB18030.
    """
    if len(sample) < SAMPLE_BYTES:
        return sample
    end = sample.rfind(b"\n")
    return sample[: end + 1] if end > 0 else sample


def _as_chinese(sample: bytes) -> str | None:
    """Return "gb18030" when the bytes read cleanly as Chinese text in GB18030.

    TRICKY: on a short sample charset-normalizer may prefer Korean (cp949) or Big5 for GBK
    bytes, since the same byte pairs are valid there too. Our users' non-UTF-8 files are
    overwhelmingly GBK/GB18030 (Excel's "CSV" on a Chinese Windows), so a sample whose
    non-ASCII text decodes to common Chinese characters is taken as GB18030 first.
    """
    try:
        text = sample.decode("gb18030")
    except UnicodeDecodeError:
        return None
    wide = [char for char in text if ord(char) > 0x7F]
    if not wide:
        return None
    common = sum(
        1
        for char in wide
        if "\u4e00" <= char <= "\u9fff"
        or "\u3000" <= char <= "\u303f"
        or "\uff00" <= char <= "\uffef"
    )
    return "gb18030" if common / len(wide) >= 0.95 else None


def sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {delimiter: lines[0].count(delimiter) for delimiter in DELIMITERS}
        best = max(counts, key=lambda delimiter: counts[delimiter])
        return best if counts[best] else ","


class _CountingReader(io.RawIOBase):
    """A raw byte stream that remembers how far it has been read, for a progress bar."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw = raw
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)
        self.position += count or 0
        return count or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_csv(path: Path, known_names: frozenset[str] = frozenset()) -> Table:
    size = path.stat().st_size
    with path.open("rb") as probe:
        sample = probe.read(SAMPLE_BYTES)
    if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile(_("The file is not a text CSV file (it contains binary data)."))
    encoding = detect_encoding(sample)
    try:
        head = sample.decode(encoding, errors="ignore")
    except LookupError as error:
        raise UnreadableFile(
            _("The file's text encoding {encoding} is not supported.").format(encoding=encoding)
        ) from error
    delimiter = sniff_delimiter(head)
    counting = _CountingReader(path.open("rb"))
    text = io.TextIOWrapper(
        io.BufferedReader(counting, buffer_size=1 << 20), encoding=encoding, newline=""
    )

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            reader = csv.reader(text, delimiter=delimiter)
            yield from enumerate(reader, start=1)
        except UnicodeDecodeError as error:
            raise UnreadableFile(
                _(
                    "The file is not consistently encoded as {encoding} (byte {position}). "
                    "Save it as UTF-8 CSV or .xlsx and import it again."
                ).format(encoding=encoding, position=error.start)
            ) from error
        except csv.Error as error:
            raise UnreadableFile(
                _("The CSV file is malformed: {reason}").format(reason=error)
            ) from error
        finally:
            text.close()

    stream = rows()
    return _with_header(
        Table(
            headers=[],
            rows=stream,
            format="csv",
            encoding=encoding,
            delimiter=delimiter,
            size_bytes=size,
            progress_position=lambda: counting.position,
        ),
        known_names,
    )


def open_xlsx(path: Path, known_names: frozenset[str] = frozenset()) -> Table:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise UnreadableFile(
            _("The file is not a readable .xlsx workbook: {reason}").format(reason=error)
        ) from error
    sheet = workbook.worksheets[0]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(values)
        finally:
            workbook.close()

    table = Table(
        headers=[], rows=rows(), format="xlsx", size_bytes=path.stat().st_size, encoding=""
    )
    table.notes.append(_("sheet {name}").format(name=sheet.title))
    return _with_header(table, known_names)


def _filled_width(cells: list[Any]) -> int:
    width = len(cells)
    while width and normalize_text(cells[width - 1]) == "":
        width -= 1
    return width


def _is_blank_row(cells: list[Any]) -> bool:
    return all(normalize_text(cell) == "" for cell in cells)


def _with_header(table: Table, known_names: frozenset[str] = frozenset()) -> Table:
    """Find the header row and resolve merged header cells.

    A title row above the header ("2026年客户清单", merged across the sheet) is skipped: the
    header is the first of the top rows with the most filled cells. An empty header cell
    takes its name from the cell above it (a header merged vertically) or, failing that,
    from its left neighbour with a number (a header merged across two columns), so no
    column is left unnamed and no name is used twice.
    """
    top: list[tuple[int, list[Any]]] = []
    for number, cells in table.rows:
        top.append((number, cells))
        if len(top) >= HEADER_SEARCH_ROWS:
            break
    candidates = [(number, cells) for number, cells in top if not _is_blank_row(cells)]
    if not candidates:
        raise UnreadableFile(_("The file has no header row and no data."))

    def filled(cells: list[Any]) -> int:
        return sum(1 for cell in cells if normalize_text(cell) != "")

    def resolve(header_index: int) -> list[str]:
        """Name the columns as if row ``header_index`` were the header."""
        header_cells = candidates[header_index][1]
        above = [cells for _number, cells in candidates[:header_index]]
        width = max(_filled_width(cells) for cells in [header_cells, *above])
        names: list[str] = []
        seen: dict[str, int] = {}
        for column in range(width):
            name = normalize_text(header_cells[column]) if column < len(header_cells) else ""
            if not name:
                for row in reversed(above):
                    if column < len(row) and normalize_text(row[column]):
                        name = normalize_text(row[column])
                        break
            if not name and names:
                name = names[-1].split(" (")[0]
            if not name:
                name = _("column {number}").format(number=column + 1)
            base = name
            if base in seen:
                seen[base] += 1
                name = f"{base} ({seen[base]})"
            else:
                seen[base] = 1
            names.append(name)
        return names

    resolved = [resolve(index) for index in range(len(candidates))]
    known = [sum(1 for name in names if name.casefold() in known_names) for names in resolved]
    most = max(filled(cells) for _number, cells in candidates)
    if max(known) >= 2:
        # the row under which the most columns get a name we know (a group row names fewer)
        header_index = known.index(max(known))
    else:
        # the first row nearly as full as the fullest: a title row above it is not
        header_index = next(
            index
            for index, (_number, cells) in enumerate(candidates)
            if filled(cells) >= max(1, most * 0.6) and filled(cells) >= min(2, most)
        )
    header_number, header_cells = candidates[header_index]
    names = resolved[header_index]
    if header_index > 0 or any(normalize_text(cell) == "" for cell in header_cells[: len(names)]):
        table.notes.append(
            _(
                "header on row {row}; merged or empty header cells were named from their neighbours"
            ).format(row=header_number)
        )
    rest = [item for item in top if item[0] > header_number]
    original = table.rows

    def data_rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, cells in rest:
                if not _is_blank_row(cells):
                    yield number, cells
            for number, cells in original:
                if not _is_blank_row(cells):
                    yield number, cells
        finally:
            closer = getattr(original, "close", None)
            if closer is not None:
                closer()

    table.headers = names
    table.rows = data_rows()
    return table


def open_table(path: Path | str, known_names: frozenset[str] = frozenset()) -> Table:
    """Open ``path`` by its extension; raise :class:`UnreadableFile` with a reason if it fails.

    ``known_names`` (case-folded column names the importer understands) helps find the
    header row under a title row or a row of merged group headers.
    """
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(_("No file at {path}.").format(path=path))
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return open_xlsx(path, known_names)
    if suffix in {".csv", ".txt", ".tsv"}:
        return open_csv(path, known_names)
    if suffix == ".xls":
        raise UnreadableFile(
            _("Old .xls workbooks are not supported; save the file as .xlsx or CSV.")
        )
    raise UnreadableFile(
        _("Unsupported file type {suffix}; import .csv or .xlsx files.").format(
            suffix=suffix or os.path.basename(path)
        )
    )
