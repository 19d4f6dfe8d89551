"""Release policies: the field matrix, coarsening of place and time, delay, suppression and DP.

The default ``ReleasePolicy()`` is the WHO SSA rule: country, date (as a
month), attack type, resources affected, facility type, aggregate casualties and
certainty are publishable; province, city, coordinates, facility names,
sources, narratives and victims' details are not. Policies are written as JSON
or TOML files (``load_policy``); docs/privacy.md describes every key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from haven.errors import InvalidInput
from haven.geo import iso3_country
from haven.taxonomy import Certainty, Tlp

__all__ = [
    "MAX_H3_RESOLUTION",
    "WHO_SSA_FIELDS",
    "Period",
    "PublicField",
    "ReleasePolicy",
    "TimeUnit",
    "cutoff_of",
    "load_policy",
    "period_of",
    "periods_between",
]

MAX_H3_RESOLUTION = 7
"""The finest H3 resolution a policy may publish (~5 km² cells, edge ~1.4 km)."""


class PublicField(StrEnum):
    """Incident fields a policy may publish besides country and period (the field matrix)."""

    ATTACK_TYPES = "attack_types"
    RESOURCES = "resources"
    FACILITY_TYPE = "facility_type"
    KILLED = "killed"
    INJURED = "injured"
    CERTAINTY = "certainty"
    PERPETRATOR_CATEGORY = "perpetrator_category"
    WEAPONS = "weapons"


WHO_SSA_FIELDS: tuple[PublicField, ...] = (
    PublicField.ATTACK_TYPES,
    PublicField.RESOURCES,
    PublicField.FACILITY_TYPE,
    PublicField.KILLED,
    PublicField.INJURED,
    PublicField.CERTAINTY,
)
"""The WHO SSA rule: attack type, resources affected, facility type, aggregate casualties and
certainty are publishable (with country and date); nothing else is."""


class TimeUnit(StrEnum):
    """How published dates are coarsened."""

    WEEK = "week"
    MONTH = "month"


_SPATIAL = re.compile(r"^(country|admin1|h3:(\d{1,2}))$")
_TLP_ORDER = list(Tlp)
_ALWAYS_PUBLIC = frozenset({"n", "country", "period", "period_start", "period_end"})


class ReleasePolicy(BaseModel):
    """What a release may publish and how coarsely; the defaults are the WHO SSA rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: tuple[PublicField, ...] = Field(
        default=WHO_SSA_FIELDS,
        description="Incident fields published besides country and period (the field matrix).",
    )
    spatial: str = Field(
        default="country",
        description=(
            "Finest place published: 'country', 'admin1' (province name) or 'h3:<res>' "
            f"(an H3 cell, resolution 0-{MAX_H3_RESOLUTION}, and its centre)."
        ),
    )
    time: TimeUnit = Field(default=TimeUnit.MONTH, description="Dates are published as this.")
    delay_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="Only periods that began before today minus this many days are published.",
    )
    k: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="Counts from 1 to k-1 are suppressed (k=1 turns suppression off).",
    )
    min_certainty: Certainty = Field(
        default=Certainty.POSSIBLE, description="Weaker incidents (e.g. rumours) are not released."
    )
    max_tlp: Tlp = Field(
        default=Tlp.AMBER_STRICT,
        description="Incidents with a stricter sharing label (TLP:RED by default) stay out.",
    )
    countries: tuple[str, ...] = Field(
        default=(), description="ISO3 codes to release; empty means every country."
    )
    since: date | None = Field(
        default=None, description="Release only incidents from the period holding this date on."
    )
    publish_incidents: StrictBool = Field(
        default=True, description="Publish one coarsened row per incident, not only the counts."
    )
    dp_epsilon: float | None = Field(
        default=None,
        gt=0,
        le=10,
        description="Add differential-privacy noise to the counts with this total epsilon.",
    )
    dp_attack_types_per_incident: int = Field(
        default=3,
        ge=1,
        le=15,
        description="Under DP, an incident counts in at most this many attack-type cells.",
    )

    @field_validator("fields")
    @classmethod
    def _ordered_fields(cls, value: tuple[PublicField, ...]) -> tuple[PublicField, ...]:
        return tuple(f for f in PublicField if f in set(value))

    @field_validator("spatial")
    @classmethod
    def _known_spatial(cls, value: str) -> str:
        match = _SPATIAL.match(value)
        if match is None:
            raise ValueError("must be 'country', 'admin1' or 'h3:<resolution>'")
        if match.group(2) is not None and int(match.group(2)) > MAX_H3_RESOLUTION:
            raise ValueError(f"H3 resolution finer than {MAX_H3_RESOLUTION} is not allowed")
        return value

    @field_validator("countries")
    @classmethod
    def _iso3(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not re.fullmatch(r"[A-Z]{3}", code) or iso3_country(code) != code:
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-3 code")
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.k == 2:
            raise ValueError("k=2 would show every suppressed count as 1: use k=1 (off) or k>=3")
        if self.dp_epsilon is not None and self.publish_incidents:
            raise ValueError(
                "noise on counts protects nothing while incident rows are published: "
                "set publish_incidents to false with dp_epsilon"
            )
        return self

    @property
    def h3_resolution(self) -> int | None:
        """The policy's H3 resolution, or ``None`` when it publishes no cell."""
        return int(self.spatial[3:]) if self.spatial.startswith("h3:") else None

    def allows_label(self, tlp: Tlp) -> bool:
        """Whether an incident with sharing label ``tlp`` may be released."""
        return _TLP_ORDER.index(tlp) <= _TLP_ORDER.index(self.max_tlp)

    def incident_fields(self) -> frozenset[str]:
        """Every key a published incident row may carry under this policy."""
        place: set[str] = set()
        if self.spatial == "admin1":
            place = {"admin1"}
        elif self.h3_resolution is not None:
            place = {"h3_cell", "location"}
        return _ALWAYS_PUBLIC | place | {f.value for f in self.fields}

    def cell_fields(self) -> frozenset[str]:
        """Every key a published count cell may carry under this policy."""
        keys = {"country", "period", "period_start", "period_end", "suppressed", "incidents"}
        if PublicField.ATTACK_TYPES in self.fields:
            keys.add("attack_type")
        if self.dp_epsilon is None:
            keys |= {f.value for f in self.fields} & {"killed", "injured"}
        return frozenset(keys)


def load_policy(path: Path) -> ReleasePolicy:
    """A policy from a JSON or TOML file (``InvalidInput`` naming the bad fields)."""
    try:
        raw = path.read_bytes()
        data: Any = tomllib.loads(raw.decode()) if path.suffix == ".toml" else orjson.loads(raw)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(
            f"cannot read policy {path}: {exc}", fields={"policy": str(path)}
        ) from exc
    try:
        return ReleasePolicy.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation(
            exc.errors(), prefix="policy.", message=f"invalid policy {path}"
        ) from exc


# --- periods -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """A published time unit: its label and first and last day."""

    label: str
    start: date
    end: date


def period_of(day: date, unit: TimeUnit) -> Period:
    """The ISO week (Monday to Sunday) or calendar month holding ``day``."""
    if unit is TimeUnit.WEEK:
        start = day - timedelta(days=day.weekday())
        iso = start.isocalendar()
        return Period(f"{iso.year}-W{iso.week:02d}", start, start + timedelta(days=6))
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period(f"{start:%Y-%m}", start, following - timedelta(days=1))


def cutoff_of(now: datetime, policy: ReleasePolicy) -> datetime:
    """The start of the period holding ``now`` minus the delay: later incidents wait."""
    day = (now.astimezone(UTC) - timedelta(days=policy.delay_days)).date()
    return datetime.combine(period_of(day, policy.time).start, time(), tzinfo=UTC)


def periods_between(first: date, *, cutoff: datetime, unit: TimeUnit) -> list[Period]:
    """Every period from the one holding ``first`` to the last one that starts before ``cutoff``."""
    found: list[Period] = []
    period = period_of(first, unit)
    while period.start < cutoff.date():
        found.append(period)
        period = period_of(period.end + timedelta(days=1), unit)
    return found
