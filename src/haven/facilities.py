"""Facilities: the registry of places of care (kind, operator, services, beds, focal points, place).

Focal points (name, phone, e-mail) are personal data: they are stored only in
the facility's encrypted envelope (``haven.privacy``) and read back with
``focal_points``, which needs ``read_sensitive`` and a stated purpose and is
audited. Coordinates are longitude first (``LonLat``, WGS84). Status over time
and supplies live in ``haven.facility_status``; file imports in
``haven.facility_import``.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    field_validator,
)
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from haven import audit, linkage, privacy
from haven.accounts import Actor, Permission, require
from haven.errors import Conflict, InvalidInput, NotFound
from haven.facility_status import StatusSummary, latest_statuses
from haven.facts import no_nul
from haven.geo import BBox, LonLat, h3_cells, iso3_country
from haven.models import FacilityRow, SourceRow, utcnow
from haven.taxonomy import GeoPrecision, SsaFacilityType

__all__ = [
    "KIND_OF_SSA_TYPE",
    "Facility",
    "FacilityIn",
    "FacilityKind",
    "FacilityLoad",
    "FacilityUpdate",
    "FocalPoint",
    "Location",
    "create",
    "focal_points",
    "get",
    "list_facilities",
    "load_geojson",
    "plain_attributes",
    "read_geojson_points",
    "update",
    "upsert_many",
]

Text = Annotated[str, AfterValidator(no_nul)]
_NAME_KEYS = ("name", "Name", "Hospital", "facility", "Facility")
_LOCAL_NAME_KEYS = ("name_local", "name:ar", "Arabic Name", "name_ar")
_BEDS_KEYS = ("beds", "Number of beds (All)", "Beds")
_ADMIN1_KEYS = ("admin1", "Governorate", "governorate", "Province", "State")
_CLASS_KEYS = ("classification", "Classification", "operator_type")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{4,40}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FacilityKind(StrEnum):
    """What kind of place a facility is."""

    HOSPITAL = "hospital"
    CLINIC = "clinic"
    FIRST_AID_POST = "first_aid_post"
    MOBILE_CLINIC = "mobile_clinic"
    PHARMACY = "pharmacy"
    WAREHOUSE = "warehouse"
    AMBULANCE_BASE = "ambulance_base"
    OTHER = "other"


KIND_OF_SSA_TYPE: dict[SsaFacilityType, FacilityKind] = {
    SsaFacilityType.PRIMARY: FacilityKind.CLINIC,
    SsaFacilityType.SECONDARY: FacilityKind.HOSPITAL,
    SsaFacilityType.TERTIARY: FacilityKind.HOSPITAL,
    SsaFacilityType.MOBILE_CLINIC: FacilityKind.MOBILE_CLINIC,
    SsaFacilityType.PHARMACY: FacilityKind.PHARMACY,
    SsaFacilityType.WAREHOUSE: FacilityKind.WAREHOUSE,
    SsaFacilityType.OTHER: FacilityKind.OTHER,
}
"""The registry kind of each WHO SSA facility type."""


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true or false")
    return value


Beds = Annotated[int, Strict(), Field(ge=0, le=100_000, description="Bed capacity.")]
Precision = Annotated[GeoPrecision, BeforeValidator(_not_bool)]


class Location(BaseModel):
    """A WGS84 point, longitude first (GeoJSON order); numbers only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lon: Annotated[float, Strict()] = Field(ge=-180.0, le=180.0, description="Longitude.")
    lat: Annotated[float, Strict()] = Field(ge=-90.0, le=90.0, description="Latitude.")

    def lonlat(self) -> LonLat:
        """The point as Haven's ``LonLat``."""
        return LonLat(self.lon, self.lat)


