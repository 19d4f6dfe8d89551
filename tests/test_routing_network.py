"""The road network: OSM tags read right, routes equal networkx's, partial updates, bad files."""

from __future__ import annotations

import random
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import func, select

from haven.accounts import SYSTEM, Actor, Role
from haven.db import Database
from haven.errors import InvalidInput, PermissionDenied
from haven.models import AuditEventRow, RoadImportRow
from haven.routing import RoadNetwork, import_network
from haven.routing.engine import BLOCKED_DS, LEVELS, Engine
from haven.routing.network import read_network, write_network
from haven.routing.osm import direction, parse_maxspeed, speed_kmh
from haven.routing.spatial import snap
from haven.routing.trips import find_trip
from haven.settings import Settings
from tests.support.routing import as_networkx, helsinki_network, node_point

HELSINKI = "helsinki_osm_extract.osm.pbf"


@pytest.fixture(scope="module")
def network(datasets: Path) -> RoadNetwork:
    """The Helsinki extract, built once for the module."""
    return helsinki_network(datasets)


@pytest.mark.parametrize(
    ("tag", "kmh"),
    [
        ("50", 50.0),
        ("30 mph", 30 * 1.609344),
        ("40;60", 40.0),
        ("walk", 7.0),
        ("FI:urban", None),
        ("none", None),
        ("signals", None),
        ("0", None),
        (None, None),
    ],
)
def test_maxspeed_numbers_and_units_are_read_and_zone_codes_are_not(
    tag: str | None, kmh: float | None
) -> None:
    assert parse_maxspeed(tag) == (pytest.approx(kmh) if kmh is not None else None)


def test_zone_codes_fall_back_to_the_road_class_speed() -> None:
    assert speed_kmh("residential", "FI:urban") == 30.0
    assert speed_kmh("primary", "FI:urban") == 60.0
    assert speed_kmh("primary", "80") == 80.0


@pytest.mark.parametrize(
    ("highway", "oneway", "junction", "expected"),
    [
        ("residential", None, None, (True, True)),
        ("residential", "yes", None, (True, False)),
        ("residential", "1", None, (True, False)),
        ("residential", "true", None, (True, False)),
        ("residential", "-1", None, (False, True)),
        ("primary", None, "roundabout", (True, False)),
        ("motorway", None, None, (True, False)),
        ("motorway", "no", None, (True, True)),
    ],
)
def test_one_way_tags(
    *, highway: str, oneway: str | None, junction: str | None, expected: tuple[bool, bool]
) -> None:
    assert direction(highway, oneway=oneway, junction=junction) == expected


