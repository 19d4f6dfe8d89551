"""Corridor routing and the automatic check: status from closures and incidents, measurements.

The automatic rules, applied at a time ``at`` to the corridor's stored path
(``buffer_m`` and ``incident_days`` are per corridor):

1. an active ``closure`` or ``no_go`` area that crosses the path → **closed**;
2. else an active closure or no-go area within ``buffer_m`` of the path, an
   active ``checkpoint`` within ``buffer_m``, or an incident within ``buffer_m``
   that happened in the last ``incident_days`` days → **restricted**;
3. else → **open**; and if no road joins the waypoints at all → **closed**.

A real corridor reacts to real incidents and closures only; an exercise
corridor to both. Incidents merged into another, rejected or withdrawn do not
count. A status set by a person holds: the check may make it stricter, never
laxer (a person reopens it). Each check also re-routes the corridor through its
waypoints under the conditions at ``at`` and stores the travel time, length and
risk exposure as an observation (the corridor KPIs' raw data).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import shapely
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit, corridors
from haven.accounts import SYSTEM, Actor, Permission, require
from haven.corridors import SEVERITY, Corridor, CorridorIn, CorridorStatus, Observation
from haven.db import Database
from haven.errors import HavenError, InvalidInput, NoRoute
from haven.geo import EARTH_RADIUS_KM, LonLat
from haven.models import CorridorObservationRow, CorridorRow, IncidentRow, utcnow
from haven.routing import RoadNetwork, active_closures, closure_polygon, load_network, route
from haven.settings import Settings

__all__ = [
    "CheckResult",
    "Measurement",
    "Verdict",
    "check",
    "check_periodically",
    "create",
    "evaluate",
    "measure",
]

log = logging.getLogger(__name__)
_M_PER_DEG = math.pi * EARTH_RADIUS_KM * 1000 / 180.0
_IGNORED_STATES = ("rejected", "withdrawn")


@dataclass(frozen=True, slots=True)
class Measurement:
    """A route through a corridor's waypoints: its path, length, time and risk."""

    path: list[list[float]]
    length_m: float
    travel_time_s: float
    risk: float
    crosses_closure: bool
    """No route avoids an active closure or no-go area: the corridor cannot be travelled."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the automatic rules say about a corridor, and the nearest cause."""

    status: CorridorStatus
    reason: str
    cause_type: str
    cause_id: str | None


class CheckResult(BaseModel):
    """One corridor after a check: its status before and after, and the measurement."""

    corridor_id: int
    name: str
    status_before: CorridorStatus
    status: CorridorStatus
    changed: bool
    reason: str
    observation: Observation


def measure(
    session: Session,
    network: RoadNetwork,
    *,
    waypoints: Sequence[LonLat],
    mode: str,
    at: datetime | None = None,
    exercise: bool = False,
) -> Measurement:
    """Route leg by leg through ``waypoints`` (lon/lat) under the conditions at ``at``.

    Raises routing's ``NoRoute`` when a leg has no path, ``InvalidInput`` (naming
    ``waypoints[i]``) when a waypoint is off the network.
    """
    path: list[list[float]] = []
    length = time = risk = 0.0
    crosses = False
    for index in range(len(waypoints) - 1):
        try:
            best = route(
                session,
                network,
                waypoints[index],
                waypoints[index + 1],
                mode=mode,
                at=at,
                exercise=exercise,
            )[0]
        except InvalidInput as exc:
            fields = {
                name.replace("origin", f"waypoints[{index}]").replace(
                    "destination", f"waypoints[{index + 1}]"
                ): why
                for name, why in exc.fields.items()
            }
            raise InvalidInput(exc.message, fields=fields) from exc
        coordinates = best.geometry["coordinates"]
        path.extend(coordinates if not path else coordinates[1:])
        length += best.length_m
        time += best.travel_time_s
        risk += best.risk_exposure
        crosses = crosses or best.crosses_closure
    return Measurement(path, length, time, risk, crosses)


