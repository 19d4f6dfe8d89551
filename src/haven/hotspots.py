"""Hotspots: incidents binned on H3 cells, Getis-Ord Gi* with FDR, emerging hot spot categories.

The service reads only the incidents the actor may see (``policy.visible_incidents``),
leaves out exercise data unless asked, and answers a GeoJSON layer of H3 cell
polygons (coordinates longitude first, RFC 7946) with each cell's count, z, p, q
and, for the emerging analysis, its category. The statistics live in
``haven.hotspot_stats``; the method is written down in docs/methodology.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy import sparse
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import policy
from haven.accounts import Actor, Permission, require
from haven.errors import InvalidInput
from haven.geo import iso3_country
from haven.hotspot_emerging import EmergingCategory, emerging_categories
from haven.hotspot_stats import (
    benjamini_hochberg,
    distance_band_weights,
    gi_star,
    kring_weights,
    mann_kendall,
    neighbourhood,
    permutation_p,
    space_time_gi_star,
)
from haven.models import IncidentRow
from haven.taxonomy import DatePrecision, IncidentState

__all__ = [
    "GRID_RESOLUTIONS",
    "MAX_BINS",
    "MAX_RINGS",
    "EmergingCategory",
    "HotspotLayer",
    "HotspotQuery",
    "Period",
    "choose_resolution",
    "emerging_categories",
    "hotspots",
    "parse_month",
]

GRID_RESOLUTIONS = (4, 5, 6, 7, 8)
"""H3 resolutions a layer can use: the stored 4, 6, 8 and the parents 5 (of 6) and 7 (of 8)."""
_SOURCE = {4: 4, 5: 6, 6: 6, 7: 8, 8: 8}
"""The stored resolution each grid resolution is read from (5 and 7 through ``cell_to_parent``)."""
MAX_RINGS = 10
"""Largest neighbourhood, in H3 steps, a distance band may reach."""
MAX_BINS = 5_000_000
"""Largest space-time cube (cells × periods) the emerging analysis builds."""
_LEFT_OUT_STATES = (IncidentState.REJECTED.value, IncidentState.WITHDRAWN.value)
_MONTH = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


class Period(StrEnum):
    """Length of one time step of the space-time cube."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_PERIOD_MONTHS = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}
_DATE_OK = {
    Period.MONTH: {DatePrecision.EXACT, DatePrecision.DAY, DatePrecision.MONTH},
    Period.QUARTER: {DatePrecision.EXACT, DatePrecision.DAY, DatePrecision.MONTH},
    Period.YEAR: set(DatePrecision),
}


def parse_month(text: str, *, field_name: str = "since") -> datetime:
    """``"2023"``, ``"2023-01"`` or ``"2023-01-15"`` as a UTC datetime at the start of that day."""
    match = _MONTH.match(text.strip())
    if match is None:
        raise InvalidInput(
            f"{field_name}: expected YYYY, YYYY-MM or YYYY-MM-DD, got {text!r}",
            fields={field_name: "expected YYYY, YYYY-MM or YYYY-MM-DD"},
        )
    year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInput(f"{field_name}: {exc}", fields={field_name: str(exc)}) from exc


