"""Facility imports: GeoJSON points, CSV rows and OpenStreetMap health places (``.osm``/``.pbf``).

Every reader checks the whole file first and names the feature, or the row
(1 = first data row) and column, of the first problem; nothing is written
unless every row is good. Re-importing a file updates changed facilities and
adds nothing twice: rows are keyed by ``external_id`` (OSM: ``osm:node/<id>``,
``osm:way/<id>``; other files: their ``id`` column or property, else the name).
Coordinates are read longitude first, whatever the column order.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from haven.accounts import Actor, Permission, require
from haven.errors import InvalidInput
from haven.facilities import (
    FacilityIn,
    FacilityKind,
    FacilityLoad,
    plain_attributes,
    read_geojson_points,
    upsert_many,
)

__all__ = [
    "FORMATS",
    "OSM_AMENITIES",
    "detect_format",
    "import_file",
    "read_csv",
    "read_facilities",
    "read_geojson",
    "read_osm",
]

FORMATS = ("geojson", "csv", "osm")
OSM_AMENITIES: dict[str, FacilityKind] = {
    "hospital": FacilityKind.HOSPITAL,
    "clinic": FacilityKind.CLINIC,
    "doctors": FacilityKind.CLINIC,
    "pharmacy": FacilityKind.PHARMACY,
}
"""``amenity=*`` values taken from OpenStreetMap, and their kind (every ``healthcare=*`` too)."""
_OSM_HEALTHCARE: dict[str, FacilityKind] = {
    "hospital": FacilityKind.HOSPITAL,
    "clinic": FacilityKind.CLINIC,
    "doctor": FacilityKind.CLINIC,
    "centre": FacilityKind.CLINIC,
    "pharmacy": FacilityKind.PHARMACY,
}
_KIND_WORDS: dict[str, FacilityKind] = {
    **{k.value: k for k in FacilityKind},
    **OSM_AMENITIES,
    "first aid post": FacilityKind.FIRST_AID_POST,
    "mobile clinic": FacilityKind.MOBILE_CLINIC,
    "ambulance base": FacilityKind.AMBULANCE_BASE,
    "ambulance_station": FacilityKind.AMBULANCE_BASE,
    "health centre": FacilityKind.CLINIC,
    "health center": FacilityKind.CLINIC,
    "primary health care centre": FacilityKind.CLINIC,
}
_COLUMNS: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "long", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
    "name": ("name", "facility", "facility_name", "hospital", "hospital_name"),
    "name_local": ("name_local", "local_name", "name_ar", "arabic_name"),
    "kind": ("kind", "type", "facility_type", "category"),
    "operator": ("operator", "operated_by", "organisation", "organization"),
    "services": ("services", "service", "specialities", "specialties"),
    "beds": ("beds", "bed_capacity", "number_of_beds", "number_of_beds_all"),
    "country": ("country", "iso3", "country_code"),
    "admin1": ("admin1", "governorate", "province", "state", "region"),
    "classification": ("classification", "operator_type", "ownership"),
    "external_id": ("external_id", "id", "facility_id", "code"),
    "geo_precision": ("geo_precision", "precision"),
}


def detect_format(path: Path) -> str:
    """The format of a facility file from its name: geojson, csv or osm."""
    name = path.name.lower()
    if name.endswith((".osm", ".osm.pbf", ".pbf", ".osm.xml", ".osm.bz2", ".osm.gz")):
        return "osm"
    if name.endswith((".geojson", ".json")):
        return "geojson"
    if name.endswith((".csv", ".txt")):
        return "csv"
    raise InvalidInput(
        f"cannot tell the format of {path.name}",
        fields={"format": "give one of: " + ", ".join(FORMATS)},
    )


def _kind(text: Any, *, default: FacilityKind) -> FacilityKind | None:
    if text in (None, ""):
        return default
    return _KIND_WORDS.get(str(text).strip().lower().replace("-", " "))


def _validated(
    values: dict[str, Any], *, where: str, columns: Mapping[str, str], joiner: str = "."
) -> FacilityIn:
    try:
        return FacilityIn.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "row"
        column = columns.get(field, field)
        raise InvalidInput(
            f"{where}, column {column}: {error['msg']}; nothing imported",
            fields={f"{where}{joiner}{column}": str(error["msg"])},
        ) from exc


def _services(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if value in (None, ""):
        return []
    return [part.strip() for part in str(value).replace(",", ";").split(";") if part.strip()]


def read_geojson(
    path: Path, *, source_name: str, country: str, kind: FacilityKind, exercise: bool
) -> list[FacilityIn]:
    """Point features as facilities (name, kind, operator, beds, … from their properties)."""
    items = []
    for index, item in enumerate(read_geojson_points(path)):
        props, point = item["props"], item["point"]
        lowered = {str(k).strip().lower().replace(" ", "_"): v for k, v in props.items()}

        def prop(field: str, props: dict[str, Any] = lowered) -> Any:
            return next((props[a] for a in _COLUMNS[field] if props.get(a) not in (None, "")), None)

        where = f"features[{index}].properties"
        found_kind = _kind(prop("kind"), default=kind)
        if found_kind is None:
            raise InvalidInput(
                f"{where}: unknown facility kind {prop('kind')!r}",
                fields={f"{where}.kind": "one of " + ", ".join(FacilityKind)},
            )
        external = prop("external_id")
        values = {
            "name": item["name"],
            "name_local": prop("name_local"),
            "kind": found_kind,
            "operator": prop("operator"),
            "services": _services(prop("services")),
            "beds": int(item["beds"]) if item["beds"] is not None else None,
            "location": {"lon": point.lon, "lat": point.lat},
            "country": prop("country") or country,
            "admin1": prop("admin1"),
            "classification": prop("classification"),
            "external_id": f"{source_name}:{external}" if external is not None else None,
            "attributes": plain_attributes(props),
            "exercise": exercise,
        }
        items.append(_validated(values, where=where, columns={}))
    return items


def _header_map(header: list[str]) -> dict[str, str]:
    """Each known field → the file's own column name."""
    normal = {h.strip().lower().replace(" ", "_").replace("-", "_"): h for h in header}
    found: dict[str, str] = {}
    for field, aliases in _COLUMNS.items():
        for alias in aliases:
            if alias in normal:
                found[field] = normal[alias]
                break
    missing = [f for f in ("lon", "lat", "name") if f not in found]
    if missing:
        raise InvalidInput(
            f"the CSV header lacks {', '.join(missing)}",
            fields={"header": "needs lon/lat (or longitude/latitude) and name columns"},
        )
    return found


