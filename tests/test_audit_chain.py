"""The audit hash chain: any edit, deletion, insertion or move in the raw database is named."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from haven import audit
from haven.accounts import SYSTEM
from haven.db import Database, open_database
from haven.errors import Conflict
from haven.models import AuditChainRow, AuditEventRow
from haven.settings import Settings

HAVEN = Path(sys.executable).parent / "haven"


def _add_events(db: Database, count: int, *, start: int = 0) -> None:
    def write(session: Session) -> None:
        for n in range(start, start + count):
            audit.record(
                session,
                SYSTEM,
                action="test.event",
                entity_type="thing",
                entity_id=n,
                detail={"n": n, "text": "غزة — Ґ", "nested": {"b": [1, 2.5, None], "a": True}},
                purpose="testing the chain" if n % 2 else None,
            )

    db.write(write)


def _sql(db: Database, *statements: str) -> None:
    with db.write_engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def _verify(db: Database) -> audit.AuditVerification:
    with db.read() as session:
        return audit.verify(session)


def _named(result: audit.AuditVerification) -> list[tuple[int, str]]:
    return [(p.event_id, p.kind) for p in result.problems]


@pytest.fixture
def chain(db: Database) -> Database:
    """A database whose chain holds events 1..6."""
    _add_events(db, 3)
    _add_events(db, 3, start=3)
    result = _verify(db)
    assert result.ok, result.problems
    assert (result.checked, result.head_id) == (6, 6)
    return db


def test_untouched_chain_verifies_and_links(chain: Database) -> None:
    with chain.read() as session:
        rows = session.scalars(select(AuditEventRow).order_by(AuditEventRow.id)).all()
        head = session.get(AuditChainRow, 1)
        assert [r.id for r in rows] == [1, 2, 3, 4, 5, 6]
        assert rows[0].prev_hash == audit.GENESIS_HASH
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
        assert head is not None and (head.last_event_id, head.last_hash) == (6, rows[-1].hash)
        assert rows[1].purpose == "testing the chain"


def test_empty_database_verifies(db: Database) -> None:
    result = _verify(db)
    assert result.ok and result.checked == 0 and result.head_hash == audit.GENESIS_HASH


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'someone else' WHERE id = 3",
        "UPDATE audit_events SET action = 'user.delete' WHERE id = 3",
        "UPDATE audit_events SET detail = '{\"n\": 99}' WHERE id = 3",
        "UPDATE audit_events SET purpose = 'curiosity' WHERE id = 3",
        "UPDATE audit_events SET at = at + INTERVAL '1 second' WHERE id = 3",
    ],
    ids=["actor", "action", "detail", "purpose", "time"],
)
def test_edited_row_is_named(chain: Database, statement: str) -> None:
    if chain.dialect == "sqlite" and "INTERVAL" in statement:
        statement = "UPDATE audit_events SET at = datetime(at, '+1 second') WHERE id = 3"
    _sql(chain, statement)
    result = _verify(chain)
    assert _named(result) == [(3, "edited")]
    assert result.problems[0].message.startswith("row 3: ")


def test_edited_row_with_recomputed_hash_breaks_the_next_link(chain: Database) -> None:
    with chain.read() as session:
        row = session.get(AuditEventRow, 3)
        assert row is not None and row.prev_hash is not None
        forged = audit.event_hash(
            row.prev_hash,
            event_id=3,
            at=row.at,
            actor_user_id=None,
            actor="someone else",
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            detail=row.detail,
            purpose=row.purpose,
        )
    _sql(chain, f"UPDATE audit_events SET actor = 'someone else', hash = '{forged}' WHERE id = 3")
    result = _verify(chain)
    assert _named(result) == [(4, "broken_link")]
    assert "row 4: does not follow row 3" in result.problems[0].message


def test_deleted_rows_are_named(chain: Database) -> None:
    _sql(chain, "DELETE FROM audit_events WHERE id IN (2, 3)")
    result = _verify(chain)
    assert _named(result) == [(2, "deleted")]
    assert "rows 2-3" in result.problems[0].message


def test_deleted_last_row_is_named(chain: Database) -> None:
    _sql(chain, "DELETE FROM audit_events WHERE id = 6")
    assert _named(_verify(chain)) == [(6, "deleted")]


def test_inserted_rows_are_named(chain: Database) -> None:
    columns = "id, at, actor, action, entity_type, entity_id, detail, prev_hash, hash"
    _sql(
        chain,
        f"INSERT INTO audit_events ({columns}) SELECT 7, at, actor, action, entity_type, "
        f"entity_id, detail, hash, '{'f' * 64}' FROM audit_events WHERE id = 6",
        f"INSERT INTO audit_events ({columns}) SELECT 0, at, actor, action, entity_type, "
        f"entity_id, detail, prev_hash, '{'e' * 64}' FROM audit_events WHERE id = 1",
    )
    assert _named(_verify(chain)) == [(0, "inserted"), (7, "inserted")]


def test_reordered_rows_are_named(chain: Database) -> None:
    _sql(
        chain,
        "UPDATE audit_events SET id = -2 WHERE id = 2",
        "UPDATE audit_events SET id = 2 WHERE id = 5",
        "UPDATE audit_events SET id = 5 WHERE id = -2",
    )
    assert _named(_verify(chain)) == [(2, "edited"), (5, "edited")]


def test_chain_continues_after_tampering_is_reported(chain: Database) -> None:
    _sql(chain, "UPDATE audit_events SET actor = 'x' WHERE id = 2")
    _add_events(chain, 2, start=10)
    result = _verify(chain)
    assert _named(result) == [(2, "edited")]
    assert result.checked == 8


def test_verify_reads_in_batches(chain: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "_VERIFY_BATCH", 4)
    assert _verify(chain).ok
    _sql(chain, "DELETE FROM audit_events WHERE id = 4", "DELETE FROM audit_events WHERE id = 5")
    result = _verify(chain)
    assert _named(result) == [(4, "deleted")] and result.checked == 4


def test_failed_write_in_a_batch_leaves_one_chain(db: Database) -> None:
    """A write that fails rolls back its SAVEPOINT; the next write reuses the freed ids."""

    def good(session: Session) -> None:
        audit.record(session, SYSTEM, action="ok", entity_type="t", entity_id=1)

    def bad(session: Session) -> None:
        audit.record(session, SYSTEM, action="lost", entity_type="t", entity_id=2)
        raise Conflict("rolled back with its audit event")

    futures = [db.submit(bad if n % 3 == 1 else good) for n in range(30)]
    failures = 0
    for future in futures:
        try:
            future.result()
        except Conflict:
            failures += 1
    assert failures == 10
    result = _verify(db)
    assert result.ok, result.problems
    assert (result.checked, result.head_id) == (20, 20)


def test_concurrent_writers_keep_one_chain(settings: Settings, db: Database) -> None:
    """Two databases (two writers, as two processes would have) append to one chain."""
    other = open_database(settings)
    per_thread, threads_per_db = 15, 3
    errors: list[BaseException] = []

    def hammer(database: Database, offset: int) -> None:
        try:
            for n in range(per_thread):
                _add_events(database, 2, start=offset + 2 * n)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [
        threading.Thread(target=hammer, args=(database, 1000 * (i * 2 + j)))
        for i in range(threads_per_db)
        for j, database in enumerate((db, other))
    ]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        other.close()
    assert not errors
    result = _verify(db)
    total = 2 * per_thread * len(workers)
    assert result.ok, result.problems
    assert (result.checked, result.head_id) == (total, total)


def test_recording_costs_no_extra_query_per_event(db: Database) -> None:
    _add_events(db, 1)  # the head exists
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]).split()[0])

    event.listen(db.write_engine, "before_cursor_execute", count)
    try:
        _add_events(db, 100, start=1)
    finally:
        event.remove(db.write_engine, "before_cursor_execute", count)
    # SAVEPOINT, SELECT head FOR UPDATE, INSERT events (batched), UPDATE head, RELEASE, …
    assert len(statements) < 12, statements
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEventRow)) == 101
    assert _verify(db).ok


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAVEN_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["HAVEN_DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [str(HAVEN), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_cli_verify_and_list(settings: Settings, chain: Database) -> None:
    intact = _cli(settings, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "6 event(s) checked" in intact.stdout and "audit chain intact" in intact.stdout

    listed = _cli(settings, "audit", "list", "--limit", "2", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert '"id": 6' in listed.stdout and '"id": 5' in listed.stdout
    assert '"id": 4' not in listed.stdout
    assert "test.event" in _cli(settings, "audit", "list").stdout

    _sql(chain, "UPDATE audit_events SET actor = 'x' WHERE id = 4")
    _sql(chain, "DELETE FROM audit_events WHERE id = 2")
    broken = _cli(settings, "audit", "verify")
    assert broken.returncode == 65
    lines = broken.stderr.strip().splitlines()
    assert lines[0] == "audit chain broken: row 2: missing from the chain: deleted"
    assert lines[1].startswith("audit chain broken: row 4: content does not match its hash")
    assert lines[-1] == "error: audit chain broken in 2 place(s)"