class HotspotQuery(BaseModel):
    """What to analyse and how; every field has a safe default."""

    model_config = ConfigDict(extra="forbid")

    country: str | None = Field(default=None, description="ISO 3166-1 alpha-3; all if empty.")
    since: datetime | None = Field(default=None, description="Incidents on or after (UTC).")
    until: datetime | None = Field(default=None, description="Incidents before (UTC).")
    resolution: int | None = Field(
        default=None, ge=4, le=8, description="H3 resolution 4-8; chosen from the data if empty."
    )
    k: int = Field(default=1, ge=1, le=5, description="k-ring neighbourhood (H3 steps).")
    distance_km: float | None = Field(
        default=None, gt=0, le=500, description="Distance band between cell centres instead of k."
    )
    alpha: float = Field(default=0.05, gt=0, le=0.2, description="Significance level.")
    fdr: bool = Field(default=True, description="Benjamini-Hochberg false-discovery-rate control.")
    permutations: int = Field(default=0, ge=0, le=9999, description="0: analytic p-values.")
    seed: int = Field(default=0, ge=0, description="Seed of the permutations.")
    min_share: float = Field(
        default=0.8, gt=0, le=1, description="Share of located incidents the chosen grid must keep."
    )
    emerging: bool = Field(default=False, description="Add emerging hot spot categories.")
    period: Period = Period.MONTH
    time_lag: int = Field(
        default=1, ge=0, le=6, description="Earlier periods in a bin's neighbourhood."
    )
    include_exercise: bool = False

    @field_validator("country")
    @classmethod
    def _iso3(cls, value: str | None) -> str | None:
        return iso3_country(value) if value else None

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """A time without offset is read as UTC."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Binned:
    resolution: int
    cells: list[str]
    occurred: list[datetime]
    date_precision: list[str]
    considered: int
    unlocated: int
    coarser: int


@dataclass
class HotspotLayer:
    """The result: what was analysed, what was left out and why, and one feature per cell."""

    query: HotspotQuery
    resolution: int
    incidents_considered: int
    incidents_used: int
    left_out_unlocated: int
    left_out_coarser_than_grid: int
    left_out_coarser_than_period: int
    cells_analysed: int
    periods: list[str] = field(default_factory=list)
    features: list[dict[str, Any]] = field(default_factory=list)

    def to_geojson(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection; the analysis facts are in its ``properties``."""
        query = self.query.model_dump(mode="json", exclude={"include_exercise"})
        return {
            "type": "FeatureCollection",
            "properties": {
                "method": "Getis-Ord Gi* on H3 cells"
                + (", emerging" if self.query.emerging else ""),
                "query": query,
                "exercise_included": self.query.include_exercise,
                "resolution": self.resolution,
                "incidents_considered": self.incidents_considered,
                "incidents_used": self.incidents_used,
                "left_out_unlocated": self.left_out_unlocated,
                "left_out_coarser_than_grid": self.left_out_coarser_than_grid,
                "left_out_coarser_than_period": self.left_out_coarser_than_period,
                "cells_analysed": self.cells_analysed,
                "periods": self.periods,
            },
            "features": self.features,
        }


def choose_resolution(cells: Mapping[int, Sequence[str | None]], *, min_share: float = 0.8) -> int:
    """The finest stored resolution (8, 6 or 4) that keeps ``min_share`` of the located incidents.

    ``cells`` maps 4, 6, 8 to each incident's stored cell (``None`` when its
    precision does not support that resolution). Located means it has a
    resolution-4 cell; with none located, 4.
    """
    located = sum(c is not None for c in cells[4])
    for res in (8, 6):
        if located and sum(c is not None for c in cells[res]) >= min_share * located:
            return res
    return 4


def _bin(rows: list[Any], query: HotspotQuery) -> _Binned:
    stored = {4: [r.h3_r4 for r in rows], 6: [r.h3_r6 for r in rows], 8: [r.h3_r8 for r in rows]}
    res = query.resolution or choose_resolution(stored, min_share=query.min_share)
    source = stored[_SOURCE[res]]
    cells: list[str] = []
    occurred: list[datetime] = []
    precision: list[str] = []
    for row, cell in zip(rows, source, strict=True):
        if cell is None:
            continue
        cells.append(cell if h3.get_resolution(cell) == res else h3.cell_to_parent(cell, res))
        occurred.append(row.occurred_at)
        precision.append(row.date_precision)
    unlocated = sum(c is None for c in stored[4])
    return _Binned(
        resolution=res,
        cells=cells,
        occurred=occurred,
        date_precision=precision,
        considered=len(rows),
        unlocated=unlocated,
        coarser=len(rows) - unlocated - len(cells),
    )


def _weights(names: list[str], query: HotspotQuery) -> sparse.csr_array:
    cells = np.array([int(c, 16) for c in names], dtype=np.uint64)
    if query.distance_km is None:
        return kring_weights(cells, k=query.k)
    return distance_band_weights(cells, distance_km=query.distance_km)


