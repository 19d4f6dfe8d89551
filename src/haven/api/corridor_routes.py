"""Corridor and evacuation endpoints: thin shells over ``corridors``, ``corridor_check``,
``evacuation_plan``.

Reading corridors, their history, measurements and KPIs needs
``read_incidents``; creating corridors, setting their status, running the
automatic check and planning evacuations needs ``manage_facilities``
(coordinators, admins). While the app runs, every corridor is checked every
``corridor_check_interval_seconds``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query

from haven import corridor_check, corridors, evacuation_plan
from haven.accounts import Permission, require
from haven.api.auth import CurrentActor, app_settings, database
from haven.corridor_check import CheckResult
from haven.corridors import (
    Corridor,
    CorridorIn,
    CorridorKpis,
    CorridorStatus,
    CorridorUpdate,
    Observation,
    StatusChange,
    StatusIn,
)
from haven.db import Database
from haven.evacuation_plan import MAX_ROWS, EvacuationIn, EvacuationPlan, PlanSummary
from haven.facts import IsoDate, IsoDateTime
from haven.settings import Settings

__all__ = ["build_corridor_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
CorridorId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The corridor's id.")]
PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The plan's id.")]


@asynccontextmanager
async def _checker(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    task = None
    if settings.corridor_check_interval_seconds > 0:
        task = asyncio.create_task(corridor_check.check_periodically(app.state.db, settings))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()


def _start(value: date) -> datetime:
    return datetime.combine(value, time(), tzinfo=UTC)


def _day(value: date | None) -> datetime | None:
    return _start(value) if value is not None else None


def _corridor_reads(router: APIRouter) -> None:
    @router.get("/corridors")
    def list_corridors(
        *,
        db: DB,
        actor: CurrentActor,
        status: CorridorStatus | None = None,
        exercise: bool | None = None,
    ) -> list[Corridor]:
        """Corridors by name, each with its status in force and latest measurement."""
        with db.read() as session:
            return corridors.list_corridors(session, actor=actor, status=status, exercise=exercise)

    @router.get("/corridors/kpis")
    def corridor_kpis(
        *,
        db: DB,
        actor: CurrentActor,
        since: Annotated[IsoDate, Query(description="First day (UTC), YYYY-MM-DD.")],
        until: Annotated[IsoDate, Query(description="Day after the last (UTC), YYYY-MM-DD.")],
        exercise: bool | None = None,
    ) -> CorridorKpis:
        """Travel-time trend and availability of every corridor over ``[since, until)``."""
        require(actor, Permission.READ_INCIDENTS)
        with db.read() as session:
            return corridors.corridor_kpis(
                session, since=_start(since), until=_start(until), exercise=exercise
            )

    @router.get("/corridors/{corridor_id:int}")
    def get_corridor(corridor_id: CorridorId, *, db: DB, actor: CurrentActor) -> Corridor:
        """One corridor."""
        with db.read() as session:
            return corridors.get(session, corridor_id, actor=actor)

    @router.get("/corridors/{corridor_id:int}/history")
    def corridor_history(
        corridor_id: CorridorId, *, db: DB, actor: CurrentActor
    ) -> list[StatusChange]:
        """Every status the corridor had: when, who or what, automatic or manual, why."""
        with db.read() as session:
            return corridors.history(session, corridor_id, actor=actor)

    @router.get("/corridors/{corridor_id:int}/observations")
    def corridor_observations(
        corridor_id: CorridorId,
        *,
        db: DB,
        actor: CurrentActor,
        since: Annotated[IsoDate | None, Query(description="YYYY-MM-DD (UTC).")] = None,
        until: Annotated[IsoDate | None, Query(description="Day after the last.")] = None,
    ) -> list[Observation]:
        """The corridor's measurements (travel time, length, risk, status), oldest first."""
        with db.read() as session:
            return corridors.observations(
                session, corridor_id, actor=actor, since=_day(since), until=_day(until)
            )


def _corridor_writes(router: APIRouter) -> None:
    @router.post("/corridors", status_code=201)
    async def create_corridor(
        body: CorridorIn, *, db: DB, actor: CurrentActor, settings: AppSettings
    ) -> Corridor:
        """Declare a corridor: routed through its waypoints, stored and checked at once."""
        return await db.awrite(
            lambda s: corridor_check.create(s, body, settings=settings, actor=actor)
        )

    @router.patch("/corridors/{corridor_id:int}")
    async def update_corridor(
        corridor_id: CorridorId, body: CorridorUpdate, *, db: DB, actor: CurrentActor
    ) -> Corridor:
        """Change the name, description, buffer or incident window (the path stays as agreed)."""
        return await db.awrite(
            lambda s: corridors.update(s, corridor_id, changes=body, actor=actor)
        )

    @router.post("/corridors/{corridor_id:int}/status")
    async def set_corridor_status(
        corridor_id: CorridorId, body: StatusIn, *, db: DB, actor: CurrentActor
    ) -> Corridor:
        """Set the status by hand, with a reason; it holds until a person changes it."""
        return await db.awrite(
            lambda s: corridors.set_status(s, corridor_id, change=body, actor=actor)
        )

    @router.post("/corridors/check")
    async def check_corridors(
        *,
        db: DB,
        actor: CurrentActor,
        settings: AppSettings,
        corridor_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        at: Annotated[IsoDateTime | None, Query(description="Default: now (UTC).")] = None,
    ) -> list[CheckResult]:
        """Apply the automatic rules to every corridor (or one) and measure it now."""
        return await db.awrite(
            lambda s: corridor_check.check(
                s, settings=settings, actor=actor, corridor_id=corridor_id, at=at
            )
        )


def _evacuation_routes(router: APIRouter) -> None:
    @router.post("/evacuation/plan")
    async def plan_evacuation(
        body: EvacuationIn, *, db: DB, actor: CurrentActor, settings: AppSettings
    ) -> EvacuationPlan:
        """Assign patients to receiving facilities and routes: optimal under capacity, explained."""
        return await db.awrite(
            lambda s: evacuation_plan.plan(s, body, settings=settings, actor=actor)
        )

    @router.get("/evacuation/plans")
    def list_evacuation_plans(
        *,
        db: DB,
        actor: CurrentActor,
        exercise: Annotated[
            bool | None, Query(description="true: exercise plans only; false: real ones only.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS, description="At most this many.")] = 100,
    ) -> list[PlanSummary]:
        """Stored evacuation plans, newest first, each with its totals."""
        with db.read() as session:
            return evacuation_plan.list_plans(session, actor=actor, exercise=exercise, limit=limit)

    @router.get("/evacuation/plans/{plan_id:int}")
    def get_evacuation_plan(plan_id: PlanId, *, db: DB, actor: CurrentActor) -> EvacuationPlan:
        """A stored evacuation plan, as it was computed."""
        with db.read() as session:
            return evacuation_plan.get_plan(session, plan_id, actor=actor)


def build_corridor_router() -> APIRouter:
    """The corridor and evacuation routes under ``/api``, with the periodic corridor check."""
    router = APIRouter(prefix="/api", tags=["corridors"], lifespan=_checker)
    _corridor_reads(router)
    _corridor_writes(router)
    _evacuation_routes(router)
    return router
