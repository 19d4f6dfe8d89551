"""Linkage: the facility an incident hit or is nearest to, and the movements under way near it.

Facilities are indexed in a k-d tree (scipy ``cKDTree``) over their positions
as 3-D points on the unit sphere: the straight-line (chord) distance between
two such points grows with their great-circle distance, so the tree's nearest
neighbours are the great-circle nearest, and a radius in metres is a chord
radius. The tree is rebuilt when the facility set changes (newest id or
newest ``updated_at``) and kept per database in the process. Distances shown
are haversine metres computed exactly in code for each candidate.

A hit is *within precision* when the facility lies inside the incident's
geo-precision radius (``GeoPrecision.radius_km``, the radii deduplication
uses): the facility may be the one struck. Beyond it, it is only *near*.
Coordinates are longitude first (``LonLat``).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel
from scipy.spatial import cKDTree
from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.orm import Session

from haven import audit, policy
from haven.accounts import SYSTEM, Actor, Permission, require
from haven.db import TRANSACTION_CACHE
from haven.errors import NotFound
from haven.geo import EARTH_RADIUS_KM, LonLat, haversine_km
from haven.models import FacilityRow, IncidentRow, MovementRow, ReportRow
from haven.movements import MovementKind, MovementStatus
from haven.taxonomy import GeoPrecision

__all__ = [
    "NEAR_RADIUS_M",
    "FacilityHit",
    "FacilityIndex",
    "IncidentLinkage",
    "LinkOutcome",
    "MovementHit",
    "describe",
    "facilities_changed",
    "facility_index",
    "link_incident",
    "link_new_incident",
    "movements_near",
    "nearest_facilities",
    "precision_radius_m",
    "route_distance_m",
    "search_radius_m",
    "unit_vectors",
]

EARTH_RADIUS_M = EARTH_RADIUS_KM * 1000.0
NEAR_RADIUS_M = 1000.0
"""The smallest search radius: a facility this close is reported as near even to a point
whose precision radius is smaller."""
_MAX_CACHED = 8
FloatArray = npt.NDArray[np.float64]


class LinkOutcome(StrEnum):
    """What the linkage found for an incident."""

    STRUCK = "struck"
    """The nearest facility lies within the incident's precision radius: it may be the one hit."""
    NEAR = "near"
    """A facility lies within the search radius, but outside the precision radius."""
    NONE = "none"
    """No facility within the search radius."""
    UNLOCATED = "unlocated"
    """The incident has no point precise enough to link (no location, country or sea level)."""


class FacilityHit(BaseModel):
    """A facility near a point: metres away, and whether inside the point's precision radius."""

    facility_id: int
    name: str
    distance_m: float
    within_precision: bool


class MovementHit(BaseModel):
    """A movement under way at the time, whose route passes ``distance_m`` from the point."""

    movement_id: int
    kind: MovementKind
    distance_m: float
    name: str = ""
    within_precision: bool = False


class IncidentLinkage(BaseModel):
    """An incident's linkage: the facility stored on it, every nearby facility and movement."""

    incident_id: str
    outcome: LinkOutcome
    geo_precision: int | None
    precision_radius_m: float | None
    search_radius_m: float | None
    facility: FacilityHit | None
    """The facility stored on the incident (named by a report, or the nearest found)."""
    named_by_report: bool
    facilities: list[FacilityHit]
    movements: list[MovementHit]


def unit_vectors(lon: FloatArray, lat: FloatArray) -> FloatArray:
    """Points (degrees) as 3-D unit vectors, one row each."""
    lon_r, lat_r = np.radians(lon), np.radians(lat)
    cos_lat = np.cos(lat_r)
    return np.column_stack((cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)))


def _chord(radius_m: float) -> float:
    angle = radius_m / EARTH_RADIUS_M
    return 2.0 if angle >= math.pi else 2.0 * math.sin(angle / 2.0)


def _haversine_m(point: LonLat, *, lon: FloatArray, lat: FloatArray) -> FloatArray:
    lat1, lat2 = math.radians(point.lat), np.radians(lat)
    dlon = np.radians(lon - point.lon)
    h = np.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return result


