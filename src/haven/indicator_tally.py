"""The indicator schema and how counts become it: a ``Tally`` filled from live rows or from a
release, and ``assemble`` that turns it into ``Indicators`` with confidence bands.

A count is ``None`` when it is not known: a suppressed cell of a release, a
month outside what a release covers, or a field a release does not publish.
Sums that include an unknown count are unknown; nothing is guessed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from haven.corridors import CorridorKpis
from haven.indicator_facts import QualityTally
from haven.indicator_scope import Window
from haven.indicator_trends import Trend, clopper_pearson, garwood, poisson_trend

__all__ = [
    "Breakdown",
    "Indicators",
    "MonthCount",
    "ReleaseRef",
    "Share",
    "Tally",
    "add_known",
    "assemble",
]


def add_known(values: Iterable[int | None]) -> int | None:
    """The sum of ``values``, or ``None`` if any of them is unknown."""
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


class MonthCount(BaseModel):
    """Incidents of one month with the exact 95 % Poisson (Garwood) band of its rate."""

    month: str = Field(description="YYYY-MM (UTC).")
    incidents: int | None = Field(description="None: unknown (suppressed or not covered).")
    lower: float | None
    upper: float | None


class Breakdown(BaseModel):
    """Incidents with one value of a dimension (attack type, resource, …), per month."""

    key: str
    total: int | None
    months: list[int | None] = Field(description="One count per month of the period, in order.")


class Share(BaseModel):
    """A proportion with its exact 95 % (Clopper-Pearson) band."""

    numerator: int | None
    denominator: int | None
    value: float | None
    lower: float | None
    upper: float | None


class ReleaseRef(BaseModel):
    """The published release public indicators were computed from."""

    version: int
    title: str
    published_at: datetime
    content_sha256: str


class Indicators(BaseModel):
    """Every indicator of one scope (see docs/indicators.md for each definition)."""

    source: Literal["release", "live"] = Field(
        description="'release': a published release only; 'live': current records (internal)."
    )
    release: ReleaseRef | None
    country: str | None
    period: str
    start: date
    end: date
    months: list[str]
    total: int | None = Field(description="Incidents in the period.")
    total_lower: float | None
    total_upper: float | None
    attacks: list[MonthCount] = Field(description="Incidents per month of the period.")
    by_type: list[Breakdown] = Field(
        description="Per WHO SSA attack type (an incident with several types counts in each)."
    )
    by_resource: list[Breakdown] | None
    by_facility_type: list[Breakdown] | None
    by_country: list[Breakdown]
    killed: int | None
    injured: int | None
    certainty: dict[str, int] | None
    verified: Share
    median_days_to_verification: float | None
    facility_struck: int | None
    notified_site_strikes: Share
    notified_movement_strikes: Share
    investigated: Share
    remedied: Share
    trend_months: list[MonthCount] = Field(description="Incidents per month of the trend window.")
    trend: Trend | None
    corridors: CorridorKpis | None = Field(
        default=None, description="Corridor travel times and closures (internal only)."
    )
    notes: list[str] = Field(description="What is not counted or not known, and why.")


@dataclass(slots=True)
class Tally:
    """Counts gathered from live rows or a release, before they become ``Indicators``.

    Keys are month labels; ``None`` values are unknown counts.
    """

    window: Window
    totals: dict[tuple[str, str], int | None] = field(default_factory=dict)
    """(country, month) → incidents."""
    types: dict[tuple[str, str], int | None] = field(default_factory=dict)
    """(attack type, month) → incidents."""
    resources: dict[tuple[str, str], int] | None = field(default_factory=lambda: defaultdict(int))
    facility_types: dict[tuple[str, str], int] | None = field(
        default_factory=lambda: defaultdict(int)
    )
    killed: int | None = 0
    injured: int | None = 0
    certainty: dict[str, int] | None = field(default_factory=lambda: defaultdict(int))
    quality: QualityTally = field(default_factory=QualityTally)
    covered: set[str] = field(default_factory=set)
    """Months the data covers (a month covered with no count has none)."""
    whole: dict[str, int | None] | None = None
    """When the period holds every month a release covers: the release's all-periods counts
    (key ``*`` for all types, else the attack type), used where a month's count is suppressed."""
    notes: list[str] = field(default_factory=list)

    def month_total(self, month: str) -> int | None:
        """Incidents of ``month`` over every country, ``None`` if unknown or not covered."""
        if month not in self.covered:
            return None
        return add_known(v for (_c, m), v in self.totals.items() if m == month)


