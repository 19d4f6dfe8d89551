"""GeoJSON points (RFC 7946: longitude first, WGS84): one report per Point feature."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, ClassVar

import orjson

from haven.facts import Point
from haven.importers.base import DamagedCell, Importer, RowRejected, country, day
from haven.importers.files import RawRow, read_json, refuse
from haven.reports import SourceIn
from haven.taxonomy import (
    Certainty,
    DatePrecision,
    GeoPrecision,
    SsaAttackType,
    parse_ssa_attack_types,
)

__all__ = ["GEOJSON_PROPERTIES", "GeoJsonImporter"]

GEOJSON_PROPERTIES: dict[str, tuple[str, ...]] = {
    "id": ("id", "event_id", "incident_id"),
    "date": ("occurred_at", "date", "event_date"),
    "date_precision": ("date_precision",),
    "country": ("country", "country_iso", "iso3", "country_code"),
    "attack_types": ("attack_types", "attack_type"),
    "admin1": ("admin1",),
    "admin2": ("admin2",),
    "location_name": ("location_name", "location", "name"),
    "geo_precision": ("geo_precision",),
    "certainty": ("certainty",),
    "narrative": ("narrative", "description", "notes"),
}
"""Haven field → the feature properties read for it, first present wins."""


def _prop(properties: dict[str, Any], field: str) -> Any:
    for name in GEOJSON_PROPERTIES[field]:
        if properties.get(name) not in (None, ""):
            return properties[name]
    return None


def _coordinate(value: Any, *, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DamagedCell(f"geometry.coordinates.{name}", f"{value!r} is not a number")
    return float(value)


def _point(feature: dict[str, Any]) -> Point:
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        kind = geometry.get("type") if isinstance(geometry, dict) else geometry
        raise RowRejected("geometry", f"{kind!r} is not a Point")
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        raise DamagedCell("geometry.coordinates", "expected [longitude, latitude]")
    lon = _coordinate(coordinates[0], name="longitude")
    lat = _coordinate(coordinates[1], name="latitude")
    if not -180 <= lon <= 180:
        raise RowRejected("geometry.coordinates.longitude", f"{lon} is outside -180..180")
    if not -90 <= lat <= 90:
        raise RowRejected("geometry.coordinates.latitude", f"{lat} is outside -90..90")
    return Point(lon=lon, lat=lat)


def _attack_types(value: Any) -> list[SsaAttackType]:
    if value is None:
        return [SsaAttackType.UNKNOWN]
    try:
        if isinstance(value, list):
            return [SsaAttackType.from_label(str(v)) for v in value]
        return parse_ssa_attack_types(str(value))
    except ValueError as exc:
        raise RowRejected("properties.attack_types", str(exc)) from None


class GeoJsonImporter(Importer):
    """A FeatureCollection of Point features; properties named as in `GEOJSON_PROPERTIES`."""

    format: ClassVar[str] = "geojson"
    source_name: ClassVar[str] = "GeoJSON points"
    description: ClassVar[str] = "a GeoJSON FeatureCollection of incident points"

    _rows: list[RawRow]

    def check_file(self) -> None:
        data = read_json(self.path)
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            raise refuse(self.path, "not a GeoJSON FeatureCollection", where="type")
        features = data.get("features")
        if not isinstance(features, list) or not all(isinstance(f, dict) for f in features):
            raise refuse(self.path, "'features' is not a list of features", where="features")
        self._rows = [RawRow(n, feature) for n, feature in enumerate(features, start=1)]

    def rows(self) -> Iterator[RawRow]:
        return iter(self._rows)

    def source(self) -> SourceIn:
        return super().source().model_copy(update={"name": f"GeoJSON {self.path.stem}"[:200]})

    def row_key(self, row: RawRow) -> str:
        properties = row.values.get("properties") or {}
        found = row.values.get("id") or _prop(properties, "id")
        if found is None:
            canonical = orjson.dumps(row.values, option=orjson.OPT_SORT_KEYS)
            return f"feature:{hashlib.sha256(canonical).hexdigest()}"
        return f"{found}:{_prop(properties, 'date')}"

    def facts(self, row: RawRow) -> dict[str, Any]:
        properties = row.values.get("properties") or {}
        if not isinstance(properties, dict):
            raise RowRejected("properties", "is not an object")
        location = _point(row.values)
        precision = _prop(properties, "geo_precision")
        certainty = _prop(properties, "certainty")
        return {
            "occurred_at": day(_prop(properties, "date"), column="properties.date"),
            "date_precision": _prop(properties, "date_precision") or DatePrecision.DAY,
            "country": country(
                None if (c := _prop(properties, "country")) is None else str(c),
                column="properties.country",
            ),
            "location": location,
            "geo_precision": GeoPrecision.from_label(str(precision)) if precision else None,
            "admin1": _prop(properties, "admin1"),
            "admin2": _prop(properties, "admin2"),
            "location_name": _prop(properties, "location_name"),
            "attack_types": _attack_types(_prop(properties, "attack_types")),
            "certainty": Certainty._find(str(certainty)) if certainty else None,
            "narrative": str(_prop(properties, "narrative") or ""),
        }
