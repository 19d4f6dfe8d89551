"""Facilities: places of care known to Haven, loaded from GeoJSON points."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.accounts import Actor
from haven.errors import InvalidInput
from haven.geo import LonLat, h3_cells
from haven.models import FacilityRow, SourceRow

__all__ = ["Facility", "FacilityLoad", "list_facilities", "load_geojson", "read_geojson_points"]

_NAME_KEYS = ("name", "Name", "Hospital", "facility", "Facility")
_LOCAL_NAME_KEYS = ("name_local", "name:ar", "Arabic Name", "name_ar")
_BEDS_KEYS = ("beds", "Number of beds (All)", "Beds")
_ADMIN1_KEYS = ("admin1", "Governorate", "governorate", "Province", "State")
_CLASS_KEYS = ("classification", "Classification", "operator_type")


class Facility(BaseModel):
    """A facility as staff see it."""

    id: int
    external_id: str
    name: str
    name_local: str | None
    facility_type: str | None
    classification: str | None
    lon: float
    lat: float
    country: str
    admin1: str | None
    beds: int | None
    exercise: bool


class FacilityLoad(BaseModel):
    """What a load did."""

    read: int
    added: int
    unchanged: int


def _first(props: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        value = props.get(key)
        if value not in (None, ""):
            return value
    return None


def read_geojson_points(path: Path) -> list[dict[str, Any]]:
    """Validated point features of a GeoJSON file; errors name the feature and field.

    Nothing is written: the whole file is checked before any row is stored.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", fields={"file": str(path)}) from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidInput("not a GeoJSON FeatureCollection", fields={"file": str(path)})
    points: list[dict[str, Any]] = []
    for index, feature in enumerate(data.get("features") or []):
        where = f"features[{index}]"
        geometry = (feature or {}).get("geometry") or {}
        if geometry.get("type") != "Point":
            raise InvalidInput("only Point features", fields={f"{where}.geometry": "not a Point"})
        coords = geometry.get("coordinates") or []
        try:
            lon, lat = float(coords[0]), float(coords[1])
            point = LonLat(lon, lat)
        except (IndexError, TypeError, ValueError) as exc:
            raise InvalidInput(
                "bad coordinates", fields={f"{where}.geometry.coordinates": str(exc)}
            ) from exc
        props = feature.get("properties") or {}
        name = _first(props, _NAME_KEYS)
        if not name:
            raise InvalidInput("feature without a name", fields={f"{where}.properties": "no name"})
        if len(str(name)) > 300:
            raise InvalidInput("name too long", fields={f"{where}.properties.name": "over 300"})
        beds = _first(props, _BEDS_KEYS)
        if beds is not None and not (isinstance(beds, int | float) and math.isfinite(beds)):
            raise InvalidInput("bad bed count", fields={f"{where}.properties.beds": repr(beds)})
        points.append({"point": point, "name": str(name), "props": props, "beds": beds})
    return points


def load_geojson(
    session: Session,
    path: Path,
    *,
    source_name: str,
    country: str,
    facility_type: str,
    actor: Actor,
    exercise: bool = False,
) -> FacilityLoad:
    """Load point facilities from a GeoJSON file; loading the same file again adds nothing."""
    points = read_geojson_points(path)
    source_id = session.scalar(select(SourceRow.id).where(SourceRow.name == source_name))
    if source_id is None:
        source = SourceRow(name=source_name, kind="dataset")
        session.add(source)
        session.flush()
        source_id = source.id
    added = 0
    for item in points:
        external_id = f"{source_name}:{item['name']}"
        if session.scalar(select(FacilityRow.id).where(FacilityRow.external_id == external_id)):
            continue
        point: LonLat = item["point"]
        cells = h3_cells(point)
        props = item["props"]
        row = FacilityRow(
            external_id=external_id,
            name=item["name"],
            name_local=_first(props, _LOCAL_NAME_KEYS),
            facility_type=facility_type,
            classification=_first(props, _CLASS_KEYS),
            lon=point.lon,
            lat=point.lat,
            geo_precision=1,
            h3_r4=cells[4],
            h3_r6=cells[6],
            h3_r8=cells[8],
            country=country,
            admin1=_first(props, _ADMIN1_KEYS),
            beds=int(item["beds"]) if item["beds"] is not None else None,
            source_id=source_id,
            attributes={k: v for k, v in props.items() if isinstance(v, str | int | float)},
            is_exercise=exercise,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            action="facility.create",
            entity_type="facility",
            entity_id=row.id,
            detail={"source": source_name},
        )
        added += 1
    return FacilityLoad(read=len(points), added=added, unchanged=len(points) - added)


def list_facilities(session: Session, *, country: str | None = None) -> list[Facility]:
    """Facilities, by name."""
    query = select(FacilityRow).order_by(FacilityRow.name)
    if country:
        query = query.where(FacilityRow.country == country)
    return [
        Facility(
            id=row.id,
            external_id=row.external_id,
            name=row.name,
            name_local=row.name_local,
            facility_type=row.facility_type,
            classification=row.classification,
            lon=row.lon,
            lat=row.lat,
            country=row.country,
            admin1=row.admin1,
            beds=row.beds,
            exercise=row.is_exercise,
        )
        for row in session.scalars(query)
    ]
