"""The content of a notification: canonical JSON, its hash, and the lead-time and validity rules.

The content is what the party receives, byte for byte: a JSON object (format
``haven.notification/1``) serialised canonically (sorted keys, no spaces,
UTF-8); its SHA-256 is the content hash that custody leaves and proofs name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import custody, notification_outputs, privacy
from haven.errors import InvalidInput
from haven.geo import LonLat
from haven.models import FacilityRow, MovementRow, NotificationRow, PartyRow
from haven.settings import Settings

__all__ = [
    "FORMAT",
    "LIVE",
    "NOT_APPROVAL",
    "Draft",
    "NotificationKind",
    "NotificationState",
    "build_content",
    "canonical_bytes",
    "content_hash",
    "iso",
    "lead_time_check",
    "validity_check",
]

NOT_APPROVAL = (
    "Acknowledgement records receipt only. It is not approval, authorisation or a guarantee "
    "of safety, and it transfers no responsibility: the protection of medical units and "
    "humanitarian movements under international humanitarian law does not depend on it."
)
"""Said in every notification's content, every acknowledgement and every output."""

FORMAT = "haven.notification/1"


class NotificationKind(StrEnum):
    """What a notification is about."""

    SITES = "sites"
    """Static sites (facilities) and their coordinates."""
    MOVEMENT = "movement"
    """A dynamic movement: route, time window, vehicles."""


class NotificationState(StrEnum):
    """Where a notification stands."""

    DRAFT = "draft"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"


LIVE = (NotificationState.SENT.value, NotificationState.ACKNOWLEDGED.value)


def canonical_bytes(content: dict[str, Any]) -> bytes:
    """The canonical JSON bytes of a content: sorted keys, no spaces, UTF-8 (what is hashed)."""
    return custody.canonical(content).encode("utf-8")


def content_hash(content: dict[str, Any]) -> str:
    """The SHA-256 (hex) of the canonical content."""
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _site_point(session: Session, row: FacilityRow) -> tuple[LonLat, int]:
    """The site's point as the party must know it: the exact one, even for a sensitive site."""
    if row.is_sensitive and row.sensitive:
        opened = privacy.decrypt(session, row.sensitive, bound_to=f"facility:{row.id}")
        if "lon" in opened and "lat" in opened:
            return LonLat(float(opened["lon"]), float(opened["lat"])), 1
    return LonLat(row.lon, row.lat), row.geo_precision


def _sites_content(session: Session, facility_ids: list[int]) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(FacilityRow).where(FacilityRow.id.in_(facility_ids)).order_by(FacilityRow.id)
    ).all()
    sites = []
    for row in rows:
        point, precision = _site_point(session, row)
        sites.append(
            {
                "facility_id": row.id,
                "name": row.name,
                "name_local": row.name_local,
                "facility_type": row.facility_type,
                "country": row.country,
                "admin1": row.admin1,
                "lon": round(point.lon, 6),
                "lat": round(point.lat, 6),
                "mgrs": notification_outputs.mgrs_of(point),
                "geo_precision": precision,
                "exercise": row.is_exercise,
            }
        )
    return sites


def _movement_content(row: MovementRow) -> dict[str, Any]:
    return {
        "movement_id": row.id,
        "kind": row.kind,
        "name": row.name,
        "organisation": row.organisation,
        "starts_at": iso(row.starts_at),
        "ends_at": iso(row.ends_at),
        "route_type": row.route_type,
        "route": [[round(float(x), 6), round(float(y), 6)] for x, y in row.route],
        "route_mgrs": [
            notification_outputs.mgrs_of(LonLat(float(x), float(y))) for x, y in row.route
        ],
        "vehicles": row.vehicles,
        "personnel_count": row.personnel_count,
        "cargo": row.cargo,
        "exercise": row.is_exercise,
    }


@dataclass(frozen=True)
class Draft:
    party: PartyRow
    kind: NotificationKind
    facility_ids: list[int]
    movement: MovementRow | None
    valid_from: datetime
    expires_at: datetime
    emergency: bool
    message: str


def build_content(
    session: Session, draft: Draft, *, version: int, supersedes: NotificationRow | None
) -> dict[str, Any]:
    exercise = draft.party.is_exercise or (
        draft.movement is not None and draft.movement.is_exercise
    )
    return {
        "format": FORMAT,
        "kind": draft.kind.value,
        "exercise": exercise,
        "party": {"id": draft.party.id, "name": draft.party.name},
        "version": version,
        "supersedes": (
            {
                "notification_id": supersedes.id,
                "version": supersedes.version,
                "content_sha256": supersedes.content_sha256,
            }
            if supersedes is not None
            else None
        ),
        "valid_from": iso(draft.valid_from),
        "expires_at": iso(draft.expires_at),
        "emergency": draft.emergency,
        "message": draft.message,
        "coordinates": "WGS84 decimal degrees, [lon, lat] (GeoJSON order); MGRS at 1 m",
        "sites": _sites_content(session, draft.facility_ids)
        if draft.kind is NotificationKind.SITES
        else [],
        "movement": _movement_content(draft.movement) if draft.movement is not None else None,
        "acknowledgement": NOT_APPROVAL,
    }


def lead_time_check(draft: Draft, *, settings: Settings, now: datetime) -> None:
    movement = draft.movement
    if movement is None:
        return
    needed = (
        settings.notification_lead_time_emergency
        if draft.emergency
        else settings.notification_lead_time_movement
    )
    lead = movement.starts_at - now
    if lead < timedelta(hours=needed):
        hours = lead.total_seconds() / 3600
        if draft.emergency:
            why = f"starts in {hours:.1f} h; even an emergency needs {needed} h of notice"
        else:
            why = (
                f"starts in {hours:.1f} h; a movement needs {needed} h of notice "
                f"(flag it emergency for {settings.notification_lead_time_emergency} h)"
            )
        raise InvalidInput(
            f"movement {movement.id} is notified too late", fields={"movement_id": why}
        )


def validity_check(draft: Draft, *, now: datetime) -> None:
    if draft.expires_at <= now:
        raise InvalidInput(
            "the validity has already ended",
            fields={"expires_at": f"{iso(draft.expires_at)} is not after now ({iso(now)})"},
        )
    if draft.expires_at <= draft.valid_from:
        raise InvalidInput(
            "the validity ends before it starts",
            fields={"expires_at": "must be after valid_from"},
        )
