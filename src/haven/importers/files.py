"""Reading a file whole before anything is written: encodings, CSV, XLSX, HXL rows, columns.

Every reader refuses a file that is not what it claims with `InvalidInput`, naming
the line or row and column (wrong encoding, ragged or truncated rows, a damaged
workbook, missing columns).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from haven.errors import InvalidInput

__all__ = [
    "RawRow",
    "Table",
    "is_hxl_row",
    "is_xlsx",
    "read_csv_table",
    "read_table",
    "read_text",
    "read_xlsx_table",
    "refuse",
    "require_columns",
]

_HXL_TAG = re.compile(r"^#[A-Za-z][A-Za-z0-9_]*(\s*\+\s*[A-Za-z][A-Za-z0-9_]*)*$")


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row of a file: its number (1 = first data row) and its cells by column name."""

    number: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Table:
    """A rectangular file read whole: the header, and each data row with its number."""

    header: list[str]
    rows: list[RawRow]


def refuse(
    path: Path, reason: str, *, where: str = "file", detail: str | None = None
) -> InvalidInput:
    """The error for a file Haven will not import; nothing has been written.

    ``where`` (e.g. ``row 2, column Latitude``) names the field of the error and
    ``detail`` says what is wrong there (default: the whole ``reason``).
    """
    return InvalidInput(
        f"{path.name}: {reason}; nothing was imported", fields={where: detail or reason}
    )


def read_text(path: Path) -> str:
    """The file as UTF-8 text (a BOM is allowed); any other encoding is refused with the line."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise refuse(path, "the file is UTF-16; save it as UTF-8", where="line 1")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise refuse(
            path,
            f"byte 0x{data[exc.start]:02x} at line {line} is not UTF-8 "
            "(Latin-1 or Windows-1252?); save the file as UTF-8",
            where=f"line {line}",
        ) from None


def read_json(path: Path) -> Any:
    """The parsed JSON of a file; refused (naming the line) when it is not valid JSON."""
    body = read_text(path)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        line = body[: exc.pos].count("\n") + 1
        raise refuse(
            path,
            f"not valid JSON at line {line}, character {exc.pos} ({exc.msg}): "
            "the file looks truncated or damaged",
            where=f"line {line}",
        ) from None


def is_hxl_row(cells: Sequence[Any]) -> bool:
    """Whether a row is an HXL hashtag row: every non-empty cell is a hashtag with attributes."""
    texts = [str(c).strip() for c in cells if c not in (None, "") and str(c).strip()]
    return bool(texts) and all(_HXL_TAG.match(t) for t in texts)


def read_csv_table(path: Path, *, skip_hxl: bool = True) -> Table:
    """Read a CSV file whole; refuse ragged (truncated) rows and broken quoting, naming the row."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise refuse(path, "the file is empty") from None
    except csv.Error as exc:
        raise refuse(path, f"the header cannot be read: {exc}", where="line 1") from None
    return Table(header, _data_rows(path, reader, header=header, skip_hxl=skip_hxl))


def _data_rows(
    path: Path, reader: Iterator[list[str]], *, header: list[str], skip_hxl: bool
) -> list[RawRow]:
    rows: list[RawRow] = []
    number = 0
    try:
        for cells in reader:
            if not cells or not any(c.strip() for c in cells):
                continue
            if skip_hxl and number == 0 and not rows and is_hxl_row(cells):
                skip_hxl = False
                continue
            number += 1
            if len(cells) != len(header) and any(c.strip() for c in cells[len(header) :]):
                raise refuse(
                    path,
                    f"row {number} has {len(cells)} cells, the header {len(header)}",
                    where=f"row {number}",
                )
            if len(cells) < len(header):
                missing = header[len(cells)]
                raise refuse(
                    path,
                    f"row {number} stops after {len(cells)} of {len(header)} columns, "
                    f"before column {missing!r}: the file looks truncated",
                    where=f"row {number}, column {missing}",
                )
            rows.append(RawRow(number, dict(zip(header, cells, strict=False))))
    except csv.Error as exc:
        raise refuse(
            path,
            f"row {number + 1} cannot be read ({exc}): the file looks truncated or damaged",
            where=f"row {number + 1}",
        ) from None
    return rows


def is_xlsx(path: Path) -> bool:
    """Whether the file is an XLSX workbook (a ZIP archive), whatever its name."""
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def read_xlsx_table(path: Path, *, sheet: int = 0, skip_hxl: bool = True) -> Table:
    """Read the first sheet of a workbook whole; refuse a damaged or truncated workbook."""
    import openpyxl  # noqa: PLC0415 - only spreadsheet imports need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise refuse(path, f"not a readable XLSX workbook ({exc})") from None
    try:
        worksheet = book.worksheets[sheet]
        values = worksheet.iter_rows(values_only=True)
        try:
            header = [str(h).strip() if h is not None else "" for h in next(values)]
        except StopIteration:
            raise refuse(path, "the first sheet is empty") from None
        while header and not header[-1]:
            header.pop()
        rows: list[RawRow] = []
        number = 0
        for cells in values:
            if not any(c not in (None, "") for c in cells):
                continue
            if skip_hxl and number == 0 and is_hxl_row(cells):
                skip_hxl = False
                continue
            number += 1
            rows.append(RawRow(number, dict(zip(header, cells, strict=False))))
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError) as exc:
        raise refuse(path, f"the workbook is damaged or truncated ({exc})") from None
    finally:
        book.close()
    return Table(header, rows)


def read_table(path: Path) -> Table:
    """A CSV or XLSX file (told apart by its first bytes, not its name)."""
    return read_xlsx_table(path) if is_xlsx(path) else read_csv_table(path)


def require_columns(
    path: Path, header: Sequence[str], *, required: Sequence[str], what: str
) -> None:
    """Refuse the file unless every required column is present, naming the missing ones."""
    present = set(header)
    missing = [c for c in required if c not in present]
    if missing:
        raise refuse(
            path,
            f"not {what}: column(s) {', '.join(repr(c) for c in missing)} missing",
            where="header",
        )