@dataclass(frozen=True)
class FacilityIndex:
    """Facilities (the real ones, or all) in a k-d tree on the unit sphere."""

    ids: npt.NDArray[np.int64]
    names: list[str]
    lon: FloatArray
    lat: FloatArray
    tree: Any  # scipy.spatial.cKDTree (untyped)

    @classmethod
    def build(cls, rows: list[tuple[int, str, float, float]]) -> FacilityIndex:
        """An index of ``(id, name, lon, lat)`` rows."""
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        lon = np.array([r[2] for r in rows], dtype=np.float64)
        lat = np.array([r[3] for r in rows], dtype=np.float64)
        tree = cKDTree(unit_vectors(lon, lat)) if rows else None
        return cls(ids=ids, names=[r[1] for r in rows], lon=lon, lat=lat, tree=tree)

    def nearest(self, point: LonLat, *, radius_m: float, limit: int) -> list[tuple[int, float]]:
        """Up to ``limit`` (position, haversine metres) within ``radius_m``, nearest first."""
        if self.tree is None or limit < 1:
            return []
        query = unit_vectors(np.array([point.lon]), np.array([point.lat]))[0]
        k = min(limit, len(self.ids))
        _, found = self.tree.query(
            query, k=list(range(1, k + 1)), distance_upper_bound=_chord(radius_m) * (1 + 1e-9)
        )
        found = found[found < len(self.ids)]
        if found.size == 0:
            return []
        metres = _haversine_m(point, lon=self.lon[found], lat=self.lat[found])
        keep = metres <= radius_m
        pairs = sorted(
            zip(metres[keep].tolist(), found[keep].tolist(), strict=True),
            key=lambda p: (p[0], int(self.ids[p[1]])),
        )
        return [(int(position), float(distance)) for distance, position in pairs]

    def nearest_many(
        self, lon: FloatArray, lat: FloatArray
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """For many points at once (degrees): each one's nearest facility position and the
        haversine metres to it (the batch path, e.g. re-linking every incident)."""
        if self.tree is None:
            raise ValueError("no facilities to search")
        _, found = self.tree.query(unit_vectors(lon, lat), k=1)
        positions = np.asarray(found, dtype=np.int64)
        lat1, lat2 = np.radians(lat), np.radians(self.lat[positions])
        dlon = np.radians(self.lon[positions] - lon)
        h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
        metres: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
        return positions, metres


_cache: dict[str, tuple[tuple[Any, Any], dict[bool, FacilityIndex]]] = {}
_cache_lock = threading.Lock()


_VERSION = text("SELECT (SELECT max(id) FROM facilities), (SELECT max(updated_at) FROM facilities)")
"""The facility set's version: its newest id and newest edit (both read from their indexes)."""
_VERSION_KEY = "linkage.facility_version"


def _version(session: Session) -> tuple[Any, Any]:
    """The facility set's version; a write transaction asks once and keeps it in its cache."""
    writer = bool(session.info.get("writer"))
    cache: dict[str, Any] = session.info.setdefault(TRANSACTION_CACHE, {}) if writer else {}
    if _VERSION_KEY not in cache:
        newest_id, newest_edit = session.execute(_VERSION).one()
        cache[_VERSION_KEY] = (newest_id, newest_edit)
    found: tuple[Any, Any] = cache[_VERSION_KEY]
    return found


def facilities_changed(session: Session) -> None:
    """Tell the linkage that this transaction changed facilities: the changes are flushed and
    the next look-up reads the facility set's version again (and rebuilds the index)."""
    session.flush()
    cache = session.info.get(TRANSACTION_CACHE)
    if cache is not None:
        cache.pop(_VERSION_KEY, None)


def facility_index(session: Session, *, exercise: bool) -> FacilityIndex:
    """The index of real facilities (``exercise``: real and exercise ones), rebuilt only when
    the facility set changed."""
    version = _version(session)
    key = str(session.get_bind().engine.url)
    cached = _cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1][exercise]
    rows = session.execute(
        select(
            FacilityRow.id,
            FacilityRow.name,
            FacilityRow.lon,
            FacilityRow.lat,
            FacilityRow.is_exercise,
        ).order_by(FacilityRow.id)
    ).all()
    built = {
        flag: FacilityIndex.build([(r[0], r[1], r[2], r[3]) for r in rows if flag or not r[4]])
        for flag in (False, True)
    }
    with _cache_lock:
        if len(_cache) >= _MAX_CACHED and key not in _cache:
            _cache.pop(next(iter(_cache)))
        _cache[key] = (version, built)
    return built[exercise]


def precision_radius_m(precision: GeoPrecision | int | None) -> float | None:
    """The precision radius of a geo-precision level in metres (None when none bounds it)."""
    if precision is None:
        return None
    radius = GeoPrecision(precision).radius_km
    return radius * 1000.0 if radius is not None else None


def search_radius_m(precision: GeoPrecision | int | None) -> float | None:
    """How far to look for facilities around a point of this precision (None: do not link).

    The precision radius, at least ``NEAR_RADIUS_M``; a point on a linear feature is
    searched ``NEAR_RADIUS_M`` around; country or sea positions are not linked.
    """
    if precision is None or precision in {GeoPrecision.COUNTRY, GeoPrecision.SEA_OR_AIR}:
        return None
    radius = precision_radius_m(precision)
    return max(radius or 0.0, NEAR_RADIUS_M)


