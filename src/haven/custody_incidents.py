"""Published incidents in the custody log: a leaf whenever one is published, changed or withdrawn.

Once an incident is published, the custody log covers it: each write that
publishes, changes or withdraws it adds a leaf whose ``content_sha256`` is the
``incident_digest`` of the incident as it then stands. ``haven verify`` later
recomputes the digest of every covered incident and names any whose stored row no
longer matches its last leaf (an edit that bypassed Haven).

How it works: a ``before_flush`` listener notes every covered incident (or attack
type of one) the session changes; at the end of each write job the database calls
``settle``, which appends one leaf per noted incident. A job that fails is rolled
back with its notes (``forget``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from haven import custody
from haven.accounts import SYSTEM, Actor
from haven.custody import Act, NewLeaf
from haven.models import IncidentAttackTypeRow, IncidentRow
from haven.taxonomy import IncidentState

__all__ = ["COVERED_STATES", "acting", "forget", "incident_digest", "install", "settle"]

COVERED_STATES = frozenset({IncidentState.PUBLISHED.value, IncidentState.WITHDRAWN.value})
"""States in which an incident is covered by the custody log."""

_PENDING_KEY = "haven.custody.incidents"
_ACTOR_KEY = "haven.custody.actor"

_DIGEST_FIELDS = (
    "id",
    "state",
    "certainty",
    "certainty_reason",
    "occurred_at",
    "date_precision",
    "country",
    "admin1",
    "admin2",
    "location_name",
    "lon",
    "lat",
    "geo_precision",
    "resources",
    "facility_type",
    "facility_id",
    "casualties",
    "killed_total",
    "injured_total",
    "perpetrator_category",
    "weapons",
    "context_flags",
    "warning_given",
    "emblem_displayed",
    "military_use_alleged",
    "conduct",
    "sensitivity",
    "tlp",
    "is_exercise",
    "merged_into",
)
"""The incident fields the digest covers (not the encrypted narrative: key rotation
re-encrypts it; not counters or timestamps Haven maintains itself)."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def incident_digest(session: Session, row: IncidentRow) -> str:
    """SHA-256 (hex) of the canonical JSON of an incident's covered fields and attack types."""
    attack_types = sorted(
        session.scalars(
            select(IncidentAttackTypeRow.attack_type).where(
                IncidentAttackTypeRow.incident_id == row.id
            )
        )
    )
    body = {name: _plain(getattr(row, name)) for name in _DIGEST_FIELDS}
    body["attack_types"] = attack_types
    return hashlib.sha256(custody.canonical(body).encode("utf-8")).hexdigest()


def _note(session: Session, incident_id: str, *, act: Act | None) -> None:
    pending: dict[str, Act | None] = session.info.setdefault(_PENDING_KEY, {})
    if act is not None or incident_id not in pending:
        pending[incident_id] = act


def _state_change(row: IncidentRow) -> Act | None:
    history = inspect(row).attrs.state.history
    if not history.has_changes():
        return None
    if row.state == IncidentState.PUBLISHED.value:
        return Act.INCIDENT_PUBLISHED
    if row.state == IncidentState.WITHDRAWN.value:
        return Act.INCIDENT_WITHDRAWN
    return None


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, IncidentRow):
            act = _state_change(obj)
            if act is not None or (
                obj.state in COVERED_STATES and session.is_modified(obj, include_collections=False)
            ):
                _note(session, obj.id, act=act)
        elif isinstance(obj, IncidentAttackTypeRow) and obj.incident_id is not None:
            _note(session, obj.incident_id, act=None)


def install(session: Session) -> None:
    """Start noting changes to covered incidents in this session (idempotent)."""
    if not event.contains(session, "before_flush", _before_flush):
        event.listen(session, "before_flush", _before_flush)


def acting(session: Session, actor: Actor) -> None:
    """Name who the next leaves of this job are by (defaults to the system)."""
    session.info[_ACTOR_KEY] = actor


def settle(session: Session) -> list[custody.Leaf]:
    """Append a custody leaf for every covered incident this job changed; clear the notes."""
    session.flush()
    pending: dict[str, Act | None] = session.info.pop(_PENDING_KEY, {})
    actor: Actor = session.info.pop(_ACTOR_KEY, SYSTEM)
    items: list[NewLeaf] = []
    for incident_id, noted in sorted(pending.items()):
        row = session.get(IncidentRow, incident_id)
        if row is None or (noted is None and row.state not in COVERED_STATES):
            continue
        act = noted or Act.INCIDENT_CORRECTED
        detail = {"state": row.state, "exercise": bool(row.is_exercise)}
        items.append(NewLeaf(act, "incident", incident_id, incident_digest(session, row), detail))
    return custody.append_many(session, items, actor=actor) if items else []


def forget(session: Session) -> None:
    """Drop the notes of a job that was rolled back."""
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_ACTOR_KEY, None)
