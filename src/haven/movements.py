"""Movements: ambulance runs, medical evacuations and convoys, with route, window and vehicles.

A route is a list of points, longitude first (GeoJSON order), at least two of
them: either the path followed (``linestring``) or the places passed
(``waypoints``, joined by straight lines when distances are measured). Every
coordinate is checked: an error names the field and the index of the point.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.accounts import Actor, Permission, require
from haven.errors import Conflict, InvalidInput, NotFound
from haven.facts import IsoDateTime, no_nul
from haven.geo import LonLat
from haven.models import MovementRow, utcnow

__all__ = [
    "MAX_ROUTE_POINTS",
    "IsoDateTime",
    "Movement",
    "MovementIn",
    "MovementKind",
    "MovementStatus",
    "RouteType",
    "Vehicle",
    "check_route",
    "create",
    "get",
    "list_movements",
    "route_of",
    "set_status",
]

MAX_ROUTE_POINTS = 10_000
"""The most points a route may have."""

Text = Annotated[str, AfterValidator(no_nul)]


class MovementKind(StrEnum):
    """What kind of movement it is."""

    AMBULANCE_RUN = "ambulance_run"
    MEDICAL_EVACUATION = "medical_evacuation"
    CONVOY = "convoy"


class MovementStatus(StrEnum):
    """Where a movement stands."""

    PLANNED = "planned"
    UNDER_WAY = "under_way"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RouteType(StrEnum):
    """How to read the route's points."""

    LINESTRING = "linestring"
    """The path followed, point by point."""
    WAYPOINTS = "waypoints"
    """Places the movement passes; Haven joins them by straight lines to measure distances."""


class Vehicle(BaseModel):
    """One vehicle of a movement and how it is marked."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    description: Text = Field(min_length=1, max_length=200, description="e.g. 'Type B ambulance'.")
    markings: Text = Field(
        default="", max_length=300, description="Emblems and signs, e.g. 'red crescent, roof'."
    )
    registration: Text = Field(default="", max_length=60)


class MovementIn(BaseModel):
    """A movement as a coordinator registers it. Times are UTC (an offset is required)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: MovementKind
    name: Text = Field(min_length=1, max_length=200, description="e.g. 'Evacuation Rafah-Khan Y.'")
    route: list[Annotated[list[Annotated[float, Strict()]], Field(min_length=2, max_length=2)]] = (
        Field(
            min_length=2,
            max_length=MAX_ROUTE_POINTS,
            description="[[lon, lat], …], at least two points, GeoJSON order.",
        )
    )
    route_type: RouteType = RouteType.LINESTRING
    starts_at: IsoDateTime
    ends_at: IsoDateTime
    vehicles: list[Vehicle] = Field(default_factory=list, max_length=200)
    personnel_count: Annotated[int, Strict()] | None = Field(default=None, ge=0, le=100_000)
    cargo: Text = Field(default="", max_length=2000)
    organisation: Text | None = Field(default=None, max_length=200)
    status: MovementStatus = MovementStatus.PLANNED
    exercise: StrictBool = False


class Movement(BaseModel):
    """A stored movement, as staff see it."""

    id: int
    kind: MovementKind
    name: str
    status: MovementStatus
    route: list[list[float]]
    route_type: RouteType
    starts_at: datetime
    ends_at: datetime
    vehicles: list[Vehicle]
    personnel_count: int | None
    cargo: str
    organisation: str | None
    exercise: bool
    created_by: str
    updated_at: datetime


def check_route(points: list[list[float]], *, field: str = "route") -> list[LonLat]:
    """The route as ``LonLat`` points; ``InvalidInput`` names the field and index of a bad one."""
    if len(points) < 2:
        raise InvalidInput("a route needs at least two points", fields={field: "fewer than 2"})
    route: list[LonLat] = []
    for index, pair in enumerate(points):
        if len(pair) != 2:
            raise InvalidInput(
                f"{field}[{index}] is not a [lon, lat] pair",
                fields={f"{field}[{index}]": f"{len(pair)} numbers, expected 2 (lon, lat)"},
            )
        lon, lat = pair
        if not -180.0 <= lon <= 180.0:
            raise InvalidInput(
                f"{field}[{index}]: longitude {lon} is outside the world",
                fields={f"{field}[{index}].lon": f"{lon} is outside -180..180"},
            )
        if not -90.0 <= lat <= 90.0:
            raise InvalidInput(
                f"{field}[{index}]: latitude {lat} is outside the world",
                fields={f"{field}[{index}].lat": f"{lat} is outside -90..90"},
            )
        route.append(LonLat(lon, lat))
    return route


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.tzinfo is None:
            raise InvalidInput(
                f"{name} has no time zone", fields={name: "add an offset, e.g. 2025-03-03T06:00Z"}
            )
    if ends_at <= starts_at:
        raise InvalidInput(
            "the movement ends before it starts",
            fields={
                "ends_at": f"{ends_at.isoformat()} is not after starts_at {starts_at.isoformat()}"
            },
        )