def nearest_facilities(
    session: Session,
    point: LonLat,
    *,
    radius_m: float,
    limit: int = 5,
    precision: GeoPrecision | None = GeoPrecision.EXACT,
    exercise: bool = False,
) -> list[FacilityHit]:
    """Facilities within ``radius_m`` metres of ``point``, nearest first (at most ``limit``).

    ``within_precision`` compares each distance with the radius of ``precision``
    (the point's geo-precision). A real incident is linked to real facilities only; for an
    exercise one (``exercise=True``) exercise facilities count as well as real ones.
    """
    index = facility_index(session, exercise=exercise)
    inside = precision_radius_m(precision)
    return [
        FacilityHit(
            facility_id=int(index.ids[position]),
            name=index.names[position],
            distance_m=round(distance, 2),
            within_precision=inside is not None and distance <= inside,
        )
        for position, distance in index.nearest(point, radius_m=radius_m, limit=limit)
    ]


def route_distance_m(point: LonLat, route: list[list[float]]) -> float:
    """Great-circle metres from a point to the nearest place on a route (straight segments)."""
    coords = np.asarray(route, dtype=np.float64)
    vertices = unit_vectors(coords[:, 0], coords[:, 1])
    p = unit_vectors(np.array([point.lon]), np.array([point.lat]))[0]
    to_vertex = 2 * np.arcsin(np.minimum(1.0, np.linalg.norm(vertices - p, axis=1) / 2))
    best = float(to_vertex.min())
    a, b = vertices[:-1], vertices[1:]
    normal = np.cross(a, b)
    length = np.linalg.norm(normal, axis=1)
    usable = length > 1e-15
    if usable.any():
        n = normal[usable] / length[usable, None]
        a_u, b_u = a[usable], b[usable]
        between = (np.einsum("ij,ij->i", np.cross(a_u, p), n) >= 0) & (
            np.einsum("ij,ij->i", np.cross(p, b_u), n) >= 0
        )
        if between.any():
            cross_track = np.abs(np.arcsin(np.clip(n[between] @ p, -1.0, 1.0)))
            best = min(best, float(cross_track.min()))
    return best * EARTH_RADIUS_M


def movements_near(
    session: Session,
    point: LonLat,
    *,
    at: datetime,
    radius_m: float,
    precision: GeoPrecision | None = GeoPrecision.EXACT,
    exercise: bool = False,
) -> list[MovementHit]:
    """Movements whose window holds ``at`` (not cancelled) and whose route passes within
    ``radius_m`` of ``point``, nearest first: real ones (``exercise``: exercise ones too)."""
    query = select(MovementRow.id, MovementRow.kind, MovementRow.name, MovementRow.route).where(
        MovementRow.starts_at <= at,
        MovementRow.ends_at >= at,
        MovementRow.status != MovementStatus.CANCELLED.value,
    )
    if not exercise:
        query = query.where(MovementRow.is_exercise.is_(False))
    inside = precision_radius_m(precision)
    hits = []
    for movement_id, kind, name, route in session.execute(query):
        distance = route_distance_m(point, route)
        if distance <= radius_m:
            hits.append(
                MovementHit(
                    movement_id=movement_id,
                    kind=MovementKind(kind),
                    distance_m=round(distance, 2),
                    name=name,
                    within_precision=inside is not None and distance <= inside,
                )
            )
    return sorted(hits, key=lambda h: (h.distance_m, h.movement_id))


def _audit_link(session: Session, incident_id: str, *, hit: FacilityHit | None) -> None:
    audit.record(
        session,
        SYSTEM,
        action="incident.link",
        entity_type="incident",
        entity_id=incident_id,
        detail={
            "facility_id": hit.facility_id if hit else None,
            "distance_m": hit.distance_m if hit else None,
        },
    )


_incidents = cast(Table, IncidentRow.__table__)
_SET_LINK = (
    _incidents.update()
    .where(_incidents.c.id == bindparam("incident_id"))
    .values(facility_id=bindparam("facility_id"), facility_distance_m=bindparam("distance"))
)
"""A plain Core UPDATE: the hot path of ingestion has no ORM objects to synchronise."""


def _store_new(
    session: Session, incident_id: str, *, hit: FacilityHit | None, facility_id: int | None
) -> None:
    """Write the link of an incident opened in this transaction (not loaded as an object)."""
    session.execute(
        _SET_LINK,
        {
            "incident_id": incident_id,
            "facility_id": facility_id,
            "distance": hit.distance_m if hit else None,
        },
    )


