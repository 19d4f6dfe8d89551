"""Linkage: the facility an incident hit or is nearest to, precision, movements, the index."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import facilities, facility_import, linkage, movements, reports
from haven.accounts import SYSTEM, Role
from haven.db import Database
from haven.facilities import FacilityKind
from haven.geo import EARTH_RADIUS_KM, LonLat, haversine_km
from haven.linkage import FacilityIndex, LinkOutcome
from haven.models import AuditEventRow, IncidentRow
from haven.taxonomy import GeoPrecision
from tests.conftest import make_token
from tests.support.facilities import WHEN, add_facility, add_movement

METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM * 1000 / 180


@pytest.fixture
def gaza(db: Database, datasets: Path) -> list[facilities.Facility]:
    """The 36 Gaza hospitals, loaded as-is."""
    db.write(
        lambda s: facility_import.import_file(
            s,
            datasets / "gaza_hospitals.geojson",
            actor=SYSTEM,
            country="PSE",
            kind=FacilityKind.HOSPITAL,
        )
    )
    with db.read() as session:
        return facilities.list_facilities(session)


def _isolated(hospitals: list[facilities.Facility]) -> facilities.Facility:
    """A hospital whose nearest neighbour is more than 1.5 km away."""

    def gap(h: facilities.Facility) -> float:
        return min(
            haversine_km(LonLat(h.lon, h.lat), LonLat(o.lon, o.lat))
            for o in hospitals
            if o.id != h.id
        )

    return next(h for h in hospitals if gap(h) > 1.5)


def _north(h: facilities.Facility, metres: float) -> LonLat:
    return LonLat(h.lon, h.lat + metres / METRES_PER_DEGREE_LAT)


def _report(point: LonLat | None, **changes: Any) -> reports.ReportIn:
    return reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "linkage test form", "kind": "form"},
            "occurred_at": (WHEN + timedelta(minutes=30)).isoformat(),
            "country": "PSE",
            "attack_types": ["Setting fire"],
            "narrative": "Fictional account for the linkage test.",
            **({"location": {"lon": point.lon, "lat": point.lat}} if point else {}),
            **changes,
        }
    )


@dataclass(frozen=True)
class Linked:
    id: str
    facility_id: int | None
    facility_distance_m: float | None


def _submit(db: Database, report: reports.ReportIn) -> Linked:
    incident_id = db.write(lambda s: reports.submit(s, report, actor=SYSTEM).incident_id)
    with db.read() as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        return Linked(row.id, row.facility_id, row.facility_distance_m)


def test_the_right_hospital_for_a_point_150_m_away(
    db: Database, gaza: list[facilities.Facility]
) -> None:
    target = _isolated(gaza)
    point = _north(target, 150)
    with db.read() as session:
        hits = linkage.nearest_facilities(session, point, radius_m=1000)
    assert hits[0].facility_id == target.id and hits[0].name == target.name
    assert hits[0].distance_m == pytest.approx(150, abs=0.5)
    assert hits[0].within_precision
    incident = _submit(db, _report(point, geo_precision=1))
    assert incident.facility_id == target.id
    assert incident.facility_distance_m == pytest.approx(150, abs=0.5)
    found = db.write(lambda s: linkage.link_incident(s, incident.id))
    assert found.outcome is LinkOutcome.STRUCK
    assert found.facility is not None and found.facility.facility_id == target.id


def test_precision_decides_struck_or_near(db: Database, gaza: list[facilities.Facility]) -> None:
    target = _isolated(gaza)
    point = _north(target, 1400)
    with db.read() as session:
        exact = linkage.nearest_facilities(
            session, point, radius_m=5000, precision=GeoPrecision.EXACT
        )
        rough = linkage.nearest_facilities(
            session, point, radius_m=5000, precision=GeoPrecision.NEAR_25KM
        )
    assert exact[0].facility_id == target.id and not exact[0].within_precision
    assert rough[0].within_precision
    far = _submit(db, _report(point, geo_precision=1))
    assert far.facility_id is None  # beyond the 1 km search radius of an exact point
    wide = _submit(db, _report(point, geo_precision=2))
    assert wide.facility_id == target.id
    country = _submit(db, _report(point, geo_precision=6))
    assert country.facility_id is None
    with db.read() as session:
        unlocated = linkage.describe(session, country.id, actor=SYSTEM)
    assert unlocated.outcome is LinkOutcome.UNLOCATED


def test_a_facility_named_by_the_report_is_kept(
    db: Database, gaza: list[facilities.Facility]
) -> None:
    target = _isolated(gaza)
    other = next(h for h in gaza if h.id != target.id)
    incident = _submit(db, _report(_north(target, 100), facility_id=other.id))
    assert incident.facility_id == other.id
    assert incident.facility_distance_m == pytest.approx(
        haversine_km(_north(target, 100), LonLat(other.lon, other.lat)) * 1000, rel=1e-6
    )
    found = db.write(lambda s: linkage.link_incident(s, incident.id))
    assert found.named_by_report and found.facility is not None
    assert found.facility.facility_id == other.id
    assert found.facilities[0].facility_id == target.id


def test_real_incidents_never_link_exercise_facilities(db: Database) -> None:
    exercise_site = add_facility(db, exercise=True, location={"lon": 34.40, "lat": 31.40})
    real = _submit(db, _report(LonLat(34.4001, 31.4001)))
    assert real.facility_id is None
    drill = _submit(db, _report(LonLat(34.4001, 31.4001), exercise=True))
    assert drill.facility_id == exercise_site


def test_the_index_follows_a_moved_facility(db: Database) -> None:
    first = add_facility(db, location={"lon": 34.40, "lat": 31.40})
    second = add_facility(db, location={"lon": 34.50, "lat": 31.50})
    point = LonLat(34.4995, 31.4995)
    with db.read() as session:
        assert linkage.nearest_facilities(session, point, radius_m=500)[0].facility_id == second
    changes = facilities.FacilityUpdate(location={"lon": 34.4996, "lat": 31.4996})
    db.write(lambda s: facilities.update(s, first, changes=changes, actor=SYSTEM))
    with db.read() as session:
        assert linkage.nearest_facilities(session, point, radius_m=500)[0].facility_id == first


def test_movements_under_way_on_a_route_near_the_point(db: Database) -> None:
    # a route along the meridian 34.40 (a great circle); the point is 200 m east of its middle
    route = [[34.40, 31.30], [34.40, 31.50]]
    under_way = add_movement(db, route=route)
    add_movement(db, route=route, starts_at=(WHEN + timedelta(days=1)).isoformat(),
                 ends_at=(WHEN + timedelta(days=1, hours=2)).isoformat())  # fmt: skip
    cancelled = add_movement(db, route=route)
    db.write(
        lambda s: movements.set_status(
            s, cancelled, status=movements.MovementStatus.CANCELLED, actor=SYSTEM
        )
    )
    add_movement(db, route=route, exercise=True)
    east = 200 / (METRES_PER_DEGREE_LAT * math.cos(math.radians(31.40)))
    point = LonLat(34.40 + east, 31.40)
    with db.read() as session:
        hits = linkage.movements_near(session, point, at=WHEN + timedelta(hours=1), radius_m=500)
        none = linkage.movements_near(session, point, at=WHEN + timedelta(hours=1), radius_m=150)
        drills = linkage.movements_near(
            session, point, at=WHEN + timedelta(hours=1), radius_m=500, exercise=True
        )
    assert [h.movement_id for h in hits] == [under_way]
    assert hits[0].distance_m == pytest.approx(200, abs=0.05)
    assert hits[0].kind is movements.MovementKind.AMBULANCE_RUN
    assert none == []
    assert len(drills) == 2
    incident = _submit(db, _report(point))
    found = db.write(lambda s: linkage.link_incident(s, incident.id))
    assert [m.movement_id for m in found.movements] == [under_way]
    assert found.movements[0].within_precision


def test_route_distance_beyond_the_ends_is_to_the_nearest_end() -> None:
    route = [[10.0, 0.0], [11.0, 0.0]]
    west = LonLat(9.0, 0.0)
    assert linkage.route_distance_m(west, route) == pytest.approx(
        haversine_km(west, LonLat(10.0, 0.0)) * 1000, rel=1e-9
    )
    assert linkage.route_distance_m(LonLat(10.5, 0.0), route) == pytest.approx(0, abs=1e-6)


def test_api_linkage_of_an_incident(
    *, client: TestClient, db: Database, gaza: list[facilities.Facility]
) -> None:
    target = _isolated(gaza)
    incident = _submit(db, _report(_north(target, 150), tlp="green", sensitivity="moderate"))
    headers = {"Authorization": f"Bearer {make_token(db, 'viewer', role=Role.ANALYST)}"}
    body = client.get(f"/api/incidents/{incident.id}/linkage", headers=headers).json()
    assert body["outcome"] == "struck"
    assert body["facility"]["facility_id"] == target.id
    assert body["search_radius_m"] == 1000.0
    missing = client.get(f"/api/incidents/{uuid.uuid4()}/linkage", headers=headers)
    assert missing.status_code == 404


# --- the index against a brute-force haversine scan -------------------------------------------

coordinate = st.tuples(
    st.floats(min_value=-180, max_value=180, allow_nan=False),
    st.floats(min_value=-90, max_value=90, allow_nan=False),
)


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    sites=st.lists(coordinate, min_size=1, max_size=60),
    queries=st.lists(coordinate, min_size=1, max_size=10),
    clustered=st.booleans(),
)
def test_index_nearest_equals_brute_force_haversine(
    *, sites: list[tuple[float, float]], queries: list[tuple[float, float]], clustered: bool
) -> None:
    if clustered:  # most real sites sit within a few km of each other
        sites = [(34.4 + (lon % 1) / 50, 31.5 + (lat % 1) / 50) for lon, lat in sites]
        queries = [(34.4 + (lon % 1) / 50, 31.5 + (lat % 1) / 50) for lon, lat in queries]
    index = FacilityIndex.build([(i, f"site {i}", lon, lat) for i, (lon, lat) in enumerate(sites)])
    for lon, lat in queries:
        point = LonLat(lon, lat)
        brute = np.array([haversine_km(point, LonLat(*s)) * 1000 for s in sites])
        found = index.nearest(point, radius_m=3e7, limit=1)
        assert found, "a radius larger than the Earth finds every site"
        position, distance = found[0]
        assert distance == pytest.approx(brute.min(), rel=1e-9, abs=1e-6)
        assert brute[position] == pytest.approx(brute.min(), rel=1e-9, abs=1e-6)
        batch_position, batch_metres = index.nearest_many(np.array([lon]), np.array([lat]))
        assert batch_metres[0] == pytest.approx(brute.min(), rel=1e-9, abs=1e-6)
        assert brute[batch_position[0]] == pytest.approx(brute.min(), rel=1e-9, abs=1e-6)
        within = index.nearest(point, radius_m=float(brute.min()) + 1.0, limit=len(sites))
        assert {p for p, _ in within} == {
            int(i) for i in np.flatnonzero(brute <= float(brute.min()) + 1.0)
        }


def test_a_facility_registered_in_the_same_write_counts_at_once(db: Database) -> None:
    point = LonLat(34.40, 31.40)
    site = facilities.FacilityIn.model_validate(
        {"name": "Same-write Clinic (fictional)", "country": "PSE",
         "location": {"lon": 34.4001, "lat": 31.4001}}
    )  # fmt: skip

    def write(session: Session) -> tuple[str, str, int]:
        before = reports.submit(session, _report(point), actor=SYSTEM).incident_id
        facility_id = facilities.create(session, site, actor=SYSTEM).id
        after = reports.submit(session, _report(point), actor=SYSTEM).incident_id
        return before, after, facility_id

    before, after, facility_id = db.write(write)
    with db.read() as session:
        first, second = (session.get(IncidentRow, i) for i in (before, after))
        assert first is not None and first.facility_id is None
        assert second is not None and second.facility_id == facility_id


def test_relinking_follows_the_registry(db: Database) -> None:
    site = add_facility(db, location={"lon": 34.50, "lat": 31.50})
    incident = _submit(db, _report(LonLat(34.5005, 31.5005)))
    assert incident.facility_id == site
    away = facilities.FacilityUpdate(location={"lon": 34.60, "lat": 31.60})
    db.write(lambda s: facilities.update(s, site, changes=away, actor=SYSTEM))
    found = db.write(lambda s: linkage.link_incident(s, incident.id))
    assert found.outcome is LinkOutcome.NONE and found.facility is None
    with db.read() as session:
        row = session.get(IncidentRow, incident.id)
        assert row is not None and (row.facility_id, row.facility_distance_m) == (None, None)
        links = session.scalars(
            select(AuditEventRow.detail).where(
                AuditEventRow.action == "incident.link", AuditEventRow.entity_id == incident.id
            )
        ).all()
    assert [d["facility_id"] for d in links] == [site, None]
