"""The accountability case pages: ``/cases`` (the cases the viewer may see) and ``/cases/{id}``.

Both are shells over ``cases.list_cases``, ``cases.due`` and ``cases.get`` with the
viewer's Actor, so they show exactly what their JSON twins (``GET /api/cases``,
``GET /api/cases/{id}``) give and need the same ``verify`` permission (a polite
403 page otherwise); a case of another organisation is a 404, as through the API.
Personal details of an event are never decrypted here: the page only says that an
event has one and how to open it (``read_sensitive`` and a purpose, through the API).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from haven import cases
from haven.accounts import Actor
from haven.api.auth import database
from haven.cases import CaseStatus
from haven.db import Database
from haven.errors import InvalidInput, NotFound
from haven.web.pages import _page, record_number

__all__ = ["build_case_page_router"]

DB = Annotated[Database, Depends(database)]


def _status_filter(status: str | None) -> CaseStatus | None:
    """The ``status`` query parameter: empty for every case, else ``open`` or ``closed``."""
    if not status:
        return None
    try:
        return CaseStatus(status)
    except ValueError:
        choices = [s.value for s in CaseStatus]
        raise InvalidInput(
            f"no case status {status!r}", fields={"status": f"one of {choices}"}
        ) from None


def _list_context(session: Session, actor: Actor, *, status: str | None) -> dict[str, Any]:
    wanted = _status_filter(status)
    listed = cases.list_cases(session, actor=actor, status=wanted)
    due_now = cases.due(session, actor=actor, within=timedelta(0))
    overdue = {item.case_id for item in due_now if item.overdue}
    return {
        "cases": listed,
        "overdue": overdue,
        "status": wanted.value if wanted else "",
    }


def _case_context(session: Session, actor: Actor, *, case_id: str) -> dict[str, Any]:
    number = record_number(case_id)
    if number is None:
        raise NotFound(f"no case {case_id}", fields={"case_id": f"no case {case_id}"})
    case = cases.get(session, number, actor=actor)
    return {
        "case": case,
        "has_personal": any(event.has_personal for event in case.events),
    }


def build_case_page_router() -> APIRouter:
    """The two case pages (left out of the OpenAPI description, like every page)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/cases")
    async def cases_page(request: Request, *, db: DB, status: str | None = None) -> Response:
        wanted = status if status in {s.value for s in CaseStatus} else None
        return await _page(
            request,
            db,
            template="cases.html",
            load=lambda s, a: _list_context(s, a, status=status),
            twin="/api/cases" + (f"?status={wanted}" if wanted else ""),
        )

    @router.get("/cases/{case_id}")
    async def case_page(request: Request, case_id: str, *, db: DB) -> Response:
        twin = f"/api/cases/{case_id}" if case_id.isascii() and case_id.isdigit() else None
        return await _page(
            request,
            db,
            template="case.html",
            load=lambda s, a: _case_context(s, a, case_id=case_id),
            twin=twin,
        )

    return router
