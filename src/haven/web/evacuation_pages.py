"""The evacuation plan pages: ``/evacuations`` (the stored plans) and ``/evacuations/{id}``.

Both are shells over ``evacuation_plan.list_plans`` and ``evacuation_plan.get_plan``
with the viewer's Actor, so they show exactly what their JSON twins
(``GET /api/evacuation/plans``, ``GET /api/evacuation/plans/{id}``) give.
The plan page groups the plan by origin facility and urgency and hands the
legs to ``static/evacuation.js`` for the map: each leg's road geometry as the
plan stored it or, when a leg has none, a straight origin→destination line
(marked as not a road) between the facilities' points the viewer may see.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from haven import evacuation_plan, facilities
from haven.accounts import Actor
from haven.api.auth import database
from haven.db import Database
from haven.errors import NotFound, PermissionDenied
from haven.evacuation import URGENCY_ORDER
from haven.evacuation_plan import AssignmentOut, EvacuationPlan, FacilityRef
from haven.web.pages import _page, record_number

__all__ = ["build_evacuation_page_router"]

DB = Annotated[Database, Depends(database)]


def _list_context(session: Session, actor: Actor) -> dict[str, Any]:
    return {"plans": evacuation_plan.list_plans(session, actor=actor)}


def _point(session: Session, facility: FacilityRef, *, actor: Actor) -> list[float] | None:
    """The facility's point as the viewer may see it, ``[lon, lat]``; ``None`` if hidden."""
    try:
        found = facilities.get(session, facility.id, actor=actor)
    except (NotFound, PermissionDenied):
        return None
    return [found.lon, found.lat]


def _origins(plan: EvacuationPlan) -> list[dict[str, Any]]:
    """The plan by origin facility (by name), each with its legs and unplaced by urgency."""
    rank = {urgency: i for i, urgency in enumerate(URGENCY_ORDER)}
    by_origin: dict[int, dict[str, Any]] = {}

    def entry(origin: FacilityRef) -> dict[str, Any]:
        return by_origin.setdefault(origin.id, {"origin": origin, "legs": [], "unplaced": []})

    for number, leg in enumerate(plan.assignments, start=1):
        entry(leg.origin)["legs"].append((number, leg))
    for unplaced in plan.unplaced:
        entry(unplaced.origin)["unplaced"].append(unplaced)
    for group in by_origin.values():
        group["legs"].sort(key=lambda pair: (rank[pair[1].urgency], pair[1].service, pair[0]))
        group["unplaced"].sort(key=lambda u: (rank[u.urgency], u.service))
    return sorted(by_origin.values(), key=lambda g: (g["origin"].name, g["origin"].id))


def _map_legs(session: Session, plan: EvacuationPlan, *, actor: Actor) -> list[dict[str, Any]]:
    """What the map draws per leg: the stored road geometry, else the straight line."""
    points: dict[int, list[float] | None] = {}

    def point(facility: FacilityRef) -> list[float] | None:
        if facility.id not in points:
            points[facility.id] = _point(session, facility, actor=actor)
        return points[facility.id]

    def line(leg: AssignmentOut) -> dict[str, Any] | None:
        start, end = point(leg.origin), point(leg.destination)
        if start is None or end is None:
            return None
        return {"type": "LineString", "coordinates": [start, end]}

    legs = []
    for number, leg in enumerate(plan.assignments, start=1):
        geometry = leg.geometry or line(leg)
        if geometry is None:
            continue
        legs.append(
            {
                "number": number,
                "origin": leg.origin.name,
                "destination": leg.destination.name,
                "count": leg.count,
                "urgency": leg.urgency.value,
                "minutes": round(leg.travel_time_s / 60, 1),
                "road": leg.geometry is not None,
                "geometry": geometry,
            }
        )
    return legs


def _plan_context(session: Session, actor: Actor, *, plan_id: str) -> dict[str, Any]:
    number = record_number(plan_id)
    if number is None:
        raise NotFound(f"no evacuation plan {plan_id}", fields={"plan_id": "unknown"})
    plan = evacuation_plan.get_plan(session, number, actor=actor)
    legs = _map_legs(session, plan, actor=actor)
    return {
        "plan": plan,
        "origins": _origins(plan),
        "map_legs": legs,
        "straight_lines": any(not leg["road"] for leg in legs),
        "risk_weighted_time_s": evacuation_plan.risk_weighted_total(plan.assignments),
    }


def build_evacuation_page_router() -> APIRouter:
    """The two evacuation pages (left out of the OpenAPI description, like every page)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/evacuations")
    async def evacuations_page(request: Request, *, db: DB) -> Response:
        return await _page(
            request,
            db,
            template="evacuations.html",
            load=_list_context,
            twin="/api/evacuation/plans",
        )

    @router.get("/evacuations/{plan_id}")
    async def evacuation_page(request: Request, plan_id: str, *, db: DB) -> Response:
        twin = f"/api/evacuation/plans/{plan_id}" if plan_id.isdigit() else None
        return await _page(
            request,
            db,
            template="evacuation.html",
            load=lambda s, a: _plan_context(s, a, plan_id=plan_id),
            twin=twin,
        )

    return router
