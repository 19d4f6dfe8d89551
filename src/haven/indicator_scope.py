"""What an indicator query covers: a country, a period (year, quarter or month) and a trend window.

Periods are written ``2024`` (a year), ``2024-Q1`` (a quarter) or ``2024-03``
(a month); every indicator is counted per calendar month (UTC) inside the
period, and the trend uses the ``trend_months`` months that end with the
period's last month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from haven.errors import InvalidInput
from haven.geo import iso3_country

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "Scope",
    "Window",
    "month_label",
    "month_of",
    "months_between",
    "parse_period",
]

FIRST_YEAR = 1900
LAST_YEAR = 2199
"""The years a period may name (the trend window reaches up to five years before)."""
_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$")


def month_label(day: date) -> str:
    """``YYYY-MM`` of the month holding ``day``."""
    return f"{day:%Y-%m}"


def month_of(label: str) -> date:
    """The first day of the month ``YYYY-MM``."""
    return date(int(label[:4]), int(label[5:7]), 1)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def months_between(first: date, last: date) -> list[str]:
    """Every month label from the one holding ``first`` to the one holding ``last``."""
    found: list[str] = []
    day = first.replace(day=1)
    while day <= last:
        found.append(month_label(day))
        day = _next_month(day)
    return found


def parse_period(text: str, *, field_name: str = "period") -> tuple[date, date]:
    """The first and last day of ``2024``, ``2024-Q1`` or ``2024-03``."""
    match = _PERIOD.match(text.strip())
    month = int(match[3]) if match and match[3] else None
    if match is None or (month is not None and not 1 <= month <= 12):
        raise InvalidInput(
            f"{field_name}: expected YYYY, YYYY-Qn or YYYY-MM, got {text!r}",
            fields={field_name: "expected YYYY, YYYY-Qn or YYYY-MM"},
        )
    year = int(match[1])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            f"{field_name}: the year must be from {FIRST_YEAR} to {LAST_YEAR}, got {year}",
            fields={field_name: f"year {FIRST_YEAR}-{LAST_YEAR}"},
        )
    if match[2]:
        first = date(year, 3 * int(match[2]) - 2, 1)
        last = _next_month(_next_month(_next_month(first))) - timedelta(days=1)
    elif month is not None:
        first = date(year, month, 1)
        last = _next_month(first) - timedelta(days=1)
    else:
        first, last = date(year, 1, 1), date(year, 12, 31)
    return first, last


class Scope(BaseModel):
    """What an indicator query covers (the query string of the indicator endpoints)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str | None = Field(default=None, description="ISO 3166-1 alpha-3; all if empty.")
    period: str | None = Field(
        default=None,
        description=(
            "YYYY, YYYY-Qn or YYYY-MM. Empty: the release's months (public) or the last 12 "
            "full months (internal)."
        ),
    )
    trend_months: int = Field(
        default=12, ge=3, le=60, description="Months of the trend, ending with the period."
    )

    @field_validator("country")
    @classmethod
    def _iso3(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return iso3_country(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("period")
    @classmethod
    def _known_period(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_period(value)
        return value.strip()

    @classmethod
    def parse(
        cls, *, country: str | None = None, period: str | None = None, trend_months: int = 12
    ) -> Scope:
        """A scope from query or command-line values; ``InvalidInput`` naming the bad field."""
        try:
            return cls(country=country, period=period, trend_months=trend_months)
        except ValidationError as exc:
            raise InvalidInput.from_validation(
                exc.errors(), message="invalid indicator scope"
            ) from exc

    def query_string(self) -> str:
        """The scope as a query string (for the JSON twin of a page)."""
        parts = [f"country={self.country}"] if self.country else []
        if self.period:
            parts.append(f"period={self.period}")
        if self.trend_months != 12:
            parts.append(f"trend_months={self.trend_months}")
        return "&".join(parts)


@dataclass(frozen=True, slots=True)
class Window:
    """The months a query counts: the period's, and the trend's (which end with them)."""

    label: str
    first: date
    last: date
    months: tuple[str, ...]
    trend: tuple[str, ...]

    @property
    def since(self) -> datetime:
        """The instant the trend window starts (UTC)."""
        return datetime.combine(month_of(self.trend[0]), time(), tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The instant after the period ends (UTC)."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)

    @property
    def period_since(self) -> datetime:
        """The instant the period starts (UTC)."""
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @classmethod
    def of(cls, label: str, *, first: date, last: date, trend_months: int) -> Window:
        """The window of a period from ``first`` to ``last`` with its trend months."""
        months = months_between(first, last)
        end = month_of(months[-1])
        start = end
        for _ in range(max(trend_months, len(months)) - 1):
            start = (start - timedelta(days=1)).replace(day=1)
        return cls(label, first, last, tuple(months), tuple(months_between(start, end)))
