"""Insecurity Insight's published column schema, and the cells its datasets share."""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib.resources import files
from typing import Any

from haven.importers.base import RowRejected, count, country, geo_precision, point, text
from haven.importers.files import RawRow
from haven.taxonomy import (
    PerpetratorCategory,
    SsaAttackType,
    Weapon,
    context_flags_from_shcc,
    split_shcc_multi,
)

__all__ = ["schema_columns", "shared_facts"]

SCHEMA_FILE = "insecurity_insight_schema.csv"
"""Insecurity Insight's machine-readable schema (CC BY-SA 4.0), shipped in ``haven/data``."""


@cache
def schema_columns(dataset: str) -> tuple[tuple[str, str], ...]:
    """The (column, HXL tags) of one Insecurity Insight dataset, in the schema's order."""
    source = files("haven").joinpath(f"data/{SCHEMA_FILE}")
    with io.StringIO(source.read_text(encoding="utf-8"), newline="") as handle:
        return tuple(
            (line["field_name"].strip(), line["terms"].strip())
            for line in csv.DictReader(handle)
            if line["dataset_name"] == dataset
        )


def shared_facts(row: RawRow, *, location_column: str) -> dict[str, Any]:
    """Where, who and with what: the cells every Insecurity Insight incident dataset has."""
    iso = text(row, "Country ISO")
    iso3 = country(iso or text(row, "Country"), column="Country ISO" if iso else "Country")
    location = point(row, lat="Latitude", lon="Longitude")
    precision = geo_precision(text(row, "Geo Precision"), column="Geo Precision")
    if location is None and precision is not None and precision < 6:
        precision = None
    weapons = [
        w
        for part in split_shcc_multi(text(row, "Weapon Carried/Used") or "")
        if (w := Weapon._find(part)) is not None
    ]
    place = text(row, location_column)
    return {
        "country": iso3,
        "admin1": text(row, "Admin 1"),
        "location": location,
        "geo_precision": precision,
        "perpetrator_category": PerpetratorCategory._find(text(row, "Reported Perpetrator")),
        "perpetrator_name": _named(text(row, "Reported Perpetrator Name")),
        "weapons": weapons,
        "context_flags": context_flags_from_shcc(place),
        "narrative": text(row, "Event Description") or "",
    }


def _named(value: str | None) -> str | None:
    if value is None or value.casefold() in {"no information", "n/a", "unknown"}:
        return None
    return value[:300]


def nonzero(row: RawRow, columns: list[str]) -> list[str]:
    """The indicator columns with a count above zero (or ``True``)."""
    return [c for c in columns if c in row.values and count(row, c) > 0]


def event_id(row: RawRow, column: str = "SiND Event ID") -> str:
    """The Security in Numbers Database event id, the row's stable key."""
    found = text(row, column)
    if found is None:
        raise RowRejected(column, "no event id")
    return found


def unknown_if_empty(types: list[SsaAttackType]) -> list[SsaAttackType]:
    """An attack always has a type: ``Unknown`` when nothing maps."""
    return types or [SsaAttackType.UNKNOWN]
