"""Humanitarian corridors: named routes with a status, its full history and measured KPIs.

A corridor is a route through waypoints (``[[lon, lat], …]``, GeoJSON order),
routed on the imported road network when it is created and stored with that
path. Its status is ``open``, ``restricted`` or ``closed``; every change is a
row in ``corridor_status_changes`` (who, when, why, automatic or manual) and an
audit event. ``haven.corridor_check`` applies the automatic rules and measures
travel time and risk; ``corridor_kpis`` summarises those measurements (the
"faster delivery of aid" indicator).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StrictBool
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.accounts import Actor, Permission, require
from haven.errors import Conflict, InvalidInput, NotFound
from haven.facts import no_nul
from haven.geo import LonLat
from haven.models import (
    CorridorObservationRow,
    CorridorRow,
    CorridorStatusChangeRow,
    utcnow,
)
from haven.movements import check_route

__all__ = [
    "DEFAULT_BUFFER_M",
    "DEFAULT_INCIDENT_DAYS",
    "MAX_WAYPOINTS",
    "Corridor",
    "CorridorIn",
    "CorridorKpi",
    "CorridorKpis",
    "CorridorMode",
    "CorridorStatus",
    "CorridorUpdate",
    "Observation",
    "StatusChange",
    "StatusIn",
    "change_status",
    "corridor_kpis",
    "get",
    "history",
    "list_corridors",
    "observations",
    "row",
    "set_status",
    "store",
    "update",
    "waypoints_of",
]

MAX_WAYPOINTS = 50
"""The most waypoints a corridor may have."""
DEFAULT_BUFFER_M = 300.0
"""Incidents and closures this close to a corridor touch it, unless the corridor says otherwise."""
DEFAULT_INCIDENT_DAYS = 7
"""An incident this many days old or newer near a corridor restricts it, by default."""

Text = Annotated[str, AfterValidator(no_nul)]


class CorridorStatus(StrEnum):
    """Whether a corridor may be used."""

    OPEN = "open"
    RESTRICTED = "restricted"
    """Usable with care: a recent incident, a checkpoint or a closure near it."""
    CLOSED = "closed"
    """Not usable: a closure or no-go area crosses it, or no road joins its waypoints."""


SEVERITY = {CorridorStatus.OPEN: 0, CorridorStatus.RESTRICTED: 1, CorridorStatus.CLOSED: 2}
"""Strictness of a status: the automatic check may raise a manual status, never lower it."""


class CorridorMode(StrEnum):
    """The routing mode a corridor's path and measurements use."""

    FASTEST = "fastest"
    SAFEST = "safest"
    BALANCED = "balanced"


Waypoint = Annotated[list[Annotated[float, Strict()]], Field(min_length=2, max_length=2)]


class CorridorIn(BaseModel):
    """A corridor as a coordinator declares it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text = Field(min_length=1, max_length=200, description="e.g. 'North road to the port'.")
    description: Text = Field(default="", max_length=2000)
    waypoints: list[Waypoint] = Field(
        min_length=2, max_length=MAX_WAYPOINTS, description="[[lon, lat], …] in travel order."
    )
    mode: CorridorMode = CorridorMode.FASTEST
    buffer_m: float = Field(default=DEFAULT_BUFFER_M, ge=10.0, le=20_000.0)
    incident_days: Annotated[int, Strict()] = Field(default=DEFAULT_INCIDENT_DAYS, ge=1, le=365)
    exercise: StrictBool = False


class Observation(BaseModel):
    """One measurement of a corridor."""

    at: datetime
    travel_time_s: float | None
    length_m: float | None
    risk: float | None
    status: CorridorStatus


class Corridor(BaseModel):
    """A stored corridor with its status in force and its latest measurement."""

    id: int
    name: str
    description: str
    waypoints: list[list[float]]
    geometry: dict[str, Any]
    """GeoJSON LineString of the routed path."""
    mode: CorridorMode
    buffer_m: float
    incident_days: int
    status: CorridorStatus
    status_automatic: bool
    status_reason: str
    status_changed_at: datetime
    length_m: float
    travel_time_s: float
    """When the corridor was created."""
    latest: Observation | None
    exercise: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class CorridorUpdate(BaseModel):
    """Changes to a corridor: only the fields given change (the path stays as agreed)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=2000)
    buffer_m: float | None = Field(default=None, ge=10.0, le=20_000.0)
    incident_days: Annotated[int, Strict()] | None = Field(default=None, ge=1, le=365)


