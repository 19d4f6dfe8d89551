"""The application factory: ``create_app(settings)`` builds the web app and API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from haven import custody, forecast_warmup
from haven.api import build_router
from haven.api.accountability_routes import build_accountability_router
from haven.api.alert_routes import build_alert_router
from haven.api.auth import TokenCache
from haven.api.corridor_routes import build_corridor_router
from haven.api.custody_routes import build_custody_router
from haven.api.dedup_routes import build_dedup_router
from haven.api.errors import ERROR_RESPONSES, BodySizeLimit, install_error_handlers
from haven.api.evidence_routes import build_evidence_router
from haven.api.facility_routes import build_facility_router
from haven.api.forecast_routes import build_forecast_router
from haven.api.headers import SecurityHeaders
from haven.api.hotspot_routes import build_hotspot_router
from haven.api.import_routes import build_import_router
from haven.api.indicator_routes import build_indicator_router
from haven.api.notification_routes import build_notification_router
from haven.api.public_routes import build_public_router
from haven.api.release_routes import build_release_router
from haven.api.routing_routes import build_routing_router
from haven.api.session_routes import build_session_router
from haven.api.sms_routes import build_sms_router
from haven.api.verification_routes import build_verification_router
from haven.db import Database, open_database
from haven.errors import HavenError
from haven.settings import Settings
from haven.web import build_web_router, static_files

__all__ = ["create_app", "haven_version"]

log = logging.getLogger(__name__)


def haven_version() -> str:
    """The installed version of Haven."""
    try:
        return version("haven")
    except PackageNotFoundError:
        return "0+unknown"


async def _sign_heads(database: Database, settings: Settings) -> None:
    """Sign a custody tree head every ``custody_sign_interval_seconds`` while the log grows."""
    interval = settings.custody_sign_interval_seconds
    while interval:
        await asyncio.sleep(interval)
        try:
            await database.awrite(lambda s: custody.sign_head(s, settings))
        except HavenError:
            log.exception("signing the custody tree head failed; retrying next interval")


def create_app(settings: Settings, *, db: Database | None = None) -> FastAPI:
    """Build the app: open (and migrate) the database, mount the API, install error handling.

    Pass ``db`` to share an already-open database; otherwise the app opens its
    own and closes it on shutdown.
    """
    database = db or open_database(settings)
    owns_db = db is None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        signer = asyncio.create_task(_sign_heads(database, settings))
        warmup = _app.state.forecast_warmup = forecast_warmup.start(database, settings)
        yield
        signer.cancel()
        if warmup is not None:
            await asyncio.to_thread(warmup.stop)
        if owns_db:
            database.close()

    app = FastAPI(
        title="Haven API",
        version=haven_version(),
        description=(
            "Document, verify, prove, protect and publish attacks on health care and "
            "humanitarian workers. Every error has the shape "
            '`{"error": {"code", "message", "fields"}}`.'
        ),
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.tokens = TokenCache()
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        larger=(
            ("/api/imports", settings.max_import_bytes),
            ("/api/facilities/import", settings.max_import_bytes),
            ("/api/incidents/{incident_id}/evidence", settings.max_evidence_bytes),
        ),
    )
    app.add_middleware(
        SecurityHeaders,
        trust_proxy_headers=settings.trust_proxy_headers,
        image_origins=settings.map_tile_origins,
    )
    app.include_router(build_router(version=haven_version()), responses=ERROR_RESPONSES)
    app.include_router(build_session_router(), responses=ERROR_RESPONSES)
    app.include_router(build_release_router(), responses=ERROR_RESPONSES)
    app.include_router(build_public_router(), responses=ERROR_RESPONSES)
    app.include_router(build_import_router(), responses=ERROR_RESPONSES)
    app.include_router(build_dedup_router(), responses=ERROR_RESPONSES)
    app.include_router(build_verification_router(), responses=ERROR_RESPONSES)
    app.include_router(build_notification_router(), responses=ERROR_RESPONSES)
    app.include_router(build_alert_router(), responses=ERROR_RESPONSES)
    app.include_router(build_facility_router(), responses=ERROR_RESPONSES)
    app.include_router(build_forecast_router(), responses=ERROR_RESPONSES)
    app.include_router(build_custody_router(), responses=ERROR_RESPONSES)
    app.include_router(build_evidence_router(), responses=ERROR_RESPONSES)
    app.include_router(build_hotspot_router(), responses=ERROR_RESPONSES)
    app.include_router(build_indicator_router(), responses=ERROR_RESPONSES)
    app.include_router(build_sms_router(), responses=ERROR_RESPONSES)
    app.include_router(build_routing_router(), responses=ERROR_RESPONSES)
    app.include_router(build_corridor_router(), responses=ERROR_RESPONSES)
    app.include_router(build_accountability_router(), responses=ERROR_RESPONSES)
    app.include_router(build_web_router())
    app.mount("/static", static_files(), name="static")

    return app
