"""Deconfliction notifications: the exact content told to one party, sent, acknowledged, proven.

The humanitarian notification system (HNS) practice: a humanitarian organisation
tells each party to the conflict where its static sites are, and when and where
its movements will go, so that the party can take them into account. Haven keeps
the exact content sent to each party (canonical JSON; its SHA-256 is the content
hash), the lead-time rules for movements, the validity window, and the state::

    draft ──send──► sent ──acknowledge──► acknowledged
                     │ │                      │
                     │ └──────► expired ◄─────┤   (run_due, when expires_at passes)
                     └──────► withdrawn ◄─────┤
                     └──────► superseded ◄────┘   (update: a new version is sent)

An acknowledgement records that the party *received* the notification (who,
when, by which channel). It is **not approval**: a party's silence or its
acknowledgement never makes a site or movement safe, nor does it transfer
responsibility. Every send, acknowledgement, update and withdrawal is a custody
leaf in the same transaction (``haven.custody``), so ``proof_for_site`` can
later show "party P was notified of site S at T, content hash H, acknowledged
at T2" with the leaf indexes that prove it.

``run_due`` (``haven notifications tick``) does the time-driven work with an
injected clock: expiry, revalidation reminders, chasing unacknowledged
notifications every ``notification_chase_every_hours`` and escalation after
``notification_escalate_after_chases`` chases.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit, custody, linkage, notification_outputs, outbox, parties
from haven.accounts import SYSTEM, Actor, Permission, require
from haven.custody import Act
from haven.db import Database
from haven.errors import Conflict, InvalidInput, NotFound
from haven.facts import IsoDateTime, RowId, no_nul
from haven.models import (
    FacilityRow,
    MovementRow,
    NotificationRow,
    NotificationSiteRow,
    PartyRow,
    utcnow,
)
from haven.notification_content import (
    LIVE,
    NOT_APPROVAL,
    Draft,
    NotificationKind,
    NotificationState,
    build_content,
    canonical_bytes,
    content_hash,
    iso,
    lead_time_check,
    validity_check,
)
from haven.notification_proofs import NotificationProof, proof_for_movement, proof_for_site
from haven.notification_schedule import DueWork, run_due
from haven.settings import Settings

__all__ = [
    "NOT_APPROVAL",
    "AckChannel",
    "DueWork",
    "Notification",
    "NotificationIn",
    "NotificationKind",
    "NotificationProof",
    "NotificationState",
    "NotificationUpdate",
    "acknowledge",
    "canonical_bytes",
    "content_hash",
    "create",
    "get",
    "list_notifications",
    "load_demo",
    "proof_for_movement",
    "proof_for_site",
    "run_due",
    "send",
    "sites_from_kml",
    "update",
    "withdraw",
]

Text = Annotated[str, AfterValidator(no_nul)]


class AckChannel(StrEnum):
    """How a party's acknowledgement of receipt came back."""

    EMAIL = "email"
    PHONE = "phone"
    WEBHOOK = "webhook"
    LETTER = "letter"
    IN_PERSON = "in_person"
    PORTAL = "portal"
    OTHER = "other"


class NotificationIn(BaseModel):
    """A notification as a coordinator drafts it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    party_id: RowId = Field(description="The one party this content goes to.")
    kind: NotificationKind
    facility_ids: list[RowId] = Field(
        default_factory=list,
        max_length=10_000,
        description="Sites to notify (kind 'sites'); empty means every site the party receives.",
    )
    movement_id: RowId | None = Field(default=None, description="The movement (kind 'movement').")
    valid_from: IsoDateTime | None = Field(default=None, description="Default: now.")
    expires_at: IsoDateTime | None = Field(
        default=None,
        description="End of validity; needed for sites, a movement defaults to its end.",
    )
    emergency: StrictBool = Field(
        default=False, description="Emergency movement: the shorter lead time applies."
    )
    message: Text = Field(default="", max_length=2000, description="Free text for the party.")

    @model_validator(mode="after")
    def _kind_fits(self) -> Self:
        if self.kind is NotificationKind.MOVEMENT and self.movement_id is None:
            raise ValueError("a movement notification needs movement_id")
        if self.kind is NotificationKind.SITES and self.movement_id is not None:
            raise ValueError("a sites notification takes facility_ids, not movement_id")
        for name in ("valid_from", "expires_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. 2025-03-01T08:00:00Z)")
        self.facility_ids = list(dict.fromkeys(self.facility_ids))
        return self


class NotificationUpdate(BaseModel):
    """What an update changes; fields left out keep the previous version's value."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    facility_ids: list[RowId] | None = Field(default=None, max_length=10_000)
    valid_from: IsoDateTime | None = None
    expires_at: IsoDateTime | None = None
    emergency: StrictBool | None = None
    message: Text | None = Field(default=None, max_length=2000)
    reason: Text = Field(min_length=3, max_length=2000, description="Why it changed.")


