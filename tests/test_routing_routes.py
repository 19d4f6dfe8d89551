"""Routes on the Helsinki extract: closures avoided, incidents change the safest route, snapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import shapely

from haven.accounts import SYSTEM, Actor, Role
from haven.db import Database
from haven.errors import InvalidInput, PermissionDenied
from haven.geo import LonLat
from haven.routing import (
    ClosureIn,
    ClosureKind,
    RoadNetwork,
    Route,
    create_closure,
    end_closure,
    list_closures,
    load_network,
    route,
    travel_matrix,
)
from haven.routing.build import haversine_m
from haven.routing.demo import DEMO_CLOSURE, import_helsinki, load_demo
from haven.settings import Settings
from tests.support.routing import add_incident, node_point

SOUTH_WEST = LonLat(24.9372, 60.1662)
NORTH_EAST = LonLat(24.9510, 60.1772)
WEST = LonLat(24.9380, 60.1740)
EAST = LonLat(24.9520, 60.1670)


@pytest.fixture
def network(*, db: Database, settings: Settings, datasets: Path) -> RoadNetwork:
    """The Helsinki extract imported into the test database."""
    import_helsinki(db, settings, datasets=datasets)
    with db.read() as session:
        return load_network(session, settings)


def _route(db: Database, network: RoadNetwork, **options: object) -> list[Route]:
    origin = options.pop("origin", SOUTH_WEST)
    destination = options.pop("destination", NORTH_EAST)
    with db.read() as session:
        return route(session, network, origin, destination, **options)  # type: ignore[arg-type]


def _square(centre: list[float], *, half_m: float) -> dict[str, object]:
    lon, lat = centre
    dx = half_m / (111_320 * np.cos(np.radians(lat)))
    dy = half_m / 110_574
    ring = [
        [lon - dx, lat - dy],
        [lon + dx, lat - dy],
        [lon + dx, lat + dy],
        [lon - dx, lat + dy],
        [lon - dx, lat - dy],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def _middle(found: Route) -> list[float]:
    coordinates = found.geometry["coordinates"]
    return coordinates[len(coordinates) // 2]


def test_a_route_has_time_length_geometry_and_snap_distances(
    db: Database, network: RoadNetwork
) -> None:
    [found] = _route(db, network)
    assert found.geometry["type"] == "LineString"
    assert len(found.geometry["coordinates"]) >= 2
    assert 1000 < found.length_m < 5000
    assert 60 < found.travel_time_s < 1200
    inner = float(network.length_m[found.edges[1:-1]].sum())
    assert inner <= found.length_m <= float(network.length_m[found.edges].sum())
    assert found.origin_snap_m < 60
    assert found.destination_snap_m < 60
    coordinates = np.array(found.geometry["coordinates"])
    drawn = haversine_m(
        coordinates[:-1, 0], coordinates[:-1, 1], lon2=coordinates[1:, 0], lat2=coordinates[1:, 1]
    )
    assert float(drawn.sum()) == pytest.approx(found.length_m, rel=0.01)
    for end, point, snapped in (
        (coordinates[0], SOUTH_WEST, found.origin_snap_m),
        (coordinates[-1], NORTH_EAST, found.destination_snap_m),
    ):
        gap = haversine_m(
            np.array([end[0]]), np.array([end[1]]), lon2=np.array([point.lon]),
            lat2=np.array([point.lat]),
        )  # fmt: skip
        assert float(gap[0]) == pytest.approx(snapped, abs=1.0)
    assert found.risk_exposure == 0
    assert not found.crosses_closure
    middle = [[round(lon, 7), round(lat, 7)] for lon, lat in network.path_line(found.edges[1:-1])]
    drawn_points = found.geometry["coordinates"]
    start = drawn_points.index(middle[0])
    assert drawn_points[start : start + len(middle)] == middle


def test_safest_route_avoids_a_closure_across_the_fastest_route(
    db: Database, network: RoadNetwork
) -> None:
    [fastest] = _route(db, network)
    area = _square(_middle(fastest), half_m=40)
    closure = db.write(
        lambda s: create_closure(
            s, ClosureIn(name="Closed for the test", geometry=area, radius_m=0), actor=SYSTEM
        )
    )
    polygon = shapely.geometry.shape(area)
    assert shapely.LineString(fastest.geometry["coordinates"]).intersects(polygon)
    for mode in ("safest", "fastest", "balanced"):
        [found] = _route(db, network, mode=mode)
        assert not found.crosses_closure
        assert not shapely.LineString(found.geometry["coordinates"]).intersects(polygon)
        assert found.travel_time_s > fastest.travel_time_s
        assert [c.closure_id for c in found.near_closures] == [closure.id]
    db.write(lambda s: end_closure(s, closure.id, actor=SYSTEM))
    [again] = _route(db, network)
    assert again.edges == fastest.edges


def test_a_closure_outside_its_window_is_ignored(db: Database, network: RoadNetwork) -> None:
    [fastest] = _route(db, network)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    db.write(
        lambda s: create_closure(
            s,
            ClosureIn(
                name="Closed tomorrow",
                geometry=_square(_middle(fastest), half_m=40),
                valid_from=tomorrow,
                valid_until=tomorrow + timedelta(hours=2),
            ),
            actor=SYSTEM,
        )
    )
    assert _route(db, network)[0].edges == fastest.edges
    later = _route(db, network, at=tomorrow + timedelta(hours=1))[0]
    assert later.edges != fastest.edges
    assert _route(db, network, at=tomorrow + timedelta(hours=3))[0].edges == fastest.edges


def test_a_checkpoint_adds_its_delay(db: Database, network: RoadNetwork) -> None:
    [fastest] = _route(db, network)
    db.write(
        lambda s: create_closure(
            s,
            ClosureIn(
                name="Checkpoint",
                kind=ClosureKind.CHECKPOINT,
                geometry={"type": "Point", "coordinates": _middle(fastest)},
                radius_m=5,
                delay_s=30,
            ),
            actor=SYSTEM,
        )
    )
    [found] = _route(db, network)
    if found.edges == fastest.edges:
        assert found.travel_time_s == pytest.approx(fastest.travel_time_s + 30, abs=0.01)
    else:
        assert fastest.travel_time_s < found.travel_time_s < fastest.travel_time_s + 30
    assert found.near_closures[0].name == "Checkpoint"


def test_a_new_incident_on_the_route_changes_the_safest_route(
    db: Database, network: RoadNetwork
) -> None:
    [fastest] = _route(db, network, mode="fastest")
    [safest] = _route(db, network, mode="safest")
    assert safest.edges == fastest.edges  # no risk yet
    middle = _middle(safest)
    incident = add_incident(
        db, LonLat(*middle), occurred_at=datetime.now(UTC) - timedelta(hours=2), killed=5
    )
    [after] = _route(db, network, mode="safest")
    [fast_after] = _route(db, network, mode="fastest")
    assert after.edges != safest.edges
    assert fast_after.edges == fastest.edges
    assert fast_after.risk_exposure > after.risk_exposure
    assert after.travel_time_s >= fast_after.travel_time_s
    assert incident in [n.incident_id for n in fast_after.near_incidents]
    assert fast_after.near_incidents[0].distance_m < 1.0
    assert fast_after.max_risk > 0.5


def test_balanced_lies_between_fastest_and_safest(db: Database, network: RoadNetwork) -> None:
    [fastest] = _route(db, network, mode="fastest")
    for fraction in (0.3, 0.5, 0.7):
        coordinates = fastest.geometry["coordinates"]
        point = coordinates[int(len(coordinates) * fraction)]
        add_incident(db, LonLat(*point), occurred_at=datetime.now(UTC) - timedelta(days=1))
    found = {t: _route(db, network, mode="balanced", tradeoff=t)[0] for t in (0.0, 0.5, 1.0)}
    safest = _route(db, network, mode="safest")[0]
    assert found[0.0].edges == _route(db, network, mode="fastest")[0].edges
    assert found[1.0].edges == safest.edges
    assert found[0.0].travel_time_s <= found[0.5].travel_time_s <= found[1.0].travel_time_s
    assert found[0.0].risk_exposure >= found[0.5].risk_exposure >= found[1.0].risk_exposure


def test_alternatives_are_genuinely_different(db: Database, network: RoadNetwork) -> None:
    found = _route(db, network, alternatives=3)
    assert len(found) >= 2
    assert found[0].edges == _route(db, network)[0].edges
    for index, later in enumerate(found[1:], start=1):
        for earlier in found[:index]:
            segments = network.edge_geom[earlier.edges]
            shared = np.isin(network.edge_geom[later.edges], segments)
            fraction = network.length_m[later.edges][shared].sum() / later.length_m
            assert fraction < 0.7
        assert later.travel_time_s >= found[0].travel_time_s


def test_points_off_the_network_are_snapped_or_refused(db: Database, network: RoadNetwork) -> None:
    south = network.bounds()[1]
    near = LonLat(24.944, south - 0.005)  # 556 m south of the southernmost junction, at sea
    [found] = _route(db, network, origin=near)
    assert 556 <= found.origin_snap_m < 2000
    assert found.origin == [near.lon, near.lat]
    far = LonLat(24.90, 60.10)
    with pytest.raises(InvalidInput) as caught:
        _route(db, network, origin=far)
    assert set(caught.value.fields) == {"origin"}
    with pytest.raises(InvalidInput) as caught:
        _route(db, network, destination=far)
    assert set(caught.value.fields) == {"destination"}
    with pytest.raises(InvalidInput) as caught:
        _route(db, network, origin=near, snap_limit_m=100)
    assert "origin" in caught.value.fields


def test_bad_options_name_their_field(db: Database, network: RoadNetwork) -> None:
    for options, field in (
        ({"mode": "quickest"}, "mode"),
        ({"mode": "balanced", "tradeoff": 1.5}, "tradeoff"),
        ({"alternatives": 9}, "alternatives"),
        ({"at": datetime(2025, 1, 1)}, "at"),
    ):
        with pytest.raises(InvalidInput) as caught:
            _route(db, network, **options)
        assert field in caught.value.fields


def test_travel_matrix_matches_single_routes(db: Database, network: RoadNetwork) -> None:
    origins = [SOUTH_WEST, WEST]
    destinations = [NORTH_EAST, EAST, SOUTH_WEST]
    with db.read() as session:
        matrix = travel_matrix(session, network, origins, destinations, mode="safest")
    for i, origin in enumerate(origins):
        for j, destination in enumerate(destinations):
            [one] = _route(db, network, origin=origin, destination=destination, mode="safest")
            assert matrix.seconds[i][j] == pytest.approx(one.travel_time_s, abs=0.01)
            assert matrix.cost_s[i][j] is not None
    assert matrix.seconds[0][2] == 0.0
    assert len(matrix.origin_snap_m) == 2


def test_closures_need_the_manage_permission_and_list_by_window(
    db: Database, network: RoadNetwork
) -> None:
    analyst = Actor("analyst", Role.ANALYST)
    body = ClosureIn(name="x", geometry={"type": "Point", "coordinates": [24.94, 60.17]})
    with pytest.raises(PermissionDenied):
        db.write(lambda s: create_closure(s, body, actor=analyst))
    made = db.write(lambda s: create_closure(s, body, actor=Actor("coord", Role.COORDINATOR)))
    with db.read() as session:
        assert [c.id for c in list_closures(session, actor=analyst)] == [made.id]
    db.write(lambda s: end_closure(s, made.id, actor=SYSTEM))
    with db.read() as session:
        assert list_closures(session, actor=analyst) == []
        assert [c.active for c in list_closures(session, actor=analyst, active_only=False)] == [
            False
        ]


@pytest.mark.parametrize(
    ("geometry", "field"),
    [
        ({"type": "Circle", "coordinates": [24.9, 60.1]}, "geometry.type"),
        ({"type": "Point", "coordinates": [240.0, 60.1]}, "geometry.coordinates"),
        ({"type": "LineString", "coordinates": [[24.9, 60.1]]}, "geometry.coordinates[0]"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "geometry",
        ),
        (None, "geometry"),
    ],
)
def test_bad_closure_geometry_names_the_field_and_writes_nothing(
    *, db: Database, network: RoadNetwork, geometry: dict[str, object] | None, field: str
) -> None:
    body = ClosureIn(name="bad", geometry=geometry)
    with pytest.raises(InvalidInput) as caught:
        db.write(lambda s: create_closure(s, body, actor=SYSTEM))
    assert field in caught.value.fields
    with db.read() as session:
        assert list_closures(session, actor=SYSTEM, active_only=False) == []


def test_a_closure_from_an_incident_takes_its_point(db: Database, network: RoadNetwork) -> None:
    incident = add_incident(db, WEST, occurred_at=datetime.now(UTC) - timedelta(hours=1))
    made = db.write(
        lambda s: create_closure(
            s, ClosureIn(name="Road blocked", incident_id=incident), actor=SYSTEM
        )
    )
    assert made.source == "incident"
    assert made.geometry["coordinates"] == pytest.approx([WEST.lon, WEST.lat])


def test_the_demo_adds_one_exercise_closure_once(
    *, db: Database, settings: Settings, datasets: Path
) -> None:
    load_demo(db, settings=settings, datasets=datasets)
    load_demo(db, settings=settings, datasets=datasets)
    with db.read() as session:
        closures = list_closures(session, actor=SYSTEM)
    assert [(c.name, c.exercise) for c in closures] == [(DEMO_CLOSURE, True)]


def test_incidents_older_than_the_window_do_not_raise_risk(
    db: Database, network: RoadNetwork
) -> None:
    [safest] = _route(db, network, mode="safest")
    old = datetime.now(UTC) - timedelta(days=network.risk_window_days + 5)
    add_incident(db, LonLat(*_middle(safest)), occurred_at=old, killed=9)
    [after] = _route(db, network, mode="safest")
    assert after.edges == safest.edges
    assert after.risk_exposure == 0
    then = _route(db, network, mode="safest", at=old + timedelta(hours=3))[0]
    assert then.edges != safest.edges
    assert then.near_incidents


def test_each_mode_is_optimal_for_its_own_cost_on_random_pairs(
    db: Database, network: RoadNetwork
) -> None:
    pick = np.random.default_rng(11)
    now = datetime.now(UTC)
    for node in pick.choice(network.node_count, 6, replace=False).tolist():
        add_incident(db, node_point(network, node), occurred_at=now - timedelta(days=2))
    for _ in range(25):
        a, b = (node_point(network, int(n)) for n in pick.choice(network.node_count, 2))
        [fast] = _route(db, network, origin=a, destination=b, mode="fastest")
        [safe] = _route(db, network, origin=a, destination=b, mode="safest")
        slack = 0.05 * (len(fast.edges) + len(safe.edges)) + 1e-6  # weights are whole 0.1 s
        assert fast.travel_time_s <= safe.travel_time_s + slack
        assert safe.risk_weighted_time_s <= fast.risk_weighted_time_s + 10 * slack
        assert safe.origin_snap_m == 0.0


def test_points_join_the_middle_of_a_road_and_a_trip_along_one_road_stays_on_it(
    db: Database, network: RoadNetwork
) -> None:
    longest = int(np.argmax(network.length_m))
    line = np.array(network.edge_line(longest))
    tail, head = int(network.tails[longest]), int(network.heads[longest])
    a = line[0] + 0.3 * (line[-1] - line[0]) if len(line) == 2 else line[len(line) // 3]
    b = line[0] + 0.7 * (line[-1] - line[0]) if len(line) == 2 else line[2 * len(line) // 3]
    origin, destination = LonLat(*a), LonLat(*b)
    [found] = _route(db, network, origin=origin, destination=destination)
    assert found.origin_snap_m < 1.0
    assert found.destination_snap_m < 1.0
    assert found.edges == [longest]
    assert 0 < found.length_m < network.length_m[longest]
    junctions = haversine_m(
        network.lon[[tail, head]], network.lat[[tail, head]],
        lon2=np.array([origin.lon] * 2), lat2=np.array([origin.lat] * 2),
    )  # fmt: skip
    assert junctions.min() > 5 * max(found.origin_snap_m, 1.0)


def test_an_incident_the_viewer_may_not_see_raises_risk_but_is_not_listed(
    db: Database, network: RoadNetwork
) -> None:
    import uuid  # noqa: PLC0415 - only this test writes its own report

    from haven import accounts, reports  # noqa: PLC0415
    from haven.routing import visible_near  # noqa: PLC0415

    for name, organisation in (("alpha", "Fictional Alpha Relief"), ("beta", "Fictional Beta")):
        db.write(
            lambda s, n=name, o=organisation: accounts.add_user(
                s, n, password=None, actor=SYSTEM, role=Role.ANALYST, organisation=o
            )
        )
    with db.read() as session:
        alpha = accounts.actor_named(session, "alpha")
        beta = accounts.actor_named(session, "beta")
    [fastest] = _route(db, network, mode="fastest")
    middle = LonLat(*_middle(fastest))
    body = reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "routing test", "kind": "form"},
            "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "location": {"lon": middle.lon, "lat": middle.lat},
            "geo_precision": 1,
            "country": "FIN",
            "attack_types": ["Violence with heavy weapons"],
            "casualties": {"health_workers": {"killed": 2}},
            "tlp": "red",
        }
    )
    incident = db.write(lambda s: reports.submit(s, body, actor=alpha)).incident_id
    [found] = _route(db, network, mode="fastest")
    with db.read() as session:
        [for_alpha] = visible_near(session, [found], actor=alpha)
        [for_beta] = visible_near(session, [found], actor=beta)
    assert incident in [n.incident_id for n in for_alpha.near_incidents]
    assert incident not in [n.incident_id for n in for_beta.near_incidents]
    assert for_beta.risk_exposure == found.risk_exposure > 0
