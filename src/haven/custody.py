"""The custody log: every custody act a leaf of an append-only RFC 9162 Merkle tree, heads signed.

``append`` adds one act (evidence received, viewed, exported; incident published
or withdrawn; notification sent or acknowledged …) in the caller's transaction,
so the change and its custody leaf commit together or not at all. A leaf's data
is the exact canonical JSON in ``custody_leaves.entry``: its position, the
server's clock, the act, what it concerns, the SHA-256 of that content, who did
it and a small detail. The tree's perfect subtrees are stored
(``custody_nodes``), so roots and proofs need O(log n) rows (see ``haven.merkle``).

``sign_head`` signs the root of the current tree with the instance's Ed25519 key
(``haven.custody_keys``); heads are kept and published at
``/api/public/custody/heads``. ``inclusion_proof`` and ``consistency_proof``
prove a leaf is in a signed tree and that a later tree extends an earlier one;
``haven.custody_verifier`` checks both with the standard library only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, Field
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session, SessionTransaction

from haven import custody_keys, merkle
from haven.custody_keys import PublicKey
from haven.custody_verifier import head_message
from haven.errors import InvalidInput, NotFound
from haven.models import (
    CustodyLeafRow,
    CustodyNodeRow,
    CustodyStateRow,
    CustodyTreeHeadRow,
    utcnow,
)
from haven.settings import Settings

if TYPE_CHECKING:
    from haven.accounts import Actor

__all__ = [
    "Act",
    "ConsistencyProof",
    "Finding",
    "InclusionProof",
    "Leaf",
    "NewLeaf",
    "PublicKey",
    "SignedTreeHead",
    "append",
    "append_many",
    "canonical",
    "consistency_proof",
    "heads",
    "inclusion_proof",
    "latest_head",
    "leaf",
    "leaves_for",
    "pin_audit_head",
    "public_keys",
    "sign_bytes",
    "sign_head",
    "tree_size",
]

_STATE_ID = 1
_STATE_KEY = "haven.custody.state"
_LISTENING_KEY = "haven.custody.listening"
_MAX_ENTRY_CHARS = 4500


class Act(StrEnum):
    """What happened to the thing a custody leaf is about."""

    EVIDENCE_RECEIVED = "evidence.received"
    EVIDENCE_VIEWED = "evidence.viewed"
    EVIDENCE_DOWNLOADED = "evidence.downloaded"
    EVIDENCE_DERIVED = "evidence.derived"
    EVIDENCE_EXPORTED = "evidence.exported"
    EVIDENCE_SHARED = "evidence.shared"
    INCIDENT_PUBLISHED = "incident.published"
    INCIDENT_WITHDRAWN = "incident.withdrawn"
    INCIDENT_CORRECTED = "incident.corrected"
    RELEASE_PUBLISHED = "release.published"
    RELEASE_WITHDRAWN = "release.withdrawn"
    PACKAGE_EXPORTED = "package.exported"
    NOTIFICATION_SENT = "notification.sent"
    NOTIFICATION_ACKNOWLEDGED = "notification.acknowledged"
    NOTIFICATION_UPDATED = "notification.updated"
    NOTIFICATION_WITHDRAWN = "notification.withdrawn"
    AUDIT_PINNED = "audit.pinned"
    CASE_OPENED = "case.opened"
    CASE_UPDATED = "case.updated"
    CASE_EXPORTED = "case.exported"


class Leaf(BaseModel):
    """One custody act as recorded: its position, hash and the exact entry the hash covers."""

    index: int
    leaf_hash: str
    at: datetime
    act: str
    entity_type: str
    entity_id: str
    content_sha256: str | None
    actor: str
    detail: dict[str, Any]
    entry: str = Field(description="The exact JSON the leaf hash covers (SHA-256(0x00 || entry)).")


@dataclass(frozen=True, slots=True)
class NewLeaf:
    """An act to append (``append_many`` takes several)."""

    act: Act
    entity_type: str
    entity_id: object
    content_sha256: str | None = None
    detail: Mapping[str, Any] | None = None


class SignedTreeHead(BaseModel):
    """The root of the first ``tree_size`` leaves, signed by the instance (Ed25519)."""

    log_id: str
    tree_size: int
    root_hash: str
    timestamp: int = Field(description="Milliseconds since 1970-01-01 UTC.")
    key_id: str
    signature: str = Field(description="Ed25519 signature (base64) of the head message.")


class InclusionProof(BaseModel):
    """RFC 9162 inclusion proof of one leaf in the tree of ``tree_size`` leaves."""

    leaf_index: int
    tree_size: int
    leaf_hash: str
    entry: str
    path: list[str]


class ConsistencyProof(BaseModel):
    """RFC 9162 consistency proof: the tree of ``second`` leaves extends that of ``first``."""

    first: int
    second: int
    path: list[str]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem verification found, naming what is wrong (``leaf 17``, ``evidence …``)."""

    subject: str
    kind: str
    message: str


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text (orjson; NaN is written as null)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


