"""The routing part of the demo: the Helsinki road extract, one EXERCISE closure and one
EXERCISE obstruction incident on a road (a closure proposal for coordinators)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import reports
from haven.accounts import SYSTEM
from haven.db import Database
from haven.models import ReportRow, RoadClosureRow, utcnow
from haven.routing.closures import ClosureIn, ClosureKind, create_closure
from haven.routing.store import RoadImport, import_network, latest_import, load_network
from haven.settings import Settings
from haven.taxonomy import SsaAttackType

__all__ = ["DEMO_CLOSURE", "DEMO_OBSTRUCTION", "HELSINKI_FILE", "import_helsinki", "load_demo"]

HELSINKI_FILE = "helsinki_osm_extract.osm.pbf"
DEMO_CLOSURE = "EXERCISE: road closed near the centre (fictional)"
DEMO_OBSTRUCTION = uuid.UUID("5f1c2a9e-0b7d-4c3e-9a61-3e2f7d0c4b18")
"""The report id of the exercise obstruction incident (fixed, so the demo adds it once)."""


def import_helsinki(db: Database, settings: Settings, *, datasets: Path) -> RoadImport:
    """Import the Helsinki extract unless it is already the latest network; return the import."""
    path = datasets / HELSINKI_FILE
    with db.read() as session:
        latest = latest_import(session)
    if latest is not None and latest.name == HELSINKI_FILE:
        return latest
    return db.write(lambda s: import_network(s, path, settings=settings, actor=SYSTEM))


def _add_closure(session: Session, settings: Settings) -> None:
    if session.scalar(select(RoadClosureRow.id).where(RoadClosureRow.name == DEMO_CLOSURE)):
        return
    network = load_network(session, settings)
    west, south, east, north = network.bounds()
    centre = np.hypot(network.lon - (west + east) / 2, network.lat - (south + north) / 2)
    node = int(centre.argmin())
    create_closure(
        session,
        ClosureIn(
            name=DEMO_CLOSURE,
            kind=ClosureKind.CLOSURE,
            geometry={
                "type": "Point",
                "coordinates": [float(network.lon[node]), float(network.lat[node])],
            },
            radius_m=40.0,
            exercise=True,
        ),
        actor=SYSTEM,
    )


def _add_obstruction(session: Session, settings: Settings) -> None:
    """An EXERCISE obstruction incident a few metres off a road north-east of the centre."""
    if session.get(ReportRow, str(DEMO_OBSTRUCTION)) is not None:
        return
    network = load_network(session, settings)
    west, south, east, north = network.bounds()
    target = ((west + east) / 2 + 0.004, (south + north) / 2 + 0.002)
    node = int(np.hypot(network.lon - target[0], network.lat - target[1]).argmin())
    body = reports.ReportIn.model_validate(
        {
            "id": str(DEMO_OBSTRUCTION),
            "source": {"name": "EXERCISE scenario (fictional)", "kind": "form"},
            "occurred_at": (utcnow() - timedelta(hours=1)).isoformat(),
            "location": {"lon": float(network.lon[node]), "lat": float(network.lat[node]) + 1e-4},
            "geo_precision": 1,
            "country": "FIN",
            "location_name": "EXERCISE: checkpoint stopping ambulances (fictional)",
            "narrative": "EXERCISE: a checkpoint stops ambulances on this road (fictional).",
            "attack_types": [SsaAttackType.OBSTRUCTION.value],
            "tlp": "green",
            "exercise": True,
        }
    )
    reports.submit(session, body, actor=SYSTEM)


def load_demo(db: Database, *, settings: Settings | None, datasets: Path) -> None:
    """Import the Helsinki extract, add one EXERCISE closure and one EXERCISE obstruction incident.

    Running it again changes nothing.

    Without settings, or when the extract is not at hand, it does nothing.
    """
    if settings is None or not (datasets / HELSINKI_FILE).is_file():
        return
    import_helsinki(db, settings, datasets=datasets)
    db.write(lambda s: _add_closure(s, settings))
    db.write(lambda s: _add_obstruction(s, settings))
