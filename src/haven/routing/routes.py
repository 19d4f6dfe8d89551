"""Routes and travel-time matrices: fastest, safest or balanced, with alternatives and a summary.

Modes map to the engine's trade-off levels: ``fastest`` is level 0 (travel time,
closures and checkpoint delays), ``safest`` the top level (time × (1 + 9 × risk)),
``balanced`` the level nearest ``tradeoff`` (0 … 1) in between. Alternatives come from
the penalty method: the edges of the routes found so far cost more and the route is
searched again; a candidate is kept only when it shares less than ``MAX_SHARED`` of
its length with every route before it. Coordinates are ``LonLat`` (GeoJSON order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import policy
from haven.accounts import Actor
from haven.errors import InvalidInput, NoRoute
from haven.geo import LonLat
from haven.models import IncidentRow, utcnow
from haven.routing.closures import ClosureKind
from haven.routing.conditions import Conditions, current_conditions, near_candidates
from haven.routing.engine import LEVELS, RISK_FACTOR, Engine, engine_for
from haven.routing.network import RoadNetwork
from haven.routing.shapes import edge_shapes
from haven.routing.spatial import Snap, plane, snap_points
from haven.routing.trips import Trip, find_trip, trip_shares, trip_xy

__all__ = [
    "MAX_ALTERNATIVES",
    "MAX_SHARED",
    "NearClosure",
    "NearIncident",
    "Route",
    "RouteMode",
    "TravelMatrix",
    "describe",
    "find_routes",
    "route",
    "snap_ends",
    "travel_matrix",
    "visible_near",
]

MAX_ALTERNATIVES = 3
MAX_SHARED = 0.7
"""An alternative shares less than this fraction of its length with each earlier route."""
MAX_MATRIX_CELLS = 10_000
_PENALTY_STEPS = (1.4, 2.0, 3.0, 5.0)


class RouteMode(StrEnum):
    """What a route minimises."""

    FASTEST = "fastest"
    SAFEST = "safest"
    BALANCED = "balanced"


class NearIncident(BaseModel):
    """An incident the route passes within ``near_m`` of."""

    incident_id: str
    distance_m: float
    occurred_at: datetime
    weight: float
    """Its weight in road risk now (severity × recency, 0 … 1)."""


class NearClosure(BaseModel):
    """A closure, checkpoint or no-go area the route passes near (0 m: it goes through it)."""

    closure_id: int
    name: str
    kind: ClosureKind
    distance_m: float


class Route(BaseModel):
    """One route with its travel time, length, risk and what it passes near."""

    mode: RouteMode
    tradeoff: float
    travel_time_s: float
    """Driving time plus checkpoint delays, seconds."""
    length_m: float
    risk_exposure: float
    """Σ edge risk × edge travel time: seconds driven as if at full risk."""
    risk_weighted_time_s: float
    """Σ travel time × (1 + 9 × risk), plus checkpoint delays: the safest mode's cost."""
    max_risk: float
    crosses_closure: bool
    """True only when no route avoids an active closure or no-go area."""
    near_incidents: list[NearIncident]
    near_closures: list[NearClosure]
    origin: list[float]
    destination: list[float]
    origin_snap_m: float
    destination_snap_m: float
    geometry: dict[str, Any]
    """GeoJSON LineString, ``[lon, lat]`` pairs."""
    edges: list[int]
    """Directed edge ids of the network, in order."""


class TravelMatrix(BaseModel):
    """Travel times between every origin and destination (None: unreachable)."""

    mode: RouteMode
    seconds: list[list[float | None]]
    """Travel time along the route the mode chooses, seconds."""
    cost_s: list[list[float | None]]
    """The mode's cost of that route (risk-weighted for safest/balanced), seconds."""
    origin_snap_m: list[float]
    destination_snap_m: list[float]


def _mode(mode: RouteMode | str) -> RouteMode:
    try:
        return RouteMode(mode)
    except ValueError as exc:
        raise InvalidInput(
            f"unknown mode {mode!r}", fields={"mode": "fastest, safest or balanced"}
        ) from exc


def _level(mode: RouteMode, tradeoff: float) -> int:
    if not (math.isfinite(tradeoff) and 0.0 <= tradeoff <= 1.0):
        raise InvalidInput("tradeoff must be between 0 and 1", fields={"tradeoff": str(tradeoff)})
    if mode is RouteMode.FASTEST:
        return 0
    if mode is RouteMode.SAFEST:
        return LEVELS
    return round(tradeoff * LEVELS)


