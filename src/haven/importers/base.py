"""The `Importer` base and the cell readers every format shares: text, numbers, dates, countries.

An importer reads one file format. ``check_file`` refuses a file that is not what it
claims (wrong columns, wrong encoding, truncated) before anything is written;
``rows`` yields the file's data rows, numbered from 1; ``to_report`` turns one row
into a `ReportIn`, raising `RowRejected` for a row Haven cannot use (reported, not
fatal) or `DamagedCell` for a cell that shows the file itself is damaged (the whole
file is refused). Coordinates are read as latitude and longitude columns and stored
as a `Point` (longitude first, WGS84).
"""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import pycountry
from pydantic import ValidationError

from haven.facts import Point
from haven.geo import iso3_country
from haven.importers.files import RawRow, Table
from haven.reports import ReportIn, SourceIn, SourceKind
from haven.taxonomy import DatePrecision, GeoPrecision, Sensitivity, SourceType, Tlp

__all__ = [
    "IMPORT_NAMESPACE",
    "DamagedCell",
    "Importer",
    "RawRow",
    "RowRejected",
    "Table",
]

IMPORT_NAMESPACE = uuid.UUID("6f1c7a52-3f5e-4d8e-9b0a-4a1d2c7e9f10")
"""Namespace of imported report ids: ``uuid5(IMPORT_NAMESPACE, f"{format}:{row key}")``."""

COUNTRY_ALIASES: dict[str, str] = {
    "occupied palestinian territory": "PSE",
    "occupied palestinian territories": "PSE",
    "opt": "PSE",
    "dr congo": "COD",
    "democratic republic of the congo": "COD",
    "libyan arab jamahiriya": "LBY",
    "cote d'ivoire": "CIV",
    "turkey": "TUR",
    "swaziland": "SWZ",
    "chechnya": "RUS",
    "kosovo": "XKX",
    "xk": "XKX",
    "nagorno-karabakh": "AZE",
}
"""Country spellings in the datasets that ISO 3166 does not know, mapped to ISO3 codes."""


class RowRejected(Exception):
    """One row cannot become a report; the import goes on and lists it as rejected."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


class DamagedCell(Exception):
    """A cell shows the file is damaged (e.g. ``1.407.092.855`` as a latitude): refuse the file."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


# --- Cell readers ------------------------------------------------------------------------------


def text(row: RawRow, column: str) -> str | None:
    """The cell as stripped text, or None when blank or absent."""
    value = row.values.get(column)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    found = str(value).strip()
    return found or None


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def number(row: RawRow, column: str) -> float | None:
    """The cell as a number, None when blank; a damaged number refuses the file."""
    value = row.values.get(column)
    if value is None or isinstance(value, bool):
        return float(value) if isinstance(value, bool) else None
    if isinstance(value, int | float):
        return float(value)
    cell = str(value).strip()
    if not cell:
        return None
    if not _NUMBER.match(cell):
        raise DamagedCell(column, f"{cell!r} is not a number")
    return float(cell)


def count(row: RawRow, column: str) -> int:
    """A count of people or events: a whole number ≥ 0 (blank is 0; ``True`` is 1).

    Text that is no number refuses the file (`DamagedCell`); a negative or fractional
    number rejects the row.
    """
    value = number(row, column)
    if value is None:
        return 0
    if value < 0 or not value.is_integer():
        raise RowRejected(column, f"{row.values.get(column)!r} is not a count (a whole number ≥ 0)")
    return int(value)


def point(row: RawRow, *, lat: str, lon: str) -> Point | None:
    """The location from latitude and longitude columns (None if either is blank).

    A latitude or longitude that is not a number refuses the file; one outside its
    range rejects the row.
    """
    y, x = number(row, lat), number(row, lon)
    if y is None or x is None:
        return None
    if not -90 <= y <= 90:
        raise RowRejected(lat, f"{y} is outside -90..90")
    if not -180 <= x <= 180:
        raise RowRejected(lon, f"{x} is outside -180..180")
    return Point(lon=x, lat=y)


def country(value: str | None, *, column: str) -> str:
    """An ISO3 code from a code (alpha-2, alpha-3, numeric) or a country name."""
    if value is None:
        raise RowRejected(column, "no country")
    cleaned = value.strip()
    alias = COUNTRY_ALIASES.get(cleaned.casefold())
    if alias:
        return alias
    if cleaned.isdigit():
        found = pycountry.countries.get(numeric=cleaned.zfill(3))
        if found is not None:
            return str(found.alpha_3)
    try:
        return iso3_country(cleaned)
    except ValueError:
        raise RowRejected(column, f"unknown country {cleaned!r}") from None