class Notification(BaseModel):
    """A stored notification, its content and what became of it."""

    id: int
    series_id: int
    version: int
    supersedes_id: int | None
    party_id: int
    party_name: str
    kind: NotificationKind
    facility_ids: list[int]
    movement_id: int | None
    state: NotificationState
    emergency: bool
    exercise: bool
    valid_from: datetime
    expires_at: datetime
    content: dict[str, Any] = Field(description="The exact content sent (canonical JSON).")
    content_sha256: str
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    sent_leaf: int | None = Field(description="Custody leaf of the send (or update).")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_channel: AckChannel | None
    acknowledged_leaf: int | None
    acknowledgement_meaning: str = Field(default=NOT_APPROVAL)
    ended_at: datetime | None
    end_reason: str | None
    end_leaf: int | None
    chase_count: int
    last_chased_at: datetime | None
    escalated_at: datetime | None
    reminded_at: datetime | None


def _movement(session: Session, movement_id: int) -> MovementRow:
    row = session.get(MovementRow, movement_id)
    if row is None:
        raise NotFound(f"no movement {movement_id}", fields={"movement_id": "unknown"})
    return row


def _draft(session: Session, data: NotificationIn, *, actor: Actor, now: datetime) -> Draft:
    party = parties.party_row(session, data.party_id, actor=actor)
    movement = _movement(session, data.movement_id) if data.movement_id is not None else None
    facility_ids: list[int] = []
    if data.kind is NotificationKind.SITES:
        received = parties.sites_of(session, party.id)
        facility_ids = data.facility_ids or received
        if not facility_ids:
            raise InvalidInput(
                "no sites to notify",
                fields={"facility_ids": f"empty, and party {party.id} receives no sites"},
            )
        parties.check_facilities(session, facility_ids, field="facility_ids")
        outside = sorted(set(facility_ids) - set(received))
        if outside:
            raise InvalidInput(
                f"party {party.id} does not receive some of these sites",
                fields={"facility_ids": f"not in the party's sites: {outside[:10]}"},
            )
    expires_at = data.expires_at or (movement.ends_at if movement is not None else None)
    if expires_at is None:
        raise InvalidInput(
            "a sites notification needs an end of validity", fields={"expires_at": "required"}
        )
    return Draft(
        party=party,
        kind=data.kind,
        facility_ids=sorted(facility_ids),
        movement=movement,
        valid_from=data.valid_from or now,
        expires_at=expires_at,
        emergency=data.emergency,
        message=data.message,
    )


# --- reading -----------------------------------------------------------------------------------


def _row(session: Session, notification_id: int, *, actor: Actor) -> NotificationRow:
    row = session.scalar(
        select(NotificationRow)
        .join(PartyRow, PartyRow.id == NotificationRow.party_id)
        .where(NotificationRow.id == notification_id, parties.visible_parties(actor))
    )
    if row is None:
        raise NotFound(f"no notification {notification_id}", fields={"notification_id": "unknown"})
    return row


def _site_ids(session: Session, notification_id: int) -> list[int]:
    return list(
        session.scalars(
            select(NotificationSiteRow.facility_id)
            .where(NotificationSiteRow.notification_id == notification_id)
            .order_by(NotificationSiteRow.facility_id)
        )
    )


