"""Dynamic road conditions: closures and checkpoints from the database, risk from incidents.

Risk of a road (0 … 1) comes from recent incidents near it (the forecast's risk
cells are too coarse for roads, so incidents are used directly)::

    severity(i) = min(1, 0.5 + 0.1 × (killed + injured))
    weight(i)  = severity(i) × 0.5 ^ (age_days(i) / half_life)
    c(i, e)    = weight(i) × max(0, 1 − distance(i, e) / radius)
    risk(e)    = 1 − Π_i (1 − c(i, e))

Incidents count when they are located, inside the network's area, within the
window before the routing time, not merged into another and not rejected or
withdrawn. Each call reads the active closures and a one-row summary of those
incidents and compares them with what the engine last applied; only when they
differ are the incidents read, edge arrays rebuilt and the changed weights sent
to the engine. The edges an incident or a closure touches are cached per
incident/closure, so a new incident costs one spatial query.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven.models import IncidentRow, RoadClosureRow
from haven.routing.closures import ClosureKind, active_closures, closure_polygon
from haven.routing.engine import Engine, engine_for
from haven.routing.network import RoadNetwork
from haven.routing.shapes import ranges
from haven.routing.spatial import plane, segment_index

__all__ = [
    "EDGE_STATE",
    "ClosureArea",
    "Conditions",
    "IncidentPoint",
    "build_conditions",
    "current_conditions",
    "incident_weight",
    "near_candidates",
]

_EXCLUDED_STATES = ("rejected", "withdrawn")
_DEGREE_MARGIN = 0.05
_MAX_CONTRIBUTION = 0.999
EDGE_STATE = np.dtype(
    [("risk", np.float64), ("delay_ds", np.int64), ("blocked", np.bool_)], align=True
)
"""Per edge: risk, checkpoint delay (tenths of a second) and whether it is blocked."""
_NEAR_MARGIN_M = 1.0
"""Road shapes are listed as near an incident or closure with this much to spare, so
that a trip's cut end (a point interpolated on the shape) cannot fall outside."""


@dataclass(frozen=True, slots=True)
class IncidentPoint:
    """An incident as routing sees it: where, when and how much it weighs now."""

    id: str
    lon: float
    lat: float
    occurred_at: datetime
    weight: float


@dataclass(frozen=True, slots=True)
class ClosureArea:
    """An active closure: its row's fields, plane shape and the edges it touches."""

    id: int
    name: str
    kind: ClosureKind
    delay_s: float
    shape: Any
    edges: npt.NDArray[np.int64]


@dataclass(frozen=True)
class Conditions:
    """The conditions the engine applies: closures, incidents and per-edge arrays."""

    key: object
    closures: list[ClosureArea]
    incidents: list[IncidentPoint]
    incident_tree: Any
    closure_tree: Any
    blocked: npt.NDArray[np.bool_]
    delay_ds: npt.NDArray[np.int64]
    risk: npt.NDArray[np.float64]
    edge_state: npt.NDArray[np.void]
    """``risk``, ``delay_ds`` and ``blocked`` as one ``EDGE_STATE`` record per edge."""
    exercise: bool = False
    """Exercise conditions (real and exercise records) rather than real ones only."""
    near_indexes: dict[float, NearIndex] = field(default_factory=dict, repr=False, compare=False)
    """``near_candidates``' indexes, one per distance asked for (built on first use)."""


@dataclass(frozen=True, slots=True)
class NearIndex:
    """Per road shape, the incidents and closures within a distance of it.

    ``incident_runs[s]`` is ``(start, count)``: the incidents near shape ``s`` are
    ``incidents[start:start + count]`` (indices into ``Conditions.incidents``); the
    same for closures.
    """

    incident_runs: npt.NDArray[np.int64]
    incidents: npt.NDArray[np.int64]
    closure_runs: npt.NDArray[np.int64]
    closures: npt.NDArray[np.int64]


def incident_weight(*, casualties: int, age_days: float, half_life_days: float) -> float:
    """An incident's weight (0 … 1): its severity halved every ``half_life_days``."""
    severity = min(1.0, 0.5 + 0.1 * max(casualties, 0))
    return float(severity * 0.5 ** (max(age_days, 0.0) / half_life_days))


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _incident_filter(network: RoadNetwork, *, at: datetime, exercise: bool) -> list[Any]:
    """The WHERE clauses of the incidents that count for risk at ``at``.

    Real routes count real incidents only; exercise routes count both.
    """
    west, south, east, north = network.bounds()
    margin = _DEGREE_MARGIN + network.risk_radius_m / 111_000.0
    since = at - timedelta(days=network.risk_window_days)
    kind = [] if exercise else [IncidentRow.is_exercise.is_(False)]
    return [
        *kind,
        IncidentRow.lon.is_not(None),
        IncidentRow.lat.is_not(None),
        IncidentRow.lon.between(west - margin, east + margin),
        IncidentRow.lat.between(south - margin, north + margin),
        IncidentRow.occurred_at <= at,
        IncidentRow.occurred_at >= since,
        IncidentRow.merged_into.is_(None),
        IncidentRow.state.not_in(_EXCLUDED_STATES),
    ]


