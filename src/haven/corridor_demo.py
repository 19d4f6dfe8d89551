"""The corridor and evacuation part of the demo: an EXERCISE corridor and plan on Helsinki roads.

Everything it adds is fictional and labelled EXERCISE: five field facilities
placed on road junctions of the Helsinki extract, one corridor across it, and
one evacuation plan between the facilities. Running it again changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import corridor_check, facilities
from haven.accounts import SYSTEM
from haven.corridors import CorridorIn, CorridorMode
from haven.db import Database
from haven.evacuation import Service, Urgency
from haven.evacuation_plan import EvacuationIn, PatientsIn, ReceiverIn, plan
from haven.models import CorridorRow, EvacuationPlanRow, FacilityRow
from haven.routing import RoadNetwork, load_network
from haven.routing.demo import HELSINKI_FILE, import_helsinki
from haven.settings import Settings

__all__ = ["DEMO_CORRIDOR", "DEMO_PLAN", "load_demo"]

DEMO_CORRIDOR = "EXERCISE: West–East supply corridor (fictional)"
DEMO_PLAN = "EXERCISE: evacuation of two field clinics (fictional)"

_SITES = (  # name, where in the extract (fraction west→east, south→north), services
    ("West Field Clinic", (0.12, 0.5), ["general"]),
    ("East Field Clinic", (0.88, 0.5), ["general"]),
    ("Harbour Field Hospital", (0.35, 0.25), ["surgery", "general", "burns"]),
    ("Hill Maternity Unit", (0.55, 0.75), ["maternity", "paediatrics", "general"]),
    ("Park Trauma Hospital", (0.7, 0.3), ["surgery", "intensive_care"]),
)
_CORRIDOR = ((0.05, 0.45), (0.95, 0.4))


def _junction(network: RoadNetwork, where: tuple[float, float]) -> tuple[float, float]:
    west, south, east, north = network.bounds()
    fx, fy = where
    lon, lat = west + (east - west) * fx, south + (north - south) * fy
    node = int(np.hypot(network.lon - lon, (network.lat - lat) * 2).argmin())
    return float(network.lon[node]), float(network.lat[node])


def _sites(session: Session, network: RoadNetwork) -> list[int]:
    ids: list[int] = []
    for name, (fx, fy), services in _SITES:
        external_id = f"haven-demo:helsinki:{name}"
        found = session.scalar(select(FacilityRow.id).where(FacilityRow.external_id == external_id))
        if found is None:
            lon, lat = _junction(network, (fx, fy))
            item = facilities.FacilityIn.model_validate(
                {
                    "name": f"EXERCISE {name} (fictional)",
                    "kind": "hospital" if "Hospital" in name else "clinic",
                    "services": services,
                    "location": {"lon": lon, "lat": lat},
                    "country": "FIN",
                    "external_id": external_id,
                    "exercise": True,
                }
            )
            found = facilities.create(session, item, actor=SYSTEM).id
        ids.append(found)
    return ids


def _corridor(session: Session, network: RoadNetwork, *, settings: Settings) -> None:
    if session.scalar(select(CorridorRow.id).where(CorridorRow.name == DEMO_CORRIDOR)):
        return
    body = CorridorIn(
        name=DEMO_CORRIDOR,
        description="A fictional supply corridor across the Helsinki extract (exercise).",
        waypoints=[list(_junction(network, where)) for where in _CORRIDOR],
        mode=CorridorMode.FASTEST,
        exercise=True,
    )
    corridor_check.create(session, body, settings=settings, actor=SYSTEM)


def _plan(session: Session, sites: list[int], *, settings: Settings) -> None:
    if session.scalar(select(EvacuationPlanRow.id).where(EvacuationPlanRow.name == DEMO_PLAN)):
        return
    west, east, harbour, hill, park = sites
    request = EvacuationIn(
        name=DEMO_PLAN,
        mode="balanced",
        patients=[
            PatientsIn(origin=west, count=4, urgency=Urgency.RED, service=Service.SURGERY),
            PatientsIn(origin=west, count=2, urgency=Urgency.YELLOW, service=Service.MATERNITY),
            PatientsIn(origin=east, count=3, urgency=Urgency.YELLOW, service=Service.SURGERY),
            PatientsIn(origin=east, count=1, urgency=Urgency.GREEN, service=Service.DIALYSIS),
        ],
        receivers=[
            ReceiverIn(facility=harbour, free_beds=3),
            ReceiverIn(facility=hill, free_beds=4),
            ReceiverIn(facility=park, free_beds=2),
        ],
        exercise=True,
    )
    plan(session, request, settings=settings, actor=SYSTEM)


def load_demo(db: Database, *, settings: Settings | None, datasets: Path) -> None:
    """Add the EXERCISE facilities, corridor and evacuation plan on the Helsinki roads.

    It imports the extract first if no network is there yet (the same import as the
    routing demo, which is idempotent). Without settings or the extract, it does nothing.
    """
    if settings is None or not (datasets / HELSINKI_FILE).is_file():
        return
    import_helsinki(db, settings, datasets=datasets)

    def add(session: Session) -> None:
        network = load_network(session, settings)
        sites = _sites(session, network)
        _corridor(session, network, settings=settings)
        _plan(session, sites, settings=settings)

    db.write(add)