# --- the tree's state ----------------------------------------------------------------------


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_STATE_KEY, None)


def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_STATE_KEY, None)


def _locked_state(session: Session) -> CustodyStateRow:
    """The tree's state row, locked until the transaction ends (made on first use)."""
    cached = session.info.get(_STATE_KEY)
    if isinstance(cached, CustodyStateRow):
        return cached
    if not session.info.get(_LISTENING_KEY):
        event.listen(session, "after_soft_rollback", _forget)
        event.listen(session, "after_transaction_end", _forget_at_end)
        session.info[_LISTENING_KEY] = True
    query = (
        select(CustodyStateRow)
        .where(CustodyStateRow.id == _STATE_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    state = session.scalar(query)
    if state is None:  # first use: create it, racing writers in other processes safely
        values = {"id": _STATE_ID, "size": 0, "frontier": []}
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert  # noqa: PLC0415

            session.execute(pg_insert(CustodyStateRow).values(values).on_conflict_do_nothing())
        else:  # SQLite: the writer's BEGIN IMMEDIATE already serializes writers
            session.execute(insert(CustodyStateRow).values(values))
        state = session.scalar(query)
        assert state is not None
    session.info[_STATE_KEY] = state
    return state


def _entry(item: NewLeaf, *, index: int, at_iso: str, actor: str) -> str:
    body = canonical(
        {
            "v": 1,
            "index": index,
            "at": at_iso,
            "act": Act(item.act).value,
            "entity_type": item.entity_type,
            "entity_id": str(item.entity_id),
            "content_sha256": item.content_sha256,
            "actor": actor,
            "detail": dict(item.detail or {}),
        }
    )
    if len(body) > _MAX_ENTRY_CHARS:
        raise InvalidInput("custody detail is too large", fields={"detail": "at most 4000 bytes"})
    return body


def _check(item: NewLeaf) -> None:
    digest = item.content_sha256
    if digest is not None and (len(digest) != 64 or digest.strip("0123456789abcdef")):
        raise InvalidInput(
            "content_sha256 must be a lowercase hex SHA-256",
            fields={"content_sha256": "64 lowercase hex characters"},
        )


def append_many(session: Session, items: Iterable[NewLeaf], *, actor: Actor) -> list[Leaf]:
    """Append custody acts in order, in the caller's transaction; one state update for all."""
    state = _locked_state(session)
    frontier = merkle.Frontier(state.size, [bytes.fromhex(h) for h in state.frontier])
    leaves: list[Leaf] = []
    leaf_rows: list[dict[str, Any]] = []
    node_rows: list[dict[str, Any]] = []
    at = utcnow()
    at_iso = at.astimezone(UTC).isoformat(timespec="microseconds")
    for item in items:
        _check(item)
        index = frontier.size
        entry = _entry(item, index=index, at_iso=at_iso, actor=actor.label)
        digest = merkle.leaf_hash(entry.encode("utf-8"))
        for level, idx, value in frontier.append(digest)[1:]:
            node_rows.append({"level": level, "idx": idx, "hash": value.hex()})
        leaf_hash_hex = digest.hex()
        act_value = Act(item.act).value
        entity_id = str(item.entity_id)
        row: dict[str, Any] = {
            "idx": index,
            "at": at,
            "act": act_value,
            "entity_type": item.entity_type,
            "entity_id": entity_id,
            "content_sha256": item.content_sha256,
            "entry": entry,
            "leaf_hash": leaf_hash_hex,
        }
        leaf_rows.append(row)
        leaves.append(
            Leaf.model_construct(
                index=index,
                leaf_hash=leaf_hash_hex,
                at=at,
                act=act_value,
                entity_type=item.entity_type,
                entity_id=entity_id,
                content_sha256=item.content_sha256,
                actor=actor.label,
                detail=dict(item.detail or {}),
                entry=entry,
            )
        )
    if leaf_rows:
        _insert_many(session, CustodyLeafRow.__table__, rows=leaf_rows)
        _insert_many(session, CustodyNodeRow.__table__, rows=node_rows)
        state.size = frontier.size
        state.frontier = [h.hex() for h in frontier.hashes]
    return leaves


def _insert_many(session: Session, table: Any, *, rows: list[dict[str, Any]]) -> None:
    """``executemany`` straight on the driver: building SQLAlchemy parameters for thousands
    of rows costs more than hashing them. Values go through each column's bind processor,
    so they are stored exactly as an ORM insert would store them."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(marker for _ in names)})"
    )
    values = [
        tuple(
            value if process is None else process(value)
            for value, process in zip(row.values(), processors, strict=True)
        )
        for row in rows
    ]
    connection.exec_driver_sql(sql, values)


def append(
    session: Session,
    actor: Actor,
    *,
    act: Act,
    entity_type: str,
    entity_id: object,
    content_sha256: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> Leaf:
    """Append one custody act in the caller's transaction; returns its leaf."""
    item = NewLeaf(act, entity_type, entity_id, content_sha256, detail)
    return append_many(session, [item], actor=actor)[0]


def _leaf(row: Mapping[Any, Any]) -> Leaf:
    data = json.loads(row["entry"])
    return Leaf(
        index=row["idx"],
        leaf_hash=row["leaf_hash"],
        at=row["at"],
        act=row["act"],
        entity_type=row["entity_type"],
        entity_id=row["entity_id"],
        content_sha256=row["content_sha256"],
        actor=str(data.get("actor", "")),
        detail=dict(data.get("detail") or {}),
        entry=row["entry"],
    )


_LEAF_COLUMNS = (
    CustodyLeafRow.idx,
    CustodyLeafRow.at,
    CustodyLeafRow.act,
    CustodyLeafRow.entity_type,
    CustodyLeafRow.entity_id,
    CustodyLeafRow.content_sha256,
    CustodyLeafRow.entry,
    CustodyLeafRow.leaf_hash,
)


def tree_size(session: Session) -> int:
    """How many leaves the log holds."""
    return int(session.scalar(select(CustodyStateRow.size)) or 0)


def leaf(session: Session, index: int) -> Leaf:
    """The leaf at ``index``; ``NotFound`` when there is none."""
    row = session.execute(select(*_LEAF_COLUMNS).where(CustodyLeafRow.idx == index)).first()
    if row is None:
        raise NotFound(f"no custody leaf {index}", fields={"index": "no such leaf"})
    return _leaf(row._mapping)


def leaves_for(session: Session, *, entity_type: str, entity_id: str) -> list[Leaf]:
    """Every custody act about one thing, oldest first."""
    rows = session.execute(
        select(*_LEAF_COLUMNS)
        .where(CustodyLeafRow.entity_type == entity_type, CustodyLeafRow.entity_id == entity_id)
        .order_by(CustodyLeafRow.idx)
    )
    return [_leaf(row._mapping) for row in rows]


# --- roots, proofs and signed heads --------------------------------------------------------


def _node_rows(
    session: Session, keys: Iterable[merkle.NodeKey], *, entry_of: int | None = None
) -> tuple[dict[merkle.NodeKey, bytes], str | None]:
    """One round trip: the stored hashes of ``keys`` (level 0: leaf hashes), and the entry of
    leaf ``entry_of`` when asked."""
    wanted = set(keys)
    leaves = sorted(
        {idx for level, idx in wanted if level == 0} | (set() if entry_of is None else {entry_of})
    )
    by_level: dict[int, list[int]] = {}
    for level, idx in wanted:
        if level > 0:
            by_level.setdefault(level, []).append(idx)
    # Plain SQL over integers only (formatted by int(), so nothing can be injected): building
    # the same query with SQLAlchemy's expression language costs more than running it.
    parts: list[str] = []
    if leaves:
        listed = ",".join(str(int(i)) for i in leaves)
        parts.append(
            f"SELECT 0, idx, leaf_hash, CASE WHEN idx = {int(entry_of or 0)} THEN entry END "
            f"FROM custody_leaves WHERE idx IN ({listed})"
        )
    for level, indexes in sorted(by_level.items()):  # one indexed lookup per level
        listed = ",".join(str(int(i)) for i in indexes)
        parts.append(
            f"SELECT level, idx, hash, NULL FROM custody_nodes "
            f"WHERE level = {int(level)} AND idx IN ({listed})"
        )
    found: dict[merkle.NodeKey, bytes] = {}
    entry: str | None = None
    if parts:
        rows = session.connection().exec_driver_sql(" UNION ALL ".join(parts))
        for level, idx, value, text in rows:
            found[(level, idx)] = bytes.fromhex(value)
            if level == 0 and idx == entry_of:
                entry = text
    missing = wanted - found.keys()
    if missing or (entry_of is not None and entry is None):
        raise NotFound(
            f"custody tree nodes missing: {sorted(missing)[:5]}; run `haven verify`",
            fields={"tree": "incomplete"},
        )
    return found, entry


def fetch_nodes(session: Session, keys: Iterable[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
    """The stored hashes of the perfect subtrees ``keys`` (level 0: leaf hashes)."""
    return _node_rows(session, keys)[0]


def _size_within(session: Session, size: int, *, name: str) -> None:
    current = tree_size(session)
    if not 0 < size <= current:
        raise InvalidInput(
            f"{name} {size} is outside the log (1 to {current})",
            fields={name: f"between 1 and {current}"},
        )


def root(session: Session, size: int) -> bytes:
    """The root of the tree of the first ``size`` leaves."""
    if size == 0:
        return merkle.EMPTY_ROOT
    _size_within(session, size, name="tree_size")
    return merkle.range_hash(0, size, nodes=fetch_nodes(session, merkle.root_nodes(size)))


def inclusion_proof(session: Session, index: int, *, tree_size: int) -> InclusionProof:
    """The proof that leaf ``index`` is in the tree of ``tree_size`` leaves."""
    _size_within(session, tree_size, name="tree_size")
    if not 0 <= index < tree_size:
        raise InvalidInput(
            f"leaf {index} is not in a tree of {tree_size} leaves",
            fields={"index": f"between 0 and {tree_size - 1}"},
        )
    nodes, entry = _node_rows(session, merkle.inclusion_nodes(index, tree_size), entry_of=index)
    return InclusionProof(
        leaf_index=index,
        tree_size=tree_size,
        leaf_hash=nodes[(0, index)].hex(),
        entry=entry or "",
        path=[h.hex() for h in merkle.inclusion_path(index, tree_size, nodes=nodes)],
    )


def consistency_proof(session: Session, *, first: int, second: int) -> ConsistencyProof:
    """The proof that the tree of ``second`` leaves extends the tree of ``first`` leaves."""
    _size_within(session, second, name="second")
    if not 0 < first <= second:
        raise InvalidInput(
            f"first {first} must be between 1 and second ({second})",
            fields={"first": f"between 1 and {second}"},
        )
    nodes = fetch_nodes(session, merkle.consistency_nodes(first, second))
    path = merkle.consistency_proof(first, second, nodes=nodes)
    return ConsistencyProof(first=first, second=second, path=[h.hex() for h in path])


def _head(row: CustodyTreeHeadRow) -> SignedTreeHead:
    return SignedTreeHead(
        log_id=row.log_id,
        tree_size=row.tree_size,
        root_hash=row.root_hash,
        timestamp=row.timestamp,
        key_id=row.key_id,
        signature=row.signature,
    )


def latest_head(session: Session) -> SignedTreeHead | None:
    """The most recently signed tree head, if any."""
    row = session.scalar(select(CustodyTreeHeadRow).order_by(CustodyTreeHeadRow.id.desc()))
    return None if row is None else _head(row)


def heads(session: Session, *, since_size: int = 0, limit: int = 1000) -> list[SignedTreeHead]:
    """Signed tree heads of at least ``since_size`` leaves, oldest first."""
    rows = session.scalars(
        select(CustodyTreeHeadRow)
        .where(CustodyTreeHeadRow.tree_size >= since_size)
        .order_by(CustodyTreeHeadRow.id)
        .limit(limit)
    )
    return [_head(row) for row in rows]


def sign_head(session: Session, settings: Settings, *, force: bool = False) -> SignedTreeHead:
    """Sign the current tree's root: a new head only if the tree grew since the last one
    (or ``force``, e.g. after a key rotation)."""
    last = latest_head(session)
    size = tree_size(session)
    if last is not None and last.tree_size == size and not force:
        return last
    keys = custody_keys.load(settings)
    root_hex = root(session, size).hex()
    timestamp = time.time_ns() // 1_000_000
    message = head_message(
        log_id=keys.log_id, tree_size=size, timestamp=timestamp, root_hash=root_hex
    )
    key_id, signature = keys.sign(message)
    row = CustodyTreeHeadRow(
        log_id=keys.log_id,
        tree_size=size,
        root_hash=root_hex,
        timestamp=timestamp,
        key_id=key_id,
        signature=signature,
    )
    session.add(row)
    session.flush()
    return _head(row)


def sign_bytes(settings: Settings, data: bytes) -> tuple[str, str]:
    """Sign any bytes with the instance's current custody key: ``(key_id, base64 signature)``."""
    return custody_keys.load(settings).sign(data)


def public_keys(settings: Settings) -> list[PublicKey]:
    """Every public key the instance signs or signed with (retired ones keep verifying)."""
    return list(custody_keys.load(settings).public_keys)


def pin_audit_head(session: Session, actor: Actor) -> Leaf:
    """Record the audit chain's head (its last event id and hash) as a custody leaf, so the
    signed tree heads cover the audit chain too."""
    from haven.models import AuditChainRow  # noqa: PLC0415 - only this needs the audit head

    head = session.execute(select(AuditChainRow.last_event_id, AuditChainRow.last_hash)).first()
    last_id, last_hash = (head[0], head[1]) if head else (0, "0" * 64)
    return append(
        session,
        actor,
        act=Act.AUDIT_PINNED,
        entity_type="audit",
        entity_id=last_id,
        content_sha256=last_hash,
        detail={"last_event_id": last_id},
    )
