"""Deconfliction endpoints: parties, notifications (draft, send, acknowledge, update, withdraw),
their exports, and whether an incident struck a notified site or movement.

Parties and notifications need a token whose role may notify (coordinator,
admin). An acknowledgement records receipt only: it is **not approval**.
``GET /api/incidents/{id}/notified`` needs ``read_incidents``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from haven import notification_outputs, notification_proofs, notifications, parties
from haven.api.auth import CurrentActor, app_settings, database
from haven.db import Database
from haven.facts import IsoDateTime
from haven.notification_proofs import IncidentNotified
from haven.notifications import (
    AckChannel,
    Notification,
    NotificationIn,
    NotificationState,
    NotificationUpdate,
)
from haven.parties import Party, PartyCreated, PartyIn
from haven.settings import Settings

__all__ = ["build_notification_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
NotificationId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The notification's id.")]


class AcknowledgeIn(BaseModel):
    """Who at the party acknowledged receipt, how, and when (default: now). Not approval."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str = Field(min_length=1, max_length=200, description="Name or role at the party.")
    channel: AckChannel
    at: IsoDateTime | None = None


class WithdrawIn(BaseModel):
    """Why the notification is withdrawn (the party is told)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=2000)


class ExportFormat(StrEnum):
    """Formats a party can consume."""

    JSON = "json"
    GEOJSON = "geojson"
    KML = "kml"
    HTML = "html"


def build_notification_router() -> APIRouter:
    """Routes under ``/api/parties``, ``/api/notifications``, ``/api/incidents/{id}/notified``."""
    router = APIRouter(prefix="/api", tags=["notifications"])

    @router.get("/parties")
    def list_parties(*, db: DB, actor: CurrentActor) -> list[Party]:
        """Parties the caller manages, by name."""
        with db.read() as session:
            return parties.list_parties(session, actor=actor)

    @router.post("/parties", status_code=201)
    async def add_party(body: PartyIn, *, db: DB, actor: CurrentActor) -> PartyCreated:
        """Register a party (focal point encrypted); the webhook secret is shown only now."""
        return await db.awrite(lambda s: parties.add(s, body, actor=actor))

    @router.get("/notifications")
    def list_notifications(
        *,
        db: DB,
        actor: CurrentActor,
        party_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
        state: NotificationState | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[Notification]:
        """Notifications of the caller's parties, newest first."""
        with db.read() as session:
            return notifications.list_notifications(
                session, actor=actor, party_id=party_id, state=state, limit=limit
            )

    @router.post("/notifications", status_code=201)
    async def create_notification(
        body: NotificationIn, *, db: DB, actor: CurrentActor, settings: AppSettings
    ) -> Notification:
        """Draft a notification to one party (lead time and validity are checked now)."""
        return await db.awrite(
            lambda s: notifications.create(s, body, actor=actor, settings=settings)
        )

    @router.get("/notifications/{notification_id}")
    def get_notification(
        notification_id: NotificationId, *, db: DB, actor: CurrentActor
    ) -> Notification:
        """One notification with its content, hash, custody leaves and acknowledgement."""
        with db.read() as session:
            return notifications.get(session, notification_id, actor=actor)

    @router.post("/notifications/{notification_id}/send")
    async def send_notification(
        notification_id: NotificationId, *, db: DB, actor: CurrentActor, settings: AppSettings
    ) -> Notification:
        """Send a draft: a custody leaf is written and the party's channels are queued."""
        return await db.awrite(
            lambda s: notifications.send(s, notification_id, actor=actor, settings=settings)
        )

    @router.post("/notifications/{notification_id}/acknowledge")
    async def acknowledge_notification(
        notification_id: NotificationId, body: AcknowledgeIn, *, db: DB, actor: CurrentActor
    ) -> Notification:
        """Record the party's acknowledgement of receipt. It is NOT approval."""
        return await db.awrite(
            lambda s: notifications.acknowledge(
                s, notification_id, by=body.by, channel=body.channel, at=body.at, actor=actor
            )
        )

    @router.post("/notifications/{notification_id}/update")
    async def update_notification(
        notification_id: NotificationId,
        body: NotificationUpdate,
        *,
        db: DB,
        actor: CurrentActor,
        settings: AppSettings,
    ) -> Notification:
        """Send a new version; the old one is superseded (both are custody leaves)."""
        return await db.awrite(
            lambda s: notifications.update(
                s, notification_id, changes=body, actor=actor, settings=settings
            )
        )

    @router.post("/notifications/{notification_id}/withdraw")
    async def withdraw_notification(
        notification_id: NotificationId,
        body: WithdrawIn,
        *,
        db: DB,
        actor: CurrentActor,
        settings: AppSettings,
    ) -> Notification:
        """Withdraw a notification; a sent one is a custody leaf and the party is told."""
        return await db.awrite(
            lambda s: notifications.withdraw(
                s, notification_id, reason=body.reason, actor=actor, settings=settings
            )
        )

    @router.get(
        "/notifications/{notification_id}/export",
        response_class=Response,
        responses={
            200: {
                "content": {
                    "application/json": {},
                    "application/geo+json": {},
                    "application/vnd.google-earth.kml+xml": {},
                    "text/html": {},
                }
            }
        },
    )
    def export_notification(
        notification_id: NotificationId,
        *,
        db: DB,
        actor: CurrentActor,
        settings: AppSettings,
        fmt: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.JSON,
    ) -> Response:
        """The notification as signed JSON, GeoJSON, KML or a printable page (lat/lon and MGRS)."""
        with db.read() as session:
            found = notifications.get(session, notification_id, actor=actor)
        return _export(found, settings=settings, fmt=fmt)

    @router.get("/incidents/{incident_id}/notified")
    def incident_notified(
        incident_id: Annotated[str, Path(max_length=64, description="The incident's id.")],
        *,
        db: DB,
        actor: CurrentActor,
    ) -> IncidentNotified:
        """Whether the incident struck a notified site or movement, with the proof chain."""
        with db.read() as session:
            return notification_proofs.incident_notified(session, incident_id, actor=actor)

    return router


def _export(found: Notification, *, settings: Settings, fmt: ExportFormat) -> Response:
    name = f"notification-{found.series_id}-v{found.version}"
    attachment = {"Content-Disposition": f'attachment; filename="{name}.{fmt.value}"'}
    if fmt is ExportFormat.HTML:
        record = found.model_dump(
            mode="json",
            include={
                "sent_at",
                "sent_leaf",
                "acknowledged_at",
                "acknowledged_by",
                "acknowledged_channel",
            },
        )
        return HTMLResponse(notification_outputs.html_page(found.content, record=record))
    if fmt is ExportFormat.KML:
        return Response(
            notification_outputs.kml(found.content),
            media_type="application/vnd.google-earth.kml+xml",
            headers=attachment,
        )
    if fmt is ExportFormat.GEOJSON:
        return JSONResponse(
            notification_outputs.geojson(found.content),
            media_type="application/geo+json",
            headers=attachment,
        )
    document = notification_outputs.signed_document(
        settings, found.content, sent_at=found.sent_at or found.created_at
    )
    document["record"] = found.model_dump(mode="json", exclude={"content"})
    return JSONResponse(document, headers=attachment)