def geo_precision(value: str | None, *, column: str) -> GeoPrecision | None:
    """An Insecurity Insight / UCDP precision such as ``"(2) 25 km Precision "``."""
    if value is None:
        return None
    try:
        return GeoPrecision.from_label(value)
    except ValueError:
        raise RowRejected(column, f"unknown geo precision {value!r}") from None


def day(value: Any, *, column: str) -> datetime:
    """A date cell (a date, a datetime, or ISO ``YYYY-MM-DD``) as midnight UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    cell = str(value or "").strip()
    if not cell:
        raise RowRejected(column, "no date")
    try:
        parsed = date.fromisoformat(cell[:10])
    except ValueError:
        raise RowRejected(column, f"{cell!r} is not a date (YYYY-MM-DD)") from None
    return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)


def partial_date(
    year: int | None, month: int | None, *, day_of_month: int | None, columns: Sequence[str]
) -> tuple[datetime, DatePrecision]:
    """A date known to the year, month or day: its first instant, and the precision."""
    if year is None:
        raise RowRejected(columns[0], "no year")
    try:
        if month is None:
            return datetime(year, 1, 1, tzinfo=UTC), DatePrecision.YEAR
        if day_of_month is None:
            return datetime(year, month, 1, tzinfo=UTC), DatePrecision.MONTH
        return datetime(year, month, day_of_month, tzinfo=UTC), DatePrecision.DAY
    except ValueError as exc:
        raise RowRejected("/".join(columns), f"not a date: {exc}") from None


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """The original row as JSON values (dates as ISO text, blanks and NaN as null)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, datetime | date):
            out[key] = value.isoformat()
        elif value == "" or (isinstance(value, float) and value != value):  # noqa: PLR0124 - NaN
            out[key] = None
        else:
            out[key] = value
    return out


class Importer(ABC):
    """One file format. Subclasses set ``format`` and ``source_name`` and map rows to reports."""

    format: ClassVar[str]
    """The name used on the command line and the API (``haven import FORMAT FILE``)."""
    source_name: ClassVar[str]
    source_type: ClassVar[SourceType | None] = None
    """How the dataset knows what it reports (WHO SSA grading): compiled datasets built from
    media and partner reports are ``secondary`` accounts; None leaves it ungraded."""
    """The source every imported report names (a published dataset)."""
    source_url: ClassVar[str | None] = None
    description: ClassVar[str] = ""
    sensitivity: ClassVar[Sensitivity] = Sensitivity.MODERATE
    tlp: ClassVar[Tlp] = Tlp.CLEAR

    def __init__(self, path: Path) -> None:
        self.path = path

    @abstractmethod
    def check_file(self) -> None:
        """Read the file and refuse it (``InvalidInput``) if it is not what it claims."""

    @abstractmethod
    def rows(self) -> Iterator[RawRow]:
        """The data rows, numbered from 1 (call after ``check_file``)."""

    @abstractmethod
    def row_key(self, row: RawRow) -> str:
        """A key that names the row stably across files and re-imports."""

    @abstractmethod
    def facts(self, row: RawRow) -> dict[str, Any]:
        """The row's facts as ``EventFacts`` fields (raise `RowRejected` or `DamagedCell`)."""

    def source(self) -> SourceIn:
        """The source of every report of this importer."""
        return SourceIn(name=self.source_name, kind=SourceKind.DATASET, url=self.source_url)

    def report_id(self, row: RawRow) -> uuid.UUID:
        """The report's id: the same row always gets the same id, so re-imports change nothing."""
        return uuid.uuid5(IMPORT_NAMESPACE, f"{self.format}:{self.row_key(row)}")

    def to_report(self, row: RawRow) -> ReportIn:
        """The report for one row (raises `RowRejected` or `DamagedCell`)."""
        facts = self.facts(row)
        payload: dict[str, Any] = {
            "sensitivity": self.sensitivity,
            "tlp": self.tlp,
            **facts,
            "id": self.report_id(row),
            "source": self.source(),
            "exercise": False,
            "original": jsonable(row.values),
        }
        if self.source_type is not None:
            payload["source_type"] = self.source_type
        try:
            return ReportIn.model_validate(payload)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error.get("loc", ())) or "row"
            raise RowRejected(where, str(error.get("msg", "is invalid"))) from None
