"""API endpoints: each parses, calls one service function, and returns its typed result."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from haven import dedup, incidents, reports
from haven.accounts import Actor
from haven.api.auth import CurrentActor, app_settings, database
from haven.db import Database, current_revision
from haven.errors import InvalidInput
from haven.geo import BBox
from haven.incidents import ExerciseFilter, Incident, IncidentPage
from haven.reports import Report, ReportIn, ReportReceipt
from haven.settings import Settings
from haven.taxonomy import Certainty, PerpetratorCategory, SsaAttackType

__all__ = ["build_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]


Purpose = Annotated[
    str | None,
    Query(
        min_length=3,
        max_length=300,
        pattern=r"^[^\x00-\x1f]*[^\s\x00-\x1f][^\x00-\x1f]*$",
        description="Why you need the encrypted fields; needs the read_sensitive permission.",
    ),
]


def _read_report(db: Database, report_id: str, *, actor: Actor) -> Report:
    with db.read() as session:
        return reports.get(session, report_id, actor=actor)


def _read_incident(db: Database, incident_id: str, *, actor: Actor) -> Incident:
    with db.read() as session:
        return incidents.get(session, incident_id, actor=actor)


_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


class IncidentQuery(BaseModel):
    """Query parameters of the incident list; repeat a list parameter for several values."""

    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(default=None, description="Occurred at or after (UTC).")
    until: datetime | None = Field(default=None, description="Occurred before (UTC).")
    country: list[str] = Field(default_factory=list, description="ISO3 codes.")
    bbox: str | None = Field(default=None, description="west,south,east,north")
    near: str | None = Field(default=None, description="lon,lat (needs radius_km)")
    radius_km: float | None = Field(default=None, gt=0, le=20_000)
    attack_type: list[SsaAttackType] = Field(default_factory=list)
    certainty: list[Certainty] = Field(default_factory=list)
    perpetrator: list[PerpetratorCategory] = Field(default_factory=list)
    exercise: ExerciseFilter = ExerciseFilter.INCLUDE
    limit: int | None = Field(default=None, ge=1, le=10_000)
    cursor: str | None = Field(default=None, max_length=500, pattern=r"^[A-Za-z0-9_-]+$")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _iso_only(cls, value: object) -> object:
        if isinstance(value, str) and not _ISO_DATE.match(value):
            raise ValueError("expected an ISO 8601 date or date-time, e.g. 2024-01-31T00:00:00Z")
        return value


class Health(BaseModel):
    """Whether the service and its database answer."""

    status: str
    database: str
    schema_revision: str | None
    version: str


def _point(text_value: str) -> dict[str, float]:
    parts = text_value.split(",")
    if len(parts) != 2:
        raise InvalidInput("bad point", fields={"near": "expected lon,lat"})
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError as exc:
        raise InvalidInput("bad point", fields={"near": "expected two numbers: lon,lat"}) from exc
    return {"lon": lon, "lat": lat}


def _bbox(text_value: str) -> tuple[float, float, float, float]:
    try:
        box = BBox.parse(text_value)
    except ValueError as exc:
        raise InvalidInput("bad bbox", fields={"bbox": str(exc)}) from exc
    return (box.west, box.south, box.east, box.north)


def build_router(*, version: str) -> APIRouter:
    """The ``/api`` router."""
    router = APIRouter(prefix="/api")

    @router.get("/health", tags=["service"])
    def health(*, db: DB) -> Health:
        """Liveness and readiness: answers without a token."""
        with db.read() as session:
            session.execute(text("SELECT 1"))
        return Health(
            status="ok",
            database=db.dialect,
            schema_revision=current_revision(db.engine),
            version=version,
        )

    @router.post(
        "/reports",
        status_code=201,
        tags=["reports"],
        responses={200: {"description": "This UUID was already stored: nothing new was written."}},
    )
    async def create_report(
        *,
        report: ReportIn,
        response: Response,
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
    ) -> ReportReceipt:
        """Submit one account of an attack. Idempotent by the client-made ``id``.

        With ``HAVEN_DEDUP_ON_SUBMIT`` the new incident is consolidated at once: the
        receipt then names the incident the report joined.
        """

        def write(session: Session) -> ReportReceipt:
            if settings.dedup_on_submit:
                return dedup.submit(
                    session, report, actor=actor, auto_merge=settings.dedup_auto_merge
                )
            return reports.submit(session, report, actor=actor)

        receipt = await db.awrite(write)
        if not receipt.created:
            response.status_code = 200
        return receipt

    @router.get("/reports/{report_id}", tags=["reports"])
    async def get_report(
        report_id: str, *, db: DB, actor: CurrentActor, purpose: Purpose = None
    ) -> Report:
        """One stored report; with `purpose`, also its encrypted part (audited)."""
        if purpose is None:
            return await run_in_threadpool(_read_report, db, report_id, actor=actor)
        return await db.awrite(lambda s: reports.get(s, report_id, actor=actor, purpose=purpose))

    @router.get("/incidents", tags=["incidents"])
    def list_incidents(
        *,
        query: Annotated[IncidentQuery, Query()],
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
    ) -> IncidentPage:
        """Incidents, newest first, filtered; follow ``next_cursor`` for more."""
        values: dict[str, Any] = {
            "since": query.since,
            "until": query.until,
            "countries": tuple(query.country),
            "bbox": _bbox(query.bbox) if query.bbox else None,
            "near": _point(query.near) if query.near else None,
            "radius_km": query.radius_km,
            "attack_types": tuple(query.attack_type),
            "certainties": tuple(query.certainty),
            "perpetrators": tuple(query.perpetrator),
            "exercise": query.exercise,
        }
        page_size = min(query.limit or settings.page_size, settings.max_page_size)
        with db.read() as session:
            return incidents.list_incidents(
                session,
                incidents.parse_filter(values),
                actor=actor,
                limit=page_size,
                cursor=query.cursor,
            )

    @router.get("/incidents/{incident_id}", tags=["incidents"])
    async def get_incident(
        incident_id: str, *, db: DB, actor: CurrentActor, purpose: Purpose = None
    ) -> Incident:
        """One incident with its consolidated facts; with `purpose`, its narrative (audited)."""
        if purpose is None:
            return await run_in_threadpool(_read_incident, db, incident_id, actor=actor)
        return await db.awrite(
            lambda s: incidents.get(s, incident_id, actor=actor, purpose=purpose)
        )

    return router
