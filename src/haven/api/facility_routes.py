"""Facility, movement and linkage endpoints: thin shells over the registry services.

Reading needs ``read_incidents``; registering and editing facilities, their
status and movements needs ``manage_facilities`` (coordinators, admins);
importing a facility file needs ``import_data`` (admins); opening focal points
needs ``read_sensitive`` and a purpose (audited). An incident's linkage is
answered only for incidents the caller may see.
"""

from __future__ import annotations

import pathlib
import re
import tempfile
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict
from starlette.concurrency import run_in_threadpool

from haven import facilities, facility_import, facility_status, linkage, movements
from haven.accounts import Permission, require
from haven.api.auth import CurrentActor, app_settings, database
from haven.db import Database
from haven.errors import InvalidInput, PayloadTooLarge
from haven.facilities import Facility, FacilityIn, FacilityKind, FacilityLoad, FacilityUpdate
from haven.facility_status import StatusEntry, StatusIn
from haven.geo import BBox, iso3_country
from haven.linkage import IncidentLinkage
from haven.movements import Movement, MovementIn, MovementStatus
from haven.settings import Settings

__all__ = ["build_facility_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
FacilityId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The facility's id.")]
MovementId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The movement's id.")]


class MovementStatusIn(BaseModel):
    """The status a movement moves to."""

    model_config = ConfigDict(extra="forbid")

    status: MovementStatus


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return iso3_country(value)
    except ValueError as exc:
        raise InvalidInput("unknown country", fields={"country": str(exc)}) from exc


def _bbox(value: str | None) -> BBox | None:
    if value is None:
        return None
    try:
        return BBox.parse(value)
    except ValueError as exc:
        raise InvalidInput("bad bbox", fields={"bbox": str(exc)}) from exc


_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


def _iso_only(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date or date-time, e.g. 2025-03-03T08:00:00Z")
    return value


async def _save_body(request: Request, target: pathlib.Path, *, limit: int) -> None:
    """Stream the request body to ``target``, refusing more than ``limit`` bytes."""
    size = 0
    with target.open("wb") as out:
        async for block in request.stream():
            size += len(block)
            if size > limit:
                raise PayloadTooLarge(
                    f"the file is larger than {limit} bytes", fields={"body": f"at most {limit}"}
                )
            out.write(block)


def _facility_routes(router: APIRouter) -> None:
    @router.get("/facilities")
    def list_facilities(
        *,
        db: DB,
        actor: CurrentActor,
        country: Annotated[str | None, Query(max_length=60, description="ISO3 code.")] = None,
        bbox: Annotated[
            str | None, Query(max_length=120, description="west,south,east,north")
        ] = None,
        kind: FacilityKind | None = None,
        exercise: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> list[Facility]:
        """Facilities by name, each with its latest status; filter by country, bbox and kind."""
        with db.read() as session:
            return facilities.list_facilities(
                session,
                country=_country(country),
                bbox=_bbox(bbox),
                kind=kind,
                exercise=exercise,
                limit=limit,
                actor=actor,
            )

    @router.post("/facilities", status_code=201)
    async def create_facility(body: FacilityIn, *, db: DB, actor: CurrentActor) -> Facility:
        """Register a facility (focal points are stored encrypted)."""
        return await db.awrite(lambda s: facilities.create(s, body, actor=actor))

    @router.get("/facilities/{facility_id:int}")
    def get_facility(facility_id: FacilityId, *, db: DB, actor: CurrentActor) -> Facility:
        """One facility with its latest status."""
        with db.read() as session:
            return facilities.get(session, facility_id, actor=actor)

    @router.patch("/facilities/{facility_id:int}")
    async def update_facility(
        facility_id: FacilityId, body: FacilityUpdate, *, db: DB, actor: CurrentActor
    ) -> Facility:
        """Change a facility: only the fields sent change (focal points are replaced whole)."""
        return await db.awrite(
            lambda s: facilities.update(s, facility_id, changes=body, actor=actor)
        )

    @router.get("/facilities/{facility_id:int}/focal-points")
    async def focal_points(
        facility_id: FacilityId,
        *,
        db: DB,
        actor: CurrentActor,
        purpose: Annotated[
            str, Query(min_length=3, max_length=300, description="Why you need them (audited).")
        ],
    ) -> list[facilities.FocalPoint]:
        """The facility's focal points: needs ``read_sensitive`` and a purpose; audited."""
        return await db.awrite(
            lambda s: facilities.focal_points(s, facility_id, actor=actor, purpose=purpose)
        )

    @router.get("/facilities/{facility_id:int}/statuses")
    def status_history(
        facility_id: FacilityId,
        *,
        db: DB,
        actor: CurrentActor,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> list[StatusEntry]:
        """The facility's status entries, newest first, with supplies and days of autonomy."""
        with db.read() as session:
            return facility_status.history(session, facility_id, actor=actor, limit=limit)

    @router.post("/facilities/{facility_id:int}/statuses", status_code=201)
    async def add_status(
        facility_id: FacilityId, body: StatusIn, *, db: DB, actor: CurrentActor
    ) -> StatusEntry:
        """Record the facility's status (functioning, reason, supplies)."""
        return await db.awrite(
            lambda s: facility_status.add_status(s, facility_id, entry=body, actor=actor)
        )


def _import_route(router: APIRouter) -> None:
    @router.post(
        "/facilities/import",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    async def import_facilities(  # noqa: PLR0913 - one parameter per import option
        request: Request,
        *,
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
        format: Annotated[str, Query(pattern=r"^(geojson|csv|osm)$")],
        country: Annotated[str, Query(max_length=60, description="ISO3, for rows without one.")],
        kind: FacilityKind = FacilityKind.OTHER,
        source: Annotated[str | None, Query(max_length=200)] = None,
        filename: Annotated[str | None, Query(max_length=200)] = None,
        exercise: bool = False,
    ) -> FacilityLoad:
        """Import a GeoJSON, CSV or OpenStreetMap (.osm.pbf) facility file: all rows or none.

        Re-sending the same file changes nothing; a changed row updates its facility.
        """
        require(actor, Permission.IMPORT_DATA)
        code = _country(country)
        assert code is not None
        with tempfile.TemporaryDirectory(prefix="haven-facilities-") as folder:
            staging = pathlib.Path(folder) / "upload"
            await _save_body(request, staging, limit=settings.max_import_bytes)
            suffix = {"geojson": ".geojson", "csv": ".csv", "osm": ".osm.pbf"}[format]
            name = _SAFE_NAME.sub("_", pathlib.Path(filename or f"upload{suffix}").name)
            path = staging.rename(pathlib.Path(folder) / (name.strip("._") or f"upload{suffix}"))
            return await run_in_threadpool(
                lambda: db.write(
                    lambda s: facility_import.import_file(
                        s,
                        path,
                        actor=actor,
                        country=code,
                        fmt=format,
                        source_name=source,
                        kind=kind,
                        exercise=exercise,
                    )
                )
            )


def _movement_routes(router: APIRouter) -> None:
    @router.post("/movements", status_code=201)
    async def create_movement(body: MovementIn, *, db: DB, actor: CurrentActor) -> Movement:
        """Register an ambulance run, medical evacuation or convoy."""
        return await db.awrite(lambda s: movements.create(s, body, actor=actor))

    @router.get("/movements")
    def list_movements(
        *,
        db: DB,
        actor: CurrentActor,
        at: Annotated[
            datetime | None,
            BeforeValidator(_iso_only),
            Query(description="Under way at this time (UTC; no offset is read as UTC)."),
        ] = None,
        status: MovementStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[Movement]:
        """Movements, latest start first."""
        with db.read() as session:
            return movements.list_movements(session, actor=actor, at=at, status=status, limit=limit)

    @router.get("/movements/{movement_id:int}")
    def get_movement(movement_id: MovementId, *, db: DB, actor: CurrentActor) -> Movement:
        """One movement."""
        with db.read() as session:
            return movements.get(session, movement_id, actor=actor)

    @router.post("/movements/{movement_id:int}/status")
    async def set_movement_status(
        movement_id: MovementId, body: MovementStatusIn, *, db: DB, actor: CurrentActor
    ) -> Movement:
        """Move a movement on: planned → under_way → completed, or cancelled."""
        return await db.awrite(
            lambda s: movements.set_status(s, movement_id, status=body.status, actor=actor)
        )

    @router.get("/incidents/{incident_id}/linkage", tags=["incidents"])
    def incident_linkage(
        incident_id: Annotated[str, Path(max_length=64, description="The incident's id.")],
        *,
        db: DB,
        actor: CurrentActor,
    ) -> IncidentLinkage:
        """The facility the incident hit or is nearest to, and movements under way near it."""
        with db.read() as session:
            return linkage.describe(session, incident_id, actor=actor)


def build_facility_router() -> APIRouter:
    """The facility, movement and linkage routes under ``/api``."""
    router = APIRouter(prefix="/api", tags=["facilities"])
    _import_route(router)
    _facility_routes(router)
    _movement_routes(router)
    return router