def _public(row: MovementRow) -> Movement:
    return Movement(
        id=row.id,
        kind=MovementKind(row.kind),
        name=row.name,
        status=MovementStatus(row.status),
        route=row.route,
        route_type=RouteType(row.route_type),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        vehicles=[Vehicle.model_validate(v) for v in row.vehicles],
        personnel_count=row.personnel_count,
        cargo=row.cargo,
        organisation=row.organisation,
        exercise=row.is_exercise,
        created_by=row.created_by,
        updated_at=row.updated_at,
    )


def create(session: Session, movement: MovementIn, *, actor: Actor) -> Movement:
    """Register a movement; bad coordinates or a window that ends before it starts write nothing."""
    require(actor, Permission.MANAGE_FACILITIES)
    route = check_route(movement.route)
    _check_window(movement.starts_at, movement.ends_at)
    now = utcnow()
    row = MovementRow(
        kind=movement.kind.value,
        name=movement.name,
        status=movement.status.value,
        route=[[p.lon, p.lat] for p in route],
        route_type=movement.route_type.value,
        starts_at=movement.starts_at,
        ends_at=movement.ends_at,
        vehicles=[v.model_dump() for v in movement.vehicles],
        personnel_count=movement.personnel_count,
        cargo=movement.cargo,
        organisation=movement.organisation,
        organisation_id=actor.organisation_id,
        is_exercise=movement.exercise,
        created_by=actor.label,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="movement.create",
        entity_type="movement",
        entity_id=row.id,
        detail={"kind": row.kind, "points": len(route), "exercise": row.is_exercise},
    )
    return _public(row)


def _row(session: Session, movement_id: int, *, lock: bool = False) -> MovementRow:
    query = select(MovementRow).where(MovementRow.id == movement_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no movement {movement_id}", fields={"movement_id": "unknown"})
    return row


def get(session: Session, movement_id: int, *, actor: Actor) -> Movement:
    """One movement."""
    require(actor, Permission.READ_INCIDENTS)
    return _public(_row(session, movement_id))


def route_of(session: Session, movement_id: int) -> list[LonLat]:
    """The stored route of a movement, as ``LonLat`` points (for other services)."""
    return [LonLat(lon, lat) for lon, lat in _row(session, movement_id).route]


def list_movements(
    session: Session,
    *,
    actor: Actor,
    at: datetime | None = None,
    status: MovementStatus | None = None,
    limit: int = 1000,
) -> list[Movement]:
    """Movements, latest start first; ``at`` (UTC when it has no offset) keeps those whose
    window holds that time."""
    require(actor, Permission.READ_INCIDENTS)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    query = select(MovementRow).order_by(MovementRow.starts_at.desc(), MovementRow.id.desc())
    if at is not None:
        query = query.where(MovementRow.starts_at <= at, MovementRow.ends_at >= at)
    if status is not None:
        query = query.where(MovementRow.status == status.value)
    return [_public(row) for row in session.scalars(query.limit(limit))]


_NEXT: dict[MovementStatus, frozenset[MovementStatus]] = {
    MovementStatus.PLANNED: frozenset({MovementStatus.UNDER_WAY, MovementStatus.CANCELLED}),
    MovementStatus.UNDER_WAY: frozenset({MovementStatus.COMPLETED, MovementStatus.CANCELLED}),
    MovementStatus.COMPLETED: frozenset(),
    MovementStatus.CANCELLED: frozenset(),
}


def set_status(
    session: Session, movement_id: int, *, status: MovementStatus, actor: Actor
) -> Movement:
    """Move a movement on (planned → under way → completed, or cancelled); others are refused."""
    require(actor, Permission.MANAGE_FACILITIES)
    row = _row(session, movement_id, lock=True)
    old = MovementStatus(row.status)
    if status not in _NEXT[old]:
        allowed = ", ".join(sorted(_NEXT[old])) or "none (it is final)"
        raise Conflict(
            f"a {old} movement cannot become {status}",
            fields={"status": f"from {old} the next may be: {allowed}"},
        )
    row.status = status.value
    row.updated_at = utcnow()
    detail: dict[str, Any] = {"from": old.value, "to": status.value}
    audit.record(
        session,
        actor,
        action="movement.status",
        entity_type="movement",
        entity_id=row.id,
        detail=detail,
    )
    return _public(row)