def _band(count: int | None) -> tuple[float | None, float | None]:
    if count is None:
        return None, None
    return garwood(count)


def _month_counts(tally: Tally, months: Iterable[str]) -> list[MonthCount]:
    found = []
    for month in months:
        count = tally.month_total(month)
        lower, upper = _band(count)
        found.append(MonthCount(month=month, incidents=count, lower=lower, upper=upper))
    return found


def _breakdowns(
    values: dict[tuple[str, str], int | None] | dict[tuple[str, str], int], months: list[str]
) -> list[Breakdown]:
    keys = sorted({key for key, _m in values})
    found = []
    for key in keys:
        counts: list[int | None] = [(values.get((key, m), 0) if m else None) for m in months]
        found.append(Breakdown(key=key, total=add_known(counts), months=counts))
    found.sort(key=lambda b: (-(b.total if b.total is not None else -1), b.key))
    return found


def _share(numerator: int | None, denominator: int | None) -> Share:
    if numerator is None or not denominator:
        return Share(
            numerator=numerator, denominator=denominator, value=None, lower=None, upper=None
        )
    lower, upper = clopper_pearson(numerator, denominator)
    return Share(
        numerator=numerator,
        denominator=denominator,
        value=numerator / denominator,
        lower=lower,
        upper=upper,
    )


def _trend(tally: Tally, months: list[MonthCount]) -> Trend | None:
    """The trend over the latest run of months with a known count (no month is imputed)."""
    run: list[int] = []
    for month in reversed(months):
        if month.incidents is None:
            break
        run.insert(0, month.incidents)
    if len(run) < len(months):
        first = months[len(months) - len(run)].month if run else None
        tally.notes.append(
            f"trend: fitted on the {len(run)} months from {first} (earlier months not known)"
            if len(run) >= 3 and first
            else "trend: fewer than 3 consecutive months with a known count, no trend is fitted"
        )
    return poisson_trend(run)


def assemble(
    tally: Tally,
    *,
    source: Literal["release", "live"],
    country: str | None,
    release: ReleaseRef | None = None,
) -> Indicators:
    """The ``Indicators`` of a filled tally."""
    window = tally.window
    months = list(window.months)
    attacks = _month_counts(tally, months)
    total = add_known(m.incidents for m in attacks)
    whole = tally.whole or {}
    if total is None:
        total = whole.get("*")
    lower, upper = _band(total)
    covered = [m if m in tally.covered else "" for m in months]
    trend_counts = _month_counts(tally, window.trend)
    trend = _trend(tally, trend_counts)
    quality = tally.quality
    return Indicators(
        source=source,
        release=release,
        country=country,
        period=window.label,
        start=window.first,
        end=window.last,
        months=months,
        total=total,
        total_lower=lower,
        total_upper=upper,
        attacks=attacks,
        by_type=[
            b if b.total is not None else b.model_copy(update={"total": whole.get(b.key)})
            for b in _breakdowns(tally.types, covered)
        ],
        by_resource=None if tally.resources is None else _breakdowns(tally.resources, covered),
        by_facility_type=(
            None if tally.facility_types is None else _breakdowns(tally.facility_types, covered)
        ),
        by_country=_breakdowns(tally.totals, covered),
        killed=tally.killed,
        injured=tally.injured,
        certainty=None if tally.certainty is None else dict(sorted(tally.certainty.items())),
        verified=_share(quality.verified, quality.incidents),
        median_days_to_verification=quality.median_days,
        facility_struck=quality.facility_struck if quality.incidents else None,
        notified_site_strikes=_share(quality.notified_site_struck, quality.incidents),
        notified_movement_strikes=_share(quality.notified_movement_struck, quality.incidents),
        investigated=_share(quality.investigated, quality.incidents),
        remedied=_share(quality.remedied, quality.incidents),
        trend_months=trend_counts,
        trend=trend,
        notes=list(dict.fromkeys(tally.notes)),
    )