def _at(at: datetime | None) -> datetime:
    if at is None:
        return utcnow()
    if at.tzinfo is None:
        raise InvalidInput("the time has no time zone", fields={"at": "add an offset, e.g. Z"})
    return at.astimezone(UTC)


def _near(
    network: RoadNetwork,
    conditions: Conditions,
    *,
    lonlat: npt.NDArray[np.float64],
    segments: npt.NDArray[np.int64],
    near_m: float,
    crossed: set[int],
) -> tuple[list[NearIncident], list[NearClosure]]:
    """Incidents and closures within ``near_m`` of the trip, nearest first.

    The line is built (in plane metres) only when an incident or closure is near one
    of the trip's road shapes ``segments`` (``near_candidates``); each incident's
    distance to the line then decides, as in an STRtree ``dwithin`` query
    (distance ≤ ``near_m``).
    """
    near_incidents, near_closures = near_candidates(
        network, conditions, segments=segments, near_m=near_m
    )
    if not len(near_incidents) and not len(near_closures):
        return [], []
    x, y = plane(network).xy(lonlat[:, 0], lonlat[:, 1])
    line = shapely.linestrings(np.column_stack([x, y]))
    incidents: list[NearIncident] = []
    if len(near_incidents):
        distances = shapely.distance(conditions.incident_tree.geometries[near_incidents], line)
        for hit, distance in zip(near_incidents.tolist(), distances.tolist(), strict=True):
            if distance > near_m:
                continue
            point = conditions.incidents[hit]
            incidents.append(
                NearIncident.model_construct(
                    incident_id=point.id,
                    distance_m=round(distance, 1),
                    occurred_at=point.occurred_at,
                    weight=round(point.weight, 4),
                )
            )
    closures: list[NearClosure] = []
    if len(near_closures):
        # the STRtree's own predicate (a prepared line), as before: for a line of zero
        # length GEOS finds no polygon within any distance, and routes keep that answer
        shapely.prepare(line)
        shapes = conditions.closure_tree.geometries[near_closures]
        within = shapely.dwithin(line, shapes, near_m)
        distances = shapely.distance(shapes, line)
        for hit, distance, near in zip(
            near_closures.tolist(), distances.tolist(), within.tolist(), strict=True
        ):
            if not near:
                continue
            area = conditions.closures[hit]
            closures.append(
                NearClosure.model_construct(
                    closure_id=area.id,
                    name=area.name,
                    kind=area.kind,
                    distance_m=0.0 if area.id in crossed else round(distance, 1),
                )
            )
    incidents.sort(key=lambda n: n.distance_m)
    closures.sort(key=lambda n: n.distance_m)
    return incidents, closures


def describe(
    network: RoadNetwork,
    trip: Trip,
    *,
    conditions: Conditions,
    mode: RouteMode,
    tradeoff: float,
    ends: tuple[Snap, Snap],
    near_m: float,
) -> Route:
    """A trip as a ``Route``: time, length, risk, what it passes near and its geometry.

    Everything is computed from arrays gathered once per trip; the models are built
    without re-validating what was computed here (``model_construct``).
    """
    edges = np.asarray(trip.edges, dtype=np.int64)
    shares = trip_shares(trip)
    driven = shares > 0
    tables = edge_shapes(network)
    record = tables.records(edges)
    state = conditions.edge_state.take(edges)
    time_s = record["time_s"] * shares
    risk = state["risk"]
    delay_s = float(state["delay_ds"][driven].sum()) / 10.0
    shape = tables.path(record, first_edge=trip.edges[0]) if len(edges) else None
    lonlat = trip_xy(network, trip, shape=shape)
    blocked_edges = edges[state["blocked"] & driven]
    crossed = (
        {area.id for area in conditions.closures if np.isin(area.edges, blocked_edges).any()}
        if len(blocked_edges)
        else set()
    )
    near_incidents, near_closures = _near(
        network,
        conditions,
        lonlat=lonlat,
        segments=record["segment"],
        near_m=near_m,
        crossed=crossed,
    )
    return Route.model_construct(
        mode=RouteMode(mode),
        tradeoff=float(tradeoff),
        travel_time_s=round(float(time_s.sum()) + delay_s, 3),
        length_m=round(float((record["length_m"] * shares).sum()), 2),
        risk_exposure=round(float((risk * time_s).sum()), 3),
        risk_weighted_time_s=round(float((time_s * (1 + RISK_FACTOR * risk)).sum()) + delay_s, 3),
        max_risk=round(float(risk[driven].max()) if driven.any() else 0.0, 4),
        crosses_closure=bool(len(blocked_edges)),
        near_incidents=near_incidents,
        near_closures=near_closures,
        origin=[float(ends[0].point.lon), float(ends[0].point.lat)],
        destination=[float(ends[1].point.lon), float(ends[1].point.lat)],
        origin_snap_m=round(float(ends[0].distance_m), 1),
        destination_snap_m=round(float(ends[1].distance_m), 1),
        geometry={"type": "LineString", "coordinates": lonlat.round(7).tolist()},
        edges=list(trip.edges),
    )