def _incident_summary(
    session: Session, network: RoadNetwork, *, at: datetime, exercise: bool
) -> tuple[Any, ...]:
    """One row that changes whenever the incidents that count change (count, sums, latest edit)."""
    query = select(
        func.count(),
        func.max(IncidentRow.updated_at),
        func.sum(IncidentRow.lon),
        func.sum(IncidentRow.lat),
        func.sum(IncidentRow.killed_total + IncidentRow.injured_total),
        func.max(IncidentRow.id),
    ).where(*_incident_filter(network, at=at, exercise=exercise))
    return tuple(session.execute(query).one())


def _incident_rows(
    session: Session, network: RoadNetwork, *, at: datetime, exercise: bool
) -> list[Any]:
    query = select(
        IncidentRow.id,
        IncidentRow.lon,
        IncidentRow.lat,
        IncidentRow.occurred_at,
        IncidentRow.killed_total,
        IncidentRow.injured_total,
        IncidentRow.updated_at,
    ).where(*_incident_filter(network, at=at, exercise=exercise))
    return list(session.execute(query.order_by(IncidentRow.id)))


def _incident_edges(
    network: RoadNetwork, row: Any
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Edges within the risk radius of an incident and their distance fall-off (cached)."""
    cache: dict[object, Any] = network.cache.setdefault("incident_edges", {})
    key = (row.id, row.lon, row.lat, network.risk_radius_m)
    found = cache.get(key)
    if found is None:
        index = segment_index(network)
        x, y = plane(network).xy(np.array([row.lon]), np.array([row.lat]))
        point = shapely.Point(float(x[0]), float(y[0]))
        segments = index.tree.query(point, predicate="dwithin", distance=network.risk_radius_m)
        segments = np.asarray(segments, dtype=np.int64)
        distance = shapely.distance(index.lines[segments], point)
        falloff = np.maximum(0.0, 1.0 - distance / network.risk_radius_m)
        counts = np.diff(index.edge_ptr)[segments]
        found = (index.edges_of(segments), np.repeat(falloff, counts))
        cache[key] = found
    result: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] = found
    return result


def _closure_area(network: RoadNetwork, row: RoadClosureRow) -> ClosureArea:
    cache: dict[object, Any] = network.cache.setdefault("closure_edges", {})
    key = (row.id, json.dumps(row.geometry, sort_keys=True), row.radius_m)
    found = cache.get(key)
    if found is None:
        shape = plane(network).to_plane(closure_polygon(row))
        index = segment_index(network)
        segments = np.asarray(index.tree.query(shape, predicate="intersects"), dtype=np.int64)
        found = (shape, index.edges_of(segments))
        cache[key] = found
    return ClosureArea(
        id=row.id,
        name=row.name,
        kind=ClosureKind(row.kind),
        delay_s=row.delay_s,
        shape=found[0],
        edges=found[1],
    )


def _risk(
    network: RoadNetwork, rows: list[Any], *, at: datetime
) -> tuple[npt.NDArray[np.float64], list[IncidentPoint]]:
    log_safe = np.zeros(network.edge_count)
    points: list[IncidentPoint] = []
    for row in rows:
        age_days = (at - row.occurred_at).total_seconds() / 86_400.0
        weight = incident_weight(
            casualties=(row.killed_total or 0) + (row.injured_total or 0),
            age_days=age_days,
            half_life_days=network.risk_half_life_days,
        )
        points.append(IncidentPoint(row.id, row.lon, row.lat, row.occurred_at, weight))
        edges, falloff = _incident_edges(network, row)
        contribution = np.minimum(weight * falloff, _MAX_CONTRIBUTION)
        np.add.at(log_safe, edges, np.log1p(-contribution))
    return -np.expm1(log_safe), points


def _tree(shapes: list[Any]) -> Any:
    return shapely.STRtree(shapes) if shapes else None


def build_conditions(
    network: RoadNetwork,
    *,
    closure_rows: list[Any],
    incident_rows: list[Any],
    at: datetime,
    key: object = None,
    exercise: bool = False,
) -> Conditions:
    """Per-edge arrays from closure rows and incident rows (as the queries return them).

    Rows need the columns ``_incident_rows`` selects (incidents) and those of
    ``RoadClosureRow`` (closures). The benchmark calls this directly.
    """
    risk, points = _risk(network, incident_rows, at=_hour(at))
    areas = [_closure_area(network, row) for row in closure_rows]
    blocked = np.zeros(network.edge_count, dtype=bool)
    delay_ds = np.zeros(network.edge_count, dtype=np.int64)
    for area in areas:
        if area.kind is ClosureKind.CHECKPOINT:
            delay_ds[area.edges] += math.ceil(area.delay_s * 10)
        else:
            blocked[area.edges] = True
    project = plane(network)
    lon = np.array([p.lon for p in points])
    lat = np.array([p.lat for p in points])
    x, y = project.xy(lon, lat)
    edge_state = np.zeros(network.edge_count, dtype=EDGE_STATE)
    edge_state["risk"] = risk
    edge_state["delay_ds"] = delay_ds
    edge_state["blocked"] = blocked
    return Conditions(
        key=key,
        closures=areas,
        incidents=points,
        incident_tree=_tree(list(shapely.points(x, y))) if points else None,
        closure_tree=_tree([area.shape for area in areas]),
        blocked=blocked,
        delay_ds=delay_ds,
        risk=risk,
        edge_state=edge_state,
        exercise=exercise,
    )


def current_conditions(
    session: Session, network: RoadNetwork, *, at: datetime, exercise: bool = False
) -> Conditions:
    """The conditions at ``at``, applied to the network's engine when they changed.

    ``exercise``: the exercise engine's conditions (real and exercise closures and
    incidents); otherwise the real engine's (real ones only).

    Two small reads decide whether anything changed: the closures in force and a
    one-row summary of the incidents that count (their number, latest edit, sums of
    coordinates and casualties). Only when that differs are the incidents read.
    """
    engine: Engine = engine_for(network, exercise=exercise)
    closure_rows = active_closures(session, at=at, include_exercise=exercise)
    key = (
        _hour(at),
        tuple(row.id for row in closure_rows),
        _incident_summary(session, network, at=at, exercise=exercise),
    )
    name = "conditions:exercise" if exercise else "conditions"
    with engine.lock:
        previous: Conditions | None = network.cache.get(name)
        if previous is not None and previous.key == key and engine.conditions_key == key:
            return previous
        conditions = build_conditions(
            network,
            closure_rows=closure_rows,
            incident_rows=_incident_rows(session, network, at=at, exercise=exercise),
            at=at,
            key=key,
            exercise=exercise,
        )
        engine.set_conditions(
            blocked=conditions.blocked, delay_ds=conditions.delay_ds, risk=conditions.risk, key=key
        )
        network.cache[name] = conditions
        return conditions


def _near_segments(network: RoadNetwork, shape: Any, *, key: object, distance: float) -> Any:
    """The road shapes within ``distance`` of an incident's point or a closure's area (cached)."""
    cache: dict[object, Any] = network.cache.setdefault("near_segments", {})
    found = cache.get((key, distance))
    if found is None:
        tree = segment_index(network).tree
        found = np.asarray(tree.query(shape, predicate="dwithin", distance=distance), np.int64)
        cache[(key, distance)] = found
    return found


def _by_segment(
    network: RoadNetwork, members: list[npt.NDArray[np.int64]]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per road shape ``(start, count)`` of the indices of ``members`` near it, ascending."""
    shapes = len(network.geom_ptr) - 1
    if not members:
        return np.zeros((shapes, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    segments = np.concatenate(members)
    owners = np.repeat(np.arange(len(members), dtype=np.int64), [len(m) for m in members])
    order = np.argsort(segments, kind="stable")
    counts = np.bincount(segments, minlength=shapes)
    starts = np.cumsum(counts) - counts
    return np.column_stack([starts, counts]).astype(np.int64), owners[order]


def near_candidates(
    network: RoadNetwork,
    conditions: Conditions,
    *,
    segments: npt.NDArray[np.int64],
    near_m: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Incidents and closures (indices into the conditions' lists) that may lie near a path.

    A superset, sorted: those within ``near_m`` (plus a metre) of one of the road
    shapes ``segments`` (``edge_geom`` of the path's edges); all of them when there
    are no shapes (a trip that stays at one junction). The exact test against the
    path's line is the caller's. The road shapes near each incident and closure are
    cached on the network, so new conditions cost one spatial query per new incident
    or closure.
    """
    if not len(segments):
        return (
            np.arange(len(conditions.incidents), dtype=np.int64),
            np.arange(len(conditions.closures), dtype=np.int64),
        )
    index = conditions.near_indexes.get(near_m)
    if index is None:
        distance = near_m + _NEAR_MARGIN_M
        incidents = [
            _near_segments(network, point, key=("incident", p.id, p.lon, p.lat), distance=distance)
            for p, point in zip(
                conditions.incidents,
                [] if conditions.incident_tree is None else conditions.incident_tree.geometries,
                strict=True,
            )
        ]
        closures = [
            _near_segments(network, a.shape, key=("closure", a.id, a.shape.wkb), distance=distance)
            for a in conditions.closures
        ]
        index = NearIndex(*_by_segment(network, incidents), *_by_segment(network, closures))
        conditions.near_indexes[near_m] = index
    return (
        _members(index.incident_runs, index.incidents, segments=segments),
        _members(index.closure_runs, index.closures, segments=segments),
    )


def _members(
    runs: npt.NDArray[np.int64], members: npt.NDArray[np.int64], *, segments: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    if not len(members):
        return members
    found = runs.take(segments, axis=0)
    near = found[:, 1] > 0
    if not near.any():
        return np.zeros(0, dtype=np.int64)
    found = found[near]
    return np.unique(members[ranges(found[:, 0], found[:, 1])])
