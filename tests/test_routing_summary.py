"""Route summaries equal a direct computation: what a route passes near, its figures, its ends."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import shapely

from haven.geo import LonLat
from haven.routing import RoadNetwork, RouteMode
from haven.routing.conditions import Conditions, build_conditions
from haven.routing.engine import LEVELS, RISK_FACTOR, Engine
from haven.routing.routes import find_routes, snap_ends
from haven.routing.spatial import plane
from haven.routing.trips import find_trip, trip_shares
from tests.support.routing import helsinki_network, node_point

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def network(datasets: Path) -> RoadNetwork:
    """The Helsinki extract, built once for the module (no database)."""
    return helsinki_network(datasets)


def _conditions(network: RoadNetwork, engine: Engine) -> Conditions:
    """Fictional incidents on 40 junctions and closures (all kinds) around 6 others."""
    pick = np.random.default_rng(7)
    nodes = pick.choice(network.node_count, 46, replace=False).tolist()
    incidents = [
        SimpleNamespace(
            id=f"test-{i}",
            lon=float(network.lon[node]),
            lat=float(network.lat[node]),
            occurred_at=NOW - timedelta(hours=3 + i),
            killed_total=i % 3,
            injured_total=i % 5,
            updated_at=NOW,
        )
        for i, node in enumerate(nodes[:40])
    ]
    closures = [
        SimpleNamespace(
            id=i + 1,
            name=f"test closure {i} (exercise)",
            kind=("closure", "checkpoint", "no_go")[i % 3],
            geometry={"type": "Point", "coordinates": [network.lon[node], network.lat[node]]},
            radius_m=25.0,
            delay_s=300.0,
        )
        for i, node in enumerate(nodes[40:])
    ]
    conditions = build_conditions(network, closure_rows=closures, incident_rows=incidents, at=NOW)
    engine.set_conditions(
        blocked=conditions.blocked, delay_ds=conditions.delay_ds, risk=conditions.risk
    )
    network.cache["engine"] = engine
    return conditions


def _points(network: RoadNetwork, count: int) -> list[tuple[LonLat, LonLat]]:
    pick = random.Random(11)
    pairs = []
    for k in range(count):
        a, b = (node_point(network, pick.randrange(network.node_count)) for _ in range(2))
        if k % 2:  # off the junctions: the trip starts and ends part-way along a road
            a = LonLat(a.lon + pick.uniform(-3e-4, 3e-4), a.lat + pick.uniform(-2e-4, 2e-4))
            b = LonLat(b.lon + pick.uniform(-3e-4, 3e-4), b.lat + pick.uniform(-2e-4, 2e-4))
        pairs.append((a, b))
    return pairs


def test_near_lists_and_figures_equal_a_direct_computation(network: RoadNetwork) -> None:
    engine = Engine(network)
    conditions = _conditions(network, engine)
    project = plane(network)
    listed = 0
    for origin, destination in _points(network, 40):
        ends = snap_ends(network, origin, destination, limit_m=2000)
        for near_m in (80.0, 250.0):
            [found] = find_routes(
                network,
                conditions,
                ends=ends,
                mode=RouteMode.SAFEST,
                level=LEVELS,
                alternatives=0,
                near_m=near_m,
            )
            trip = find_trip(network, engine, ends=ends, level=LEVELS)
            assert trip is not None
            assert found.edges == trip.edges
            # the same line from the route's own geometry, and an STRtree query on it
            lonlat = np.array(found.geometry["coordinates"])
            line = shapely.LineString(np.column_stack(project.xy(lonlat[:, 0], lonlat[:, 1])))
            hits = conditions.incident_tree.query(line, predicate="dwithin", distance=near_m)
            expected = {conditions.incidents[int(h)].id for h in hits}
            got = {near.incident_id for near in found.near_incidents}
            # rounding the geometry to 1e-7 degrees moves it by under 2 cm
            for near in found.near_incidents:
                point = conditions.incident_tree.geometries[
                    [p.id for p in conditions.incidents].index(near.incident_id)
                ]
                assert abs(near.distance_m - shapely.distance(point, line)) < 0.1
            border = {
                conditions.incidents[i].id
                for i, g in enumerate(conditions.incident_tree.geometries)
                if abs(shapely.distance(g, line) - near_m) < 0.05
            }
            assert got - border == expected - border
            assert [n.distance_m for n in found.near_incidents] == sorted(
                n.distance_m for n in found.near_incidents
            )
            closure_hits = conditions.closure_tree.query(line, predicate="dwithin", distance=near_m)
            assert {near.closure_id for near in found.near_closures} == {
                conditions.closures[int(h)].id for h in closure_hits
            }
            listed += len(found.near_incidents) + len(found.near_closures)
        edges = np.asarray(trip.edges, dtype=np.int64)
        shares = trip_shares(trip)
        seconds = network.time_s[edges] * shares
        delay = sum(
            conditions.delay_ds[e] / 10.0 for e, s in zip(edges, shares, strict=True) if s > 0
        )
        assert found.travel_time_s == pytest.approx(seconds.sum() + delay, abs=1e-3)
        assert found.length_m == pytest.approx((network.length_m[edges] * shares).sum(), abs=0.01)
        risk = conditions.risk[edges]
        assert found.risk_exposure == pytest.approx((risk * seconds).sum(), abs=1e-3)
        assert found.risk_weighted_time_s == pytest.approx(
            (seconds * (1 + RISK_FACTOR * risk)).sum() + delay, abs=1e-3
        )
        assert found.max_risk == pytest.approx(max(risk[shares > 0], default=0.0), abs=1e-4)
    assert listed > 20  # the pairs do pass near incidents and closures


def test_a_snapped_point_names_its_nearest_junction(network: RoadNetwork) -> None:
    for node in random.Random(3).sample(range(network.node_count), 20):
        start, end = snap_ends(
            network, node_point(network, node), node_point(network, node), limit_m=10
        )
        assert start.node == end.node == node
        assert start.distance_m < 0.01
