"""The Aid Worker Security Database (AWSD) CSV: every schema generation, mapped by header name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from haven.importers.base import (
    Importer,
    RowRejected,
    count,
    country,
    number,
    partial_date,
    point,
    text,
)
from haven.importers.files import RawRow, Table, read_csv_table, require_columns
from haven.taxonomy import (
    AWSD_CASUALTY_COLUMNS,
    AwsdActorType,
    CasualtyGroup,
    CasualtyOutcome,
    GeoPrecision,
    PerpetratorCategory,
    SourceType,
    context_flags_from_awsd,
    ssa_attack_types_from_awsd,
)

__all__ = ["AWSD_ACTOR_TO_PERPETRATOR", "AwsdImporter"]

REQUIRED = ("Incident ID", "Year", "Country", "Means of attack")
"""Columns every AWSD generation has (39, 41 and 44 columns are seen in the wild)."""

_P = PerpetratorCategory
AWSD_ACTOR_TO_PERPETRATOR: dict[AwsdActorType, PerpetratorCategory] = {
    AwsdActorType.HOST_STATE: _P.GOVERNMENT,
    AwsdActorType.STATE_UNKNOWN: _P.GOVERNMENT,
    AwsdActorType.FOREIGN_OR_COALITION_FORCES: _P.FOREIGN_FORCES_MILITARY,
    AwsdActorType.POLICE_OR_PARAMILITARY: _P.POLICE,
    AwsdActorType.NSAG_GLOBAL: _P.NON_STATE_ACTOR,
    AwsdActorType.NSAG_REGIONAL: _P.NON_STATE_ACTOR,
    AwsdActorType.NSAG_NATIONAL: _P.NON_STATE_ACTOR,
    AwsdActorType.NSAG_SUBNATIONAL: _P.NON_STATE_ACTOR,
    AwsdActorType.NSAG_UNKNOWN: _P.NON_STATE_ACTOR,
    AwsdActorType.CRIMINAL: _P.CRIMINAL,
    AwsdActorType.UNAFFILIATED: _P.CIVILIAN,
    AwsdActorType.AID_RECIPIENT: _P.COMMUNITY_MEMBER,
    AwsdActorType.STAFF_MEMBER: _P.STAFF_WORKER,
    AwsdActorType.UNKNOWN: _P.NO_INFORMATION,
}
"""AWSD ``Actor type`` → Insecurity Insight perpetrator category (the nearest one)."""

_UNKNOWN = {"unknown", "n/a", "none"}


def _known(value: str | None) -> str | None:
    return None if value is None or value.casefold() in _UNKNOWN else value


def _whole(row: RawRow, column: str) -> int | None:
    value = number(row, column)
    return None if value is None else int(value)


class AwsdImporter(Importer):
    """AWSD incidents: partial dates become date precision; the HXL row is skipped."""

    format: ClassVar[str] = "awsd"
    source_name: ClassVar[str] = "Aid Worker Security Database (Humanitarian Outcomes)"
    source_type: ClassVar[SourceType | None] = SourceType.SECONDARY
    source_url: ClassVar[str | None] = "https://www.aidworkersecurity.org/"
    description: ClassVar[str] = "Aid Worker Security Database incidents CSV (any generation)"

    _table: Table

    def check_file(self) -> None:
        self._table = read_csv_table(self.path)
        require_columns(
            self.path, self._table.header, required=REQUIRED, what="an AWSD incidents CSV"
        )

    def rows(self) -> Iterator[RawRow]:
        return iter(self._table.rows)

    def row_key(self, row: RawRow) -> str:
        # AWSD reuses an id now and then (4664 is two events): the date keeps them apart.
        parts = [text(row, c) or "" for c in ("Incident ID", "Year", "Month", "Day")]
        return "{}:{}-{}-{}".format(*parts)

    def facts(self, row: RawRow) -> dict[str, Any]:
        if text(row, "Incident ID") is None:
            raise RowRejected("Incident ID", "no incident id")
        occurred_at, precision = partial_date(
            _whole(row, "Year"),
            _whole(row, "Month"),
            day_of_month=_whole(row, "Day"),
            columns=("Year", "Month", "Day"),
        )
        code = text(row, "Country Code")
        name = text(row, "Country")
        iso3 = country(code or name, column="Country Code" if code else "Country")
        location = point(row, lat="Latitude", lon="Longitude")
        actor = AwsdActorType._find(text(row, "Actor type"))
        return {
            "occurred_at": occurred_at,
            "date_precision": precision,
            "country": iso3,
            "location": location,
            "geo_precision": _precision(row) if location else None,
            "admin1": text(row, "Region"),
            "admin2": text(row, "District"),
            "location_name": text(row, "City"),
            "attack_types": ssa_attack_types_from_awsd(text(row, "Means of attack") or "Unknown"),
            "casualties": _casualties(row),
            "context_flags": context_flags_from_awsd(
                attack_context=text(row, "Attack context"), location=text(row, "Location")
            ),
            "perpetrator_category": AWSD_ACTOR_TO_PERPETRATOR.get(actor) if actor else None,
            "perpetrator_name": _known(text(row, "Actor name")),
            "narrative": text(row, "Details") or "",
        }


def _precision(row: RawRow) -> GeoPrecision:
    """AWSD gives no precision: the finest named place sets it."""
    if text(row, "City"):
        return GeoPrecision.NEAR_25KM
    if text(row, "District"):
        return GeoPrecision.DISTRICT
    if text(row, "Region"):
        return GeoPrecision.PROVINCE
    return GeoPrecision.COUNTRY


def _casualties(row: RawRow) -> dict[CasualtyGroup, dict[CasualtyOutcome, int]]:
    found: dict[CasualtyGroup, dict[CasualtyOutcome, int]] = {}
    for column, (group, outcome) in AWSD_CASUALTY_COLUMNS.items():
        if column in row.values and (n := count(row, column)):
            found.setdefault(group, {})[outcome] = n
    return found
