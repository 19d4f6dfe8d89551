"""Deduplication, step one: facts as arrays, and candidate pairs by time window and H3 k-ring.

The core is pure (no database): ``DedupRecords`` holds the non-sensitive facts
of *n* reports or incidents as numpy arrays, and ``candidate_pairs`` returns
the pairs that may describe the same event. Blocking respects precision:

- time: each record covers the interval its date precision allows (a day, a
  month, a year); two records are candidates when their intervals are at most
  ``TOLERANCE_DAYS`` apart. Intervals are cut into ``BUCKET_DAYS`` buckets.
- place: a record with a point is put in an H3 cell whose edge is at least
  1.5 times the largest distance it may be from a duplicate (its radius, the
  other's, and ``SLACK_KM``); it looks in the k=1 ring of that cell, so no
  pair within that distance is missed. A record without a usable point
  (none, or precision province, line, country, sea) is compared with every
  record of its country in its time window.
- never across countries, never between exercise and real records, and only
  between compatible attack types (see ``ATTACK_FAMILIES``).

Coordinates are ``lon``/``lat`` arrays (WGS84), longitude first as everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import h3
import numpy as np
import numpy.typing as npt

from haven.geo import EARTH_RADIUS_KM, LonLat
from haven.taxonomy import (
    CasualtyGroup,
    CasualtyOutcome,
    DatePrecision,
    GeoPrecision,
    SsaAttackType,
    SsaFacilityType,
    SsaResource,
)

__all__ = [
    "ATTACK_FAMILIES",
    "BUCKET_DAYS",
    "SLACK_KM",
    "TOLERANCE_DAYS",
    "DedupFacts",
    "DedupRecords",
    "candidate_pairs",
    "detained_count",
    "haversine_km_arrays",
]

TOLERANCE_DAYS = 3.0
"""Largest gap, in days, between two records' date intervals for them to be candidates."""
BUCKET_DAYS = 4.0
"""Width of a time bucket used for blocking."""
SLACK_KM = 2.0
"""Distance allowed beyond both records' precision radii."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = 86_400.0

_A = SsaAttackType
ATTACK_FAMILIES: dict[SsaAttackType, int] = {
    **{
        t: 1
        for t in (
            _A.HEAVY_WEAPONS,
            _A.INDIVIDUAL_WEAPONS,
            _A.CHEMICAL_AGENT,
            _A.SETTING_FIRE,
            _A.ASSAULT,
            _A.SEXUAL_ASSAULT,
            _A.PSYCHOLOGICAL_VIOLENCE,
            _A.ARMED_SEARCH,
        )
    },
    **{
        t: 2
        for t in (
            _A.ABDUCTION_ARREST_DETENTION,
            _A.REMOVAL_OF_ASSETS,
            _A.MILITARIZATION,
            _A.OBSTRUCTION,
            _A.CRIMINALIZATION,
            _A.ARMED_SEARCH,
        )
    },
}
"""Violence (1) and deprivation (2) families; ``Other``/``Unknown`` are compatible with all."""
_ARMED_SEARCH_FAMILIES = 3
_ATTACK_BIT = {t: 1 << i for i, t in enumerate(SsaAttackType)}
_RESOURCE_BIT = {r: 1 << i for i, r in enumerate(SsaResource)}
_FACILITY_CODE = {t.value: i for i, t in enumerate(SsaFacilityType, start=1)}

# (largest radius in km, H3 resolution whose average edge is >= 1.5 x the pair distance)
_LEVELS: tuple[tuple[float, int], ...] = ((1.0, 5), (25.0, 2), (50.0, 1))
COUNTRY_LEVEL = -1


@dataclass(frozen=True, slots=True)
class DedupFacts:
    """The non-sensitive facts of one record that deduplication looks at."""

    occurred_at: datetime
    date_precision: DatePrecision
    location: LonLat | None
    geo_precision: GeoPrecision | None
    country: str
    admin1: str | None = None
    attack_types: tuple[SsaAttackType, ...] = ()
    resources: tuple[SsaResource, ...] = ()
    killed: int = 0
    injured: int = 0
    name: str = ""
    """Location or facility name, as the source gives it."""
    narrative: str = ""
    """Decrypted narrative (matching only: never logged, never stored in clear)."""
    exercise: bool = False
    facility_type: str | None = None
    """WHO SSA ``Type of Facility`` (an ``SsaFacilityType`` value), when the account gives it."""
    detained: int = 0
    """Health workers and patients abducted, arrested or detained (WHO SSA counts)."""


def _interval(at: datetime, precision: DatePrecision) -> tuple[float, float]:
    """The interval of days since 1970 that a date of this precision covers."""
    day = (at - _EPOCH).total_seconds() / _DAY
    if precision is DatePrecision.EXACT:
        return day, day
    start = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if precision is DatePrecision.DAY:
        end = start + timedelta(days=1)
    elif precision is DatePrecision.MONTH:
        start = start.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        start = start.replace(month=1, day=1)
        end = start.replace(year=start.year + 1)
    return (start - _EPOCH).total_seconds() / _DAY, (end - _EPOCH).total_seconds() / _DAY


def _level(precision: GeoPrecision | None, location: LonLat | None) -> tuple[int, float]:
    """The blocking level (H3 resolution, or ``COUNTRY_LEVEL``) and radius of a record."""
    radius = precision.radius_km if precision is not None else None
    if location is None or radius is None:
        return COUNTRY_LEVEL, math.nan
    for largest, resolution in _LEVELS:
        if radius <= largest:
            return resolution, radius
    return COUNTRY_LEVEL, math.nan  # a province-wide point is no usable point


def _mask(values: Sequence[object], bits: dict[object, int]) -> int:
    mask = 0
    for value in values:
        mask |= bits.get(value, 0)
    return mask


def _family(types: Sequence[SsaAttackType]) -> int:
    families = 0
    for t in types:
        families |= _ARMED_SEARCH_FAMILIES if t is _A.ARMED_SEARCH else ATTACK_FAMILIES.get(t, 0)
    return families or _ARMED_SEARCH_FAMILIES  # Other / Unknown / none: compatible with all


IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DedupRecords:
    """The facts of *n* records as arrays (row *i* of each array is record *i*)."""

    start: FloatArray
    """Start of the date interval, days since 1970-01-01 UTC."""
    end: FloatArray
    """End of the date interval (equal to ``start`` for an exact time)."""
    lon: FloatArray
    """Longitude, NaN without a usable point."""
    lat: FloatArray
    radius_km: FloatArray
    """Precision radius, NaN without a usable point."""
    level: IntArray
    """Blocking H3 resolution, or ``COUNTRY_LEVEL``."""
    country: IntArray
    admin1: list[str]
    attack_mask: IntArray
    family: IntArray
    resource_mask: IntArray
    killed: IntArray
    injured: IntArray
    exercise: npt.NDArray[np.bool_]
    names: list[str]
    narratives: list[str]
    clock: FloatArray
    """Hour of the day (0-24) of an exact time, NaN when the time is not known."""
    facility: IntArray
    """Code of the facility type (``SsaFacilityType`` order, from 1), 0 when not given."""
    detained: IntArray

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def from_facts(cls, facts: Sequence[DedupFacts]) -> DedupRecords:
        """Arrays from a sequence of ``DedupFacts``."""
        n = len(facts)
        start, end = np.empty(n), np.empty(n)
        lon, lat, radius = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        level = np.empty(n, dtype=np.int64)
        countries: dict[str, int] = {}
        country = np.empty(n, dtype=np.int64)
        for i, f in enumerate(facts):
            start[i], end[i] = _interval(f.occurred_at, f.date_precision)
            level[i], radius[i] = _level(f.geo_precision, f.location)
            if f.location is not None and level[i] != COUNTRY_LEVEL:
                lon[i], lat[i] = f.location.lon, f.location.lat
            country[i] = countries.setdefault(f.country, len(countries))
        return cls(
            start=start,
            end=end,
            lon=lon,
            lat=lat,
            radius_km=radius,
            level=level,
            country=country,
            admin1=[_normal(f.admin1 or "") for f in facts],
            attack_mask=np.array(
                [_mask(f.attack_types, _ATTACK_BIT) for f in facts],  # type: ignore[arg-type]
                dtype=np.int64,
            ),
            family=np.array([_family(f.attack_types) for f in facts], dtype=np.int64),
            resource_mask=np.array(
                [_mask(f.resources, _RESOURCE_BIT) for f in facts],  # type: ignore[arg-type]
                dtype=np.int64,
            ),
            killed=np.array([f.killed for f in facts], dtype=np.int64),
            injured=np.array([f.injured for f in facts], dtype=np.int64),
            exercise=np.array([f.exercise for f in facts], dtype=np.bool_),
            names=[_normal(f.name) for f in facts],
            narratives=[f.narrative.lower() for f in facts],
            clock=np.array([_clock(f) for f in facts], dtype=np.float64),
            facility=np.array(
                [_FACILITY_CODE.get(f.facility_type or "", 0) for f in facts], dtype=np.int64
            ),
            detained=np.array([f.detained for f in facts], dtype=np.int64),
        )


_DEPRIVED_GROUPS = (CasualtyGroup.HEALTH_WORKERS.value, CasualtyGroup.PATIENTS.value)
_DEPRIVED_OUTCOMES = (
    CasualtyOutcome.KIDNAPPED.value,
    CasualtyOutcome.ARRESTED.value,
    CasualtyOutcome.DETAINED.value,
)


def detained_count(casualties: Mapping[str, Mapping[str, int]]) -> int:
    """Health workers and patients abducted, arrested or detained, from a casualties dict."""
    return sum(
        int(casualties.get(group, {}).get(outcome, 0))
        for group in _DEPRIVED_GROUPS
        for outcome in _DEPRIVED_OUTCOMES
    )


def _clock(facts: DedupFacts) -> float:
    """Hour of the day of an exact time (UTC), NaN otherwise."""
    if facts.date_precision is not DatePrecision.EXACT:
        return math.nan
    at = facts.occurred_at
    return at.hour + at.minute / 60.0


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def haversine_km_arrays(
    a: tuple[FloatArray, FloatArray], b: tuple[FloatArray, FloatArray]
) -> FloatArray:
    """Great-circle distances in km between paired points (arrays, longitude first)."""
    (lon1, lat1), (lon2, lat2) = a, b
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return result


def _buckets(start: FloatArray, end: FloatArray) -> tuple[IntArray, IntArray]:
    """Every (record, bucket) pair of the intervals [start, end]."""
    first = np.floor(start / BUCKET_DAYS).astype(np.int64)
    last = np.floor(end / BUCKET_DAYS).astype(np.int64)
    counts = last - first + 1
    owner = np.repeat(np.arange(len(start), dtype=np.int64), counts)
    offsets = np.arange(counts.sum(), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    return owner, first[owner] + offsets


def _cells(records: DedupRecords, *, resolution: int, ring: bool) -> tuple[IntArray, IntArray]:
    """(record, cell) pairs at ``resolution`` for located records at that level or finer."""
    if resolution == COUNTRY_LEVEL:
        ids = np.arange(len(records), dtype=np.int64)
        return ids, np.zeros(len(ids), dtype=np.int64)
    pick = records.level == resolution if ring else records.level >= resolution
    owners: list[int] = []
    cells: list[int] = []
    for i in np.flatnonzero(pick):
        cell = h3.latlng_to_cell(float(records.lat[i]), float(records.lon[i]), resolution)
        found = h3.grid_disk(cell, 1) if ring else [cell]
        owners.extend([int(i)] * len(found))
        cells.extend(int(c, 16) for c in found)
    return np.array(owners, dtype=np.int64), np.array(cells, dtype=np.uint64).view(np.int64)


def _keys(
    owner: IntArray, cell: IntArray, *, bucket: IntArray, level: int, country: IntArray
) -> IntArray:
    with np.errstate(over="ignore"):
        key = cell.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        key ^= bucket.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
        key ^= (country[owner].astype(np.uint64) + np.uint64(level + 7)) * np.uint64(
            0x165667B19E3779F9
        )
    return key.view(np.int64)


def _expand(
    owner: IntArray, cell: IntArray, *, start: FloatArray, end: FloatArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Cross each (record, cell) with the record's buckets over [start, end]."""
    rec, bucket = _buckets(start[owner], end[owner])
    return owner[rec], cell[rec], bucket