class StatusIn(BaseModel):
    """A status set by a person, and why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: CorridorStatus
    reason: Text = Field(min_length=3, max_length=2000, description="Why, for the history.")


class StatusChange(BaseModel):
    """One entry of a corridor's status history."""

    at: datetime
    from_status: CorridorStatus | None
    to_status: CorridorStatus
    automatic: bool
    actor: str
    reason: str
    cause_type: str
    cause_id: str | None


def _observation(obs: CorridorObservationRow) -> Observation:
    return Observation(
        at=obs.at,
        travel_time_s=obs.travel_time_s,
        length_m=obs.length_m,
        risk=obs.risk,
        status=CorridorStatus(obs.status),
    )


def _public(corridor: CorridorRow, latest: CorridorObservationRow | None) -> Corridor:
    return Corridor(
        id=corridor.id,
        name=corridor.name,
        description=corridor.description,
        waypoints=corridor.waypoints,
        geometry={"type": "LineString", "coordinates": corridor.geometry},
        mode=CorridorMode(corridor.mode),
        buffer_m=corridor.buffer_m,
        incident_days=corridor.incident_days,
        status=CorridorStatus(corridor.status),
        status_automatic=corridor.status_automatic,
        status_reason=corridor.status_reason,
        status_changed_at=corridor.status_changed_at,
        length_m=corridor.length_m,
        travel_time_s=corridor.travel_time_s,
        latest=_observation(latest) if latest is not None else None,
        exercise=corridor.is_exercise,
        created_by=corridor.created_by,
        created_at=corridor.created_at,
        updated_at=corridor.updated_at,
    )


def _latest(session: Session, corridor_id: int) -> CorridorObservationRow | None:
    return session.scalar(
        select(CorridorObservationRow)
        .where(CorridorObservationRow.corridor_id == corridor_id)
        .order_by(CorridorObservationRow.at.desc(), CorridorObservationRow.id.desc())
        .limit(1)
    )


def row(session: Session, corridor_id: int, *, lock: bool = False) -> CorridorRow:
    """The stored corridor (for ``haven.corridor_check``); ``NotFound`` names the id."""
    query = select(CorridorRow).where(CorridorRow.id == corridor_id)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(f"no corridor {corridor_id}", fields={"corridor_id": "unknown"})
    return found


def waypoints_of(corridor: CorridorIn) -> list[LonLat]:
    """The waypoints as ``LonLat``; ``InvalidInput`` names the index of a bad one."""
    return check_route(corridor.waypoints, field="waypoints")


def store(
    session: Session,
    corridor: CorridorIn,
    *,
    path: Sequence[Sequence[float]],
    length_m: float,
    travel_time_s: float,
    network_sha256: str,
    actor: Actor,
) -> Corridor:
    """Store a corridor routed along ``path`` (open), with its first history entry and audit."""
    require(actor, Permission.MANAGE_FACILITIES)
    points = waypoints_of(corridor)
    if session.scalar(select(CorridorRow.id).where(CorridorRow.name == corridor.name)):
        raise Conflict(
            f"a corridor named {corridor.name!r} exists", fields={"name": "already used"}
        )
    now = utcnow()
    lons = [p[0] for p in path]
    lats = [p[1] for p in path]
    stored = CorridorRow(
        name=corridor.name,
        description=corridor.description,
        waypoints=[[p.lon, p.lat] for p in points],
        geometry=[[float(lon), float(lat)] for lon, lat in path],
        mode=corridor.mode.value,
        buffer_m=corridor.buffer_m,
        incident_days=corridor.incident_days,
        status=CorridorStatus.OPEN.value,
        status_automatic=True,
        status_reason="created",
        status_changed_at=now,
        min_lon=min(lons),
        min_lat=min(lats),
        max_lon=max(lons),
        max_lat=max(lats),
        length_m=length_m,
        travel_time_s=travel_time_s,
        network_sha256=network_sha256,
        is_exercise=corridor.exercise,
        created_by=actor.label,
        created_at=now,
        updated_at=now,
    )
    session.add(stored)
    session.flush()
    _history_row(
        session,
        stored,
        to_status=CorridorStatus.OPEN,
        from_status=None,
        automatic=False,
        actor=actor,
        reason="corridor created",
        cause=("created", None),
        at=now,
    )
    audit.record(
        session,
        actor,
        action="corridor.create",
        entity_type="corridor",
        entity_id=stored.id,
        detail={
            "name": stored.name,
            "waypoints": len(points),
            "mode": stored.mode,
            "length_m": round(length_m, 1),
            "exercise": stored.is_exercise,
        },
    )
    return _public(stored, None)


