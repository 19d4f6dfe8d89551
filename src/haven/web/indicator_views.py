"""What the indicator dashboards show: the public one from a published release only, the internal
one from the live records the viewer may see, and the geometry of their SVG bar chart."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from haven import indicators
from haven.accounts import Actor
from haven.indicator_scope import Scope
from haven.indicator_tally import Indicators

__all__ = ["Bar", "Chart", "chart", "internal_context", "public_context"]

CHART_WIDTH = 640
CHART_HEIGHT = 180
_TOP = 10
_BOTTOM = 30


class Bar(BaseModel):
    """One month's bar: its count, band and place in the chart (SVG user units)."""

    month: str
    count: int | None
    x: float
    width: float
    y: float
    height: float
    band_top: float | None
    band_bottom: float | None
    in_period: bool


class Chart(BaseModel):
    """An SVG bar chart of incidents per month with their bands (no script needed)."""

    width: int
    height: int
    baseline: float
    top: float
    scale_max: float
    bars: list[Bar]


def chart(found: Indicators) -> Chart:
    """The bar chart of the trend window (bars of the period highlighted)."""
    months = found.trend_months
    highest = max([m.upper or float(m.incidents or 0) for m in months] + [1.0])
    usable = CHART_HEIGHT - _TOP - _BOTTOM
    baseline = CHART_HEIGHT - _BOTTOM
    step = CHART_WIDTH / max(len(months), 1)

    def y_of(value: float) -> float:
        return round(baseline - usable * value / highest, 2)

    bars = []
    period = set(found.months)
    for n, month in enumerate(months):
        count = month.incidents
        top = y_of(float(count)) if count is not None else baseline
        bars.append(
            Bar(
                month=month.month,
                count=count,
                x=round(n * step + step * 0.15, 2),
                width=round(step * 0.7, 2),
                y=top,
                height=round(baseline - top, 2),
                band_top=y_of(month.upper) if month.upper is not None else None,
                band_bottom=y_of(month.lower) if month.lower is not None else None,
                in_period=month.month in period,
            )
        )
    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        baseline=baseline,
        top=_TOP,
        scale_max=round(highest, 1),
        bars=bars,
    )


def _context(found: Indicators, scope: Scope) -> dict[str, Any]:
    return {"ind": found, "scope": scope, "chart": chart(found)}


def public_context(session: Session, *, scope: Scope, version: int | None) -> dict[str, Any]:
    """The public dashboard: one published release's indicators (anonymous)."""
    return _context(indicators.public(session, scope, version=version), scope)


def internal_context(session: Session, actor: Actor, *, scope: Scope) -> dict[str, Any]:
    """The internal dashboard: the live records ``actor`` may see."""
    return _context(indicators.internal(session, scope, actor=actor), scope)