def _model(session: Session, row: NotificationRow) -> Notification:
    party = session.get(PartyRow, row.party_id)
    assert party is not None  # a foreign key
    return Notification(
        id=row.id,
        series_id=row.series_id or row.id,
        version=row.version,
        supersedes_id=row.supersedes_id,
        party_id=row.party_id,
        party_name=party.name,
        kind=NotificationKind(row.kind),
        facility_ids=_site_ids(session, row.id),
        movement_id=row.movement_id,
        state=NotificationState(row.state),
        emergency=row.emergency,
        exercise=row.is_exercise,
        valid_from=row.valid_from,
        expires_at=row.expires_at,
        content=row.content,
        content_sha256=row.content_sha256,
        created_at=row.created_at,
        created_by=row.created_by,
        sent_at=row.sent_at,
        sent_leaf=row.sent_leaf,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.ack_by,
        acknowledged_channel=AckChannel(row.ack_channel) if row.ack_channel else None,
        acknowledged_leaf=row.ack_leaf,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        end_leaf=row.end_leaf,
        chase_count=row.chase_count,
        last_chased_at=row.last_chased_at,
        escalated_at=row.escalated_at,
        reminded_at=row.reminded_at,
    )


def get(session: Session, notification_id: int, *, actor: Actor) -> Notification:
    """One notification (of a party ``actor`` manages)."""
    require(actor, Permission.NOTIFY)
    return _model(session, _row(session, notification_id, actor=actor))


def list_notifications(
    session: Session,
    *,
    actor: Actor,
    party_id: int | None = None,
    state: NotificationState | None = None,
    limit: int = 500,
) -> list[Notification]:
    """Notifications of the parties ``actor`` manages, newest first."""
    require(actor, Permission.NOTIFY)
    query = (
        select(NotificationRow)
        .join(PartyRow, PartyRow.id == NotificationRow.party_id)
        .where(parties.visible_parties(actor))
        .order_by(NotificationRow.id.desc())
        .limit(limit)
    )
    if party_id is not None:
        query = query.where(NotificationRow.party_id == party_id)
    if state is not None:
        query = query.where(NotificationRow.state == state.value)
    return [_model(session, row) for row in session.scalars(query)]


# --- changes -----------------------------------------------------------------------------------


def _store(
    session: Session,
    draft: Draft,
    *,
    actor: Actor,
    now: datetime,
    supersedes: NotificationRow | None,
) -> NotificationRow:
    version = supersedes.version + 1 if supersedes is not None else 1
    content = build_content(session, draft, version=version, supersedes=supersedes)
    row = NotificationRow(
        series_id=supersedes.series_id if supersedes is not None else None,
        version=version,
        supersedes_id=supersedes.id if supersedes is not None else None,
        party_id=draft.party.id,
        organisation_id=actor.organisation_id,
        kind=draft.kind.value,
        movement_id=draft.movement.id if draft.movement is not None else None,
        state=NotificationState.DRAFT.value,
        emergency=draft.emergency,
        is_exercise=bool(content["exercise"]),
        valid_from=draft.valid_from,
        expires_at=draft.expires_at,
        content=content,
        content_sha256=content_hash(content),
        created_at=now,
        created_by=actor.label,
    )
    session.add(row)
    session.flush()
    if row.series_id is None:
        row.series_id = row.id
    session.add_all(
        NotificationSiteRow(notification_id=row.id, facility_id=f) for f in draft.facility_ids
    )
    session.flush()
    return row


def create(
    session: Session,
    data: NotificationIn,
    *,
    actor: Actor,
    settings: Settings,
    now: datetime | None = None,
) -> Notification:
    """Draft a notification to one party; its content and hash are fixed now.

    Refused (``InvalidInput`` naming the field, nothing written) when the party,
    sites or movement are unknown, the validity has ended, or a movement is
    notified with less lead time than the settings ask.
    """
    require(actor, Permission.NOTIFY)
    now = now or utcnow()
    draft = _draft(session, data, actor=actor, now=now)
    validity_check(draft, now=now)
    lead_time_check(draft, settings=settings, now=now)
    row = _store(session, draft, actor=actor, now=now, supersedes=None)
    audit.record(
        session,
        actor,
        action="notification.create",
        entity_type="notification",
        entity_id=row.id,
        detail={"party_id": row.party_id, "kind": row.kind, "content_sha256": row.content_sha256},
    )
    return _model(session, row)


