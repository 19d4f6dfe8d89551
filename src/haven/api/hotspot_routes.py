"""Hotspot endpoint: the Gi* (and emerging hot spot) GeoJSON layer of the incidents the caller sees.

Needs ``read_incidents``. Only incidents the caller may see are counted (need-to-know,
``haven.policy``); a country the caller may not see answers an empty layer, so its
records' existence does not leak. Exercise data is left out unless asked for.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from haven import hotspots
from haven.api.auth import CurrentActor, database
from haven.db import Database
from haven.errors import InvalidInput
from haven.hotspots import HotspotQuery, Period

__all__ = ["build_hotspot_router"]

DB = Annotated[Database, Depends(database)]
Month = Annotated[
    str | None,
    Query(max_length=10, description="YYYY, YYYY-MM or YYYY-MM-DD (UTC)."),
]


def build_hotspot_router() -> APIRouter:
    """``GET /api/hotspots``."""
    router = APIRouter(prefix="/api", tags=["hotspots"])

    @router.get(
        "/hotspots",
        response_class=JSONResponse,
        responses={200: {"content": {"application/geo+json": {}}}},
    )
    def get_hotspots(  # noqa: PLR0913 - one parameter per query field
        *,
        db: DB,
        actor: CurrentActor,
        country: Annotated[str | None, Query(max_length=60, description="ISO3 code.")] = None,
        since: Month = None,
        until: Month = None,
        resolution: Annotated[int | None, Query(ge=4, le=8)] = None,
        k: Annotated[int, Query(ge=1, le=5)] = 1,
        distance_km: Annotated[float | None, Query(gt=0, le=500)] = None,
        alpha: Annotated[float, Query(gt=0, le=0.2)] = 0.05,
        fdr: bool = True,
        permutations: Annotated[int, Query(ge=0, le=9999)] = 0,
        seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
        emerging: bool = False,
        period: Period = Period.MONTH,
        time_lag: Annotated[int, Query(ge=0, le=6)] = 1,
        include_exercise: bool = False,
    ) -> JSONResponse:
        """Gi* hot and cold H3 cells (z, p, FDR q) as GeoJSON; ``emerging=true`` adds categories.

        The resolution is chosen from the data's precision unless given; the
        layer's ``properties`` say how many incidents were left out and why.
        """
        try:
            query = HotspotQuery(
                country=country,
                since=hotspots.parse_month(since, field_name="since") if since else None,
                until=hotspots.parse_month(until, field_name="until") if until else None,
                resolution=resolution,
                k=k,
                distance_km=distance_km,
                alpha=alpha,
                fdr=fdr,
                permutations=permutations,
                seed=seed,
                emerging=emerging,
                period=period,
                time_lag=time_lag,
                include_exercise=include_exercise,
            )
        except ValidationError as exc:
            raise InvalidInput.from_validation(exc.errors()) from exc
        with db.read() as session:
            layer = hotspots.hotspots(session, query, actor=actor)
        return JSONResponse(layer.to_geojson(), media_type="application/geo+json")

    return router
