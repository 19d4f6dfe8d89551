"""Audit events in one SHA-256 hash chain: every change and sensitive read, tamper-evident.

Each event stores ``prev_hash`` (the hash of the event before it) and ``hash``,
the SHA-256 of a canonical JSON of its own fields and ``prev_hash``. Event ids
are the chain's sequence numbers, 1, 2, 3, … without gaps: ``record`` takes
them from the chain head (the one ``audit_chain`` row), which it locks with
``SELECT … FOR UPDATE`` on PostgreSQL so that writers in several processes
cannot fork the chain (SQLite is already serialized by the writer's
``BEGIN IMMEDIATE``). Within one transaction the locked head is kept in
``session.info``: an event costs one INSERT, and the head one UPDATE per flush.

``verify`` walks the chain in id order and names every row that was edited,
deleted, inserted or moved. A chain proves nothing against someone who can
rewrite it whole: keep the head hash that ``haven audit verify`` prints
somewhere else (a notebook, a signed custody log) to pin it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session, SessionTransaction

from haven.errors import StorageUnavailable
from haven.models import AuditChainRow, AuditEventRow, utcnow

if TYPE_CHECKING:
    from haven.accounts import Actor

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "AuditProblem",
    "AuditVerification",
    "event_hash",
    "list_events",
    "record",
    "verify",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event."""

_HEAD_KEY = "haven.audit.head"
_LISTENING_KEY = "haven.audit.listening"
_CHAIN_ID = 1
_VERIFY_BATCH = 2000
_NO_HEAD = 2**63  # without a head row, no id counts as past it

ProblemKind = Literal["edited", "deleted", "inserted", "broken_link", "head"]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit event as stored (public to administrators only)."""

    id: int
    at: datetime
    actor_user_id: int | None
    actor: str
    action: str
    entity_type: str
    entity_id: str
    detail: dict[str, Any]
    purpose: str | None
    prev_hash: str | None
    hash: str | None


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """One way the stored chain differs from an untouched one, naming the row."""

    event_id: int
    kind: ProblemKind
    message: str


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """What ``verify`` found: the rows checked, the head, and every problem by row id."""

    checked: int
    head_id: int
    head_hash: str
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the chain is intact."""
        return not self.problems


def _canonical(value: Any) -> str:
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=str,
    )


def event_hash(  # noqa: PLR0913 - one parameter per hashed column
    prev_hash: str,
    *,
    event_id: int,
    at: datetime,
    actor_user_id: int | None,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    detail: Mapping[str, Any],
    purpose: str | None,
) -> str:
    """The SHA-256 (hex) of an event: canonical JSON (sorted keys, UTC ISO time) of its fields."""
    body = {
        "prev_hash": prev_hash,
        "id": event_id,
        "at": at.astimezone(UTC).isoformat(),
        "actor_user_id": actor_user_id,
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "detail": detail,
        "purpose": purpose,
    }
    return hashlib.sha256(_canonical(body).encode("utf-8", "surrogatepass")).hexdigest()


def _stored_hash(stored: AuditEvent, *, prev_hash: str) -> str:
    return event_hash(
        prev_hash,
        event_id=stored.id,
        at=stored.at,
        actor_user_id=stored.actor_user_id,
        actor=stored.actor,
        action=stored.action,
        entity_type=stored.entity_type,
        entity_id=stored.entity_id,
        detail=stored.detail,
        purpose=stored.purpose,
    )


def _forget_head(session: Session, *_args: Any) -> None:
    session.info.pop(_HEAD_KEY, None)


def _forget_head_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: its row lock is gone
        session.info.pop(_HEAD_KEY, None)


def _listen(session: Session) -> None:
    """Drop the cached head whenever a rollback (even of a SAVEPOINT) or the transaction ends.

    A rolled-back SAVEPOINT undoes the head's UPDATE and, on PostgreSQL, releases
    the row lock taken inside it; the next event must read and lock the head again.
    """
    if session.info.get(_LISTENING_KEY):
        return
    event.listen(session, "after_soft_rollback", _forget_head)
    event.listen(session, "after_transaction_end", _forget_head_at_end)
    session.info[_LISTENING_KEY] = True