def _level_pairs(records: DedupRecords, *, level: int) -> IntArray:
    """Encoded pairs ``i * n + j`` (i < j) found by probing at one blocking level."""
    n = len(records)
    io, ic = _cells(records, resolution=level, ring=False)
    po, pc = _cells(records, resolution=level, ring=True)
    if level == COUNTRY_LEVEL:
        keep = records.level[po] == COUNTRY_LEVEL
        po, pc = po[keep], pc[keep]
    if len(po) == 0:
        return np.empty(0, dtype=np.int64)
    io, ic, ib = _expand(io, ic, start=records.start, end=records.end)
    po, pc, pb = _expand(
        po, pc, start=records.start - TOLERANCE_DAYS, end=records.end + TOLERANCE_DAYS
    )
    ikey = _keys(io, ic, bucket=ib, level=level, country=records.country)
    pkey = _keys(po, pc, bucket=pb, level=level, country=records.country)
    order = np.argsort(ikey, kind="stable")
    ikey, io = ikey[order], io[order]
    left = np.searchsorted(ikey, pkey, side="left")
    right = np.searchsorted(ikey, pkey, side="right")
    counts = right - left
    probe = np.repeat(po, counts)
    starts = np.repeat(left - (np.cumsum(counts) - counts), counts)
    other = io[starts + np.arange(counts.sum(), dtype=np.int64)]
    a, b = np.minimum(probe, other), np.maximum(probe, other)
    keep = a != b
    return np.unique(a[keep] * n + b[keep])


def candidate_pairs(records: DedupRecords) -> tuple[IntArray, IntArray]:
    """Pairs ``(i, j)``, ``i < j``, that may describe one event (see the module docstring)."""
    n = len(records)
    if n < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    levels = [COUNTRY_LEVEL, *(res for _, res in _LEVELS)]
    found = np.unique(np.concatenate([_level_pairs(records, level=lv) for lv in levels]))
    i, j = found // n, found % n
    gap = np.maximum(records.start[i], records.start[j]) - np.minimum(
        records.end[i], records.end[j]
    )
    ok = (records.country[i] == records.country[j]) & (records.exercise[i] == records.exercise[j])
    ok &= gap <= TOLERANCE_DAYS
    ok &= (records.family[i] & records.family[j]) != 0
    located = ~np.isnan(records.radius_km[i]) & ~np.isnan(records.radius_km[j])
    dist = haversine_km_arrays((records.lon[i], records.lat[i]), (records.lon[j], records.lat[j]))
    near = dist <= records.radius_km[i] + records.radius_km[j] + SLACK_KM
    ok &= ~located | near
    return i[ok], j[ok]
