"""Facility and movement test helpers: fictional sites, movements, and a tiny OSM file."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from haven import facilities, movements
from haven.accounts import SYSTEM
from haven.db import Database

WHEN = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def facility_json(**changes: Any) -> dict[str, Any]:
    """A fictional clinic as the API takes it."""
    return {
        "name": f"Test Clinic {uuid.uuid4().hex[:6]} (fictional)",
        "kind": "clinic",
        "operator": "Fictional Health Trust",
        "services": ["primary care", "vaccination"],
        "beds": 12,
        "location": {"lon": 34.40, "lat": 31.40},
        "country": "PSE",
        "focal_points": [
            {"name": "Dr Test Person", "role": "director", "phone": "+970 59 000 0001"}
        ],
        **changes,
    }


def add_facility(db: Database, **changes: Any) -> int:
    """Register a fictional facility; returns its id."""
    item = facilities.FacilityIn.model_validate(facility_json(**changes))
    return db.write(lambda s: facilities.create(s, item, actor=SYSTEM).id)


def movement_json(**changes: Any) -> dict[str, Any]:
    """A fictional ambulance run as the API takes it."""
    return {
        "kind": "ambulance_run",
        "name": "Test run (fictional)",
        "route": [[34.30, 31.30], [34.35, 31.35], [34.40, 31.40]],
        "starts_at": WHEN.isoformat(),
        "ends_at": (WHEN + timedelta(hours=2)).isoformat(),
        "vehicles": [{"description": "Type B ambulance", "markings": "red crescent"}],
        "personnel_count": 3,
        "cargo": "two fictional patients",
        "organisation": "Fictional Ambulance Service",
        **changes,
    }


def add_movement(db: Database, **changes: Any) -> int:
    """Register a fictional movement; returns its id."""
    item = movements.MovementIn.model_validate(movement_json(**changes))
    return db.write(lambda s: movements.create(s, item, actor=SYSTEM).id)


def write_osm(path: Path) -> Path:
    """A tiny ``.osm.pbf``: a hospital node, a pharmacy node, a clinic way (a square), a school
    node and a bare node (both ignored). Written with pyosmium's ``SimpleWriter``."""
    import osmium  # noqa: PLC0415 - only OSM tests need it

    square = [(34.4500, 31.5000), (34.4520, 31.5000), (34.4520, 31.5020), (34.4500, 31.5020)]
    writer = osmium.SimpleWriter(str(path))
    try:
        nodes = [
            osmium.osm.mutable.Node(
                id=1, location=(34.4600, 31.5100), tags={"amenity": "hospital", "name": "Test H"}
            ),
            osmium.osm.mutable.Node(
                id=2, location=(34.4700, 31.5200), tags={"amenity": "pharmacy", "name": "Test P"}
            ),
            osmium.osm.mutable.Node(id=3, location=(34.4800, 31.5300), tags={"amenity": "school"}),
            *(
                osmium.osm.mutable.Node(id=10 + i, location=xy, tags={})
                for i, xy in enumerate(square)
            ),
        ]
        for node in nodes:
            writer.add_node(node)
        writer.add_way(
            osmium.osm.mutable.Way(
                id=100,
                nodes=[10, 11, 12, 13, 10],
                tags={"healthcare": "clinic", "name": "Test C", "operator": "Fictional Trust"},
            )
        )
    finally:
        writer.close()
    return path


def facility_points() -> dict[str, Any]:
    """A GeoJSON FeatureCollection of one fictional clinic."""
    feature = {
        "type": "Feature",
        "properties": {"name": "Matrix Clinic (fictional)", "kind": "clinic"},
        "geometry": {"type": "Point", "coordinates": [44.2, 15.35]},
    }
    return {"type": "FeatureCollection", "features": [feature]}
