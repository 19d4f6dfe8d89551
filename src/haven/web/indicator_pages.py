"""The indicator dashboards: ``/indicators/public`` (anyone, a published release only) and
``/indicators`` (signed in, the live records the viewer may see), each with its JSON twin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from haven.api.auth import database
from haven.db import Database
from haven.errors import InvalidInput, NotFound
from haven.indicator_scope import Scope
from haven.web import indicator_views
from haven.web.pages import _error_page, _page, _viewer, language_of
from haven.web.render import render

__all__ = ["build_indicator_page_router"]

DB = Annotated[Database, Depends(database)]
Version = Annotated[int | None, Query(ge=1, le=2_147_483_647)]


async def _public(
    request: Request, db: Database, *, country: str | None, period: str | None, version: int | None
) -> Response:
    web = await _viewer(request)

    def read() -> dict[str, Any]:
        scope = Scope.parse(country=country, period=period)
        with db.read() as session:
            return indicator_views.public_context(session, scope=scope, version=version)

    try:
        context = await run_in_threadpool(read)
    except (NotFound, InvalidInput) as error:
        return _error_page(request, error, web=web)
    query = context["scope"].query_string()
    context["json_twin"] = "/api/public/indicators" + (f"?{query}" if query else "")
    return render(
        request, "indicators_public.html", context=context, lang=language_of(request), web=web
    )


def build_indicator_page_router() -> APIRouter:
    """The two dashboard pages (left out of the OpenAPI description, like every page)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/indicators/public")
    async def public_indicators_page(
        request: Request,
        *,
        db: DB,
        country: str | None = None,
        period: str | None = None,
        version: Version = None,
    ) -> Response:
        return await _public(request, db, country=country, period=period, version=version)

    @router.get("/indicators")
    async def indicators_page(
        request: Request, *, db: DB, country: str | None = None, period: str | None = None
    ) -> Response:
        query = request.url.query
        return await _page(
            request,
            db,
            template="indicators.html",
            load=lambda s, a: indicator_views.internal_context(
                s, a, scope=Scope.parse(country=country, period=period)
            ),
            twin="/api/indicators" + (f"?{query}" if query else ""),
        )

    return router
