"""Indicator endpoints: ``/api/public/indicators`` from a published release (no token) and
``/api/indicators`` from the live records the caller may see (``read_incidents``).

Both answer the same ``Indicators`` schema; docs/indicators.md defines each figure.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from haven import indicators
from haven.api.auth import CurrentActor, database
from haven.db import Database
from haven.indicators import Indicators, Scope

__all__ = ["build_indicator_router"]

DB = Annotated[Database, Depends(database)]
Country = Annotated[str | None, Query(max_length=60, description="ISO3 code; all if empty.")]
PeriodText = Annotated[
    str | None, Query(max_length=10, description="YYYY, YYYY-Qn or YYYY-MM (UTC months).")
]
TrendMonths = Annotated[int, Query(ge=3, le=60, description="Months of the trend window.")]


def build_indicator_router() -> APIRouter:
    """``GET /api/public/indicators`` and ``GET /api/indicators``."""
    router = APIRouter(prefix="/api", tags=["indicators"])

    @router.get("/public/indicators")
    async def public_indicators(
        *,
        db: DB,
        country: Country = None,
        period: PeriodText = None,
        trend_months: TrendMonths = 12,
        version: Annotated[
            int | None, Query(ge=1, le=2_147_483_647, description="Release; newest if empty.")
        ] = None,
    ) -> Indicators:
        """Indicators from a published release only (the newest holding the country's counts,
        or `version`): attacks per month by type, resource and country, verification,
        notified-site strikes, investigation and remedy, and the trend with 95 % bands."""
        scope = Scope.parse(country=country, period=period, trend_months=trend_months)

        def read() -> Indicators:
            with db.read() as session:
                return indicators.public(session, scope, version=version)

        return await run_in_threadpool(read)

    @router.get("/indicators")
    async def internal_indicators(
        *,
        db: DB,
        actor: CurrentActor,
        country: Country = None,
        period: PeriodText = None,
        trend_months: TrendMonths = 12,
    ) -> Indicators:
        """The same indicators from the live records you may see (real data, not rejected or
        withdrawn), with corridor travel times and closures; needs `read_incidents`."""
        scope = Scope.parse(country=country, period=period, trend_months=trend_months)

        def read() -> Indicators:
            with db.read() as session:
                return indicators.internal(session, scope, actor=actor)

        return await run_in_threadpool(read)

    return router