class FocalPoint(BaseModel):
    """A person to call about a facility (stored encrypted; never published)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text = Field(min_length=1, max_length=200)
    role: Text = Field(default="", max_length=120, description="e.g. 'medical director'.")
    phone: Text | None = Field(default=None, max_length=40, description="e.g. +970 59 000 0000")
    email: Text | None = Field(default=None, max_length=254)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.match(value):
            raise ValueError("digits, spaces and + ( ) . / - only, 4 to 40 characters")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("not an e-mail address")
        return value


def _country(value: str) -> str:
    return iso3_country(value)


class FacilityIn(BaseModel):
    """A facility as a coordinator registers it, or as an import row reads."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text = Field(min_length=1, max_length=300)
    name_local: Text | None = Field(default=None, max_length=300)
    kind: FacilityKind = FacilityKind.OTHER
    operator: Text | None = Field(default=None, max_length=200, description="e.g. 'Ministry of …'")
    services: list[Annotated[Text, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=60, description="e.g. ['surgery', 'maternity']."
    )
    beds: Beds | None = None
    location: Location
    geo_precision: Precision = GeoPrecision.EXACT
    country: Annotated[str, AfterValidator(_country)] = Field(description="ISO 3166-1 alpha-3.")
    admin1: Text | None = Field(default=None, max_length=200)
    classification: Text | None = Field(default=None, max_length=120)
    facility_type: SsaFacilityType | None = None
    external_id: Text | None = Field(
        default=None, max_length=400, description="Stable id in its source; re-import updates."
    )
    focal_points: list[FocalPoint] = Field(
        default_factory=list, max_length=20, description="Encrypted at rest."
    )
    attributes: dict[
        Annotated[Text, Field(max_length=60)],
        Annotated[Text, Field(max_length=300)] | int | Annotated[float, Field(allow_inf_nan=False)],
    ] = Field(default_factory=dict, max_length=200, description="Source fields kept as they are.")
    exercise: StrictBool = False


class FacilityUpdate(BaseModel):
    """Changes to a facility: only the fields given are changed (focal points replaced whole)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text | None = Field(default=None, min_length=1, max_length=300)
    name_local: Text | None = Field(default=None, max_length=300)
    kind: FacilityKind | None = None
    operator: Text | None = Field(default=None, max_length=200)
    services: list[Annotated[Text, Field(min_length=1, max_length=120)]] | None = Field(
        default=None, max_length=60
    )
    beds: Beds | None = None
    location: Location | None = None
    geo_precision: Precision | None = None
    admin1: Text | None = Field(default=None, max_length=200)
    focal_points: list[FocalPoint] | None = Field(default=None, max_length=20)


class Facility(BaseModel):
    """A facility as staff see it (focal points only through ``focal_points``)."""

    id: int
    external_id: str
    name: str
    name_local: str | None
    kind: FacilityKind
    facility_type: str | None
    classification: str | None
    operator: str | None
    services: list[str]
    lon: float
    lat: float
    geo_precision: int
    country: str
    admin1: str | None
    beds: int | None
    exercise: bool
    has_focal_points: bool
    status: StatusSummary | None = Field(
        default=None, description="The latest status (a real one before any exercise one)."
    )


class FacilityLoad(BaseModel):
    """What a load or import did."""

    read: int
    added: int
    updated: int = 0
    unchanged: int


def _view(row: FacilityRow, status: StatusSummary | None = None) -> Facility:
    return Facility(
        id=row.id,
        external_id=row.external_id,
        name=row.name,
        name_local=row.name_local,
        kind=FacilityKind(row.kind),
        facility_type=row.facility_type,
        classification=row.classification,
        operator=row.operator,
        services=list(row.services or ()),
        lon=row.lon,
        lat=row.lat,
        geo_precision=row.geo_precision,
        country=row.country,
        admin1=row.admin1,
        beds=row.beds,
        exercise=row.is_exercise,
        has_focal_points=row.sensitive is not None,
        status=status,
    )


def _place(row: FacilityRow, point: LonLat, *, precision: GeoPrecision) -> None:
    finest = (
        8 if precision <= GeoPrecision.EXACT else 6 if precision <= GeoPrecision.NEAR_25KM else 4
    )
    cells = h3_cells(point, finest=finest)
    row.lon, row.lat, row.geo_precision = point.lon, point.lat, int(precision)
    row.h3_r4, row.h3_r6, row.h3_r8 = cells[4], cells[6], cells[8]


def _seal(session: Session, row: FacilityRow, *, people: list[FocalPoint], actor: Actor) -> None:
    """Put the focal points in the row's envelope, keeping anything else it holds."""
    bound = f"facility:{row.id}"
    kept = privacy.decrypt(session, row.sensitive, bound_to=bound) if row.sensitive else {}
    kept["focal_points"] = [p.model_dump() for p in people]
    row.sensitive = privacy.encrypt(
        session, kept, organisation_id=actor.organisation_id, bound_to=bound
    )


def _source_id(session: Session, name: str) -> int:
    found = session.scalar(select(SourceRow.id).where(SourceRow.name == name))
    if found is not None:
        return found
    source = SourceRow(name=name, kind="dataset")
    session.add(source)
    session.flush()
    return source.id


def _new_row(item: FacilityIn, *, external_id: str, source_id: int | None) -> FacilityRow:
    row = FacilityRow(
        external_id=external_id,
        name=item.name,
        name_local=item.name_local,
        kind=item.kind.value,
        facility_type=item.facility_type.value if item.facility_type else None,
        classification=item.classification,
        operator=item.operator,
        services=list(item.services),
        country=item.country,
        admin1=item.admin1,
        beds=item.beds,
        source_id=source_id,
        attributes=dict(item.attributes),
        is_exercise=item.exercise,
        updated_at=utcnow(),
    )
    _place(row, item.location.lonlat(), precision=item.geo_precision)
    return row


def create(session: Session, item: FacilityIn, *, actor: Actor) -> Facility:
    """Register one facility; ``Conflict`` if its ``external_id`` is taken."""
    require(actor, Permission.MANAGE_FACILITIES)
    external_id = item.external_id or f"haven:{uuid.uuid4()}"
    if session.scalar(select(FacilityRow.id).where(FacilityRow.external_id == external_id)):
        raise Conflict(
            f"a facility with external id {external_id!r} exists",
            fields={"external_id": "is taken"},
        )
    row = _new_row(item, external_id=external_id, source_id=None)
    session.add(row)
    session.flush()
    linkage.facilities_changed(session)
    if item.focal_points:
        _seal(session, row, people=item.focal_points, actor=actor)
    audit.record(
        session,
        actor,
        action="facility.create",
        entity_type="facility",
        entity_id=row.id,
        detail={"kind": row.kind, "focal_points": len(item.focal_points)},
    )
    return _view(row)


def _row(session: Session, facility_id: int, *, lock: bool = False) -> FacilityRow:
    query = select(FacilityRow).where(FacilityRow.id == facility_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no facility {facility_id}", fields={"facility_id": "unknown"})
    return row


def update(
    session: Session, facility_id: int, *, changes: FacilityUpdate, actor: Actor
) -> Facility:
    """Change a facility; the audit event names the fields changed (never focal point values)."""
    require(actor, Permission.MANAGE_FACILITIES)
    row = _row(session, facility_id, lock=True)
    given = changes.model_dump(exclude_unset=True)
    if "name" in given and given["name"] is None:
        raise InvalidInput("a facility needs a name", fields={"name": "cannot be null"})
    changed: list[str] = []
    for name in ("name", "name_local", "operator", "beds", "admin1"):
        if name in given and getattr(row, name) != given[name]:
            setattr(row, name, given[name])
            changed.append(name)
    if changes.kind is not None and row.kind != changes.kind.value:
        row.kind = changes.kind.value
        changed.append("kind")
    if changes.services is not None and list(row.services) != changes.services:
        row.services = list(changes.services)
        changed.append("services")
    if changes.location is not None or changes.geo_precision is not None:
        point = changes.location.lonlat() if changes.location else LonLat(row.lon, row.lat)
        precision = changes.geo_precision or GeoPrecision(row.geo_precision)
        _place(row, point, precision=precision)
        changed.append("location")
    if changes.focal_points is not None:
        _seal(session, row, people=changes.focal_points, actor=actor)
        changed.append("focal_points")
    if changed:
        row.updated_at = utcnow()
        linkage.facilities_changed(session)
        audit.record(
            session,
            actor,
            action="facility.update",
            entity_type="facility",
            entity_id=row.id,
            detail={"fields": changed},
        )
    return _view(row, latest_statuses(session, [row.id]).get(row.id))


def get(session: Session, facility_id: int, *, actor: Actor) -> Facility:
    """One facility with its latest status."""
    require(actor, Permission.READ_INCIDENTS)
    row = _row(session, facility_id)
    if actor.countries and row.country not in actor.countries:
        raise NotFound(f"no facility {facility_id}", fields={"facility_id": "unknown"})
    return _view(row, latest_statuses(session, [row.id]).get(row.id))


def focal_points(
    session: Session, facility_id: int, *, actor: Actor, purpose: str
) -> list[FocalPoint]:
    """The facility's focal points; needs ``read_sensitive`` and a purpose, and is audited."""
    row = _row(session, facility_id)
    opened = privacy.read_sensitive(
        session, row.sensitive, bound_to=f"facility:{row.id}", actor=actor, purpose=purpose
    )
    return [FocalPoint.model_validate(p) for p in opened.get("focal_points", [])]


def _in_bbox(box: BBox) -> Any:
    lat_ok = FacilityRow.lat.between(box.south, box.north)
    if box.west <= box.east:
        return and_(lat_ok, FacilityRow.lon.between(box.west, box.east))
    return and_(lat_ok, or_(FacilityRow.lon >= box.west, FacilityRow.lon <= box.east))


def list_facilities(
    session: Session,
    *,
    country: str | None = None,
    bbox: BBox | None = None,
    kind: FacilityKind | None = None,
    exercise: bool | None = None,
    limit: int | None = None,
    actor: Actor | None = None,
) -> list[Facility]:
    """Facilities by name, filtered; each with its latest status. ``actor`` None: the operator.

    An actor limited to countries (need-to-know) sees only facilities in them.
    """
    query = select(FacilityRow).order_by(FacilityRow.name, FacilityRow.id)
    if actor is not None:
        require(actor, Permission.READ_INCIDENTS)
        if actor.countries:
            query = query.where(FacilityRow.country.in_(sorted(actor.countries)))
    if country:
        query = query.where(FacilityRow.country == country)
    if bbox is not None:
        query = query.where(_in_bbox(bbox))
    if kind is not None:
        query = query.where(FacilityRow.kind == kind.value)
    if exercise is not None:
        query = query.where(FacilityRow.is_exercise == exercise)
    rows = session.scalars(query.limit(limit) if limit else query).all()
    statuses = latest_statuses(session, [r.id for r in rows])
    return [_view(row, statuses.get(row.id)) for row in rows]


def _differs(row: FacilityRow, item: FacilityIn) -> bool:
    point = item.location
    return (
        row.name,
        row.name_local,
        row.kind,
        row.operator,
        list(row.services or ()),
        row.beds,
        row.lon,
        row.lat,
        row.geo_precision,
        row.country,
        row.admin1,
        row.classification,
    ) != (
        item.name,
        item.name_local,
        item.kind.value,
        item.operator,
        list(item.services),
        item.beds,
        point.lon,
        point.lat,
        int(item.geo_precision),
        item.country,
        item.admin1,
        item.classification,
    )


def upsert_many(
    session: Session, items: Sequence[FacilityIn], *, source_name: str, actor: Actor
) -> FacilityLoad:
    """Add or update facilities by ``external_id`` (default ``<source>:<name>``); idempotent.

    The caller has validated every item: this writes them all or, on error, the
    transaction rolls back and nothing is stored.
    """
    require(actor, Permission.MANAGE_FACILITIES)
    source_id = _source_id(session, source_name)
    keyed = {(item.external_id or f"{source_name}:{item.name}"): item for item in items}
    existing: dict[str, FacilityRow] = {}
    keys = list(keyed)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for row in session.scalars(select(FacilityRow).where(FacilityRow.external_id.in_(chunk))):
            existing[row.external_id] = row
    added = updated = 0
    for external_id, item in keyed.items():
        found = existing.get(external_id)
        if found is None:
            row = _new_row(item, external_id=external_id, source_id=source_id)
            session.add(row)
            session.flush()
            action, added = "facility.create", added + 1
        elif _differs(found, item):
            row = found
            for name in ("name", "name_local", "operator", "beds", "country", "admin1"):
                setattr(row, name, getattr(item, name))
            row.classification = item.classification
            row.kind, row.services = item.kind.value, list(item.services)
            _place(row, item.location.lonlat(), precision=item.geo_precision)
            row.updated_at = utcnow()
            action, updated = "facility.update", updated + 1
        else:
            continue
        audit.record(
            session,
            actor,
            action=action,
            entity_type="facility",
            entity_id=row.id,
            detail={"source": source_name, "external_id": external_id},
        )
    linkage.facilities_changed(session)
    return FacilityLoad(
        read=len(items), added=added, updated=updated, unchanged=len(keyed) - added - updated
    )


def plain_attributes(props: Mapping[str, Any]) -> dict[str, str | int | float]:
    """The source fields worth keeping: short keys with short text or finite numbers."""
    return {
        key: value
        for key, value in props.items()
        if isinstance(key, str) and len(key) <= 60 and "\x00" not in key and _plain(value)
    }


def _plain(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= 300 and "\x00" not in value
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < 2**53
    return isinstance(value, float) and math.isfinite(value)


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
        raise InvalidInput(f"cannot read {path.name}: {exc}", fields={"file": path.name}) from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidInput("not a GeoJSON FeatureCollection", fields={"file": path.name})
    points: list[dict[str, Any]] = []
    features = data.get("features") or []
    if not isinstance(features, list):
        raise InvalidInput("features is not a list", fields={"features": "expected a list"})
    for index, feature in enumerate(features):
        where = f"features[{index}]"
        if not isinstance(feature, dict):
            raise InvalidInput("a feature is not an object", fields={where: "not a Feature"})
        geometry = feature.get("geometry") or {}
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
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
        if not isinstance(props, dict):
            raise InvalidInput("bad properties", fields={f"{where}.properties": "not an object"})
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
    """Load point facilities of one WHO SSA type from a GeoJSON file; loading it again adds nothing.

    The registry kind follows the type (``KIND_OF_SSA_TYPE``: Secondary is a hospital).
    """
    ssa_type = SsaFacilityType(facility_type)
    items = []
    for item in read_geojson_points(path):
        props, point = item["props"], item["point"]
        items.append(
            FacilityIn(
                name=item["name"],
                name_local=_first(props, _LOCAL_NAME_KEYS),
                kind=KIND_OF_SSA_TYPE[ssa_type],
                facility_type=ssa_type,
                classification=_first(props, _CLASS_KEYS),
                location=Location(lon=point.lon, lat=point.lat),
                country=country,
                admin1=_first(props, _ADMIN1_KEYS),
                beds=int(item["beds"]) if item["beds"] is not None else None,
                attributes=plain_attributes(props),
                exercise=exercise,
            )
        )
    return upsert_many(session, items, source_name=source_name, actor=actor)