def create(session: Session, corridor: CorridorIn, *, settings: Settings, actor: Actor) -> Corridor:
    """Route a new corridor through its waypoints on the imported network, store it, check it.

    The path is routed under today's conditions; the first check right after
    sets the status the rules give and stores the first observation.
    """
    require(actor, Permission.MANAGE_FACILITIES)
    network = load_network(session, settings)
    measured = measure(
        session,
        network,
        waypoints=corridors.waypoints_of(corridor),
        mode=corridor.mode,
        exercise=corridor.exercise,
    )
    stored = corridors.store(
        session,
        corridor,
        path=measured.path,
        length_m=measured.length_m,
        travel_time_s=measured.travel_time_s,
        network_sha256=network.sha256,
        actor=actor,
    )
    _check_one(
        session, corridors.row(session, stored.id), network=network, actor=actor, at=utcnow()
    )
    return corridors.get(session, stored.id, actor=actor)


class _Plane:
    """Metres east/north of the origin on a local equirectangular plane (fine at city scale)."""

    def __init__(self, lat0: float) -> None:
        self.kx = _M_PER_DEG * max(math.cos(math.radians(lat0)), 0.01)

    def geometry(self, shape: Any) -> Any:
        return shapely.affinity.scale(shape, xfact=self.kx, yfact=_M_PER_DEG, origin=(0, 0))


def _closure_verdict(
    session: Session, corridor: CorridorRow, *, line: Any, plane: _Plane, at: datetime
) -> Verdict | None:
    near: tuple[float, Any] | None = None
    for closure in active_closures(session, at=at):
        if closure.is_exercise and not corridor.is_exercise:
            continue
        area = plane.geometry(closure_polygon(closure))
        distance = float(area.distance(line))
        blocks = closure.kind in ("closure", "no_go")
        if blocks and distance == 0.0:
            return Verdict(
                CorridorStatus.CLOSED,
                f"{closure.kind} {closure.id} '{closure.name}' crosses the corridor",
                "closure",
                str(closure.id),
            )
        if distance <= corridor.buffer_m and (near is None or distance < near[0]):
            near = (distance, closure)
    if near is None:
        return None
    distance, closure = near
    return Verdict(
        CorridorStatus.RESTRICTED,
        f"{closure.kind} {closure.id} '{closure.name}' is {distance:.0f} m from the corridor",
        "closure",
        str(closure.id),
    )


def _incident_verdict(
    session: Session, corridor: CorridorRow, *, line: Any, plane: _Plane, at: datetime
) -> Verdict | None:
    pad_lat = corridor.buffer_m / _M_PER_DEG
    pad_lon = corridor.buffer_m / plane.kx
    query = select(IncidentRow.id, IncidentRow.lon, IncidentRow.lat, IncidentRow.occurred_at).where(
        IncidentRow.lat.between(corridor.min_lat - pad_lat, corridor.max_lat + pad_lat),
        IncidentRow.lon.between(corridor.min_lon - pad_lon, corridor.max_lon + pad_lon),
        IncidentRow.occurred_at >= at - timedelta(days=corridor.incident_days),
        IncidentRow.occurred_at <= at,
        IncidentRow.merged_into.is_(None),
        IncidentRow.state.not_in(_IGNORED_STATES),
    )
    if not corridor.is_exercise:
        query = query.where(IncidentRow.is_exercise.is_(False))
    nearest: tuple[float, str, datetime] | None = None
    for incident_id, lon, lat, occurred_at in session.execute(query):
        distance = float(line.distance(plane.geometry(shapely.Point(lon, lat))))
        if distance <= corridor.buffer_m and (nearest is None or distance < nearest[0]):
            nearest = (distance, incident_id, occurred_at)
    if nearest is None:
        return None
    distance, incident_id, occurred_at = nearest
    return Verdict(
        CorridorStatus.RESTRICTED,
        f"incident {incident_id} {distance:.0f} m from the corridor on "
        f"{occurred_at.astimezone(UTC):%Y-%m-%d}",
        "incident",
        incident_id,
    )


def evaluate(session: Session, corridor: CorridorRow, *, at: datetime) -> Verdict:
    """The status the automatic rules give ``corridor`` at ``at`` (reads only)."""
    plane = _Plane((corridor.min_lat + corridor.max_lat) / 2)
    line = plane.geometry(shapely.LineString(corridor.geometry))
    closure = _closure_verdict(session, corridor, line=line, plane=plane, at=at)
    if closure is not None and closure.status is CorridorStatus.CLOSED:
        return closure
    incident = _incident_verdict(session, corridor, line=line, plane=plane, at=at)
    found = closure or incident
    if found is not None:
        return found
    return Verdict(
        CorridorStatus.OPEN, "no closure or recent incident near the corridor", "cleared", None
    )