def _coordinate(text: str, *, low: float, high: float, where: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{where}: {text!r} is not a number; nothing imported",
            fields={where: f"{text!r} is not a number"},
        ) from None
    if not low <= value <= high:
        raise InvalidInput(
            f"{where}: {value} is outside {low:g}..{high:g}; nothing imported",
            fields={where: f"{value} is outside {low:g}..{high:g}"},
        )
    return value


def _whole(text: str | None, *, where: str) -> int | None:
    """A whole number from a cell (None when empty); the error names the row and column."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value.is_integer():
        raise InvalidInput(
            f"{where}: {text!r} is not a whole number; nothing imported",
            fields={where: f"{text!r} is not a whole number"},
        )
    return int(value)


def read_csv(
    path: Path, *, source_name: str, country: str, kind: FacilityKind, exercise: bool
) -> list[FacilityIn]:
    """CSV rows as facilities; columns are matched by name (``lon``/``longitude``, …)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path.name}: {exc}", fields={"file": path.name}) from exc
    reader = csv.DictReader(io.StringIO(text))
    columns = _header_map(list(reader.fieldnames or []))
    items = []
    for number, row in enumerate(reader, start=1):
        where = f"row {number}"

        def cell(field: str, row: dict[str, Any] = row) -> str | None:
            value = row.get(columns[field]) if field in columns else None
            return value.strip() if isinstance(value, str) and value.strip() else None

        lon = _coordinate(
            row.get(columns["lon"]) or "", low=-180, high=180, where=f"{where}, {columns['lon']}"
        )
        lat = _coordinate(
            row.get(columns["lat"]) or "", low=-90, high=90, where=f"{where}, {columns['lat']}"
        )
        found_kind = _kind(cell("kind"), default=kind)
        if found_kind is None:
            raise InvalidInput(
                f"{where}, column {columns['kind']}: unknown kind {cell('kind')!r}",
                fields={f"{where}, {columns['kind']}": "one of " + ", ".join(FacilityKind)},
            )
        external = cell("external_id")
        values = {
            "name": cell("name"),
            "name_local": cell("name_local"),
            "kind": found_kind,
            "operator": cell("operator"),
            "services": _services(cell("services")),
            "beds": _whole(cell("beds"), where=f"{where}, {columns.get('beds')}"),
            "location": {"lon": lon, "lat": lat},
            "geo_precision": _whole(
                cell("geo_precision"), where=f"{where}, {columns.get('geo_precision')}"
            )
            or 1,
            "country": cell("country") or country,
            "admin1": cell("admin1"),
            "classification": cell("classification"),
            "external_id": f"{source_name}:{external}" if external else None,
            "exercise": exercise,
        }
        items.append(_validated(values, where=where, columns=columns, joiner=", "))
    return items