def _transmit(session: Session, row: NotificationRow, *, settings: Settings, now: datetime) -> None:
    """Queue the signed content to the party's webhook and e-mail (delivered by the worker)."""
    party = session.get(PartyRow, row.party_id)
    assert party is not None
    document = notification_outputs.signed_document(settings, row.content, sent_at=now)
    text = notification_outputs.plain_text(row.content)
    outbox.enqueue(
        session,
        outbox.Recipient.of_party(party),
        key=f"notification:{row.id}:sent",
        subject=f"Humanitarian notification {row.series_id} v{row.version} for {party.name}",
        payload={"type": "notification", "document": document},
        text=text,
        notification_id=row.id,
        now=now,
    )


def _sent(
    session: Session,
    row: NotificationRow,
    *,
    actor: Actor,
    act: Act,
    settings: Settings,
    now: datetime,
) -> None:
    row.state = NotificationState.SENT.value
    row.sent_at = now
    row.sent_by = actor.label
    detail: dict[str, Any] = {
        "party_id": row.party_id,
        "series_id": row.series_id,
        "version": row.version,
        "kind": row.kind,
        "sites": _site_ids(session, row.id),
        "movement_id": row.movement_id,
    }
    if row.supersedes_id is not None:
        detail["supersedes"] = row.supersedes_id
    leaf = custody.append(
        session,
        actor,
        act=act,
        entity_type="notification",
        entity_id=row.id,
        content_sha256=row.content_sha256,
        detail=detail,
    )
    row.sent_leaf = leaf.index
    _transmit(session, row, settings=settings, now=now)
    audit.record(
        session,
        actor,
        action="notification.send" if act is Act.NOTIFICATION_SENT else "notification.update",
        entity_type="notification",
        entity_id=row.id,
        detail={"content_sha256": row.content_sha256, "leaf": leaf.index},
    )


def send(
    session: Session,
    notification_id: int,
    *,
    actor: Actor,
    settings: Settings,
    now: datetime | None = None,
) -> Notification:
    """Send a draft: record the custody leaf and queue it to the party's channels."""
    require(actor, Permission.NOTIFY)
    now = now or utcnow()
    row = _row(session, notification_id, actor=actor)
    if row.state != NotificationState.DRAFT.value:
        raise Conflict(
            f"notification {row.id} is {row.state}, not a draft", fields={"state": row.state}
        )
    draft = _draft_of(session, row)
    validity_check(draft, now=now)
    lead_time_check(draft, settings=settings, now=now)
    _sent(session, row, actor=actor, act=Act.NOTIFICATION_SENT, settings=settings, now=now)
    return _model(session, row)


def _draft_of(
    session: Session, row: NotificationRow, *, changes: NotificationUpdate | None = None
) -> Draft:
    party = session.get(PartyRow, row.party_id)
    assert party is not None
    movement = _movement(session, row.movement_id) if row.movement_id is not None else None
    sites = _site_ids(session, row.id)
    draft = Draft(
        party=party,
        kind=NotificationKind(row.kind),
        facility_ids=sites,
        movement=movement,
        valid_from=row.valid_from,
        expires_at=row.expires_at,
        emergency=row.emergency,
        message=str(row.content.get("message", "")),
    )
    if changes is None:
        return draft
    if changes.facility_ids is not None:
        if draft.kind is not NotificationKind.SITES:
            raise InvalidInput(
                "a movement notification has no sites",
                fields={"facility_ids": "not for a movement"},
            )
        facility_ids = list(dict.fromkeys(changes.facility_ids))
        if not facility_ids:
            raise InvalidInput("no sites to notify", fields={"facility_ids": "empty"})
        parties.check_facilities(session, facility_ids, field="facility_ids")
        sites = sorted(facility_ids)
    return replace(
        draft,
        facility_ids=sites,
        valid_from=changes.valid_from or draft.valid_from,
        expires_at=changes.expires_at or draft.expires_at,
        emergency=draft.emergency if changes.emergency is None else changes.emergency,
        message=draft.message if changes.message is None else changes.message,
    )


