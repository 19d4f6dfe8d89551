"""The map dashboard's data: filtered incidents and facilities, as the page and map show them."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from haven import facilities, incidents
from haven.accounts import Actor
from haven.incidents import Incident
from haven.taxonomy import Certainty, SsaAttackType
from haven.web.views import ATTACK_TYPE_CODES

__all__ = ["MAP_LIMIT", "MapQuery", "context", "map_points"]

MAP_LIMIT = 1000
"""At most this many incidents on the map (newest first); the page says when there are more."""


class MapQuery(BaseModel):
    """The dashboard's filters (the same names as ``GET /api/incidents``' parameters)."""

    model_config = ConfigDict(extra="forbid")

    since: date | None = Field(default=None, description="Occurred on or after this day.")
    until: date | None = Field(default=None, description="Occurred before this day.")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    attack_type: list[SsaAttackType] = Field(default_factory=list)
    certainty: list[Certainty] = Field(default_factory=list)

    @field_validator("since", "until", "country", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("attack_type", "certainty", mode="before")
    @classmethod
    def _drop_empty(cls, value: object) -> object:
        return [v for v in value if v != ""] if isinstance(value, list) else value

    def query_string(self) -> str:
        """The filters as ``GET /api/incidents`` takes them (empty ones left out)."""
        pairs: list[tuple[str, str]] = []
        for name in ("since", "until", "country"):
            value = getattr(self, name)
            if value is not None:
                pairs.append((name, str(value)))
        pairs += [("attack_type", t.value) for t in self.attack_type]
        pairs += [("certainty", c.value) for c in self.certainty]
        return urlencode(pairs)


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min)


def map_points(items: list[Incident]) -> list[dict[str, Any]]:
    """Compact points for the map script: id, lon, lat, day, attack-type code, certainty, killed."""
    return [
        {
            "id": item.id,
            "lon": round(item.location.lon, 5),
            "lat": round(item.location.lat, 5),
            "day": item.occurred_at.date().isoformat(),
            "type": ATTACK_TYPE_CODES[SsaAttackType(item.attack_types[0])],
            "certainty": item.certainty.value,
            "killed": item.killed_total,
        }
        for item in items
        if item.location is not None and item.attack_types
    ]


def context(session: Session, actor: Actor, *, query: MapQuery) -> dict[str, Any]:
    """What the dashboard shows ``actor`` for ``query`` (incidents need READ_INCIDENTS)."""
    flt = incidents.parse_filter(
        {
            "since": _midnight(query.since),
            "until": _midnight(query.until),
            "countries": (query.country,) if query.country else (),
            "attack_types": tuple(query.attack_type),
            "certainties": tuple(query.certainty),
        }
    )
    page = incidents.list_incidents(session, flt, actor=actor, limit=MAP_LIMIT)
    sites = [
        f
        for f in facilities.list_facilities(session, actor=actor, limit=5000)
        if query.country is None or f.country == query.country
    ]
    shown_sites = [
        {
            "id": f.id,
            "name": f.name,
            "lon": f.lon,
            "lat": f.lat,
            "status": f.status.status.value if f.status is not None else "unknown",
        }
        for f in sites
    ]
    return {
        "query": query,
        "incidents": page.items,
        "more": page.next_cursor is not None,
        "map_data": {"incidents": map_points(page.items), "facilities": shown_sites},
        "facilities": sites,
    }