def _apply(
    session: Session, corridor: CorridorRow, *, verdict: Verdict, actor: Actor, at: datetime
) -> bool:
    current = CorridorStatus(corridor.status)
    if verdict.status is current:
        return False
    if not corridor.status_automatic and SEVERITY[verdict.status] < SEVERITY[current]:
        return False  # a person's status holds until a person changes it
    return corridors.change_status(
        session,
        corridor,
        to_status=verdict.status,
        reason=verdict.reason,
        automatic=True,
        actor=actor,
        cause=(verdict.cause_type, verdict.cause_id),
        at=at,
    )


def _check_one(
    session: Session, corridor: CorridorRow, *, network: RoadNetwork, actor: Actor, at: datetime
) -> CheckResult:
    before = CorridorStatus(corridor.status)
    waypoints = [LonLat(lon, lat) for lon, lat in corridor.waypoints]
    measured: Measurement | None
    try:
        measured = measure(
            session,
            network,
            waypoints=waypoints,
            mode=corridor.mode,
            at=at,
            exercise=corridor.is_exercise,
        )
    except NoRoute:
        measured = None
    verdict = evaluate(session, corridor, at=at)
    if measured is None or measured.crosses_closure:
        measured = None
        if verdict.status is not CorridorStatus.CLOSED:
            verdict = Verdict(
                CorridorStatus.CLOSED, "no open road joins the waypoints", "closure", None
            )
    changed = _apply(session, corridor, verdict=verdict, actor=actor, at=at)
    observation = CorridorObservationRow(
        corridor_id=corridor.id,
        at=at,
        travel_time_s=measured.travel_time_s if measured else None,
        length_m=measured.length_m if measured else None,
        risk=measured.risk if measured else None,
        status=corridor.status,
    )
    session.add(observation)
    audit.record(
        session,
        actor,
        action="corridor.check",
        entity_type="corridor",
        entity_id=corridor.id,
        detail={
            "at": at.isoformat(),
            "status": corridor.status,
            "changed": changed,
            "travel_time_s": observation.travel_time_s,
            "risk": observation.risk,
        },
    )
    return CheckResult(
        corridor_id=corridor.id,
        name=corridor.name,
        status_before=before,
        status=CorridorStatus(corridor.status),
        changed=changed,
        reason=corridor.status_reason if changed else verdict.reason,
        observation=Observation(
            at=at,
            travel_time_s=observation.travel_time_s,
            length_m=observation.length_m,
            risk=observation.risk,
            status=CorridorStatus(corridor.status),
        ),
    )


def check(
    session: Session,
    *,
    settings: Settings,
    actor: Actor,
    corridor_id: int | None = None,
    at: datetime | None = None,
) -> list[CheckResult]:
    """Apply the automatic rules to one corridor (or all) at ``at`` (default now) and measure.

    Corridors created after ``at`` are not checked (asking for one is ``InvalidInput``).
    Every check writes an observation and an audit event; a status change also a
    history row. Needs ``manage_facilities``.
    """
    require(actor, Permission.MANAGE_FACILITIES)
    if at is not None and at.tzinfo is None:
        raise InvalidInput("at has no time zone", fields={"at": "give a UTC time"})
    when = at.astimezone(UTC) if at is not None else utcnow()
    if corridor_id is not None:
        targets = [corridors.row(session, corridor_id, lock=True)]
        created = targets[0].created_at
        if created > when:
            raise InvalidInput(
                "the corridor did not exist at that time",
                fields={"at": f"before the corridor was created ({created:%Y-%m-%d %H:%M} UTC)"},
            )
    else:
        query = select(CorridorRow).where(CorridorRow.created_at <= when).order_by(CorridorRow.id)
        targets = list(session.scalars(query.with_for_update()))  # a person may set one meanwhile
    if not targets:
        return []
    network = load_network(session, settings)
    return [_check_one(session, c, network=network, actor=actor, at=when) for c in targets]


async def check_periodically(database: Database, settings: Settings) -> None:
    """Check every corridor every ``corridor_check_interval_seconds`` (the server runs this).

    A failed run (e.g. no road network imported yet) is logged and tried again.
    """
    interval = settings.corridor_check_interval_seconds
    while interval > 0:
        await asyncio.sleep(interval)
        try:
            await database.awrite(lambda s: check(s, settings=settings, actor=SYSTEM))
        except HavenError:
            log.exception("the corridor check failed; retrying in %.0f s", interval)
