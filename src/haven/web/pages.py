"""The HTML pages: thin shells that read through the service functions with the viewer's Actor.

A page needs a login session (the ``haven_session`` cookie set by
``POST /api/login``); without one it redirects to ``/login``. A page answers
404 for what the viewer may not see, exactly like its JSON twin.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from haven import (
    dedup,
    evidence,
    facilities,
    facility_status,
    incidents,
    notification_proofs,
    verification,
)
from haven.accounts import Actor, Permission, require
from haven.api.auth import current_web_session, database
from haven.db import Database
from haven.errors import HavenError, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from haven.incidents import Incident
from haven.sessions import WebSession
from haven.settings import Settings
from haven.web import dashboard, views
from haven.web.i18n import LANG_COOKIE, LANGUAGES, negotiate
from haven.web.proposal_views import proposal_context
from haven.web.render import render

__all__ = ["STATIC_DIR", "build_page_router", "record_number"]

STATIC_DIR = Path(__file__).parent / "static"
DB = Annotated[Database, Depends(database)]
T = TypeVar("T")


def language_of(request: Request) -> str:
    """The page language: the ``haven_lang`` cookie, else ``Accept-Language``, else English."""
    return negotiate(
        cookie=request.cookies.get(LANG_COOKIE),
        accept_language=request.headers.get("accept-language"),
    )


def _local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirect).

    Browsers drop tabs and newlines from a URL (so a slash, a tab and a slash becomes
    ``//``, another site) and read a backslash as a slash, so a target holding any of
    them is refused.
    """
    if not target or not target.startswith("/") or "\\" in target:
        return "/"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return "/"
    return "/" if target.startswith("//") else target


async def _viewer(request: Request) -> WebSession | None:
    try:
        return await current_web_session(request)
    except NotAuthenticated:
        return None


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _error_page(request: Request, error: HavenError, *, web: WebSession | None) -> HTMLResponse:
    return render(
        request,
        "error.html",
        context={"message": error.message, "status": error.http_status},
        lang=language_of(request),
        web=web,
        status=error.http_status,
    )


async def _page(
    request: Request,
    db: Database,
    *,
    template: str,
    load: Callable[[Session, Actor], dict[str, Any]],
    twin: str | None = None,
    audited: bool = False,
) -> Response:
    """Render ``template`` with what ``load`` reads for the signed-in viewer (errors as pages).

    ``audited``: ``load`` records what the viewer saw (custody acts), so it runs as a write.
    """
    web = await _viewer(request)
    if web is None:
        return _to_login(request)

    def read() -> dict[str, Any]:
        with db.read() as session:
            return load(session, web.actor)

    try:
        if audited:
            context = await db.awrite(lambda s: load(s, web.actor))
        else:
            context = await run_in_threadpool(read)
    except (NotFound, PermissionDenied, InvalidInput) as error:
        return _error_page(request, error, web=web)
    context["json_twin"] = twin
    return render(request, template, context=context, lang=language_of(request), web=web)


def _or_none(call: Callable[[], T]) -> T | None:
    """The result of ``call``, or ``None`` when the viewer may not see that part."""
    try:
        return call()
    except (PermissionDenied, NotFound):
        return None


def _incident_context(session: Session, actor: Actor, *, incident_id: str) -> dict[str, Any]:
    """The incident page; listing its evidence is a custody act, as through the API (a write)."""
    incident = incidents.get(session, incident_id, actor=actor)
    history = verification.history(session, incident_id, actor=actor)
    return {
        "incident": incident,
        "reports": views.reports_of_incident(session, incident_id, actor=actor),
        "evidence": evidence.list_for_incident(session, incident_id, actor=actor),
        "notified": notification_proofs.incident_notified(session, incident_id, actor=actor),
        "history": history,
    }


