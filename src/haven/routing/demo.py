"""The routing part of the demo: the Helsinki road extract and one EXERCISE closure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.accounts import SYSTEM
from haven.db import Database
from haven.models import RoadClosureRow
from haven.routing.closures import ClosureIn, ClosureKind, create_closure
from haven.routing.store import RoadImport, import_network, latest_import, load_network
from haven.settings import Settings

__all__ = ["DEMO_CLOSURE", "HELSINKI_FILE", "import_helsinki", "load_demo"]

HELSINKI_FILE = "helsinki_osm_extract.osm.pbf"
DEMO_CLOSURE = "EXERCISE: road closed near the centre (fictional)"


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


def load_demo(db: Database, *, settings: Settings | None, datasets: Path) -> None:
    """Import the Helsinki extract and add one EXERCISE closure; running it again changes nothing.

    Without settings, or when the extract is not at hand, it does nothing.
    """
    if settings is None or not (datasets / HELSINKI_FILE).is_file():
        return
    import_helsinki(db, settings, datasets=datasets)
    db.write(lambda s: _add_closure(s, settings))
