"""Road closures, checkpoints and no-go areas: what coordinators (or incidents) put on the map.

A closure is a GeoJSON Point, LineString or Polygon (lon/lat) buffered by ``radius_m``,
valid from ``valid_from`` until ``valid_until`` (open-ended when empty) or until a
coordinator ends it. ``closure`` and ``no_go`` block every road they touch;
``checkpoint`` adds ``delay_s`` to each road through it. A closure may come from an
incident (``incident_id``, typically an obstruction): its geometry then defaults to the
incident's point. Every change writes an audit event in the same transaction.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import shapely
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from haven import audit
from haven.accounts import Actor, Permission, require
from haven.errors import Conflict, InvalidInput, NotFound
from haven.facts import IsoDateTime, no_nul
from haven.models import IncidentRow, RoadClosureRow, utcnow
from haven.routing.build import EARTH_RADIUS_M

__all__ = [
    "Closure",
    "ClosureIn",
    "ClosureKind",
    "ClosureSource",
    "active_closures",
    "closure_polygon",
    "create_closure",
    "end_closure",
    "get_closure",
    "list_closures",
]

Text = Annotated[str, AfterValidator(no_nul)]
_GEOMETRY_TYPES = {"Point", "LineString", "Polygon"}
_MAX_POINTS = 10_000
_M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0


class ClosureKind(StrEnum):
    """What a closure does to the roads it touches."""

    CLOSURE = "closure"
    """The road is closed (blocked)."""
    CHECKPOINT = "checkpoint"
    """Vehicles are stopped: ``delay_s`` is added to each road through it."""
    NO_GO = "no_go"
    """A front line or no-go area: blocked, like a closure."""


class ClosureSource(StrEnum):
    """Who put the closure on the map."""

    COORDINATOR = "coordinator"
    INCIDENT = "incident"


class ClosureIn(BaseModel):
    """A closure as a coordinator enters it. Times are UTC (an offset is required)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text = Field(min_length=1, max_length=200, description="e.g. 'Bridge closed (exercise)'.")
    kind: ClosureKind = ClosureKind.CLOSURE
    geometry: dict[str, Any] | None = Field(
        default=None,
        description=(
            "GeoJSON Point, LineString or Polygon, lon/lat. May be left out when "
            "`incident_id` is given: the incident's point is used."
        ),
    )
    radius_m: float = Field(
        default=30.0, ge=0.0, le=50_000.0, description="Buffer around the geometry, metres."
    )
    delay_s: float = Field(
        default=600.0, ge=0.0, le=86_400.0, description="Time a checkpoint adds, seconds."
    )
    valid_from: IsoDateTime | None = Field(default=None, description="Default: now.")
    valid_until: IsoDateTime | None = Field(default=None, description="Empty: until ended.")
    incident_id: Text | None = Field(default=None, max_length=64)
    exercise: StrictBool = False


class Closure(BaseModel):
    """A stored closure, as staff see it."""

    id: int
    name: str
    kind: ClosureKind
    geometry: dict[str, Any]
    radius_m: float
    delay_s: float
    valid_from: datetime
    valid_until: datetime | None
    ended_at: datetime | None
    source: ClosureSource
    incident_id: str | None
    exercise: bool
    created_by: str
    created_at: datetime
    active: bool
    """Whether it is in force now (or at the time the list was asked for)."""


def _check_position(pair: Any, where: str) -> list[float]:
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise InvalidInput(
            f"{where} is not a [lon, lat] pair", fields={where: "expected [lon, lat]"}
        )
    lon, lat = pair
    if (
        isinstance(lon, bool)
        or isinstance(lat, bool)
        or not all(isinstance(v, int | float) and math.isfinite(v) for v in (lon, lat))
    ):
        raise InvalidInput(f"{where} is not a pair of numbers", fields={where: "expected numbers"})
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InvalidInput(f"{where} is outside the world", fields={where: f"[{lon}, {lat}]"})
    return [float(lon), float(lat)]


