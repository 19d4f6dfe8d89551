"""Helpers of the import tests: slices of the real datasets, and row counts of every table."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import func, select

from haven.db import Database
from haven.models import Base

AWSD = "awsd_security_incidents_1997_2025.csv"
SHCC = "shcc_attacks_on_health_care_2016_2023.xlsx"
KIKA = "insecurity_insight_aid_worker_kika_2020_2024.json"
WHO_SSA = "who_ssa_attacks_2017_2024.csv"

DATASETS = {"awsd": AWSD, "shcc": SHCC, "kika": KIKA, "who_ssa": WHO_SSA}
"""Each real incident dataset by the import format that reads it."""


def table_counts(db: Database) -> dict[str, int]:
    """Rows in every table of the schema."""
    with db.read() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def csv_rows(path: Path, *, hxl: bool) -> list[list[str]]:
    """The data rows of a CSV file, counted with the csv module (the HXL row left out)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [r for r in csv.reader(handle) if any(c.strip() for c in r)]
    return rows[2:] if hxl else rows[1:]


def xlsx_rows(path: Path) -> list[tuple[Any, ...]]:
    """The data rows of the first sheet (header and HXL rows left out), with openpyxl."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = [r for r in book.worksheets[0].iter_rows(values_only=True) if any(r)]
    finally:
        book.close()
    return rows[2:]


def count_rows(fmt: str, path: Path) -> int:
    """Data rows in one of the real files, counted independently of the importers."""
    if fmt == "kika":
        return len(json.loads(path.read_text(encoding="utf-8")))
    if fmt == "shcc":
        return len(xlsx_rows(path))
    return len(csv_rows(path, hxl=fmt == "awsd"))


def csv_slice(source: Path, target: Path, *, rows: int, keep: int = 1) -> Path:
    """The first ``keep`` header rows and ``rows`` data rows of a CSV file."""
    with source.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    with target.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(lines[: keep + rows])
    return target


def xlsx_slice(source: Path, target: Path, *, rows: int) -> Path:
    """The header, HXL row and ``rows`` data rows of the first sheet, as a new workbook."""
    book = openpyxl.load_workbook(source, read_only=True)
    out = openpyxl.Workbook()
    sheet = out.active
    assert sheet is not None
    for n, row in enumerate(book.worksheets[0].iter_rows(values_only=True)):
        if n >= rows + 2:
            break
        sheet.append(list(row))
    book.close()
    out.save(target)
    return target


def json_slice(source: Path, target: Path, *, rows: int) -> Path:
    """The first ``rows`` objects of a JSON list."""
    data = json.loads(source.read_text(encoding="utf-8"))
    target.write_text(json.dumps(data[:rows]), encoding="utf-8")
    return target


def dataset_slice(fmt: str, datasets: Path, *, tmp_path: Path, rows: int) -> Path:
    """A small copy of one real dataset (keeps PostgreSQL runs short)."""
    source = datasets / DATASETS[fmt]
    target = tmp_path / f"slice-{source.name}"
    if fmt == "shcc":
        return xlsx_slice(source, target, rows=rows)
    if fmt == "kika":
        return json_slice(source, target, rows=rows)
    return csv_slice(source, target, rows=rows, keep=2 if fmt == "awsd" else 1)
