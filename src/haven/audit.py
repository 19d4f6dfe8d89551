"""Audit events: every change to a record, written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from haven.models import AuditEventRow

if TYPE_CHECKING:
    from haven.accounts import Actor

__all__ = ["record"]


def record(
    session: Session,
    actor: Actor,
    *,
    action: str,
    entity_type: str,
    entity_id: object,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Add one audit event; it commits (or rolls back) with the change it describes."""
    session.add(
        AuditEventRow(
            actor_user_id=actor.user_id,
            actor=actor.label,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            detail=dict(detail or {}),
        )
    )
