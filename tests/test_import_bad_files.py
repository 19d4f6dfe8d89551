"""A file that is not what it claims is refused before anything is written; row and column named."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from haven.accounts import SYSTEM
from haven.db import Database
from haven.errors import InvalidInput
from haven.importers import run_import
from tests.support.imports import AWSD, KIKA, SHCC, WHO_SSA, csv_slice, table_counts, xlsx_slice
from tests.test_import_formats import acled_file, hxl_file, points_file

CORRUPT_LAT = "1.407.092.855"
"""A latitude (14.07092855) after a spreadsheet read its dots as thousands separators."""


def _lines(source: Path, rows: int) -> list[str]:
    with source.open(encoding="utf-8", newline="") as handle:
        return [next(handle) for _ in range(rows)]


def _write(target: Path, lines: list[str], *, encoding: str = "utf-8") -> Path:
    target.write_bytes("".join(lines).encode(encoding, errors="replace"))
    return target


def awsd_corrupt_latitude(datasets: Path, tmp: Path) -> Path:
    lines = _lines(datasets / AWSD, 12)
    lines[3] = lines[3].replace("14.07092855", CORRUPT_LAT)
    return _write(tmp / "awsd.csv", lines)


def awsd_latin1(datasets: Path, tmp: Path) -> Path:
    lines = _lines(datasets / AWSD, 12)
    lines[6] = lines[6].replace("Kismayo", "Kismayö")
    return _write(tmp / "awsd.csv", lines, encoding="latin-1")


def awsd_utf16(datasets: Path, tmp: Path) -> Path:
    return _write(tmp / "awsd.csv", _lines(datasets / AWSD, 12), encoding="utf-16")


def awsd_truncated(datasets: Path, tmp: Path) -> Path:
    text = "".join(_lines(datasets / AWSD, 12))
    return _write(tmp / "awsd.csv", [text[: text.rindex(",Unknown,") + 1]])


def awsd_wrong_columns(datasets: Path, tmp: Path) -> Path:
    return csv_slice(datasets / WHO_SSA, tmp / "awsd.csv", rows=5)


def who_corrupt_count(datasets: Path, tmp: Path) -> Path:
    lines = _lines(datasets / WHO_SSA, 8)
    lines[4] = lines[4].replace(",2.0,0.0,", ",2.0,1.0.0,", 1)
    return _write(tmp / "who.csv", lines)


def who_latin1(datasets: Path, tmp: Path) -> Path:
    lines = _lines(datasets / WHO_SSA, 8)
    lines[3] = lines[3].replace('"Wed"', '"Mercredi é"')
    return _write(tmp / "who.csv", lines, encoding="latin-1")


def who_truncated(datasets: Path, tmp: Path) -> Path:
    text = "".join(_lines(datasets / WHO_SSA, 8))
    return _write(tmp / "who.csv", [text[: text.rindex('"Confirmed"') + 5]])


def who_wrong_columns(datasets: Path, tmp: Path) -> Path:
    return csv_slice(datasets / AWSD, tmp / "who.csv", rows=5, keep=2)


def shcc_corrupt_latitude(datasets: Path, tmp: Path) -> Path:
    path = xlsx_slice(datasets / SHCC, tmp / "shcc.xlsx", rows=8)
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    sheet.cell(row=6, column=6).value = CORRUPT_LAT  # data row 4, column Latitude
    book.save(path)
    return path


def shcc_truncated(datasets: Path, tmp: Path) -> Path:
    path = xlsx_slice(datasets / SHCC, tmp / "shcc.xlsx", rows=8)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def shcc_wrong_columns(datasets: Path, tmp: Path) -> Path:
    path = xlsx_slice(datasets / SHCC, tmp / "shcc.xlsx", rows=8)
    book = openpyxl.load_workbook(path)
    book.worksheets[0].delete_cols(35)  # SiND Event ID
    book.save(path)
    return path


def kika_corrupt_latitude(datasets: Path, tmp: Path) -> Path:
    data = json.loads((datasets / KIKA).read_text(encoding="utf-8"))[:10]
    data[6]["Latitude"] = CORRUPT_LAT
    (tmp / "kika.json").write_text(json.dumps(data), encoding="utf-8")
    return tmp / "kika.json"


def kika_truncated(datasets: Path, tmp: Path) -> Path:
    text = json.dumps(json.loads((datasets / KIKA).read_text(encoding="utf-8"))[:10], indent=1)
    (tmp / "kika.json").write_text(text[: len(text) // 2], encoding="utf-8")
    return tmp / "kika.json"


def kika_utf16(datasets: Path, tmp: Path) -> Path:
    data = json.loads((datasets / KIKA).read_text(encoding="utf-8"))[:10]
    (tmp / "kika.json").write_text(json.dumps(data), encoding="utf-16")
    return tmp / "kika.json"


def kika_wrong_columns(datasets: Path, tmp: Path) -> Path:
    data = json.loads((datasets / KIKA).read_text(encoding="utf-8"))[:10]
    del data[3]["SiND Event ID"]
    (tmp / "kika.json").write_text(json.dumps(data), encoding="utf-8")
    return tmp / "kika.json"


def acled_corrupt_latitude(_datasets: Path, tmp: Path) -> Path:
    return acled_file(tmp, latitude=CORRUPT_LAT)


def acled_wrong_columns(_datasets: Path, tmp: Path) -> Path:
    return acled_file(tmp, drop="event_date")


def hxl_corrupt_latitude(_datasets: Path, tmp: Path) -> Path:
    return hxl_file(tmp, latitude=CORRUPT_LAT)


def hxl_no_hashtags(_datasets: Path, tmp: Path) -> Path:
    return hxl_file(tmp, tags=False)


def geojson_corrupt_latitude(_datasets: Path, tmp: Path) -> Path:
    return points_file(tmp, latitude=CORRUPT_LAT)


def geojson_truncated(_datasets: Path, tmp: Path) -> Path:
    path = points_file(tmp)
    path.write_text(path.read_text()[:-40])
    return path


BAD_FILES: dict[str, tuple[str, Callable[[Path, Path], Path], tuple[str, ...]]] = {
    "awsd corrupt latitude": ("awsd", awsd_corrupt_latitude, ("row 2", "'Latitude'", CORRUPT_LAT)),
    "awsd latin-1": ("awsd", awsd_latin1, ("line 7", "not UTF-8")),
    "awsd utf-16": ("awsd", awsd_utf16, ("UTF-16",)),
    "awsd truncated": ("awsd", awsd_truncated, ("row 10", "'Details'", "truncated")),
    "awsd wrong columns": ("awsd", awsd_wrong_columns, ("not an AWSD", "'Incident ID'")),
    "who_ssa corrupt count": ("who_ssa", who_corrupt_count, ("row 4", "'Total Death'", "1.0.0")),
    "who_ssa latin-1": ("who_ssa", who_latin1, ("line 4", "not UTF-8")),
    "who_ssa truncated": ("who_ssa", who_truncated, ("row 7", "truncated")),
    "who_ssa wrong columns": ("who_ssa", who_wrong_columns, ("not a WHO SSA", "'Attack ID'")),
    "shcc corrupt latitude": ("shcc", shcc_corrupt_latitude, ("row 4", "'Latitude'")),
    "shcc truncated": ("shcc", shcc_truncated, ("not a readable XLSX",)),
    "shcc wrong columns": ("shcc", shcc_wrong_columns, ("'SiND Event ID'",)),
    "kika corrupt latitude": ("kika", kika_corrupt_latitude, ("row 7", "'Latitude'")),
    "kika truncated": ("kika", kika_truncated, ("not valid JSON", "truncated")),
    "kika utf-16": ("kika", kika_utf16, ("UTF-16",)),
    "kika wrong columns": ("kika", kika_wrong_columns, ("row 4", "'SiND Event ID'")),
    "acled corrupt latitude": ("acled", acled_corrupt_latitude, ("row 2", "'latitude'")),
    "acled wrong columns": ("acled", acled_wrong_columns, ("'event_date'",)),
    "hxl corrupt latitude": ("hxl", hxl_corrupt_latitude, ("row 2", "'Lat'")),
    "hxl no hashtags": ("hxl", hxl_no_hashtags, ("no HXL hashtag row",)),
    "geojson corrupt latitude": ("geojson", geojson_corrupt_latitude, ("row 2", "latitude")),
    "geojson truncated": ("geojson", geojson_truncated, ("not valid JSON",)),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_refused_and_nothing_is_written(
    *, case: str, datasets: Path, db: Database, tmp_path: Path
) -> None:
    fmt, build, expected = BAD_FILES[case]
    path = build(datasets, tmp_path)
    before = table_counts(db)
    with pytest.raises(InvalidInput) as refused:
        run_import(db, fmt, path, actor=SYSTEM, rejects_path=tmp_path / "rejects.csv")
    message = refused.value.cli_line()
    for part in expected:
        assert part in message, message
    assert "nothing was imported" in message
    assert table_counts(db) == before
    assert not (tmp_path / "rejects.csv").exists()
