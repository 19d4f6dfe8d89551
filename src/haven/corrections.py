"""The public correction log: every change to a published incident, naming a role, never a person.

Verification (``haven.verification``), deduplication and any code that changes an
incident's facts call ``record_correction`` for each changed field; it writes
only while the incident is ``published``. ``corrections`` serves the log
through the public schema ``PublicCorrection``: an opaque ``incident_ref``
instead of the internal id, values only for public fields, a role label
instead of a user name. Exercise incidents stay out.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import custody_incidents
from haven.accounts import Actor
from haven.errors import InvalidInput
from haven.models import CorrectionRow, IncidentRow
from haven.taxonomy import IncidentState

__all__ = [
    "PUBLIC_CORRECTION_FIELDS",
    "PublicCorrection",
    "corrections",
    "incident_ref",
    "record_correction",
]

PUBLIC_CORRECTION_FIELDS = frozenset(
    {
        "certainty",
        "state",
        "occurred_at",
        "country",
        "attack_types",
        "resources",
        "facility_type",
        "killed",
        "injured",
    }
)
"""Fields whose old and new values the public correction log shows; for any other field it
says only that the field changed (the values may place or name someone)."""


def _role_label(actor: Actor) -> str:
    return "system" if actor.user_id is None and actor.label == "system" else actor.role.value


def incident_ref(incident_id: str) -> str:
    """The public reference of an incident in the correction log (not its internal id)."""
    return hashlib.sha256(f"haven:incident:{incident_id}".encode()).hexdigest()[:16]


def record_correction(
    session: Session,
    row: IncidentRow,
    *,
    field: str,
    old: object,
    new: object,
    reason: str,
    actor: Actor,
) -> None:
    """Log a change to a published incident (no-op for others); values of non-public fields
    are left out. Call it from any code that changes an incident's facts."""
    custody_incidents.acting(session, actor)
    if row.state != IncidentState.PUBLISHED:
        return
    public = field in PUBLIC_CORRECTION_FIELDS
    session.add(
        CorrectionRow(
            incident_id=row.id,
            actor=_role_label(actor),
            field=field[:60],
            old_value=str(old) if public and old is not None else None,
            new_value=str(new) if public and new is not None else None,
            reason=reason,
        )
    )


class PublicCorrection(BaseModel):
    """One entry of the public correction log (public schema: no names, no sensitive fields)."""

    id: int
    at: datetime
    incident_ref: str = Field(
        description="A stable public reference of the incident (not its internal id)."
    )
    field: str
    old_value: str | None = Field(description="Null when the field's values are not public.")
    new_value: str | None = Field(description="Null when the field's values are not public.")
    reason: str
    by_role: str = Field(description="The role of whoever made the change, never a name.")


def corrections(
    session: Session, *, since: datetime | None = None, limit: int = 1000
) -> list[PublicCorrection]:
    """Changes to published incidents at or after ``since`` (exercise data left out), oldest
    first, at most ``limit``."""
    query = (
        select(CorrectionRow)
        .join(IncidentRow, IncidentRow.id == CorrectionRow.incident_id)
        .where(IncidentRow.is_exercise.is_(False))
        .order_by(CorrectionRow.id)
        .limit(limit)
    )
    if since is not None:
        try:
            since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        except OverflowError as exc:
            raise InvalidInput("bad time", fields={"since": "out of range"}) from exc
        query = query.where(CorrectionRow.at >= since)
    return [
        PublicCorrection(
            id=row.id,
            at=row.at,
            incident_ref=incident_ref(row.incident_id),
            field=row.field,
            old_value=row.old_value,
            new_value=row.new_value,
            reason=row.reason,
            by_role=row.actor,
        )
        for row in session.scalars(query)
    ]