def update(
    session: Session,
    notification_id: int,
    *,
    changes: NotificationUpdate,
    actor: Actor,
    settings: Settings,
    now: datetime | None = None,
) -> Notification:
    """Send a new version of a live notification; the old one is superseded (both are leaves)."""
    require(actor, Permission.NOTIFY)
    now = now or utcnow()
    old = _row(session, notification_id, actor=actor)
    if old.state not in LIVE:
        raise Conflict(
            f"notification {old.id} is {old.state}: only a sent or acknowledged one is updated",
            fields={"state": old.state},
        )
    draft = _draft_of(session, old, changes=changes)
    validity_check(draft, now=now)
    if (
        old.movement_id is not None
        and draft.movement is not None
        and draft.movement.starts_at > now
    ):
        lead_time_check(draft, settings=settings, now=now)
    new = _store(session, draft, actor=actor, now=now, supersedes=old)
    old.state = NotificationState.SUPERSEDED.value
    old.ended_at = now
    old.end_reason = changes.reason
    _sent(session, new, actor=actor, act=Act.NOTIFICATION_UPDATED, settings=settings, now=now)
    old.end_leaf = new.sent_leaf
    return _model(session, new)


def acknowledge(
    session: Session,
    notification_id: int,
    *,
    by: str,
    channel: AckChannel,
    at: datetime | None = None,
    actor: Actor,
    now: datetime | None = None,
) -> Notification:
    """Record that the party acknowledged *receipt* (``NOT_APPROVAL``: it is not approval)."""
    require(actor, Permission.NOTIFY)
    now = now or utcnow()
    at = at or now
    by = by.strip()
    if not 1 <= len(by) <= 200 or "\x00" in by:
        raise InvalidInput("say who acknowledged", fields={"by": "1 to 200 characters"})
    if at.tzinfo is None:
        raise InvalidInput("the time needs a time zone", fields={"at": "e.g. 2025-03-01T08:00:00Z"})
    row = _row(session, notification_id, actor=actor)
    if row.state != NotificationState.SENT.value:
        raise Conflict(
            f"notification {row.id} is {row.state}: only a sent one is acknowledged",
            fields={"state": row.state},
        )
    assert row.sent_at is not None
    if at < row.sent_at or at > now + timedelta(minutes=5):
        raise InvalidInput(
            "the acknowledgement time is impossible",
            fields={"at": f"must be between the send ({iso(row.sent_at)}) and now"},
        )
    leaf = custody.append(
        session,
        actor,
        act=Act.NOTIFICATION_ACKNOWLEDGED,
        entity_type="notification",
        entity_id=row.id,
        content_sha256=row.content_sha256,
        detail={
            "channel": channel.value,
            "acknowledged_at": iso(at),
            "meaning": "receipt, not approval",
        },
    )
    row.state = NotificationState.ACKNOWLEDGED.value
    row.acknowledged_at = at
    row.ack_by = by
    row.ack_channel = channel.value
    row.ack_leaf = leaf.index
    audit.record(
        session,
        actor,
        action="notification.acknowledge",
        entity_type="notification",
        entity_id=row.id,
        detail={"channel": channel.value, "leaf": leaf.index},
    )
    return _model(session, row)