def _check_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    """The geometry cleaned; ``InvalidInput`` names ``geometry`` and the bad point."""
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind not in _GEOMETRY_TYPES:
        raise InvalidInput(
            "the geometry must be a GeoJSON Point, LineString or Polygon",
            fields={"geometry.type": f"{kind!r} is not Point, LineString or Polygon"},
        )
    if kind == "Point":
        return {"type": kind, "coordinates": _check_position(coords, "geometry.coordinates")}
    rings = [coords] if kind == "LineString" else coords
    if not isinstance(rings, list) or not rings or len(rings) > 100:
        raise InvalidInput(
            "the geometry has no coordinates", fields={"geometry.coordinates": "empty"}
        )
    cleaned: list[list[list[float]]] = []
    for r, ring in enumerate(rings):
        if not isinstance(ring, list) or not 2 <= len(ring) <= _MAX_POINTS:
            raise InvalidInput(
                "a line or ring needs 2 to 10,000 points",
                fields={f"geometry.coordinates[{r}]": "wrong number of points"},
            )
        cleaned.append(
            [_check_position(p, f"geometry.coordinates[{r}][{i}]") for i, p in enumerate(ring)]
        )
    if kind == "LineString":
        return {"type": kind, "coordinates": cleaned[0]}
    clean = {"type": kind, "coordinates": cleaned}
    polygon = shapely.geometry.shape(clean) if len(cleaned[0]) >= 4 else None
    if polygon is None or not polygon.is_valid or polygon.area == 0:
        raise InvalidInput(
            "the polygon is not valid (closed ring of 4+ points, no self-crossing)",
            fields={"geometry": "invalid polygon"},
        )
    return clean


def closure_polygon(closure: Closure | RoadClosureRow) -> Any:
    """The area a closure covers, as a shapely geometry in lon/lat (buffered by its radius)."""
    shape = shapely.geometry.shape(closure.geometry)
    if closure.radius_m <= 0:
        return shape
    lat0 = shape.centroid.y
    kx = _M_PER_DEG * max(math.cos(math.radians(lat0)), 0.01)
    scaled = shapely.affinity.scale(shape, xfact=kx, yfact=_M_PER_DEG, origin=(0, 0))
    buffered = scaled.buffer(closure.radius_m)
    return shapely.affinity.scale(buffered, xfact=1 / kx, yfact=1 / _M_PER_DEG, origin=(0, 0))


def _is_active(row: RoadClosureRow, at: datetime) -> bool:
    return (
        row.valid_from <= at
        and (row.valid_until is None or at < row.valid_until)
        and (row.ended_at is None or at < row.ended_at)
    )


def _public(row: RoadClosureRow, *, at: datetime) -> Closure:
    return Closure(
        id=row.id,
        name=row.name,
        kind=ClosureKind(row.kind),
        geometry=row.geometry,
        radius_m=row.radius_m,
        delay_s=row.delay_s,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        ended_at=row.ended_at,
        source=ClosureSource(row.source),
        incident_id=row.incident_id,
        exercise=row.is_exercise,
        created_by=row.created_by,
        created_at=row.created_at,
        active=_is_active(row, at),
    )


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{name} has no time zone", fields={name: "add an offset, e.g. Z"})
    return value.astimezone(UTC) if value is not None else None


