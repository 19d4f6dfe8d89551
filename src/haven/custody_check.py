"""``haven verify``: recompute the custody tree, check every signed head, file and covered incident.

Everything is read in batches; the log is never held in memory whole. Each
problem is a ``custody.Finding`` naming what changed: ``leaf 17`` (an edited,
deleted, inserted or moved row), ``node 2/5`` (a stored subtree hash),
``tree head 3`` (a signature or root that does not hold), ``evidence …`` (a file)
or ``incident …`` (a covered incident edited behind the log's back).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import custody_keys, evidence_check, merkle
from haven.custody import Act, Finding, SignedTreeHead
from haven.custody_incidents import incident_digest
from haven.custody_verifier import ed25519_verify, head_message, strict_b64decode
from haven.models import (
    CustodyLeafRow,
    CustodyNodeRow,
    CustodyStateRow,
    CustodyTreeHeadRow,
    IncidentRow,
)
from haven.settings import Settings

__all__ = ["Verification", "verify"]

_BATCH = 5000
_DIGEST_ACTS = [
    Act.INCIDENT_PUBLISHED.value,
    Act.INCIDENT_WITHDRAWN.value,
    Act.INCIDENT_CORRECTED.value,
]
"""Acts whose ``content_sha256`` is the incident's digest (a package's covers its record)."""


@dataclass
class Verification:
    """What ``verify`` checked and found."""

    leaves: int = 0
    heads: int = 0
    evidence_files: int = 0
    incidents: int = 0
    root_hash: str = merkle.EMPTY_ROOT.hex()
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.findings


def _batches(session: Session, query_for: Callable[[int], Any]) -> Iterator[list[Any]]:
    after = -1
    while True:
        rows = list(session.execute(query_for(after)))
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _leaf_rows(session: Session) -> Iterator[list[Any]]:
    columns = (
        CustodyLeafRow.idx,
        CustodyLeafRow.entry,
        CustodyLeafRow.leaf_hash,
        CustodyLeafRow.act,
        CustodyLeafRow.entity_type,
        CustodyLeafRow.entity_id,
        CustodyLeafRow.content_sha256,
    )
    return _batches(
        session,
        lambda after: (
            select(*columns)
            .where(CustodyLeafRow.idx > after)
            .order_by(CustodyLeafRow.idx)
            .limit(_BATCH)
        ),
    )


def _entry_problem(row: Any) -> str | None:
    idx, entry, stored, act, entity_type, entity_id, content = row
    if merkle.leaf_hash(str(entry).encode("utf-8")).hex() != stored:
        return "its entry does not match its leaf hash: edited"
    try:
        data = json.loads(entry)
    except ValueError:
        return "its entry is not valid JSON: edited"
    if data.get("index") != idx:
        return f"its entry says position {data.get('index')}: moved or reordered"
    indexed = (act, entity_type, entity_id, content)
    recorded = (data.get("act"), data.get("entity_type"), data.get("entity_id"))
    if indexed != (*recorded, data.get("content_sha256")):
        return "its indexed columns differ from its entry: edited"
    return None


class _Walk:
    """Rebuild the tree leaf by leaf, checking rows, stored nodes and signed heads as it goes."""

    def __init__(
        self, result: Verification, heads: list[SignedTreeHead], *, keys: dict[str, bytes]
    ):
        self.result = result
        self.frontier = merkle.Frontier(0, [])
        self.heads = sorted(heads, key=lambda h: h.tree_size)
        self.keys = keys
        self.created: dict[merkle.NodeKey, bytes] = {}
        self.checked_nodes = 0

    def add(self, finding: Finding) -> None:
        self.result.findings.append(finding)

    def leaf(self, row: Any) -> None:
        idx = row[0]
        expected = self.frontier.size
        if idx > expected:
            span = f"leaves {expected}-{idx - 1}" if idx - 1 > expected else f"leaf {expected}"
            self.add(Finding(span, "deleted", f"{span}: missing from the log: deleted"))
        problem = _entry_problem(row)
        if problem:
            self.add(Finding(f"leaf {idx}", "edited", f"leaf {idx}: {problem}"))
        digest = merkle.leaf_hash(str(row[1]).encode("utf-8"))
        while self.frontier.size < idx:  # keep positions aligned past a gap
            self.frontier.append(merkle.EMPTY_ROOT)
        for level, index, value in self.frontier.append(digest)[1:]:
            self.created[(level, index)] = value
        self._check_heads()

    def _check_heads(self) -> None:
        while self.heads and self.heads[0].tree_size == self.frontier.size:
            head = self.heads.pop(0)
            if self.frontier.root().hex() != head.root_hash:
                self.add(
                    Finding(
                        f"tree head of size {head.tree_size}",
                        "root",
                        f"tree head of size {head.tree_size}: the log's first "
                        f"{head.tree_size} leaves no longer give its signed root "
                        "(a leaf was edited, deleted, inserted or reordered)",
                    )
                )

    def nodes(self, session: Session) -> None:
        """Compare the subtree hashes made since the last call with the stored ones."""
        keys = sorted(self.created)
        by_level: dict[int, list[int]] = {}
        for level, idx in keys:
            by_level.setdefault(level, []).append(idx)
        for level, indexes in by_level.items():  # the new nodes of one level are contiguous
            rows = session.execute(
                select(CustodyNodeRow.idx, CustodyNodeRow.hash).where(
                    CustodyNodeRow.level == level,
                    CustodyNodeRow.idx.between(indexes[0], indexes[-1]),
                )
            )
            stored = {idx: value for idx, value in rows}
            for idx in indexes:
                self._compare((level, idx), stored.get(idx))
        self.checked_nodes += len(keys)
        self.created.clear()

    def extra_nodes(self, session: Session) -> None:
        """Name stored subtrees the recomputed tree does not have (inserted rows)."""
        stored = session.scalar(select(func.count()).select_from(CustodyNodeRow)) or 0
        if stored <= self.checked_nodes:
            return
        for level in session.scalars(select(CustodyNodeRow.level).distinct()):
            last = (self.frontier.size >> level) - 1
            for (idx,) in session.execute(
                select(CustodyNodeRow.idx)
                .where(CustodyNodeRow.level == level, CustodyNodeRow.idx > last)
                .limit(20)
            ):
                name = f"node {level}/{idx}"
                self.add(Finding(name, "inserted", f"{name}: not part of the tree: inserted"))

    def _compare(self, key: merkle.NodeKey, value: str | None) -> None:
        level, idx = key
        name = f"node {level}/{idx}"
        if value is None:
            self.add(Finding(name, "deleted", f"{name}: missing from the stored tree: deleted"))
        elif self.created[key].hex() != value:
            first, last = idx << level, ((idx + 1) << level) - 1
            self.add(
                Finding(
                    name,
                    "edited",
                    f"{name} (leaves {first}-{last}): its stored hash differs from "
                    "the recomputed one: a node or a leaf under it was changed",
                )
            )


def _public_keys(settings: Settings) -> dict[str, bytes]:
    try:
        keys = custody_keys.load(settings, create=False).public_keys
    except Exception:  # noqa: BLE001 - reported as a finding below
        return {}
    return {key.key_id: base64.b64decode(key.public_key) for key in keys}


def _check_signatures(heads: list[SignedTreeHead], keys: dict[str, bytes], *, walk: _Walk) -> None:
    for number, head in enumerate(heads, start=1):
        name = f"tree head {number} (size {head.tree_size})"
        public = keys.get(head.key_id)
        try:
            signature = strict_b64decode(head.signature)
            message = head_message(
                log_id=head.log_id,
                tree_size=head.tree_size,
                timestamp=head.timestamp,
                root_hash=head.root_hash,
            )
        except (ValueError, UnicodeError):
            walk.add(Finding(name, "signature", f"{name}: malformed: edited"))
            continue
        if public is None:
            walk.add(Finding(name, "signature", f"{name}: signed by unknown key {head.key_id}"))
        elif not ed25519_verify(public, message, signature=signature):
            walk.add(Finding(name, "signature", f"{name}: signature does not verify: edited"))


def _check_state(session: Session, walk: _Walk) -> None:
    state = session.execute(select(CustodyStateRow.size, CustodyStateRow.frontier)).first()
    size, frontier = (state[0], state[1]) if state else (0, [])
    if size != walk.frontier.size:
        walk.add(
            Finding(
                "log state",
                "size",
                f"log state: says {size} leaves but {walk.frontier.size} were found "
                "(leaves deleted from or added to the end)",
            )
        )
    elif list(frontier) != [h.hex() for h in walk.frontier.hashes]:
        walk.add(Finding("log state", "edited", "log state: its right edge was changed"))


def _check_incidents(session: Session, result: Verification) -> None:
    latest: dict[str, tuple[int, str | None]] = {}
    for rows in _batches(
        session,
        lambda after: (
            select(CustodyLeafRow.idx, CustodyLeafRow.entity_id, CustodyLeafRow.content_sha256)
            .where(
                CustodyLeafRow.entity_type == "incident",
                CustodyLeafRow.act.in_(_DIGEST_ACTS),
                CustodyLeafRow.idx > after,
            )
            .order_by(CustodyLeafRow.idx)
            .limit(_BATCH)
        ),
    ):
        for idx, incident_id, digest in rows:
            latest[incident_id] = (idx, digest)
    for incident_id, (idx, digest) in sorted(latest.items()):
        result.incidents += 1
        row = session.get(IncidentRow, incident_id)
        name = f"incident {incident_id}"
        if row is None:
            result.findings.append(Finding(name, "deleted", f"{name}: deleted (leaf {idx})"))
        elif incident_digest(session, row) != digest:
            result.findings.append(
                Finding(
                    name,
                    "edited",
                    f"{name}: changed since custody leaf {idx} without a new leaf: edited",
                )
            )


def verify(session: Session, settings: Settings) -> Verification:
    """Check the whole custody log, its signed heads, the evidence files and covered incidents."""

    result = Verification()
    heads = [
        SignedTreeHead(
            log_id=row.log_id,
            tree_size=row.tree_size,
            root_hash=row.root_hash,
            timestamp=row.timestamp,
            key_id=row.key_id,
            signature=row.signature,
        )
        for row in session.scalars(select(CustodyTreeHeadRow).order_by(CustodyTreeHeadRow.id))
    ]
    result.heads = len(heads)
    keys = _public_keys(settings)
    walk = _Walk(result, heads, keys=keys)
    if heads and not keys:
        walk.add(Finding("custody keys", "keys", "custody key file missing or unreadable"))
    _check_signatures(heads, keys, walk=walk)
    for rows in _leaf_rows(session):
        for row in rows:
            walk.leaf(row)
            result.leaves += 1
        walk.nodes(session)
    for head in walk.heads:  # heads for sizes the log no longer reaches
        walk.add(
            Finding(
                f"tree head of size {head.tree_size}",
                "root",
                f"tree head of size {head.tree_size}: the log has only {walk.frontier.size} "
                "leaves: leaves were deleted from the end",
            )
        )
    walk.extra_nodes(session)
    _check_state(session, walk)
    result.root_hash = walk.frontier.root().hex()
    files = evidence_check.verify_store(session, settings)
    result.findings.extend(files)
    _check_incidents(session, result)
    return result
