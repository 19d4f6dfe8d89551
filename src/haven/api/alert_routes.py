"""Alert endpoints: the alerts list, one alert as OASIS CAP 1.2, and a CAP feed (Atom).

All need ``read_incidents`` and show only alerts on incidents the caller may
see: near-real-time incidents next to protected sites are not public. The
router also runs the alert worker (``haven.alerts.AlertWorker``) while the app
is up, when ``alert_worker_interval_seconds`` is above 0.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from haven import alert_cap, alerts
from haven.alerts import Alert
from haven.api.auth import CurrentActor, app_settings, database
from haven.db import Database
from haven.facts import IsoDateTime
from haven.models import utcnow
from haven.notification_content import iso
from haven.settings import Settings

__all__ = ["build_alert_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
CAP_MEDIA = "application/cap+xml"


@asynccontextmanager
async def _worker(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    worker = None
    if settings.alert_worker_interval_seconds > 0:
        worker = alerts.AlertWorker(app.state.db, settings)
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            await run_in_threadpool(worker.stop)


def build_alert_router() -> APIRouter:
    """Routes under ``/api/alerts`` (token needed), with the alert worker's lifespan."""
    router = APIRouter(prefix="/api", tags=["alerts"], lifespan=_worker)

    @router.get("/alerts")
    def list_alerts(
        *,
        db: DB,
        actor: CurrentActor,
        since: Annotated[
            IsoDateTime | None, Query(description="Raised at or after (UTC), ISO 8601.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[Alert]:
        """Alerts on incidents the caller may see, newest first (deliveries for notifiers)."""
        with db.read() as session:
            return alerts.list_alerts(session, actor=actor, since=since, limit=limit)

    @router.get(
        "/alerts/{alert_id}/cap",
        response_class=Response,
        responses={200: {"content": {CAP_MEDIA: {}}}},
    )
    def alert_cap_message(
        alert_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
        *,
        db: DB,
        actor: CurrentActor,
        settings: AppSettings,
    ) -> Response:
        """One alert as an OASIS CAP 1.2 message (no narrative, no exact point)."""
        with db.read() as session:
            _, message = alerts.get(session, alert_id, actor=actor)
        body = alert_cap.alert_xml(message, sender=settings.smtp_from, instance="haven")
        return Response(body, media_type=CAP_MEDIA)

    @router.get(
        "/alerts.cap",
        response_class=Response,
        responses={200: {"content": {"application/atom+xml": {}}}},
    )
    def alert_cap_feed(
        request: Request,
        *,
        db: DB,
        actor: CurrentActor,
        settings: AppSettings,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> Response:
        """The newest alerts as an Atom feed of CAP 1.2 messages."""
        with db.read() as session:
            found = alerts.list_alerts(session, actor=actor, limit=limit)
            messages = [alerts.get(session, a.id, actor=actor)[1] for a in found]
        body = alert_cap.feed_xml(
            messages,
            sender=settings.smtp_from,
            instance="haven",
            self_url=str(request.url),
            updated=iso(utcnow()),
        )
        return Response(body, media_type="application/atom+xml")

    return router