def create_closure(session: Session, closure: ClosureIn, *, actor: Actor) -> Closure:
    """Put a closure on the map; bad geometry or window writes nothing."""
    require(actor, Permission.MANAGE_FACILITIES)
    now = utcnow()
    valid_from = _utc(closure.valid_from, "valid_from") or now
    valid_until = _utc(closure.valid_until, "valid_until")
    if valid_until is not None and valid_until <= valid_from:
        raise InvalidInput(
            "the closure ends before it starts",
            fields={"valid_until": f"{valid_until.isoformat()} is not after valid_from"},
        )
    geometry = closure.geometry
    if closure.incident_id is not None:
        incident = session.get(IncidentRow, closure.incident_id)
        if incident is None:
            raise NotFound(f"no incident {closure.incident_id}", fields={"incident_id": "unknown"})
        if geometry is None:
            if incident.lon is None or incident.lat is None:
                raise InvalidInput(
                    "the incident has no location; give a geometry",
                    fields={"geometry": "required: the incident has no point"},
                )
            geometry = {"type": "Point", "coordinates": [incident.lon, incident.lat]}
    if geometry is None:
        raise InvalidInput("a closure needs a geometry", fields={"geometry": "is required"})
    row = RoadClosureRow(
        name=closure.name,
        kind=closure.kind.value,
        geometry=_check_geometry(geometry),
        radius_m=closure.radius_m,
        delay_s=closure.delay_s if closure.kind is ClosureKind.CHECKPOINT else 0.0,
        valid_from=valid_from,
        valid_until=valid_until,
        source=(ClosureSource.INCIDENT if closure.incident_id else ClosureSource.COORDINATOR).value,
        incident_id=closure.incident_id,
        is_exercise=closure.exercise,
        created_by=actor.label,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="closure.create",
        entity_type="road_closure",
        entity_id=row.id,
        detail={"kind": row.kind, "source": row.source, "exercise": row.is_exercise},
    )
    return _public(row, at=now)


def _row(session: Session, closure_id: int, *, lock: bool = False) -> RoadClosureRow:
    query = select(RoadClosureRow).where(RoadClosureRow.id == closure_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no closure {closure_id}", fields={"closure_id": "unknown"})
    return row


def get_closure(session: Session, closure_id: int, *, actor: Actor) -> Closure:
    """One closure."""
    require(actor, Permission.READ_INCIDENTS)
    return _public(_row(session, closure_id), at=utcnow())


def end_closure(
    session: Session, closure_id: int, *, actor: Actor, at: datetime | None = None
) -> Closure:
    """End a closure now (or at ``at``); ending one already ended is a ``Conflict``."""
    require(actor, Permission.MANAGE_FACILITIES)
    row = _row(session, closure_id, lock=True)
    when = _utc(at, "at") or utcnow()
    if row.ended_at is not None:
        raise Conflict(f"closure {closure_id} was already ended", fields={"closure_id": "ended"})
    row.ended_at = when
    row.ended_by = actor.label
    session.flush()
    audit.record(
        session,
        actor,
        action="closure.end",
        entity_type="road_closure",
        entity_id=row.id,
        detail={"ended_at": when.isoformat()},
    )
    return _public(row, at=utcnow())


def active_closures(
    session: Session, *, at: datetime, include_exercise: bool = True
) -> list[RoadClosureRow]:
    """Closure rows in force at ``at`` (for the router; no permission check).

    Without ``include_exercise``, only real closures (what real routes obey).
    """
    query = select(RoadClosureRow).where(
        RoadClosureRow.valid_from <= at,
        or_(RoadClosureRow.valid_until.is_(None), RoadClosureRow.valid_until > at),
        or_(RoadClosureRow.ended_at.is_(None), RoadClosureRow.ended_at > at),
    )
    if not include_exercise:
        query = query.where(RoadClosureRow.is_exercise.is_(False))
    return list(session.scalars(query.order_by(RoadClosureRow.id)))


def list_closures(
    session: Session,
    *,
    actor: Actor,
    at: datetime | None = None,
    active_only: bool = True,
    limit: int = 1000,
) -> list[Closure]:
    """Closures, newest first: those in force at ``at`` (default now), or all."""
    require(actor, Permission.READ_INCIDENTS)
    when = _utc(at, "at") or utcnow()
    if active_only:
        rows = active_closures(session, at=when)[::-1][:limit]
    else:
        query = select(RoadClosureRow).order_by(RoadClosureRow.id.desc()).limit(limit)
        rows = list(session.scalars(query))
    return [_public(row, at=when) for row in rows]