def withdraw(
    session: Session,
    notification_id: int,
    *,
    reason: str,
    actor: Actor,
    settings: Settings,
    now: datetime | None = None,
) -> Notification:
    """Withdraw a notification (a draft, or a live one: the party is told, a leaf is kept)."""
    require(actor, Permission.NOTIFY)
    now = now or utcnow()
    reason = reason.strip()
    if not 3 <= len(reason) <= 2000:
        raise InvalidInput("say why it is withdrawn", fields={"reason": "3 to 2000 characters"})
    row = _row(session, notification_id, actor=actor)
    if row.state not in (NotificationState.DRAFT.value, *LIVE):
        raise Conflict(f"notification {row.id} is already {row.state}", fields={"state": row.state})
    was_sent = row.state in LIVE
    row.state = NotificationState.WITHDRAWN.value
    row.ended_at = now
    row.end_reason = reason
    if was_sent:
        leaf = custody.append(
            session,
            actor,
            act=Act.NOTIFICATION_WITHDRAWN,
            entity_type="notification",
            entity_id=row.id,
            content_sha256=row.content_sha256,
            detail={"party_id": row.party_id, "version": row.version},
        )
        row.end_leaf = leaf.index
        party = session.get(PartyRow, row.party_id)
        assert party is not None
        notice = {
            "type": "notification.withdrawn",
            "notification_id": row.id,
            "version": row.version,
            "content_sha256": row.content_sha256,
            "withdrawn_at": iso(now),
            "reason": reason,
        }
        outbox.enqueue(
            session,
            outbox.Recipient.of_party(party),
            key=f"notification:{row.id}:withdrawn",
            subject=f"WITHDRAWN: humanitarian notification {row.series_id} v{row.version}",
            payload=notice,
            text=(
                f"Haven notification {row.series_id} version {row.version} "
                f"(content SHA-256 {row.content_sha256}) is withdrawn as of {iso(now)}.\n"
                f"Reason: {reason}\n"
            ),
            notification_id=row.id,
            now=now,
        )
    audit.record(
        session,
        actor,
        action="notification.withdraw",
        entity_type="notification",
        entity_id=row.id,
        detail={"reason": reason, "was_sent": was_sent},
    )
    return _model(session, row)


KML_MATCH_M = 100.0
"""How close a KML placemark must be to a registered facility to name it, in metres."""


def sites_from_kml(session: Session, data: bytes) -> list[int]:
    """The registered facilities a KML file's point placemarks name (each within 100 m).

    ``InvalidInput`` names the file when it is not KML, and the placemark that matches
    no registered facility; nothing is written.
    """
    found: list[int] = []
    for index, placemark in enumerate(notification_outputs.read_kml_points(data)):
        hits = linkage.nearest_facilities(session, placemark.point, radius_m=KML_MATCH_M, limit=1)
        if not hits:
            hits = linkage.nearest_facilities(
                session, placemark.point, radius_m=KML_MATCH_M, limit=1, exercise=True
            )
        if not hits:
            raise InvalidInput(
                f"placemark {placemark.name!r} is no registered facility",
                fields={f"Placemark[{index}]": f"no facility within {KML_MATCH_M:.0f} m"},
            )
        found.append(hits[0].facility_id)
    return sorted(set(found))


DEMO_PARTIES = (
    "EXERCISE Party North liaison (fictional)",
    "EXERCISE Party South liaison (fictional)",
)


def load_demo(db: Database, *, settings: Settings | None) -> None:
    """Two EXERCISE parties, the demo's Gaza hospitals notified to each (different subsets),
    the first acknowledged. Running it again changes nothing; without settings it does nothing.
    """
    if settings is None:
        return
    with db.read() as session:
        if session.scalar(select(PartyRow.id).where(PartyRow.name == DEMO_PARTIES[0])) is not None:
            return
        sites = list(
            session.scalars(
                select(FacilityRow.id).where(FacilityRow.country == "PSE").order_by(FacilityRow.id)
            )
        )
    if not sites:
        return
    subsets = (sites[: max(1, 2 * len(sites) // 3)], sites[len(sites) // 3 :])

    def notify(session: Session) -> None:
        for index, (name, subset) in enumerate(zip(DEMO_PARTIES, subsets, strict=True)):
            party = parties.add(
                session,
                parties.PartyIn(
                    name=name,
                    focal_point="Exercise Officer (fictional)",
                    exercise=True,
                    sites=subset,
                ),
                actor=SYSTEM,
            )
            data = NotificationIn(
                party_id=party.id,
                kind=NotificationKind.SITES,
                expires_at=utcnow() + timedelta(days=30),
                message="EXERCISE - not a real notification. Static sites for training.",
            )
            made = create(session, data, actor=SYSTEM, settings=settings)
            send(session, made.id, actor=SYSTEM, settings=settings)
            if index == 0:
                acknowledge(
                    session,
                    made.id,
                    by="Exercise duty officer (fictional)",
                    channel=AckChannel.EMAIL,
                    actor=SYSTEM,
                )

    db.write(notify)
