"""Early-warning endpoints: forecasts per unit as GeoJSON, facility risk list and detail.

All need ``read_incidents``. Forecasts and risk scores are built only from
incidents the caller may see (``haven.policy``), so two callers may get
different answers; real and exercise data are never mixed (``exercise=true``
answers from exercise data only, labelled as such).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import h3
from fastapi import APIRouter, Depends, Path, Query

from haven import facility_risk, forecast, forecast_service
from haven.api.auth import CurrentActor, app_settings, database
from haven.db import Database
from haven.errors import InvalidInput
from haven.facility_risk import FacilityRisk
from haven.facts import IsoDate
from haven.forecast import UnitKind
from haven.forecast_service import UnitForecasts
from haven.geo import iso3_country
from haven.settings import Settings

__all__ = ["build_forecast_router", "geojson"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
FacilityId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The facility's id.")]
Month = Annotated[
    str | None,
    Query(
        pattern=r"^\d{4}-\d{2}$",
        description="YYYY-MM; default: the month after the last recorded attack.",
    ),
]
AsOf = Annotated[
    IsoDate | None,
    Query(description="End of the recent-incident window (YYYY-MM-DD); default today."),
]
Exercise = Annotated[bool, Query(description="Use exercise data only (never mixed with real).")]


def _cell_polygon(cell: str) -> dict[str, Any]:
    ring = [[lon, lat] for lat, lon in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def geojson(result: UnitForecasts) -> dict[str, Any]:
    """The forecasts as a GeoJSON FeatureCollection ([lon, lat]).

    Countries and admin areas have no geometry (Haven holds no boundaries).
    """
    meta = result.model_dump(mode="json", exclude={"forecasts"})
    features = [
        {
            "type": "Feature",
            "id": f.unit,
            "geometry": _cell_polygon(f.unit) if result.unit_kind is UnitKind.H3 else None,
            "properties": f.model_dump(mode="json") | {"exercise": result.exercise},
        }
        for f in result.forecasts
    ]
    return {"type": "FeatureCollection", "forecast": meta, "features": features}


def _month(value: str | None) -> date | None:
    return forecast.parse_month(value) if value else None


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return iso3_country(value)
    except ValueError as exc:
        raise InvalidInput("unknown country", fields={"country": str(exc)}) from exc


def build_forecast_router() -> APIRouter:
    """Routes under ``/api/forecast`` (token needed)."""
    router = APIRouter(prefix="/api/forecast", tags=["forecast"])

    @router.get("/units")
    def forecast_units(
        *,
        db: DB,
        actor: CurrentActor,
        settings: AppSettings,
        unit: Annotated[
            UnitKind, Query(description="country, admin1 (first-level admin area), or h3 (res. 4).")
        ] = UnitKind.H3,
        month: Month = None,
        exercise: Exercise = False,
    ) -> dict[str, Any]:
        """Each unit's probability of ≥1 attack on health care and expected count, as GeoJSON."""
        with db.read() as session:
            result = forecast_service.forecast_units(
                session, settings, actor=actor, kind=unit, month=_month(month), exercise=exercise
            )
        return geojson(result)

    @router.get("/facilities")
    def facility_risks(
        *,
        db: DB,
        actor: CurrentActor,
        settings: AppSettings,
        as_of: AsOf = None,
        country: Annotated[str | None, Query(max_length=60)] = None,
        exercise: Exercise = False,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> list[FacilityRisk]:
        """Facilities by risk score for the coming month, highest first, with each score's parts."""
        with db.read() as session:
            found = facility_risk.list_risks(
                session,
                settings,
                actor=actor,
                as_of=as_of,
                exercise=exercise,
                country=_country(country),
            )
        return found[:limit]

    @router.get("/facilities/{facility_id}")
    def facility_risk_detail(
        facility_id: FacilityId,
        *,
        db: DB,
        actor: CurrentActor,
        settings: AppSettings,
        as_of: AsOf = None,
        exercise: Exercise = False,
    ) -> FacilityRisk:
        """One facility's risk score for the coming month and its parts."""
        with db.read() as session:
            return facility_risk.facility_risk(
                session,
                facility_id,
                actor=actor,
                settings=settings,
                as_of=as_of,
                exercise=exercise,
            )

    return router