def _history_row(  # noqa: PLR0913 - one parameter per column of the history row
    session: Session,
    corridor: CorridorRow,
    *,
    to_status: CorridorStatus,
    from_status: CorridorStatus | None,
    automatic: bool,
    actor: Actor,
    reason: str,
    cause: tuple[str, str | None],
    at: datetime,
) -> None:
    session.add(
        CorridorStatusChangeRow(
            corridor_id=corridor.id,
            at=at,
            from_status=from_status.value if from_status else None,
            to_status=to_status.value,
            automatic=automatic,
            actor=actor.label,
            actor_user_id=actor.user_id,
            reason=reason,
            cause_type=cause[0],
            cause_id=cause[1],
        )
    )


def change_status(
    session: Session,
    corridor: CorridorRow,
    *,
    to_status: CorridorStatus,
    reason: str,
    automatic: bool,
    actor: Actor,
    cause: tuple[str, str | None] = ("manual", None),
    at: datetime | None = None,
) -> bool:
    """Move ``corridor`` to ``to_status`` with a history row and an audit event.

    Returns whether anything changed (the same status set again by the automatic
    check changes nothing; set by a person, it records the person's reason).
    """
    before = CorridorStatus(corridor.status)
    if automatic and before is to_status:
        return False
    when = at or utcnow()
    _history_row(
        session,
        corridor,
        to_status=to_status,
        from_status=before,
        automatic=automatic,
        actor=actor,
        reason=reason,
        cause=cause,
        at=when,
    )
    corridor.status = to_status.value
    corridor.status_automatic = automatic
    corridor.status_reason = reason
    corridor.status_changed_at = when
    corridor.updated_at = utcnow()
    audit.record(
        session,
        actor,
        action="corridor.status",
        entity_type="corridor",
        entity_id=corridor.id,
        detail={
            "from": before.value,
            "to": to_status.value,
            "automatic": automatic,
            "reason": reason,
            "cause_type": cause[0],
            "cause_id": cause[1],
        },
    )
    return True


def update(
    session: Session, corridor_id: int, *, changes: CorridorUpdate, actor: Actor
) -> Corridor:
    """Change a corridor's name, description, buffer or incident window (not its path).

    Only the fields given change; the audit event lists them. A corridor is never
    deleted (its history and measurements are the record): close it instead.
    """
    require(actor, Permission.MANAGE_FACILITIES)
    corridor = row(session, corridor_id, lock=True)
    given = changes.model_dump(exclude_unset=True)
    if given.get("name") not in (None, corridor.name) and session.scalar(
        select(CorridorRow.id).where(CorridorRow.name == given["name"])
    ):
        raise Conflict(
            f"a corridor named {given['name']!r} exists", fields={"name": "already used"}
        )
    changed = sorted(k for k, v in given.items() if v is not None and getattr(corridor, k) != v)
    for name in changed:
        setattr(corridor, name, given[name])
    if changed:
        corridor.updated_at = utcnow()
        audit.record(
            session,
            actor,
            action="corridor.update",
            entity_type="corridor",
            entity_id=corridor.id,
            detail={"changed": changed},
        )
    return _public(corridor, _latest(session, corridor.id))