def snap_ends(  # noqa: PLR0917 - origin and destination are the subject, not options
    network: RoadNetwork, origin: LonLat, destination: LonLat, *, limit_m: float
) -> tuple[Snap, Snap]:
    """Both points snapped onto the network (one query); ``InvalidInput`` beyond the limit."""
    start, end = snap_points(
        network, [origin, destination], fields=["origin", "destination"], limit_m=limit_m
    )
    return start, end


def _shared_fraction(network: RoadNetwork, trip: Trip, *, earlier: Trip) -> float:
    edges = np.asarray(trip.edges, dtype=np.int64)
    lengths = network.length_m[edges] * trip_shares(trip)
    total = float(lengths.sum())
    if total <= 0:
        return 1.0
    shared = np.isin(network.edge_geom[edges], network.edge_geom[earlier.edges])
    return float(lengths[shared].sum()) / total


def _alternatives(
    network: RoadNetwork,
    first: Trip,
    *,
    engine: Engine,
    level: int,
    ends: tuple[Snap, Snap],
    count: int,
) -> list[Trip]:
    found = [first]
    used = np.asarray(first.edges, dtype=np.int64)
    for factor in _PENALTY_STEPS * count:
        if len(found) > count:
            break
        with engine.penalised(level, used, factor=factor):
            candidate = find_trip(network, engine, ends=ends, level=level)
        if candidate is None or len(candidate.edges) < 2:
            break
        candidate_edges = np.asarray(candidate.edges, dtype=np.int64)
        weights = engine.weights_of(candidate_edges, level=level)
        real = replace(candidate, cost_ds=round(float((weights * trip_shares(candidate)).sum())))
        used = np.union1d(used, candidate_edges)
        if all(_shared_fraction(network, real, earlier=other) < MAX_SHARED for other in found):
            found.append(real)
    return found


def route(  # noqa: PLR0913, PLR0917 - origin and destination are the subject, not options
    session: Session,
    network: RoadNetwork,
    origin: LonLat,
    destination: LonLat,
    *,
    mode: RouteMode | str = RouteMode.FASTEST,
    tradeoff: float = 0.5,
    alternatives: int = 0,
    at: datetime | None = None,
    snap_limit_m: float | None = None,
    near_m: float = 250.0,
    exercise: bool = False,
) -> list[Route]:
    """The best route for ``mode`` first, then up to ``alternatives`` genuinely different ones.

    A real route (the default) obeys real closures and incidents only; an ``exercise``
    route obeys exercise ones as well, so exercise data never changes a real route.

    Raises ``InvalidInput`` naming ``origin``/``destination`` when a point is farther
    than the snap limit from the network, and ``NoRoute`` when none connects them.
    """
    chosen = _mode(mode)
    level = _level(chosen, tradeoff)
    if not 0 <= alternatives <= MAX_ALTERNATIVES:
        raise InvalidInput(
            "alternatives must be 0 to 3", fields={"alternatives": str(alternatives)}
        )
    limit = network.snap_limit_m if snap_limit_m is None else snap_limit_m
    ends = snap_ends(network, origin, destination, limit_m=limit)
    conditions = current_conditions(session, network, at=_at(at), exercise=exercise)
    return find_routes(
        network,
        conditions,
        ends=ends,
        mode=chosen,
        level=level,
        alternatives=alternatives,
        near_m=near_m,
    )


