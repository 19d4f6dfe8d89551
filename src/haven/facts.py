"""What an account says happened: the validated facts shared by reports and incidents."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from haven.geo import LonLat, iso3_country
from haven.taxonomy import (
    CasualtyGroup,
    CasualtyOutcome,
    Certainty,
    ContextFlag,
    DatePrecision,
    GeoPrecision,
    PerpetratorCategory,
    SsaAttackType,
    SsaFacilityType,
    SsaResource,
    Weapon,
)

__all__ = [
    "AdminName",
    "Casualties",
    "EventFacts",
    "IsoDate",
    "IsoDateTime",
    "LongText",
    "Point",
    "RowId",
    "ShortText",
    "casualty_total",
]

CLOCK_SKEW = timedelta(hours=1)
"""How far in the future an ``occurred_at`` may be (phones' clocks drift)."""

PeopleCount = Annotated[int, Field(ge=0, le=1_000_000)]
"""A count of people in one incident (bounded: a larger figure is a typo, not an event)."""

Casualties = dict[CasualtyGroup, dict[CasualtyOutcome, PeopleCount]]
"""People affected, by group and outcome, e.g. ``{"health_workers": {"killed": 2}}``."""


RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
"""The id of a stored row (bounded so a huge number is a 422, not a database overflow)."""

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def iso_time_text(value: object) -> object:
    """Accept a ``datetime`` or ISO 8601 text; refuse numbers (pydantic would read them as
    Unix seconds) and other spellings, naming the expected form."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_TIME.match(value.strip()):
        raise ValueError("expected an ISO 8601 date-time, e.g. 2025-03-03T08:00:00Z")
    return value.strip()


IsoDateTime = Annotated[datetime, BeforeValidator(iso_time_text)]
"""A date-time given as ISO 8601 text (numbers are refused, not read as Unix seconds)."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def iso_date_text(value: object) -> object:
    """Accept a ``date`` or ``YYYY-MM-DD`` text; refuse numbers (read as Unix seconds)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        raise ValueError("expected a date as YYYY-MM-DD, e.g. 2025-03-31")
    return value.strip()


IsoDate = Annotated[
    date, BeforeValidator(iso_date_text), Field(ge=date(1900, 1, 1), le=date(2199, 12, 31))
]
"""A calendar date given as ``YYYY-MM-DD`` text, 1900 to 2199 (numbers are refused; dates
outside those years mean nothing here and break month arithmetic near year 1 or 9999)."""


def no_nul(value: str) -> str:
    """Refuse text with NUL characters (PostgreSQL cannot store them)."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


ShortText = Annotated[str, Field(max_length=300), AfterValidator(no_nul)]
AdminName = Annotated[str, Field(max_length=200), AfterValidator(no_nul)]
LongText = Annotated[str, Field(max_length=20_000), AfterValidator(no_nul)]


class Point(BaseModel):
    """A WGS84 location, longitude first (GeoJSON order)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lon: float = Field(ge=-180.0, le=180.0, description="Longitude, decimal degrees (WGS84).")
    lat: float = Field(ge=-90.0, le=90.0, description="Latitude, decimal degrees (WGS84).")

    def lonlat(self) -> LonLat:
        """The point as Haven's ``LonLat``."""
        return LonLat(self.lon, self.lat)


class EventFacts(BaseModel):
    """The facts of one attack as an account gives them (WHO SSA data-collection fields)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    occurred_at: datetime = Field(
        description="When it happened, UTC (ISO 8601; a time without offset is read as UTC)."
    )
    date_precision: DatePrecision = Field(
        default=DatePrecision.EXACT, description="How much of occurred_at is known."
    )
    location: Point | None = Field(default=None, description="Where it happened, if known.")
    geo_precision: GeoPrecision | None = Field(
        default=None,
        description="UCDP / Insecurity Insight 1-7 scale; defaults to 1 when a location is given.",
    )
    country: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 country code.")
    admin1: AdminName | None = None
    admin2: AdminName | None = None
    location_name: ShortText | None = None
    attack_types: list[SsaAttackType] = Field(
        min_length=1, max_length=15, description="WHO SSA attack types (one or more)."
    )
    resources: list[SsaResource] = Field(
        default_factory=list, max_length=10, description="WHO SSA health care resources affected."
    )
    facility_type: SsaFacilityType | None = None
    facility_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="A facility in the registry."
    )
    casualties: Casualties = Field(default_factory=dict)
    perpetrator_category: PerpetratorCategory | None = None
    perpetrator_name: ShortText | None = Field(
        default=None, description="Reported perpetrator, as the source names it (not a verdict)."
    )
    weapons: list[Weapon] = Field(default_factory=list, max_length=20)
    narrative: LongText = ""
    context_flags: list[ContextFlag] = Field(default_factory=list, max_length=20)
    warning_given: StrictBool | None = Field(default=None, description="Was a warning given first?")
    emblem_displayed: StrictBool | None = Field(
        default=None, description="Was a protective emblem (red cross, crescent, crystal) shown?"
    )
    military_use_alleged: StrictBool | None = Field(
        default=None, description="Is military use of the site alleged by any party?"
    )
    certainty: Certainty | None = Field(
        default=None, description="Certainty the source itself gives (WHO SSA levels), if any."
    )

    @field_validator("occurred_at")
    @classmethod
    def _utc_not_future(cls, value: datetime) -> datetime:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("is in the future")
        if value.year < 1990:
            raise ValueError("is before 1990")
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value != iso3_country(value):
            raise ValueError("is not an ISO 3166-1 alpha-3 code")
        return value

    @field_validator("attack_types", "resources", "weapons", "context_flags")
    @classmethod
    def _no_repeats(cls, value: list[Any]) -> list[Any]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _precision_needs_location(self) -> Self:
        if self.location is None and self.geo_precision is not None and self.geo_precision < 6:
            raise ValueError("geo_precision finer than country level needs a location")
        if self.location is not None and self.geo_precision is None:
            self.geo_precision = GeoPrecision(1)
        return self


def casualty_total(casualties: Casualties, outcome: CasualtyOutcome) -> int:
    """People with ``outcome`` across every group."""
    return sum(by_outcome.get(outcome, 0) for by_outcome in casualties.values())
