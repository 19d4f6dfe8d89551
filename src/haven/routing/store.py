"""Importing a road network (``haven roads import``) and loading the latest one, cached per process.

An import reads the ``.osm.pbf`` file, builds the network (``build``), writes it to
``DATA_DIR/roads/<sha256 prefix>.npz`` and records the import (file name, SHA-256,
counts, who) with an audit event. A bad file is refused before anything is written.
The file is named by the input's hash, so importing the same file again reuses it.
``load_network`` reads the newest import's file once per process.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.accounts import Actor, Permission, require
from haven.errors import InvalidInput, NotFound
from haven.models import RoadImportRow, utcnow
from haven.routing.build import build_network
from haven.routing.network import RoadNetwork, read_network, write_network
from haven.routing.osm import read_ways
from haven.settings import Settings

__all__ = ["RoadImport", "import_network", "latest_import", "load_network", "roads_dir"]

_CACHE: dict[tuple[str, str], RoadNetwork] = {}
_CACHE_LOCK = threading.Lock()
_CHUNK = 1 << 20


class RoadImport(BaseModel):
    """One recorded import of a road network."""

    id: int
    name: str
    sha256: str
    file: str
    node_count: int
    edge_count: int
    way_count: int
    bounds: list[float]
    """``[west, south, east, north]``."""
    imported_at: datetime
    imported_by: str


def roads_dir(settings: Settings) -> Path:
    """The folder of network files, ``DATA_DIR/roads``."""
    return settings.data_dir / "roads"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _public(row: RoadImportRow) -> RoadImport:
    return RoadImport(
        id=row.id,
        name=row.name,
        sha256=row.sha256,
        file=row.file,
        node_count=row.node_count,
        edge_count=row.edge_count,
        way_count=row.way_count,
        bounds=[float(v) for v in row.bounds],
        imported_at=row.imported_at,
        imported_by=row.imported_by,
    )


def import_network(
    session: Session, path: Path, *, settings: Settings, actor: Actor, name: str | None = None
) -> RoadImport:
    """Import the drivable roads of an ``.osm.pbf`` file as the network routes are planned on.

    Raises ``InvalidInput`` (field ``file``) for a missing, corrupt or road-less
    file; then nothing is written.
    """
    require(actor, Permission.IMPORT_DATA)
    if not path.is_file():
        raise InvalidInput(f"no file {path}", fields={"file": "not found"})
    sha = _sha256(path)
    ways = read_ways(path)
    target = roads_dir(settings) / f"{sha[:16]}.npz"
    if target.is_file():
        network = read_network(target)
    else:
        network = build_network(ways, name=path.name, sha256=sha)
        write_network(network, target)
    row = RoadImportRow(
        name=name or path.name,
        sha256=sha,
        file=target.name,
        node_count=network.node_count,
        edge_count=network.edge_count,
        way_count=len(ways),
        bounds=list(network.bounds()),
        imported_at=utcnow(),
        imported_by=actor.label,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="roads.import",
        entity_type="road_import",
        entity_id=row.id,
        detail={"name": row.name, "sha256": sha, "nodes": row.node_count, "edges": row.edge_count},
    )
    return _public(row)


def latest_import(session: Session) -> RoadImport | None:
    """The newest import, or None before the first."""
    row = session.scalar(select(RoadImportRow).order_by(RoadImportRow.id.desc()).limit(1))
    return _public(row) if row is not None else None


def load_network(session: Session, settings: Settings) -> RoadNetwork:
    """The newest imported network, read from disk once per process.

    Raises ``NotFound`` when no network was imported (``haven roads import FILE``).
    """
    latest = latest_import(session)
    if latest is None:
        raise NotFound(
            "no road network imported yet; run `haven roads import FILE.osm.pbf`",
            fields={"network": "none imported"},
        )
    path = (roads_dir(settings) / latest.file).resolve()
    key = (str(path), latest.sha256)
    with _CACHE_LOCK:
        network = _CACHE.get(key)
        if network is None:
            network = read_network(path, name=latest.name, sha256=latest.sha256)
            _CACHE[key] = network
    network.snap_limit_m = settings.routing_snap_limit_m
    network.risk_radius_m = settings.routing_risk_radius_m
    network.risk_half_life_days = settings.routing_risk_half_life_days
    network.risk_window_days = settings.routing_risk_window_days
    return network