def test_network_is_one_strong_component_in_csr_order(network: RoadNetwork) -> None:
    assert network.node_count > 500
    assert network.edge_count > network.node_count
    graph = csr_matrix(
        (np.ones(network.edge_count), (network.tails, network.heads)),
        shape=(network.node_count,) * 2,
    )
    count, _ = connected_components(graph, directed=True, connection="strong")
    assert count == 1
    assert np.all(np.diff(network.tails) >= 0)
    for node in (0, network.node_count // 2, network.node_count - 1):
        span = slice(network.indptr[node], network.indptr[node + 1])
        assert np.all(network.tails[span] == node)
    assert np.all(network.weight_ds >= 1)
    assert np.all(network.length_m > 0)


def test_some_roads_are_one_way(network: RoadNetwork) -> None:
    pairs = set(zip(network.tails.tolist(), network.heads.tolist(), strict=True))
    one_way = [(u, v) for u, v in pairs if (v, u) not in pairs]
    assert len(one_way) > 10


def test_edge_shapes_start_at_the_tail_and_end_at_the_head(network: RoadNetwork) -> None:
    for edge in range(0, network.edge_count, 37):
        line = network.edge_line(edge)
        tail, head = int(network.tails[edge]), int(network.heads[edge])
        assert line[0] == pytest.approx((network.lon[tail], network.lat[tail]))
        assert line[-1] == pytest.approx((network.lon[head], network.lat[head]))


def _check_against_networkx(engine: Engine, graph: nx.DiGraph, *, level: int, seed: int) -> None:
    network = engine.network
    weights = engine.edge_weights(level)
    pairs = random.Random(seed)
    for _ in range(150):
        source = pairs.randrange(network.node_count)
        target = pairs.randrange(network.node_count)
        path = engine.shortest_path(source, target, level=level)
        expected = nx.shortest_path_length(graph, source, target, weight="w")
        assert path is not None
        assert path.cost_ds == pytest.approx(expected, rel=1e-6)
        assert int(weights[path.edges].sum()) == path.cost_ds
        if path.edges:
            assert network.tails[path.edges[0]] == source
            assert network.heads[path.edges[-1]] == target
            assert np.array_equal(network.heads[path.edges[:-1]], network.tails[path.edges[1:]])


def test_routes_cost_what_networkx_finds_on_the_same_graph(network: RoadNetwork) -> None:
    engine = Engine(network)
    _check_against_networkx(engine, as_networkx(network, network.weight_ds), level=0, seed=1)


def test_partial_updates_match_networkx_on_the_updated_weights(network: RoadNetwork) -> None:
    engine = Engine(network)
    engine.shortest_path(0, 1, level=LEVELS)  # the metric exists before the update
    chosen = np.random.default_rng(7)
    risk = np.zeros(network.edge_count)
    risk[chosen.choice(network.edge_count, 200, replace=False)] = chosen.random(200)
    blocked = np.zeros(network.edge_count, dtype=bool)
    blocked[chosen.choice(network.edge_count, 30, replace=False)] = True
    changed = engine.set_conditions(
        blocked=blocked, delay_ds=np.zeros(network.edge_count, dtype=np.int64), risk=risk
    )
    assert 0 < changed <= 230
    weights = engine.edge_weights(LEVELS)
    assert np.all(weights[blocked] == BLOCKED_DS)
    assert np.array_equal(weights, engine.weights(LEVELS))
    _check_against_networkx(engine, as_networkx(network, weights), level=LEVELS, seed=2)


def test_network_file_round_trips(network: RoadNetwork, tmp_path: Path) -> None:
    target = tmp_path / "roads" / "net.npz"
    write_network(network, target)
    loaded = read_network(target)
    assert loaded.node_count == network.node_count
    assert np.array_equal(loaded.heads, network.heads)
    assert np.array_equal(loaded.order, network.order)
    assert list(target.parent.iterdir()) == [target]


def _counts(db: Database) -> tuple[int, int]:
    with db.read() as session:
        imports = session.scalar(select(func.count()).select_from(RoadImportRow))
        events = session.scalar(select(func.count()).select_from(AuditEventRow))
    return int(imports or 0), int(events or 0)


def test_import_records_the_network_with_an_audit_event(
    *, db: Database, settings: Settings, datasets: Path
) -> None:
    before = _counts(db)
    done = db.write(
        lambda s: import_network(s, datasets / HELSINKI, settings=settings, actor=SYSTEM)
    )
    assert done.node_count > 500
    assert done.way_count > 100
    assert (settings.data_dir / "roads" / done.file).is_file()
    assert _counts(db) == (before[0] + 1, before[1] + 1)
    with db.read() as session:
        action, detail = session.execute(
            select(AuditEventRow.action, AuditEventRow.detail)
            .order_by(AuditEventRow.id.desc())
            .limit(1)
        ).one()
    assert action == "roads.import"
    assert detail["sha256"] == done.sha256


def _bad_files(datasets: Path, tmp_path: Path) -> dict[str, Path]:
    real = (datasets / HELSINKI).read_bytes()
    files = {
        "text.osm.pbf": b"<osm version='0.6'></osm>\n",
        "random.osm.pbf": random.Random(3).randbytes(4096),
        "truncated.osm.pbf": real[: len(real) // 2],
        "flipped.osm.pbf": real[:2000] + bytes(b ^ 0xFF for b in real[2000:2400]) + real[2400:],
        "empty.osm.pbf": b"",
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return {name: tmp_path / name for name in files}


def test_a_corrupt_pbf_is_refused_and_nothing_is_written(
    *, db: Database, settings: Settings, datasets: Path, tmp_path: Path
) -> None:
    bad = _bad_files(datasets, tmp_path / "bad")
    before = _counts(db)
    for name, path in bad.items():
        with pytest.raises(InvalidInput) as caught:
            db.write(lambda s, p=path: import_network(s, p, settings=settings, actor=SYSTEM))
        assert "file" in caught.value.fields, name
        assert name in caught.value.message, name
    assert _counts(db) == before
    assert not (settings.data_dir / "roads").exists()


def test_importing_needs_the_import_permission(
    *, db: Database, settings: Settings, datasets: Path
) -> None:
    coordinator = Actor("coordinator", Role.COORDINATOR)
    with pytest.raises(PermissionDenied):
        db.write(
            lambda s: import_network(s, datasets / HELSINKI, settings=settings, actor=coordinator)
        )
    assert _counts(db)[0] == 0


def test_trips_between_junctions_cost_what_networkx_finds(network: RoadNetwork) -> None:
    engine = Engine(network)
    graph = as_networkx(network, network.weight_ds)
    pairs = random.Random(4)
    for _ in range(60):
        a, b = pairs.randrange(network.node_count), pairs.randrange(network.node_count)
        ends = (
            snap(network, node_point(network, a), field="origin", limit_m=10),
            snap(network, node_point(network, b), field="destination", limit_m=10),
        )
        trip = find_trip(network, engine, ends=ends, level=0)
        assert trip is not None
        assert ends[0].distance_m < 0.01
        assert trip.cost_ds == nx.shortest_path_length(graph, a, b, weight="w")