def _named_hit(
    session: Session, facility_id: int, *, point: LonLat, precision: GeoPrecision | None
) -> FacilityHit | None:
    row = session.execute(
        select(FacilityRow.name, FacilityRow.lon, FacilityRow.lat).where(
            FacilityRow.id == facility_id
        )
    ).first()
    if row is None:
        return None
    distance = haversine_km(point, LonLat(row.lon, row.lat)) * 1000.0
    inside = precision_radius_m(precision)
    return FacilityHit(
        facility_id=facility_id,
        name=row.name,
        distance_m=round(distance, 2),
        within_precision=inside is not None and distance <= inside,
    )


def link_new_incident(
    session: Session,
    incident_id: str,
    *,
    point: LonLat,
    precision: GeoPrecision | None,
    exercise: bool,
    named_facility_id: int | None,
) -> FacilityHit | None:
    """Store the facility of a just-opened incident: the one its report names, else the nearest.

    The cheap path for ``reports.submit``: one small version query, a tree look-up
    and one UPDATE; nothing when no facility is registered.
    """
    if named_facility_id is not None:
        hit = _named_hit(session, named_facility_id, point=point, precision=precision)
        _store_new(session, incident_id, hit=hit, facility_id=named_facility_id)
        return hit
    radius = search_radius_m(precision)
    if radius is None:
        return None
    index = facility_index(session, exercise=exercise)
    if not len(index.ids):
        return None
    hits = nearest_facilities(
        session, point, radius_m=radius, limit=1, precision=precision, exercise=exercise
    )
    if not hits:
        return None
    _store_new(session, incident_id, hit=hits[0], facility_id=hits[0].facility_id)
    _audit_link(session, incident_id, hit=hits[0])
    return hits[0]


def _compute(session: Session, row: IncidentRow, *, limit: int) -> IncidentLinkage:
    precision = GeoPrecision(row.geo_precision) if row.geo_precision else None
    radius = search_radius_m(precision)
    empty = IncidentLinkage(
        incident_id=row.id,
        outcome=LinkOutcome.UNLOCATED,
        geo_precision=row.geo_precision,
        precision_radius_m=precision_radius_m(precision),
        search_radius_m=radius,
        facility=None,
        named_by_report=False,
        facilities=[],
        movements=[],
    )
    if row.lon is None or row.lat is None or radius is None:
        return empty
    point = LonLat(row.lon, row.lat)
    found = nearest_facilities(
        session,
        point,
        radius_m=radius,
        limit=limit,
        precision=precision,
        exercise=row.is_exercise,
    )
    named = _named_by_report(session, row)
    facility = (
        _named_hit(session, row.facility_id, point=point, precision=precision)
        if named and row.facility_id is not None
        else (found[0] if found else None)
    )
    outcome = (
        LinkOutcome.NONE
        if facility is None
        else (LinkOutcome.STRUCK if facility.within_precision else LinkOutcome.NEAR)
    )
    movements = movements_near(
        session,
        point,
        at=row.occurred_at,
        radius_m=radius,
        precision=precision,
        exercise=row.is_exercise,
    )
    return empty.model_copy(
        update={
            "outcome": outcome,
            "facility": facility,
            "named_by_report": named,
            "facilities": found,
            "movements": movements,
        }
    )


def _named_by_report(session: Session, row: IncidentRow) -> bool:
    """Whether the incident's facility was named by one of its reports (not found by linkage)."""
    if row.facility_id is None:
        return False
    facts = session.scalars(select(ReportRow.facts).where(ReportRow.incident_id == row.id)).all()
    return any(f.get("facility_id") == row.facility_id for f in facts)


def link_incident(session: Session, incident_id: str, *, limit: int = 5) -> IncidentLinkage:
    """Link an incident: store its facility (the one a report named, else the nearest within
    the search radius, or none) with the distance, and return every hit. Audited when the
    stored facility changes.
    """
    row = session.scalar(select(IncidentRow).where(IncidentRow.id == incident_id).with_for_update())
    if row is None:
        raise NotFound(f"no incident {incident_id}", fields={"incident_id": "unknown"})
    linkage = _compute(session, row, limit=limit)
    hit = linkage.facility
    row.facility_distance_m = hit.distance_m if hit else None
    if not linkage.named_by_report:
        found = hit.facility_id if hit else None
        if found != row.facility_id:
            row.facility_id = found
            _audit_link(session, row.id, hit=hit)
    return linkage


def describe(
    session: Session, incident_id: str, *, actor: Actor, limit: int = 5
) -> IncidentLinkage:
    """The linkage of an incident the actor may see, computed now (nothing is written)."""
    require(actor, Permission.READ_INCIDENTS)
    row = policy.visible_incident(session, incident_id, actor=actor)
    return _compute(session, row, limit=limit)
