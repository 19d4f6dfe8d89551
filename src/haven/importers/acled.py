"""ACLED event CSV (the current 31-column export and the older ones), from ACLED's codebook.

ACLED records political violence in general; import only events already selected as
affecting health care or aid (e.g. by a keyword filter on ``notes``). ACLED's terms
restrict redistribution, so its reports are TLP:GREEN, not TLP:CLEAR.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from haven.importers.base import Importer, RowRejected, count, country, number, point, text
from haven.importers.files import RawRow, Table, read_table, refuse
from haven.taxonomy import (
    CasualtyGroup,
    CasualtyOutcome,
    DatePrecision,
    GeoPrecision,
    SourceType,
    SsaAttackType,
    Tlp,
    ssa_attack_types_from_acled,
)

__all__ = ["ACLED_GEO_PRECISION", "ACLED_TIME_PRECISION", "AcledImporter"]

REQUIRED = ("event_date", "latitude", "longitude", "country", "fatalities")
"""Columns of every ACLED generation; plus ``event_id_cnty`` or ``data_id`` for the key."""

ACLED_TIME_PRECISION = {1: DatePrecision.DAY, 2: DatePrecision.MONTH, 3: DatePrecision.MONTH}
"""ACLED ``time_precision``: 1 the day is known, 2 the week (no week precision: month), 3 month."""

ACLED_GEO_PRECISION = {
    1: GeoPrecision.NEAR_25KM,
    2: GeoPrecision.DISTRICT,
    3: GeoPrecision.PROVINCE,
}
"""ACLED ``geo_precision``: 1 the town, 2 near it or a small area, 3 the larger region."""

OLD_EVENT_TYPES: dict[str, list[SsaAttackType]] = {
    "remote violence": [SsaAttackType.HEAVY_WEAPONS],
    "violence against civilians": [SsaAttackType.UNKNOWN],
    "battle-no change of territory": [SsaAttackType.INDIVIDUAL_WEAPONS],
    "riots/protests": [SsaAttackType.OTHER],
}
"""Event types of ACLED files before sub-event types (2019) that can harm health care."""

_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%d/%m/%Y", "%d-%b-%y")


def _event_date(row: RawRow) -> datetime:
    value = row.values.get("event_date")
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    cell = text(row, "event_date") or ""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cell, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise RowRejected("event_date", f"{cell!r} is not a date (YYYY-MM-DD or 15 January 2024)")


def _attack_types(row: RawRow) -> list[SsaAttackType]:
    sub_event = text(row, "sub_event_type")
    if sub_event is not None:
        types = ssa_attack_types_from_acled(sub_event)
        column, label = "sub_event_type", sub_event
    else:
        label = text(row, "event_type") or ""
        types = OLD_EVENT_TYPES.get(label.casefold(), [])
        column = "event_type"
    if not types:
        raise RowRejected(column, f"{label!r} is not an attack on health care or aid")
    return types


def _country(row: RawRow) -> str:
    for column in ("iso3", "iso", "country"):
        if (value := text(row, column)) is not None:
            return country(value, column=column)
    raise RowRejected("country", "no country")


class AcledImporter(Importer):
    """ACLED events (map by header name; ``iso`` is ISO 3166 numeric, ``iso3`` in older files)."""

    format: ClassVar[str] = "acled"
    source_name: ClassVar[str] = "ACLED (Armed Conflict Location & Event Data)"
    source_type: ClassVar[SourceType | None] = SourceType.SECONDARY
    source_url: ClassVar[str | None] = "https://acleddata.com/"
    description: ClassVar[str] = "ACLED events CSV or XLSX (current and older column sets)"
    tlp: ClassVar[Tlp] = Tlp.GREEN

    _table: Table

    def check_file(self) -> None:
        self._table = read_table(self.path)
        header = set(self._table.header)
        missing = [c for c in REQUIRED if c not in header]
        if "event_id_cnty" not in header and "data_id" not in header:
            missing.append("event_id_cnty")
        if not {"sub_event_type", "event_type"} & header:
            missing.append("sub_event_type")
        if missing:
            names = ", ".join(repr(c) for c in missing)
            raise refuse(
                self.path, f"not an ACLED export: column(s) {names} missing", where="header"
            )

    def rows(self) -> Iterator[RawRow]:
        return iter(self._table.rows)

    def row_key(self, row: RawRow) -> str:
        found = text(row, "event_id_cnty") or text(row, "data_id")
        if found is None:
            raise RowRejected("event_id_cnty", "no event id")
        return found

    def facts(self, row: RawRow) -> dict[str, Any]:
        location = point(row, lat="latitude", lon="longitude")
        time_precision = number(row, "time_precision")
        geo = number(row, "geo_precision")
        killed = count(row, "fatalities")
        return {
            "occurred_at": _event_date(row),
            "date_precision": ACLED_TIME_PRECISION.get(int(time_precision or 1), DatePrecision.DAY),
            "country": _country(row),
            "admin1": text(row, "admin1"),
            "admin2": text(row, "admin2"),
            "location_name": text(row, "location"),
            "location": location,
            "geo_precision": ACLED_GEO_PRECISION.get(int(geo or 1)) if location else None,
            "attack_types": _attack_types(row),
            "perpetrator_name": (text(row, "actor1") or "")[:300] or None,
            "casualties": (
                {CasualtyGroup.OTHERS: {CasualtyOutcome.KILLED: killed}} if killed else {}
            ),
            "narrative": text(row, "notes") or "",
        }
