"""Storage on SQLite and PostgreSQL: migrations, the group-committing writer, atomic audit."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import reports
from haven.accounts import SYSTEM
from haven.db import Database, current_revision, head_revision, migrate, open_database
from haven.errors import Conflict, StorageUnavailable
from haven.models import AuditEventRow, Base, IncidentRow, ReportRow, UTCDateTime
from haven.settings import Settings


def _report(**changes: object) -> reports.ReportIn:
    base: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "source": {"name": "storage test", "kind": "form"},
        "occurred_at": "2024-02-01T08:30:00Z",
        "country": "SDN",
        "location": {"lon": 32.53, "lat": 15.59},
        "attack_types": ["Setting fire"],
    }
    return reports.ReportIn.model_validate(base | changes)


def _count(db: Database, table: type[Base]) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_schema_matches_models_after_migration(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_migrating_again_changes_nothing(db: Database) -> None:
    migrate(db.write_engine)
    assert current_revision(db.engine) == head_revision()


def test_refuses_unmigrated_database_when_asked_not_to_migrate(settings: Settings) -> None:
    with pytest.raises(StorageUnavailable, match="haven init"):
        open_database(settings, migrate_schema=False)


def test_times_round_trip_as_utc(db: Database) -> None:
    receipt = db.write(lambda s: reports.submit(s, _report(), actor=SYSTEM))
    with db.read() as session:
        row = session.get(IncidentRow, receipt.incident_id)
        assert row is not None
        assert row.occurred_at == datetime(2024, 2, 1, 8, 30, tzinfo=UTC)
        assert row.occurred_at.tzinfo is not None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2024, 1, 1), None)  # type: ignore[arg-type]


def test_failed_write_rolls_back_change_and_audit_together(db: Database) -> None:
    before = (_count(db, ReportRow), _count(db, IncidentRow), _count(db, AuditEventRow))

    def submit_then_fail(session: Session) -> None:
        reports.submit(session, _report(), actor=SYSTEM)
        raise Conflict("simulated failure after the change and its audit event were added")

    with pytest.raises(Conflict):
        db.write(submit_then_fail)
    after = (_count(db, ReportRow), _count(db, IncidentRow), _count(db, AuditEventRow))
    assert after == before


def test_one_failing_write_does_not_sink_its_batch(db: Database) -> None:
    good = [_report() for _ in range(20)]
    futures = []
    gate = threading.Event()
    futures.append(db.submit(lambda s: gate.wait(5)))  # holds the writer so the rest batch up
    for index, report in enumerate(good):
        futures.append(db.submit(lambda s, r=report: reports.submit(s, r, actor=SYSTEM)))
        if index == 10:
            futures.append(db.submit(lambda s: (_ for _ in ()).throw(Conflict("bad one"))))
    gate.set()
    outcomes = [f.exception(timeout=30) for f in futures]
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    assert sum(o is None for o in outcomes) == len(good) + 1
    assert _count(db, ReportRow) == len(good)


def test_concurrent_writers_all_land(db: Database) -> None:
    made = [_report() for _ in range(60)]
    errors: list[BaseException] = []

    def worker(chunk: list[reports.ReportIn]) -> None:
        try:
            for r in chunk:
                db.write(lambda s, r=r: reports.submit(s, r, actor=SYSTEM))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(made[i::6],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert _count(db, ReportRow) == 60
    assert _count(db, IncidentRow) == 60


def test_closed_database_refuses_writes(settings: Settings) -> None:
    database = open_database(settings)
    database.close()
    with pytest.raises(StorageUnavailable):
        database.write(lambda s: None)
