"""Helpers for the routing tests: the Helsinki network, incidents placed on it, networkx twins."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import numpy as np

from haven import reports
from haven.accounts import SYSTEM
from haven.db import Database
from haven.geo import LonLat
from haven.routing import RoadNetwork
from haven.routing.build import build_network
from haven.routing.osm import read_ways

HEAVY = (
    "Violence with heavy weapons (requires more than one person to use such as firearms, "
    "tanks, missiles, bombs, mortars)"
)


def helsinki_network(datasets: Path) -> RoadNetwork:
    """The Helsinki extract built straight from the file (no database)."""
    return build_network(read_ways(datasets / "helsinki_osm_extract.osm.pbf"))


def as_networkx(network: RoadNetwork, weights: np.ndarray) -> nx.DiGraph:
    """The same directed graph in networkx, parallel edges reduced to the cheapest."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(network.node_count))
    for tail, head, weight in zip(
        network.tails.tolist(), network.heads.tolist(), weights.tolist(), strict=True
    ):
        if not graph.has_edge(tail, head) or graph[tail][head]["w"] > weight:
            graph.add_edge(tail, head, w=weight)
    return graph


def node_point(network: RoadNetwork, node: int) -> LonLat:
    """Where node ``node`` is."""
    return LonLat(float(network.lon[node]), float(network.lat[node]))


def add_incident(db: Database, point: LonLat, *, occurred_at: datetime, killed: int = 2) -> str:
    """A fictional test incident (shelling) at ``point``; returns its id."""
    body = reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "routing test", "kind": "form"},
            "occurred_at": occurred_at.isoformat(),
            "location": {"lon": point.lon, "lat": point.lat},
            "geo_precision": 1,
            "country": "FIN",
            "attack_types": [HEAVY],
            "casualties": {"health_workers": {"killed": killed}},
            "tlp": "amber",
        }
    )
    return db.write(lambda s: reports.submit(s, body, actor=SYSTEM)).incident_id


def matrix_route_params(db: Database, settings: object) -> dict[str, str]:
    """Query parameters of a route on the Helsinki extract, imported on first use (auth matrix)."""
    from haven.routing.demo import import_helsinki  # noqa: PLC0415 - only the matrix needs it
    from tests.conftest import DATASETS  # noqa: PLC0415

    import_helsinki(db, settings, datasets=DATASETS)  # type: ignore[arg-type]
    return {"from": "60.1662,24.9372", "to": "60.1772,24.9510"}


def matrix_closure(db: Database) -> int:
    """A fresh closure in Helsinki (auth matrix); returns its id."""
    from haven.routing import ClosureIn, create_closure  # noqa: PLC0415

    body = ClosureIn(name="matrix", geometry={"type": "Point", "coordinates": [24.94, 60.17]})
    return db.write(lambda s: create_closure(s, body, actor=SYSTEM)).id


MATRIX_CLOSURE_JSON = {
    "name": "matrix closure",
    "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
    "exercise": True,
}


def matrix_obstruction(db: Database, settings: object) -> str:
    """A fresh TLP:GREEN obstruction incident on a Helsinki road, proposed as a closure
    (auth matrix); returns its id."""
    from haven.routing import load_network  # noqa: PLC0415
    from haven.taxonomy import SsaAttackType  # noqa: PLC0415

    matrix_route_params(db, settings)
    with db.read() as session:
        network = load_network(session, settings)  # type: ignore[arg-type]
    node = int(np.hypot(network.lon - 24.94, network.lat - 60.17).argmin())
    body = reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "matrix (fictional)", "kind": "form"},
            "occurred_at": datetime.now(UTC).isoformat(),
            "location": {"lon": float(network.lon[node]), "lat": float(network.lat[node])},
            "geo_precision": 1,
            "country": "FIN",
            "attack_types": [SsaAttackType.OBSTRUCTION.value],
            "tlp": "green",
        }
    )
    return db.write(lambda s: reports.submit(s, body, actor=SYSTEM)).incident_id


Run = Callable[..., subprocess.CompletedProcess[str]]


def haven_with_roads(data_dir: Path, *, datasets: Path) -> Run:
    """``haven --data-dir data_dir ARGS…`` as a subprocess, after importing the Helsinki roads."""
    haven = Path(sys.executable).parent / "haven"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(haven), "--data-dir", str(data_dir), *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    imported = run("roads", "import", str(datasets / "helsinki_osm_extract.osm.pbf"))
    assert imported.returncode == 0, imported.stderr
    return run