def _centroid(points: list[tuple[float, float]], *, closed: bool) -> tuple[float, float]:
    """Area centroid of a closed ring (planar, longitude scaled by latitude), else vertex mean."""
    if closed and len(points) >= 4:
        ring = points[:-1]
        scale = math.cos(math.radians(sum(p[1] for p in ring) / len(ring)))
        area = cx = cy = 0.0
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            cross = x0 * scale * y1 - x1 * scale * y0
            area += cross
            cx += (x0 + x1) * scale * cross
            cy += (y0 + y1) * cross
        if abs(area) > 1e-18:
            return cx / (3 * area) / scale, cy / (3 * area)
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def _osm_objects(path: Path) -> Iterator[tuple[str, int, dict[str, str], float, float]]:
    try:
        import osmium  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise InvalidInput(
            "reading OpenStreetMap files needs pyosmium: pip install 'haven[osm]'",
            fields={"format": "osm needs the osm extra"},
        ) from None
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("amenity", "healthcare"))
    )
    for obj in processor:
        tags = {tag.k: tag.v for tag in obj.tags}
        if tags.get("amenity") not in OSM_AMENITIES and "healthcare" not in tags:
            continue
        if isinstance(obj, osmium.osm.Node):
            if obj.location.valid():
                yield "node", obj.id, tags, obj.location.lon, obj.location.lat
        elif isinstance(obj, osmium.osm.Way):
            refs = [n.ref for n in obj.nodes]
            located = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
            if located:
                lon, lat = _centroid(located, closed=len(refs) > 3 and refs[0] == refs[-1])
                yield "way", obj.id, tags, lon, lat


def read_osm(path: Path, *, country: str, exercise: bool) -> list[FacilityIn]:
    """Health places of an OSM file: ``amenity=hospital|clinic|doctors|pharmacy`` and every
    ``healthcare=*`` node and way (a way at its centroid; relations are not read)."""
    items = []
    try:
        objects = list(_osm_objects(path))
    except RuntimeError as exc:  # osmium's error for a damaged or foreign file
        raise InvalidInput(
            f"cannot read {path.name} as OpenStreetMap: {exc}", fields={"file": path.name}
        ) from exc
    for kind_name, osm_id, tags, lon, lat in objects:
        kind = OSM_AMENITIES.get(tags.get("amenity", "")) or _OSM_HEALTHCARE.get(
            tags.get("healthcare", ""), FacilityKind.OTHER
        )
        beds = tags.get("beds", "")
        values = {
            "name": (tags.get("name") or f"Unnamed {kind.value} (OSM {kind_name} {osm_id})")[:300],
            "name_local": tags.get("name:ar") or tags.get("name:uk") or tags.get("name:fr"),
            "kind": kind,
            "operator": (tags.get("operator") or None) and tags["operator"][:200],
            "services": _services(tags.get("healthcare:speciality"))[:60],
            "beds": int(beds) if beds.isdigit() else None,
            "location": {"lon": round(lon, 7), "lat": round(lat, 7)},
            "country": country,
            "classification": tags.get("operator:type"),
            "external_id": f"osm:{kind_name}/{osm_id}",
            "attributes": plain_attributes(tags),
            "exercise": exercise,
        }
        items.append(_validated(values, where=f"osm {kind_name} {osm_id}", columns={}))
    return items


def read_facilities(
    path: Path,
    *,
    fmt: str | None = None,
    source_name: str,
    country: str,
    kind: FacilityKind = FacilityKind.OTHER,
    exercise: bool = False,
) -> list[FacilityIn]:
    """Every facility of a file, all validated (``InvalidInput`` names the first bad one)."""
    fmt = fmt or detect_format(path)
    if fmt == "osm":
        items = read_osm(path, country=country, exercise=exercise)
    elif fmt == "geojson":
        items = read_geojson(
            path, source_name=source_name, country=country, kind=kind, exercise=exercise
        )
    elif fmt == "csv":
        items = read_csv(
            path, source_name=source_name, country=country, kind=kind, exercise=exercise
        )
    else:
        raise InvalidInput(f"unknown format {fmt!r}", fields={"format": ", ".join(FORMATS)})
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        key = item.external_id or item.name
        if key in seen:
            raise InvalidInput(
                f"entry {index + 1} repeats entry {seen[key] + 1} ({key}); nothing imported",
                fields={f"entry {index + 1}": f"same id or name as entry {seen[key] + 1}"},
            )
        seen[key] = index
    return items


def import_file(
    session: Session,
    path: Path,
    *,
    actor: Actor,
    country: str,
    fmt: str | None = None,
    source_name: str | None = None,
    kind: FacilityKind = FacilityKind.OTHER,
    exercise: bool = False,
) -> FacilityLoad:
    """Import a facility file (GeoJSON, CSV or OSM): all rows or none; re-import is idempotent."""
    require(actor, Permission.MANAGE_FACILITIES)
    source = source_name or f"facility file {path.name}"
    items = read_facilities(
        path, fmt=fmt, source_name=source, country=country, kind=kind, exercise=exercise
    )
    return upsert_many(session, items, source_name=source, actor=actor)
