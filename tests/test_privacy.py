"""Sensitive fields are encrypted at rest, bound to their row, readable after key rotation."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text

from haven import incidents, privacy, reports
from haven.accounts import SYSTEM, Actor, Role
from haven.db import Database, open_database
from haven.errors import ConfigurationError, InvalidInput, PermissionDenied, StorageUnavailable
from haven.models import AuditEventRow, ReportRow
from haven.settings import Settings
from tests.support.postgres import PostgresServer

PLANTED = {
    "narrative": "PLANTED-NARRATIVE-7f3a the surgeon Zz-Fictional Quorra was shot",
    "reporter_name": "PLANTED-REPORTER-Ysolde Fictionalia",
    "reporter_contact": "+000-PLANTED-5550199",
    "victim_name": "PLANTED-VICTIM-Bram Imaginary",
    "victim_details": "PLANTED-DETAILS-left leg, ward 4",
    "original": "PLANTED-ORIGINAL-ROW-cell",
}


def planted_report() -> reports.ReportIn:
    return reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "privacy test form", "kind": "form"},
            "occurred_at": "2024-06-01T09:00:00Z",
            "country": "SSD",
            "location": {"lon": 31.58, "lat": 4.85},
            "attack_types": ["Assault (without weapons)"],
            "narrative": PLANTED["narrative"],
            "reporter": {"name": PLANTED["reporter_name"], "contact": PLANTED["reporter_contact"]},
            "victims": [{"name": PLANTED["victim_name"], "details": PLANTED["victim_details"]}],
            "original": {"description": PLANTED["original"]},
        }
    )


def _raw_sqlite_bytes(settings: Settings) -> bytes:
    folder = settings.data_dir
    return b"".join(p.read_bytes() for p in folder.glob("haven.db*"))


def _pg_dump(server: PostgresServer, url: str) -> bytes:
    database = url.rsplit("/", 1)[1]
    dump = server.bin_dir / "pg_dump"
    result = subprocess.run(
        [str(dump), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", database],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def test_database_holds_none_of_the_planted_strings(
    *, db: Database, settings: Settings, request: pytest.FixtureRequest
) -> None:
    receipt = db.write(lambda s: reports.submit(s, planted_report(), actor=SYSTEM))
    opened = db.write(
        lambda s: reports.get(s, receipt.report_id, actor=SYSTEM, purpose="privacy test")
    )
    assert opened.sensitive is not None
    assert opened.sensitive.narrative == PLANTED["narrative"]
    assert opened.sensitive.reporter is not None
    assert opened.sensitive.reporter.name == PLANTED["reporter_name"]
    assert opened.sensitive.victims[0].details == PLANTED["victim_details"]
    assert opened.sensitive.original == {"description": PLANTED["original"]}
    if settings.is_sqlite:
        raw = _raw_sqlite_bytes(settings)  # the main file and its write-ahead log
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        raw = _pg_dump(server, settings.resolved_database_url)
    assert raw, "nothing was read"
    leaked = [name for name, value in PLANTED.items() if value.encode() in raw]
    assert leaked == []


def test_sensitive_reads_need_permission_and_purpose_and_are_audited(db: Database) -> None:
    receipt = db.write(lambda s: reports.submit(s, planted_report(), actor=SYSTEM))
    analyst = Actor(label="a", role=Role.ANALYST, user_id=None)
    with pytest.raises(PermissionDenied):
        db.write(lambda s: incidents.get(s, receipt.incident_id, actor=analyst, purpose="x" * 5))
    with pytest.raises(InvalidInput) as caught:
        db.write(lambda s: incidents.get(s, receipt.incident_id, actor=SYSTEM, purpose=" "))
    assert "purpose" in caught.value.fields
    plain = db.write(lambda s: incidents.get(s, receipt.incident_id, actor=SYSTEM))
    assert plain.narrative is None
    opened = db.write(
        lambda s: incidents.get(s, receipt.incident_id, actor=SYSTEM, purpose="case review 12")
    )
    assert opened.narrative == PLANTED["narrative"]
    with db.read() as session:
        reads = session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == "sensitive.read")
        ).all()
        assert [(r.entity_type, r.entity_id) for r in reads] == [("incident", receipt.incident_id)]
        assert reads[0].detail["purpose"] == "case review 12"


def test_ciphertext_moved_to_another_row_does_not_open(db: Database) -> None:
    first = db.write(lambda s: reports.submit(s, planted_report(), actor=SYSTEM))
    second = db.write(lambda s: reports.submit(s, planted_report(), actor=SYSTEM))
    with db.write_engine.begin() as connection:
        envelope = connection.execute(
            text("SELECT sensitive FROM reports WHERE id = :id"), {"id": first.report_id}
        ).scalar_one()
        connection.execute(
            text("UPDATE reports SET sensitive = :e WHERE id = :id"),
            {"e": envelope, "id": second.report_id},
        )
    with pytest.raises(StorageUnavailable, match="integrity"):
        db.write(lambda s: reports.get(s, second.report_id, actor=SYSTEM, purpose="tamper test"))


def test_rotation_rewraps_and_everything_still_opens(db: Database, settings: Settings) -> None:
    receipt = db.write(lambda s: reports.submit(s, planted_report(), actor=SYSTEM))
    old_master = db.keyring.master.active
    summary = db.write(privacy.rotate_master_key)
    assert summary.rewrapped >= 1 and summary.master_key_id != old_master
    db.write(privacy.rotate_data_keys)
    later = db.write(lambda s: reports.submit(s, planted_report(), actor=SYSTEM))
    db.close()
    # a fresh process (new keyring) with the old master key deleted from the file
    master = privacy.MasterKeys.load(settings.resolved_master_key_file, create=False)
    del master.keys[old_master]
    master.save()
    reopened = open_database(settings)
    try:
        for receipt_id in (receipt.report_id, later.report_id):
            report = reopened.write(
                lambda s, r=receipt_id: reports.get(s, r, actor=SYSTEM, purpose="after rotation")
            )
            assert report.sensitive is not None
            assert report.sensitive.narrative == PLANTED["narrative"]
        with reopened.read() as session:
            key_ids = {
                row.sensitive.split(".")[1]
                for row in session.scalars(select(ReportRow))
                if row.sensitive
            }
        assert len(key_ids) == 2  # the second report used the new data key version
    finally:
        reopened.close()


def test_missing_master_key_file_is_refused_in_production(tmp_path: Path) -> None:
    from pydantic import SecretStr  # noqa: PLC0415

    settings = Settings(data_dir=tmp_path, production=True, secret_key=SecretStr("s" * 40))
    with pytest.raises(ConfigurationError) as caught:
        open_database(settings)
    assert "master_key_file" in caught.value.fields


def test_lost_master_key_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    database = open_database(settings)
    receipt = database.write(lambda s: reports.submit(s, planted_report(), actor=SYSTEM))
    database.close()
    shutil.rmtree(tmp_path / "keys")
    again = open_database(settings)  # development mode makes a new, different master key
    try:
        with pytest.raises(ConfigurationError, match="master key"):
            again.write(
                lambda s: reports.get(s, receipt.report_id, actor=SYSTEM, purpose="lost key")
            )
    finally:
        again.close()


def test_a_key_made_in_a_rolled_back_write_is_never_used(db: Database, settings: Settings) -> None:
    from haven.accounts import ensure_organisation  # noqa: PLC0415
    from haven.errors import Conflict  # noqa: PLC0415

    org_id = db.write(lambda s: ensure_organisation(s, "Rollback Relief"))
    member = Actor(label="member", role=Role.ADMIN, organisation_id=org_id)

    def submit_then_fail(session: object) -> None:
        reports.submit(session, planted_report(), actor=member)  # type: ignore[arg-type]
        raise Conflict("fail after the organisation's first data key was made")

    failed = db.submit(submit_then_fail)
    kept = db.submit(lambda s: reports.submit(s, planted_report(), actor=member))
    with pytest.raises(Conflict):
        failed.result(timeout=30)
    receipt = kept.result(timeout=30)
    again = db.write(lambda s: reports.submit(s, planted_report(), actor=member))
    db.close()
    reopened = open_database(settings)  # a new process: nothing cached
    try:
        for report_id in (receipt.report_id, again.report_id):
            report = reopened.write(
                lambda s, r=report_id: reports.get(s, r, actor=SYSTEM, purpose="rollback test")
            )
            assert report.sensitive is not None
            assert report.sensitive.narrative == PLANTED["narrative"]
    finally:
        reopened.close()


def test_cached_key_serves_a_whole_batch(db: Database) -> None:
    """A committed, cached data key is reused by several writes of one group commit."""
    import threading  # noqa: PLC0415

    db.write(lambda s: reports.submit(s, planted_report(), actor=SYSTEM))  # key now cached
    gate = threading.Event()
    held = db.submit(lambda s: gate.wait(5))  # holds the writer so the next ones batch up
    batch = [
        db.submit(lambda s: reports.submit(s, planted_report(), actor=SYSTEM)) for _ in range(3)
    ]
    gate.set()
    held.result(timeout=30)
    receipts = [f.result(timeout=30) for f in batch]
    for receipt in receipts:
        report = db.write(
            lambda s, r=receipt.report_id: reports.get(s, r, actor=SYSTEM, purpose="batch test")
        )
        assert report.sensitive is not None