def find_routes(
    network: RoadNetwork,
    conditions: Conditions,
    *,
    ends: tuple[Snap, Snap],
    mode: RouteMode,
    level: int,
    alternatives: int,
    near_m: float,
) -> list[Route]:
    """``route`` after its checks, snapping and database reads: search, unpack, describe.

    ``conditions`` must be those applied to the network's engine (``current_conditions``,
    or ``build_conditions`` + ``Engine.set_conditions`` as in the benchmark).
    """
    engine = engine_for(network, exercise=conditions.exercise)
    first = find_trip(network, engine, ends=ends, level=level)
    if first is None:
        raise NoRoute(
            "no road connects the origin to the destination",
            fields={"destination": "unreachable from the origin"},
        )
    trips = [first]
    if alternatives and len(first.edges) > 1:
        trips = _alternatives(
            network, first, engine=engine, level=level, ends=ends, count=alternatives
        )
    effective = {RouteMode.FASTEST: 0.0, RouteMode.SAFEST: 1.0}.get(mode, level / LEVELS)
    return [
        describe(
            network,
            trip,
            conditions=conditions,
            mode=mode,
            tradeoff=effective,
            ends=ends,
            near_m=near_m,
        )
        for trip in trips
    ]


def travel_matrix(  # noqa: PLR0913, PLR0917 - origins and destinations are the subject
    session: Session,
    network: RoadNetwork,
    origins: Sequence[LonLat],
    destinations: Sequence[LonLat],
    *,
    mode: RouteMode | str = RouteMode.FASTEST,
    tradeoff: float = 0.5,
    at: datetime | None = None,
    snap_limit_m: float | None = None,
    exercise: bool = False,
) -> TravelMatrix:
    """Travel time and the mode's cost from every origin to every destination.

    ``exercise`` as for ``route``: exercise closures and incidents count only then.
    """
    chosen = _mode(mode)
    level = _level(chosen, tradeoff)
    if len(origins) * len(destinations) > MAX_MATRIX_CELLS:
        raise InvalidInput(
            f"at most {MAX_MATRIX_CELLS:,} origin-destination pairs",
            fields={"destinations": f"{len(origins)} × {len(destinations)} pairs"},
        )
    limit = network.snap_limit_m if snap_limit_m is None else snap_limit_m
    sources = snap_points(
        network, origins, fields=[f"origins[{i}]" for i in range(len(origins))], limit_m=limit
    )
    targets = snap_points(
        network,
        destinations,
        fields=[f"destinations[{i}]" for i in range(len(destinations))],
        limit_m=limit,
    )
    conditions = current_conditions(session, network, at=_at(at), exercise=exercise)
    engine = engine_for(network, exercise=exercise)
    seconds: list[list[float | None]] = []
    cost: list[list[float | None]] = []
    for source in sources:
        row_s: list[float | None] = []
        row_c: list[float | None] = []
        for target in targets:
            trip = find_trip(network, engine, ends=(source, target), level=level)
            if trip is None:
                row_s.append(None)
                row_c.append(None)
                continue
            edges = np.asarray(trip.edges, dtype=np.int64)
            shares = trip_shares(trip)
            delay = float(conditions.delay_ds[edges][shares > 0].sum()) / 10.0
            row_s.append(round(float((network.time_s[edges] * shares).sum()) + delay, 3))
            row_c.append(trip.cost_ds / 10.0)
        seconds.append(row_s)
        cost.append(row_c)
    return TravelMatrix(
        mode=chosen,
        seconds=seconds,
        cost_s=cost,
        origin_snap_m=[round(s.distance_m, 1) for s in sources],
        destination_snap_m=[round(t.distance_m, 1) for t in targets],
    )


def visible_near(session: Session, routes: Sequence[Route], *, actor: Actor) -> list[Route]:
    """``routes`` with only the nearby incidents ``actor`` may see listed.

    Every incident raises road risk, whoever asks (a route must avoid danger the
    viewer cannot read about); only the list of incidents passed near is trimmed.
    """
    ids = {near.incident_id for found in routes for near in found.near_incidents}
    if not ids:
        return list(routes)
    seen = set(
        session.scalars(
            select(IncidentRow.id).where(
                IncidentRow.id.in_(ids), policy.visible_incidents(session, actor)
            )
        )
    )
    return [
        found.model_copy(
            update={"near_incidents": [n for n in found.near_incidents if n.incident_id in seen]}
        )
        for found in routes
    ]
