"""Routing endpoints: routes, the road network's status, closures (thin shells over haven.routing).

Reading routes, the network status, closures and closure proposals needs
``read_incidents`` (a route lists the incidents it passes near); adding and ending
closures, and accepting or dismissing proposals, needs ``manage_facilities``
(coordinators, admins). Points in the query string are
``lat,lon`` (latitude first, as people type them); every answer is GeoJSON order.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, BeforeValidator

from haven import routing
from haven.accounts import Permission, require
from haven.api.auth import CurrentActor, app_settings, database
from haven.db import Database
from haven.errors import InvalidInput
from haven.geo import LonLat
from haven.models import utcnow
from haven.routing import Closure, ClosureIn, RoadImport, Route, RouteMode
from haven.routing import proposals as closure_proposals
from haven.routing.proposals import ClosureProposal, Dismissal, ProposalAccept, ProposalDismiss
from haven.settings import Settings

__all__ = ["build_routing_router", "parse_lat_lon"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
ClosureId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The closure's id.")]
IncidentId = Annotated[str, Path(max_length=64, description="The obstruction incident's id.")]


def _iso_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("give an ISO 8601 date-time, e.g. 2025-03-03T06:00:00Z")
    return value


IsoQueryTime = Annotated[datetime, BeforeValidator(_iso_only)]


def parse_lat_lon(text: str, *, field: str) -> LonLat:
    """``"lat,lon"`` as a ``LonLat``; ``InvalidInput`` naming ``field`` when it is not one."""
    parts = text.split(",")
    try:
        lat, lon = (float(part) for part in parts)
    except ValueError:
        raise InvalidInput(
            f"{field} must be 'lat,lon' in decimal degrees", fields={field: f"{text!r}"}
        ) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput(f"{field} is outside the world", fields={field: f"{text!r}"})
    return LonLat(lon, lat)


class RouteAnswer(BaseModel):
    """The best route first, then the alternatives asked for."""

    network: str
    routes: list[Route]


class RoadStatus(BaseModel):
    """The road network routes are planned on, and how many closures are in force."""

    network: RoadImport | None
    active_closures: int


def _route_endpoint(router: APIRouter) -> None:
    @router.get("/route")
    def get_route(  # noqa: PLR0913 - one parameter per query option
        *,
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
        from_: Annotated[str, Query(alias="from", max_length=60, description="Origin, 'lat,lon'.")],
        to: Annotated[str, Query(max_length=60, description="Destination, 'lat,lon'.")],
        mode: RouteMode = RouteMode.FASTEST,
        tradeoff: Annotated[float, Query(ge=0.0, le=1.0, description="Balanced mode.")] = 0.5,
        alternatives: Annotated[int, Query(ge=0, le=3)] = 0,
        at: Annotated[
            IsoQueryTime | None, Query(description="Conditions at this time (UTC); now.")
        ] = None,
        exercise: Annotated[
            bool,
            Query(description="Obey exercise closures and incidents too (an exercise route)."),
        ] = False,
    ) -> RouteAnswer:
        """Fastest, safest or balanced route, with alternatives, risk and what it passes near."""
        require(actor, Permission.READ_INCIDENTS)
        origin = parse_lat_lon(from_, field="from")
        destination = parse_lat_lon(to, field="to")
        with db.read() as session:
            network = routing.load_network(session, settings)
            found = routing.route(
                session,
                network,
                origin,
                destination,
                mode=mode,
                tradeoff=tradeoff,
                alternatives=alternatives,
                at=at,
                exercise=exercise,
            )
            shown = routing.visible_near(session, found, actor=actor)
        return RouteAnswer(network=network.name, routes=shown)

    @router.get("/roads")
    def road_status(*, db: DB, actor: CurrentActor) -> RoadStatus:
        """The imported road network (null before the first import) and active closures."""
        require(actor, Permission.READ_INCIDENTS)
        with db.read() as session:
            return RoadStatus(
                network=routing.latest_import(session),
                active_closures=len(routing.active_closures(session, at=utcnow())),
            )


def _closure_endpoints(router: APIRouter) -> None:
    @router.get("/closures")
    def list_closures(
        *,
        db: DB,
        actor: CurrentActor,
        active: Annotated[bool, Query(description="Only those in force now.")] = True,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[Closure]:
        """Road closures, checkpoints and no-go areas, newest first."""
        with db.read() as session:
            return routing.list_closures(session, actor=actor, active_only=active, limit=limit)

    @router.post("/closures", status_code=201)
    async def add_closure(body: ClosureIn, *, db: DB, actor: CurrentActor) -> Closure:
        """Close a road, add a checkpoint or a no-go area; routes avoid it from the next query."""
        return await db.awrite(lambda s: routing.create_closure(s, body, actor=actor))

    @router.get("/closures/{closure_id:int}")
    def get_closure(closure_id: ClosureId, *, db: DB, actor: CurrentActor) -> Closure:
        """One closure."""
        with db.read() as session:
            return routing.get_closure(session, closure_id, actor=actor)

    @router.post("/closures/{closure_id:int}/end")
    async def end_closure(closure_id: ClosureId, *, db: DB, actor: CurrentActor) -> Closure:
        """End a closure now."""
        return await db.awrite(lambda s: routing.end_closure(s, closure_id, actor=actor))


def _proposal_endpoints(router: APIRouter) -> None:
    @router.get("/closures/proposals")
    def list_proposals(
        *,
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
        exercise: Annotated[
            bool, Query(description="Exercise proposals instead of real ones (never mixed).")
        ] = False,
    ) -> list[ClosureProposal]:
        """Recent obstruction incidents near a road that no coordinator has decided on yet."""
        with db.read() as session:
            return closure_proposals.list_proposals(
                session, settings, actor=actor, exercise=exercise
            )

    @router.post("/closures/proposals/{incident_id}/accept", status_code=201)
    async def accept_proposal(
        incident_id: IncidentId,
        body: ProposalAccept,
        *,
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
    ) -> Closure:
        """Close the road near the incident (the kind chosen here); routes change at once."""
        return await db.awrite(
            lambda s: closure_proposals.accept_proposal(
                s, incident_id, body=body, settings=settings, actor=actor
            )
        )

    @router.post("/closures/proposals/{incident_id}/dismiss")
    async def dismiss_proposal(
        incident_id: IncidentId,
        body: ProposalDismiss,
        *,
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
    ) -> Dismissal:
        """Decide not to close the road, with a written reason; it is not proposed again."""
        return await db.awrite(
            lambda s: closure_proposals.dismiss_proposal(
                s, incident_id, body=body, settings=settings, actor=actor
            )
        )


def build_routing_router() -> APIRouter:
    """The routing routes under ``/api``."""
    router = APIRouter(prefix="/api", tags=["routing"])
    _route_endpoint(router)
    _proposal_endpoints(router)
    _closure_endpoints(router)
    return router
