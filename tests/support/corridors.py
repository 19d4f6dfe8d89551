"""Corridor and evacuation test helpers that need no road network (for the authorization matrix)."""

from __future__ import annotations

import uuid
from typing import Any

from haven import corridors
from haven.accounts import SYSTEM
from haven.corridors import CorridorIn
from haven.db import Database
from haven.evacuation import URGENCY_WEIGHT, Totals
from haven.evacuation_plan import EvacuationPlan
from haven.models import EvacuationPlanRow, utcnow
from tests.support.facilities import add_facility

PATH = [[24.940, 60.168], [24.945, 60.169], [24.950, 60.170]]


def corridor_json() -> dict[str, Any]:
    """A fictional corridor as the API takes it."""
    return {"name": f"Matrix corridor {uuid.uuid4().hex[:8]} (fictional)", "waypoints": PATH[::2]}


def stored_corridor(db: Database) -> int:
    """A corridor stored along ``PATH`` without routing it (no network needed); its id."""
    body = CorridorIn.model_validate(corridor_json())
    return db.write(
        lambda s: corridors.store(
            s, body, path=PATH, length_m=700.0, travel_time_s=90.0, network_sha256="0" * 64,
            actor=SYSTEM,
        ).id
    )  # fmt: skip


def evacuation_json(db: Database) -> dict[str, Any]:
    """A valid evacuation request between two fictional facilities."""
    origin = add_facility(db)
    receiver = add_facility(db, services=["general"])
    return {
        "patients": [{"origin": origin, "count": 1, "urgency": "red", "service": "general"}],
        "receivers": [{"facility": receiver, "free_beds": 1}],
    }


def stored_plan(db: Database) -> int:
    """An (empty) evacuation plan stored as the planner stores one; its id."""
    now = utcnow()
    plan = EvacuationPlan(
        id=None,
        name="Matrix plan (fictional)",
        mode="balanced",
        tradeoff=0.5,
        at=now,
        urgency_weight={u.value: w for u, w in URGENCY_WEIGHT.items()},
        assignments=[],
        unplaced=[],
        totals=Totals(
            patients=0, placed=0, unplaced=0, placed_by_urgency={}, unplaced_by_urgency={},
            weighted_cost=0, patient_travel_s=0.0, max_travel_s=None, risk_exposure=None,
        ),
        exercise=True,
        network_sha256="0" * 64,
        created_by="system",
        created_at=now,
    )  # fmt: skip

    return store_plan(db, plan)


def store_plan(db: Database, plan: EvacuationPlan) -> int:
    """Store ``plan`` as the planner stores one (no road network needed); its id."""

    def add(session: Any) -> int:
        row = EvacuationPlanRow(
            name=plan.name, mode=plan.mode.value, request={}, plan={},
            patients=plan.totals.patients, placed=plan.totals.placed,
            unplaced=plan.totals.unplaced, network_sha256=plan.network_sha256,
            is_exercise=plan.exercise, created_by=plan.created_by, created_at=plan.created_at,
        )  # fmt: skip
        session.add(row)
        session.flush()
        row.plan = plan.model_copy(update={"id": row.id}).model_dump(mode="json")
        return int(row.id)

    return db.write(add)