def _create_head(session: Session) -> None:
    if session.scalar(select(func.count()).select_from(AuditEventRow)):
        raise StorageUnavailable(
            "the audit chain head is missing while audit events exist; run `haven audit verify`"
        )
    values = {"id": _CHAIN_ID, "last_event_id": 0, "last_hash": GENESIS_HASH}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert  # noqa: PLC0415

        session.execute(pg_insert(AuditChainRow).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert  # noqa: PLC0415

        session.execute(sqlite_insert(AuditChainRow).values(values).on_conflict_do_nothing())
    else:
        session.execute(insert(AuditChainRow).values(values))


def _locked_head(session: Session) -> AuditChainRow:
    """The chain head, locked until the transaction ends (created with the genesis hash)."""
    cached = session.info.get(_HEAD_KEY)
    if isinstance(cached, AuditChainRow):
        return cached
    _listen(session)
    query = (
        select(AuditChainRow)
        .where(AuditChainRow.id == _CHAIN_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = session.scalar(query)
    if head is None:
        _create_head(session)
        head = session.scalar(query)
        assert head is not None
    session.info[_HEAD_KEY] = head
    return head


def record(
    session: Session,
    actor: Actor,
    *,
    action: str,
    entity_type: str,
    entity_id: object,
    detail: Mapping[str, Any] | None = None,
    purpose: str | None = None,
) -> None:
    """Add one audit event, chained to the one before; it commits (or rolls back) with the change.

    ``purpose`` says why a sensitive field was read or data exported. ``detail``
    is stored as JSON (values JSON cannot hold are stored as their ``str``).
    """
    head = _locked_head(session)
    stored_detail: dict[str, Any] = json.loads(_canonical(dict(detail or {})))
    stored = AuditEvent(
        id=head.last_event_id + 1,
        at=utcnow(),
        actor_user_id=actor.user_id,
        actor=actor.label,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        detail=stored_detail,
        purpose=purpose,
        prev_hash=head.last_hash,
        hash=None,
    )
    digest = _stored_hash(stored, prev_hash=head.last_hash)
    session.add(AuditEventRow(**{**_columns(stored), "hash": digest}))
    head.last_event_id = stored.id
    head.last_hash = digest


_FIELDS = (
    "id",
    "at",
    "actor_user_id",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "detail",
    "purpose",
    "prev_hash",
    "hash",
)
_SELECT = select(*(getattr(AuditEventRow, name) for name in _FIELDS))


def _columns(stored: AuditEvent) -> dict[str, Any]:
    return {name: getattr(stored, name) for name in _FIELDS}


def _event(values: Any) -> AuditEvent:
    fields = dict(zip(_FIELDS, values, strict=True))
    fields["detail"] = dict(fields["detail"] or {})
    return AuditEvent(**fields)


def list_events(session: Session, *, limit: int = 50) -> list[AuditEvent]:
    """The newest ``limit`` events, newest first."""
    rows = session.execute(_SELECT.order_by(AuditEventRow.id.desc()).limit(limit))
    return [_event(row) for row in rows]


class _Walk:
    """The state of a walk along the chain: what the next row should look like."""

    def __init__(self) -> None:
        self.expected_id = 1
        self.expected_prev = GENESIS_HASH
        self.previous_ok = True
        self.problems: list[AuditProblem] = []

    def problem(self, event_id: int, *, kind: ProblemKind, message: str) -> None:
        self.problems.append(AuditProblem(event_id, kind, f"row {event_id}: {message}"))

    def check(self, row: AuditEvent, *, head_id: int) -> None:
        if row.id < self.expected_id or row.id > head_id:
            where = "before the start" if row.id < 1 else f"after the head (row {head_id})"
            self.problem(
                row.id, kind="inserted", message=f"is not part of the chain ({where}): inserted"
            )
            return
        if row.id > self.expected_id:
            first, last = self.expected_id, row.id - 1
            span = f"row {first}" if first == last else f"rows {first}-{last}"
            self.problems.append(
                AuditProblem(first, "deleted", f"{span}: missing from the chain: deleted")
            )
            self.previous_ok = False
        content_ok = row.prev_hash is not None and row.hash == _stored_hash(
            row, prev_hash=row.prev_hash
        )
        if not content_ok:
            self.problem(
                row.id,
                kind="edited",
                message="content does not match its hash: edited (or moved here)",
            )
        elif self.previous_ok and row.prev_hash != self.expected_prev:
            self.problem(
                row.id,
                kind="broken_link",
                message=f"does not follow row {row.id - 1}: a row before it was rewritten, "
                "inserted or reordered",
            )
        self.previous_ok = content_ok
        self.expected_id = row.id + 1
        self.expected_prev = row.hash or ""


def verify(session: Session) -> AuditVerification:
    """Walk the chain in id order and report, by row id, every edit, deletion, insertion or move.

    Reads the table in batches of plain rows; the whole chain is never in memory.
    """
    head = session.execute(
        select(AuditChainRow.last_event_id, AuditChainRow.last_hash).where(
            AuditChainRow.id == _CHAIN_ID
        )
    ).first()
    head_id, head_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
    walk = _Walk()
    checked = 0
    after: int | None = None
    while True:
        query = _SELECT.order_by(AuditEventRow.id).limit(_VERIFY_BATCH)
        if after is not None:
            query = query.where(AuditEventRow.id > after)
        batch = [_event(values) for values in session.execute(query)]
        for row in batch:
            walk.check(row, head_id=head_id if head else _NO_HEAD)
        checked += len(batch)
        if len(batch) < _VERIFY_BATCH:
            break
        after = batch[-1].id
    if head is None and checked:
        walk.problems.append(AuditProblem(0, "head", "the chain head row is missing"))
    else:
        _check_head(walk, head_id=head_id, head_hash=head_hash)
    return AuditVerification(
        checked=checked, head_id=head_id, head_hash=head_hash, problems=walk.problems
    )


def _check_head(walk: _Walk, *, head_id: int, head_hash: str) -> None:
    if walk.expected_id <= head_id:
        first = walk.expected_id
        span = f"row {first}" if first == head_id else f"rows {first}-{head_id}"
        walk.problems.append(
            AuditProblem(first, "deleted", f"{span}: missing from the end of the chain: deleted")
        )
    elif walk.expected_prev != head_hash and not walk.problems:
        walk.problems.append(
            AuditProblem(
                head_id, "head", f"row {head_id}: the chain head's hash does not match this row"
            )
        )