def set_status(session: Session, corridor_id: int, *, change: StatusIn, actor: Actor) -> Corridor:
    """A person sets the status; it holds against the automatic check until a person changes it
    (the check may still make it stricter)."""
    require(actor, Permission.MANAGE_FACILITIES)
    corridor = row(session, corridor_id, lock=True)
    change_status(
        session,
        corridor,
        to_status=change.status,
        reason=change.reason,
        automatic=False,
        actor=actor,
    )
    return _public(corridor, _latest(session, corridor.id))


def get(session: Session, corridor_id: int, *, actor: Actor) -> Corridor:
    """One corridor with its latest measurement."""
    require(actor, Permission.READ_INCIDENTS)
    corridor = row(session, corridor_id)
    return _public(corridor, _latest(session, corridor.id))


def list_corridors(
    session: Session,
    *,
    actor: Actor,
    status: CorridorStatus | None = None,
    exercise: bool | None = None,
) -> list[Corridor]:
    """Corridors by name, optionally of one status or exercise-ness."""
    require(actor, Permission.READ_INCIDENTS)
    query = select(CorridorRow).order_by(CorridorRow.name)
    if status is not None:
        query = query.where(CorridorRow.status == status.value)
    if exercise is not None:
        query = query.where(CorridorRow.is_exercise == exercise)
    return [_public(c, _latest(session, c.id)) for c in session.scalars(query)]


def history(session: Session, corridor_id: int, *, actor: Actor) -> list[StatusChange]:
    """Every status the corridor had, oldest first."""
    require(actor, Permission.READ_INCIDENTS)
    row(session, corridor_id)
    rows = session.scalars(
        select(CorridorStatusChangeRow)
        .where(CorridorStatusChangeRow.corridor_id == corridor_id)
        .order_by(CorridorStatusChangeRow.at, CorridorStatusChangeRow.id)
    )
    return [
        StatusChange(
            at=r.at,
            from_status=CorridorStatus(r.from_status) if r.from_status else None,
            to_status=CorridorStatus(r.to_status),
            automatic=r.automatic,
            actor=r.actor,
            reason=r.reason,
            cause_type=r.cause_type,
            cause_id=r.cause_id,
        )
        for r in rows
    ]


def observations(
    session: Session,
    corridor_id: int,
    *,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Observation]:
    """The corridor's measurements in ``[since, until)``, oldest first."""
    require(actor, Permission.READ_INCIDENTS)
    row(session, corridor_id)
    query = select(CorridorObservationRow).where(CorridorObservationRow.corridor_id == corridor_id)
    if since is not None:
        query = query.where(CorridorObservationRow.at >= since)
    if until is not None:
        query = query.where(CorridorObservationRow.at < until)
    query = query.order_by(CorridorObservationRow.at, CorridorObservationRow.id)
    return [_observation(o) for o in session.scalars(query)]


class CorridorKpi(BaseModel):
    """One corridor's travel time trend and availability over a window."""

    corridor_id: int
    name: str
    exercise: bool
    status: CorridorStatus
    """The status in force at the window's end."""
    observations: int
    first_travel_time_s: float | None
    last_travel_time_s: float | None
    median_travel_time_s: float | None
    travel_time_change_pct: float | None
    """``(last - first) / first × 100``: negative is faster, better."""
    mean_risk: float | None
    hours_open: float
    hours_restricted: float
    hours_closed: float
    open_share: float | None
    """Hours open / hours the corridor existed in the window."""
    status_changes: int


class CorridorKpis(BaseModel):
    """Corridor KPIs over ``[since, until)``: the "faster delivery of aid" indicator."""

    since: datetime
    until: datetime
    corridor_count: int
    corridors: list[CorridorKpi]
    median_travel_time_change_pct: float | None
    """Over corridors with at least two timed observations."""
    open_share: float | None
    """Hours open / hours existing, summed over corridors."""
    status_changes: int


def _check_window(since: datetime, until: datetime) -> None:
    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is None:
            raise InvalidInput(f"{name} has no time zone", fields={name: "give a UTC time"})
    if until <= since:
        raise InvalidInput(
            "the window ends before it starts",
            fields={"until": f"{until.isoformat()} is not after since {since.isoformat()}"},
        )