def _ring(query: HotspotQuery, res: int) -> int:
    """How many H3 steps of empty cells around the incidents the study area includes."""
    if query.distance_km is None:
        return query.k
    spacing = math.sqrt(3.0) * float(h3.average_hexagon_edge_length(res, unit="km"))
    rings = max(1, math.ceil(query.distance_km / spacing))
    if rings > MAX_RINGS:
        raise InvalidInput(
            f"distance_km reaches {rings} cells at H3 resolution {res}",
            fields={"distance_km": f"at most {MAX_RINGS} cells; shorten it or ask a coarser grid"},
        )
    return rings


def _levels(z: npt.NDArray[np.float64], q: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """ESRI's Gi_Bin: ±3, ±2, ±1 for 99, 95, 90 % confidence, 0 otherwise (sign of z)."""
    level = (q <= 0.10).astype(np.int64) + (q <= 0.05) + (q <= 0.01)
    return np.sign(z).astype(np.int64) * level


def _polygon(cell: str) -> dict[str, Any]:
    ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _period_index(when: datetime, period: Period) -> int:
    return (when.year * 12 + when.month - 1) // _PERIOD_MONTHS[period]


def _period_label(index: int, period: Period) -> str:
    months = index * _PERIOD_MONTHS[period]
    year, month = divmod(months, 12)
    if period is Period.YEAR:
        return f"{year}"
    if period is Period.QUARTER:
        return f"{year}-Q{month // 3 + 1}"
    return f"{year}-{month + 1:02d}"


def _load(session: Session, query: HotspotQuery, *, actor: Actor) -> list[Any]:
    conditions = [
        policy.visible_incidents(session, actor),
        IncidentRow.merged_into.is_(None),
        IncidentRow.state.not_in(_LEFT_OUT_STATES),
    ]
    if not query.include_exercise:
        conditions.append(IncidentRow.is_exercise.is_(False))
    if query.country:
        conditions.append(IncidentRow.country == query.country)
    if query.since:
        conditions.append(IncidentRow.occurred_at >= query.since)
    if query.until:
        conditions.append(IncidentRow.occurred_at < query.until)
    statement = select(
        IncidentRow.h3_r4,
        IncidentRow.h3_r6,
        IncidentRow.h3_r8,
        IncidentRow.occurred_at,
        IncidentRow.date_precision,
    ).where(*conditions)
    return list(session.execute(statement).all())


def hotspots(session: Session, query: HotspotQuery, *, actor: Actor) -> HotspotLayer:
    """Gi* hot and cold spots (and, if asked, emerging categories) of the incidents ``actor`` sees.

    Raises
    ------
    PermissionDenied
        Without ``read_incidents``.
    InvalidInput
        When ``until`` is not after ``since``.
    """
    require(actor, Permission.READ_INCIDENTS)
    if query.since and query.until and query.until <= query.since:
        raise InvalidInput("until must be after since", fields={"until": "must be after since"})
    binned = _bin(_load(session, query, actor=actor), query)
    layer = HotspotLayer(
        query=query,
        resolution=binned.resolution,
        incidents_considered=binned.considered,
        incidents_used=len(binned.cells),
        left_out_unlocated=binned.unlocated,
        left_out_coarser_than_grid=binned.coarser,
        left_out_coarser_than_period=0,
        cells_analysed=0,
    )
    if not binned.cells:
        return layer
    if query.emerging:
        _emerging(layer, binned)
    else:
        _static(layer, binned)
    return layer


def _study(binned: _Binned, query: HotspotQuery) -> tuple[list[str], npt.NDArray[np.int64]]:
    """The analysed cells (occupied cells and the empty ring around them), each incident's row."""
    occupied = np.fromiter((int(c, 16) for c in binned.cells), dtype=np.uint64)
    study = neighbourhood(occupied, k=_ring(query, binned.resolution))
    return [format(int(c), "x") for c in study], np.searchsorted(study, occupied)


def _static(layer: HotspotLayer, binned: _Binned) -> None:
    query = layer.query
    names, rows = _study(binned, query)
    n = len(names)
    y = np.bincount(rows, minlength=n).astype(np.float64)
    w = _weights(names, query)
    gi = gi_star(y, w)
    if query.permutations:
        p = np.minimum(
            1.0, 2.0 * permutation_p(y, w, permutations=query.permutations, seed=query.seed)
        )
    else:
        p = gi.p
    q = benjamini_hochberg(p) if query.fdr else p
    levels = _levels(gi.z, q)
    layer.cells_analysed = n
    keep = np.flatnonzero((y > 0) | (levels != 0))
    layer.features = [
        {
            "type": "Feature",
            "id": names[i],
            "geometry": _polygon(names[i]),
            "properties": {
                "cell": names[i],
                "count": int(y[i]),
                "z": round(float(gi.z[i]), 6),
                "p": float(p[i]),
                "q": float(q[i]),
                "gi_bin": int(levels[i]),
                "spot": _spot(float(gi.z[i]), float(q[i]), alpha=query.alpha),
            },
        }
        for i in keep
    ]


def _spot(z: float, q: float, *, alpha: float) -> str:
    if q > alpha:
        return "none"
    return "hot" if z > 0 else "cold"


def _emerging(layer: HotspotLayer, binned: _Binned) -> None:
    query = layer.query
    ok = [DatePrecision(d) in _DATE_OK[query.period] for d in binned.date_precision]
    layer.left_out_coarser_than_period = ok.count(False)
    layer.incidents_used = ok.count(True)
    kept = _Binned(
        resolution=binned.resolution,
        cells=[c for c, good in zip(binned.cells, ok, strict=True) if good],
        occurred=[o for o, good in zip(binned.occurred, ok, strict=True) if good],
        date_precision=[],
        considered=binned.considered,
        unlocated=binned.unlocated,
        coarser=binned.coarser,
    )
    if not kept.cells:
        return
    index = np.array([_period_index(o, query.period) for o in kept.occurred], dtype=np.int64)
    first = _period_index(query.since, query.period) if query.since else int(index.min())
    last = int(index.max())
    if query.until:
        last = max(last, _period_index(query.until, query.period) - 1)
    periods = last - first + 1
    if periods < 2:
        raise InvalidInput(
            "the emerging analysis needs at least two periods of data",
            fields={"period": "fewer than two periods between since and the last incident"},
        )
    names, rows = _study(kept, query)
    n = len(names)
    if n * periods > MAX_BINS:
        raise InvalidInput(
            f"the space-time cube would hold {n * periods:,} bins",
            fields={"period": f"at most {MAX_BINS:,} cells × periods; narrow the dates or area"},
        )
    cube = np.bincount((index - first) * n + rows, minlength=periods * n).astype(np.float64)
    spatial = _weights(names, query)
    gi = space_time_gi_star(cube.reshape(periods, n), spatial, time_lag=query.time_lag)
    q = benjamini_hochberg(gi.p) if query.fdr else gi.p
    significant = (q <= query.alpha).reshape(periods, n).T
    z = gi.z.reshape(periods, n).T
    hot, cold = significant & (z > 0), significant & (z < 0)
    trend_test = mann_kendall(z)
    trend = np.where(trend_test.p <= query.alpha, np.sign(trend_test.s), 0).astype(np.int64)
    categories = emerging_categories(hot, cold, trend=trend)
    counts = cube.reshape(periods, n).sum(axis=0)
    layer.cells_analysed = n
    layer.periods = [_period_label(first + t, query.period) for t in range(periods)]
    keep = [
        i for i in range(n) if counts[i] > 0 or categories[i] is not EmergingCategory.NO_PATTERN
    ]
    layer.features = [
        {
            "type": "Feature",
            "id": names[i],
            "geometry": _polygon(names[i]),
            "properties": {
                "cell": names[i],
                "count": int(counts[i]),
                "category": categories[i].value,
                "hot_periods": int(hot[i].sum()),
                "cold_periods": int(cold[i].sum()),
                "z_last": round(float(z[i, -1]), 6),
                "q_last": float(q.reshape(periods, n)[-1, i]),
                "trend_tau": round(float(trend_test.tau[i]), 6),
                "trend_p": float(trend_test.p[i]),
            },
        }
        for i in keep
    ]