def _queue_context(session: Session, actor: Actor) -> dict[str, Any]:
    queue = verification.queue(session, actor=actor)
    pairs = []

    def shown(incident_id: str) -> Incident | None:
        return _or_none(lambda: incidents.get(session, incident_id, actor=actor))

    for suggestion in dedup.suggestions(session, actor=actor, limit=50):
        left, right = shown(suggestion.incident_id), shown(suggestion.candidate_id)
        if left is not None and right is not None:
            pairs.append({"suggestion": suggestion, "left": left, "right": right})
    return {"queue": queue, "pairs": pairs}


def _facility_context(
    session: Session, actor: Actor, *, facility_id: int, settings: Settings
) -> dict[str, Any]:
    facility = facilities.get(session, facility_id, actor=actor)
    return {
        "facility": facility,
        "statuses": facility_status.history(session, facility_id, actor=actor, limit=50),
        "risk": views.facility_risk_view(
            session, facility_id, actor=actor, settings=settings, exercise=facility.exercise
        ),
    }


def _report_context(_session: Session, actor: Actor) -> dict[str, Any]:
    require(actor, Permission.SUBMIT_REPORT)
    return {"now": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")}


_MAX_ID = 2**31 - 1


def record_number(text: str) -> int | None:
    """The record id in a page's path (``/cases/12``): a positive 32-bit integer, else None."""
    number = int(text) if text.isascii() and text.isdigit() else 0
    return number if 1 <= number <= _MAX_ID else None


def build_page_router() -> APIRouter:
    """The page routes (left out of the OpenAPI description: their JSON twins are in it)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def home(request: Request) -> Response:
        web = await _viewer(request)
        if web is None:
            return _to_login(request)
        target = "/map" if web.actor.can(Permission.READ_INCIDENTS) else "/report"
        return RedirectResponse(target, status_code=303)

    @router.get("/login")
    async def login(request: Request, next: str | None = None) -> Response:
        return render(
            request,
            "login.html",
            context={"next": _local_path(next)},
            lang=language_of(request),
            web=None,
        )

    @router.get("/lang/{code}")
    async def set_language(code: str, next: str | None = None) -> Response:
        if code not in LANGUAGES:
            raise NotFound(f"no language {code!r}", fields={"code": f"one of {list(LANGUAGES)}"})
        response = RedirectResponse(_local_path(next), status_code=303)
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
        return response

    @router.get("/report")
    async def report_form(request: Request, *, db: DB) -> Response:
        return await _page(request, db, template="report.html", load=_report_context)

    @router.get("/map")
    async def map_page(
        request: Request,
        *,
        db: DB,
        query: Annotated[dashboard.MapQuery, Query()],
    ) -> Response:
        return await _page(
            request,
            db,
            template="map.html",
            load=lambda s, a: (
                dashboard.context(s, a, query=query)
                | proposal_context(s, a, settings=request.app.state.settings)
            ),
            twin="/api/incidents" + (f"?{query.query_string()}" if query.query_string() else ""),
        )

    @router.get("/incidents/{incident_id}")
    async def incident_page(request: Request, incident_id: str, *, db: DB) -> Response:
        return await _page(
            request,
            db,
            template="incident.html",
            load=lambda s, a: _incident_context(s, a, incident_id=incident_id),
            audited=True,
            twin=f"/api/incidents/{quote(incident_id)}",
        )

    @router.get("/verification")
    async def queue_page(request: Request, *, db: DB) -> Response:
        return await _page(
            request,
            db,
            template="queue.html",
            load=_queue_context,
            twin="/api/verification/queue",
        )

    @router.get("/facilities/{facility_id}")
    async def facility_page(request: Request, facility_id: int, *, db: DB) -> Response:
        return await _page(
            request,
            db,
            template="facility.html",
            load=lambda s, a: _facility_context(
                s, a, facility_id=facility_id, settings=request.app.state.settings
            ),
            twin=f"/api/facilities/{facility_id}",
        )

    @router.get("/sw.js")
    async def service_worker() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "sw.js",
            media_type="text/javascript",
            headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
        )

    from haven.web.indicator_pages import build_indicator_page_router  # noqa: PLC0415 - cycle

    router.include_router(build_indicator_page_router())  # the indicator dashboards
    return router