def _status_hours(
    corridor: CorridorRow,
    changes: Sequence[CorridorStatusChangeRow],
    *,
    since: datetime,
    until: datetime,
) -> tuple[dict[CorridorStatus, float], CorridorStatus, int]:
    """Hours in each status within the window, the status at ``until``, changes inside."""
    hours = dict.fromkeys(CorridorStatus, 0.0)
    status: CorridorStatus | None = None
    start = max(since, corridor.created_at)
    inside = 0
    for change in changes:
        at = change.at.astimezone(UTC)
        if at >= until:
            break
        if at > start and status is not None:
            hours[status] += (at - start).total_seconds() / 3600
        if at >= since and change.from_status is not None:
            inside += 1
        status = CorridorStatus(change.to_status)
        start = max(start, at)
    if status is None:
        status = CorridorStatus(corridor.status)
    if until > start:
        hours[status] += (until - start).total_seconds() / 3600
    return hours, status, inside


def _kpi(
    corridor: CorridorRow,
    *,
    changes: Sequence[CorridorStatusChangeRow],
    measured: Sequence[CorridorObservationRow],
    since: datetime,
    until: datetime,
) -> CorridorKpi:
    hours, status, inside = _status_hours(corridor, changes, since=since, until=until)
    times = [o.travel_time_s for o in measured if o.travel_time_s is not None]
    risks = [o.risk for o in measured if o.risk is not None]
    first = times[0] if times else None
    last = times[-1] if times else None
    existed = sum(hours.values())
    return CorridorKpi(
        corridor_id=corridor.id,
        name=corridor.name,
        exercise=corridor.is_exercise,
        status=status,
        observations=len(measured),
        first_travel_time_s=first,
        last_travel_time_s=last,
        median_travel_time_s=statistics.median(times) if times else None,
        travel_time_change_pct=(
            (last - first) / first * 100 if len(times) >= 2 and first and last is not None else None
        ),
        mean_risk=statistics.fmean(risks) if risks else None,
        hours_open=hours[CorridorStatus.OPEN],
        hours_restricted=hours[CorridorStatus.RESTRICTED],
        hours_closed=hours[CorridorStatus.CLOSED],
        open_share=hours[CorridorStatus.OPEN] / existed if existed > 0 else None,
        status_changes=inside,
    )


def corridor_kpis(
    session: Session, *, since: datetime, until: datetime, exercise: bool | None = None
) -> CorridorKpis:
    """Per-corridor travel-time trend and availability over ``[since, until)`` (reads only).

    ``exercise``: ``None`` all corridors, ``False`` real ones only, ``True`` exercise only.
    Corridors created after ``until`` are left out.
    """
    _check_window(since, until)
    query = select(CorridorRow).where(CorridorRow.created_at < until).order_by(CorridorRow.name)
    if exercise is not None:
        query = query.where(CorridorRow.is_exercise == exercise)
    kpis: list[CorridorKpi] = []
    for corridor in session.scalars(query):
        changes = session.scalars(
            select(CorridorStatusChangeRow)
            .where(CorridorStatusChangeRow.corridor_id == corridor.id)
            .order_by(CorridorStatusChangeRow.at, CorridorStatusChangeRow.id)
        ).all()
        measured = session.scalars(
            select(CorridorObservationRow)
            .where(
                CorridorObservationRow.corridor_id == corridor.id,
                CorridorObservationRow.at >= since,
                CorridorObservationRow.at < until,
            )
            .order_by(CorridorObservationRow.at, CorridorObservationRow.id)
        ).all()
        kpis.append(_kpi(corridor, changes=changes, measured=measured, since=since, until=until))
    changes_pct = [k.travel_time_change_pct for k in kpis if k.travel_time_change_pct is not None]
    existed = sum(k.hours_open + k.hours_restricted + k.hours_closed for k in kpis)
    return CorridorKpis(
        since=since,
        until=until,
        corridor_count=len(kpis),
        corridors=kpis,
        median_travel_time_change_pct=statistics.median(changes_pct) if changes_pct else None,
        open_share=sum(k.hours_open for k in kpis) / existed if existed > 0 else None,
        status_changes=sum(k.status_changes for k in kpis),
    )
