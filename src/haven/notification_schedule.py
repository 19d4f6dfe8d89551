"""Time-driven notification work: expiry, revalidation reminders, chasing and escalation.

``run_due`` takes the clock as an argument (``now``), so tests drive it without
sleeping; ``haven notifications tick`` and the server's worker call it with the
real time. Each run does at most one chase per notification, however long the
gap since the previous run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from haven import audit, outbox
from haven.accounts import SYSTEM
from haven.models import NotificationRow, PartyRow
from haven.notification_content import LIVE, NOT_APPROVAL, NotificationState, iso
from haven.settings import Settings

__all__ = ["DueWork", "run_due"]


@dataclass
class DueWork:
    """What one ``run_due`` did, by notification id."""

    expired: list[int] = field(default_factory=list)
    reminders: list[int] = field(default_factory=list)
    chases: list[int] = field(default_factory=list)
    escalations: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many things were done."""
        return len(self.expired) + len(self.reminders) + len(self.chases) + len(self.escalations)


def _expire(session: Session, *, now: datetime, work: DueWork) -> None:
    rows = session.scalars(
        select(NotificationRow).where(
            NotificationRow.state.in_([NotificationState.DRAFT.value, *LIVE]),
            NotificationRow.expires_at <= now,
        )
    ).all()
    for row in rows:
        row.state = NotificationState.EXPIRED.value
        row.ended_at = row.expires_at
        row.end_reason = "validity ended"
        work.expired.append(row.id)
        audit.record(
            session,
            SYSTEM,
            action="notification.expire",
            entity_type="notification",
            entity_id=row.id,
            detail={"expires_at": iso(row.expires_at)},
        )


def _remind(session: Session, *, settings: Settings, now: datetime, work: DueWork) -> None:
    horizon = now + timedelta(hours=settings.notification_revalidate_before_hours)
    rows = session.scalars(
        select(NotificationRow).where(
            NotificationRow.state.in_(LIVE),
            NotificationRow.reminded_at.is_(None),
            NotificationRow.expires_at <= horizon,
        )
    ).all()
    for row in rows:
        row.reminded_at = now
        work.reminders.append(row.id)
        audit.record(
            session,
            SYSTEM,
            action="notification.revalidation_due",
            entity_type="notification",
            entity_id=row.id,
            detail={"expires_at": iso(row.expires_at)},
        )


def _chase(session: Session, *, settings: Settings, now: datetime, work: DueWork) -> None:
    every = timedelta(hours=settings.notification_chase_every_hours)
    rows = session.scalars(
        select(NotificationRow).where(
            NotificationRow.state == NotificationState.SENT.value,
            or_(
                and_(
                    NotificationRow.last_chased_at.is_(None), NotificationRow.sent_at <= now - every
                ),
                NotificationRow.last_chased_at <= now - every,
            ),
        )
    ).all()
    for row in rows:
        row.chase_count += 1
        row.last_chased_at = now
        work.chases.append(row.id)
        party = session.get(PartyRow, row.party_id)
        assert party is not None and row.sent_at is not None
        notice = {
            "type": "notification.chase",
            "notification_id": row.id,
            "version": row.version,
            "content_sha256": row.content_sha256,
            "sent_at": iso(row.sent_at),
            "chase": row.chase_count,
            "acknowledgement": NOT_APPROVAL,
        }
        outbox.enqueue(
            session,
            outbox.Recipient.of_party(party),
            key=f"notification:{row.id}:chase:{row.chase_count}",
            subject=f"Please acknowledge receipt: notification {row.series_id} v{row.version}",
            payload=notice,
            text=(
                f"Haven notification {row.series_id} version {row.version}, "
                f"sent {iso(row.sent_at)} (content SHA-256 {row.content_sha256}), "
                "has not been acknowledged.\n"
                f"Please acknowledge receipt. {NOT_APPROVAL}\n"
            ),
            notification_id=row.id,
            now=now,
        )
        audit.record(
            session,
            SYSTEM,
            action="notification.chase",
            entity_type="notification",
            entity_id=row.id,
            detail={"chase": row.chase_count},
        )
        if (
            row.chase_count >= settings.notification_escalate_after_chases
            and row.escalated_at is None
        ):
            row.escalated_at = now
            work.escalations.append(row.id)
            outbox.enqueue(
                session,
                outbox.Recipient.of_party(party),
                key=f"notification:{row.id}:escalation",
                subject=f"ESCALATION: notification {row.series_id} v{row.version} unacknowledged",
                payload={**notice, "type": "notification.escalation"},
                text=(
                    f"Haven notification {row.series_id} version {row.version} to {party.name}, "
                    f"sent {iso(row.sent_at)}, is still unacknowledged "
                    f"after {row.chase_count} chases.\n"
                ),
                notification_id=row.id,
                now=now,
                escalation=True,
            )
            audit.record(
                session,
                SYSTEM,
                action="notification.escalate",
                entity_type="notification",
                entity_id=row.id,
                detail={"chases": row.chase_count},
            )


def run_due(session: Session, settings: Settings, *, now: datetime) -> DueWork:
    """Expire, remind, chase and escalate as of ``now`` (an injected clock; the caller commits)."""
    work = DueWork()
    _expire(session, now=now, work=work)
    _remind(session, settings=settings, now=now, work=work)
    _chase(session, settings=settings, now=now, work=work)
    return work
