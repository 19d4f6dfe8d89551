"""Investigation and remedy cases: events custody-logged, deadlines, coverage, case files."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import accounts, case_files, cases, custody, custody_check, notifications
from haven.accounts import SYSTEM, Role
from haven.case_events import record_bytes
from haven.cases import CaseEventIn, CaseEventKind, CaseIn, CaseOutcome, CaseStatus
from haven.cli import cli
from haven.db import Database, open_database
from haven.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from haven.models import AuditEventRow, CaseEventRow, CustodyLeafRow, PartyRow, UserRow
from haven.sessions import password_hasher
from haven.settings import Settings
from tests.conftest import make_token
from tests.support.accountability import add_incident, notified_strike
from tests.support.verifier import standalone_verifier

PERSONAL = "Fictional Person Exampleson, +000 555 0199"


def _event(**fields: object) -> CaseEventIn:
    return CaseEventIn.model_validate(fields)


def _open(db: Database, *incident_ids: str, actor: object = SYSTEM) -> cases.Case:
    data = CaseIn(title="Strike on the test clinic (fictional)", incident_ids=list(incident_ids))
    return db.write(lambda s: cases.open_case(s, data, actor=actor))  # type: ignore[arg-type]


def _add(db: Database, case_id: int, **fields: object) -> cases.CaseEvent:
    data = _event(**fields)
    return db.write(lambda s: cases.add_event(s, case_id, data=data, actor=SYSTEM))


def _count(db: Database, table: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_each_event_is_a_custody_leaf_covering_its_record(db: Database) -> None:
    case = _open(db, add_incident(db))
    _add(
        db,
        case.id,
        kind="referral_un_mechanism",
        status="sent",
        authority="UN Commission of Inquiry (fictional)",
        due_at=(datetime.now(UTC) + timedelta(days=30)).isoformat(),
    )
    _add(db, case.id, kind="support_psychosocial", status="referred", beneficiary_ref="family-1",
         personal=PERSONAL)  # fmt: skip
    with db.read() as session:
        rows = session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case.id)).all()
        assert [r.kind for r in rows] == ["case_opened", "referral_un_mechanism",
                                          "support_psychosocial"]  # fmt: skip
        for row in rows:
            leaf = custody.leaf(session, row.custody_leaf)
            assert leaf.content_sha256 == hashlib.sha256(record_bytes(row)).hexdigest()
            assert (leaf.entity_type, leaf.entity_id) == ("case", str(case.id))
            assert PERSONAL not in leaf.entry and PERSONAL not in record_bytes(row).decode()
        assert rows[2].sensitive is not None and PERSONAL not in rows[2].sensitive
        acts = [leaf.act for leaf in custody.leaves_for(session, entity_type="case",
                                                         entity_id=str(case.id))]  # fmt: skip
        assert acts == ["case.opened", "case.updated", "case.updated"]
        actions = set(session.scalars(select(AuditEventRow.action)))
    assert {"case.case_opened", "case.referral_un_mechanism"} <= actions


def test_a_failed_write_leaves_neither_event_nor_leaf(db: Database) -> None:
    case = _open(db, add_incident(db))
    before = (_count(db, CaseEventRow), _count(db, CustodyLeafRow), _count(db, AuditEventRow))

    def add_then_fail(session: Session) -> None:
        cases.add_event(session, case.id, data=_event(kind="note", summary="x"), actor=SYSTEM)
        raise Conflict("simulated failure after the event was recorded")

    with pytest.raises(Conflict):
        db.write(add_then_fail)
    after = (_count(db, CaseEventRow), _count(db, CustodyLeafRow), _count(db, AuditEventRow))
    assert after == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "sanction", "status": "paid"}, "status must be one of"),
        ({"kind": "sanction"}, "status must be one of"),
        ({"kind": "note", "status": "sent"}, "has no status"),
        ({"kind": "case_closed"}, "recorded by Haven"),
        ({"kind": "note", "beneficiary_ref": "Fictional Person"}, "beneficiary_ref"),
        ({"kind": "note", "at": 1700000000}, "ISO 8601"),
    ],
)
def test_bad_events_are_refused_naming_the_problem(fields: dict[str, object], field: str) -> None:
    from pydantic import ValidationError  # noqa: PLC0415

    with pytest.raises(ValidationError, match=field):
        _event(**fields)


def test_case_rules(db: Database) -> None:
    real, drill = add_incident(db), add_incident(db, exercise=True)
    with pytest.raises(InvalidInput, match="mix exercise"):
        _open(db, real, drill)
    with pytest.raises(NotFound) as missing:
        _open(db, real, "no-such-incident")
    assert "incident_ids[1]" in missing.value.fields
    case = _open(db, real)
    with pytest.raises(Conflict, match="already in case"):
        db.write(lambda s: cases.add_incidents(s, case.id, incident_ids=[real], actor=SYSTEM))
    with pytest.raises(InvalidInput, match="mix exercise"):
        db.write(lambda s: cases.add_incidents(s, case.id, incident_ids=[drill], actor=SYSTEM))
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    with pytest.raises(InvalidInput, match="future"):
        _add(db, case.id, kind="note", at=future)
    with pytest.raises(NotFound, match="no event"):
        _add(db, case.id, kind="note", resolves=999_999)
    with pytest.raises(InvalidInput, match="how the case ended"):
        db.write(lambda s: cases.set_status(s, case.id, status=CaseStatus.CLOSED, actor=SYSTEM))
    closed = db.write(
        lambda s: cases.set_status(
            s, case.id, status=CaseStatus.CLOSED, outcome=CaseOutcome.INCONCLUSIVE, actor=SYSTEM
        )
    )
    assert (
        closed.status is CaseStatus.CLOSED and closed.events[-1].kind is CaseEventKind.CASE_CLOSED
    )
    with pytest.raises(Conflict, match="reopen it first"):
        _add(db, case.id, kind="note", summary="after closing")
    reopened = db.write(
        lambda s: cases.set_status(s, case.id, status=CaseStatus.OPEN, actor=SYSTEM)
    )
    assert reopened.outcome is None and reopened.closed_at is None


def test_due_list_flags_overdue_and_drops_resolved(db: Database) -> None:
    case = _open(db, add_incident(db))
    now = datetime.now(UTC)
    late = _add(db, case.id, kind="referral_national_authority", status="sent",
                due_at=(now - timedelta(days=1)).isoformat())  # fmt: skip
    soon = _add(db, case.id, kind="compensation_claim", status="filed",
                due_at=(now + timedelta(days=3)).isoformat())  # fmt: skip
    _add(db, case.id, kind="sanction", status="announced",
         due_at=(now + timedelta(days=40)).isoformat())  # fmt: skip
    with db.read() as session:
        listed = cases.due(session, actor=SYSTEM)
    assert [(i.event_id, i.overdue) for i in listed] == [(late.id, True), (soon.id, False)]
    _add(db, case.id, kind="referral_national_authority", status="acknowledged", resolves=late.id)
    with db.read() as session:
        assert [i.event_id for i in cases.due(session, actor=SYSTEM)] == [soon.id]
        assert len(cases.due(session, actor=SYSTEM, within=timedelta(days=60))) == 2
    with pytest.raises(Conflict, match="no open deadline"):
        _add(db, case.id, kind="note", resolves=late.id)


def test_coverage_counts_investigation_and_remedy_as_of_a_date(db: Database) -> None:
    a, b, c, drill = (add_incident(db) for _ in range(3)), None, None, None
    a, b, c = list(a)
    drill = add_incident(db, exercise=True)
    first = _open(db, a, b)
    t0 = datetime.now(UTC) - timedelta(days=10)
    _add(db, first.id, kind="referral_court", status="sent", at=t0.isoformat())
    _add(db, first.id, kind="investigation_opened", status="opened",
         at=(t0 + timedelta(days=2)).isoformat())  # fmt: skip
    _add(db, first.id, kind="compensation_claim", status="filed",
         at=(t0 + timedelta(days=3)).isoformat())  # fmt: skip
    second = _open(db, b)
    _add(db, second.id, kind="support_material", status="provided",
         at=(t0 + timedelta(days=5)).isoformat())  # fmt: skip
    exercise_case = _open(db, drill)
    _add(db, exercise_case.id, kind="investigation_opened", status="opened")
    with db.read() as session:
        now = cases.case_coverage(session, [a, b, c, drill])
        early = cases.case_coverage(session, [a, b], as_of=t0 + timedelta(days=1))
        drills = cases.case_coverage(session, [drill], include_exercise=True)
    assert set(now) == {a, b}
    assert now[a].has_investigation and not now[a].has_remedy and now[a].has_referral
    assert now[b].has_remedy and now[b].case_ids == sorted([first.id, second.id])
    assert now[b].remedy_at == t0 + timedelta(days=5)
    assert now[a].investigation_at == t0 + timedelta(days=2)
    assert early == {}  # the cases were opened after that date
    assert drills[drill].has_investigation


def test_personal_details_need_read_sensitive_and_are_audited(db: Database) -> None:
    case = _open(db, add_incident(db))
    event = _add(db, case.id, kind="support_psychosocial", status="referred",
                 beneficiary_ref="family-2", personal=PERSONAL)  # fmt: skip
    make_token(db, "case-coordinator", role=Role.COORDINATOR)
    with db.read() as session:
        from haven import accounts  # noqa: PLC0415

        coordinator = accounts.actor_named(session, "case-coordinator")
    with pytest.raises(PermissionDenied):
        db.write(
            lambda s: cases.open_personal(
                s, case.id, event_id=event.id, actor=coordinator, purpose="follow-up"
            )
        )
    opened = db.write(
        lambda s: cases.open_personal(
            s, case.id, event_id=event.id, actor=SYSTEM, purpose="arrange follow-up"
        )
    )
    assert opened.personal == PERSONAL
    with db.read() as session:
        reads = session.execute(
            select(AuditEventRow.entity_type, AuditEventRow.entity_id).where(
                AuditEventRow.action == "sensitive.read"
            )
        ).all()
    assert [tuple(r) for r in reads] == [("case_event", str(event.id))]


def _case_file(db: Database, settings: Settings, *, tmp_path: Path) -> tuple[Path, int, str]:
    scene = notified_strike(db, settings)
    case = _open(db, scene.incident_id, add_incident(db))
    _add(db, case.id, kind="referral_national_authority", status="sent",
         authority="Ministry of Justice (fictional)", reference="MJ-2025-001",
         due_at=(datetime.now(UTC) + timedelta(days=14)).isoformat())  # fmt: skip
    _add(db, case.id, kind="support_material", status="referred", beneficiary_ref="family-1",
         personal=PERSONAL)  # fmt: skip
    contents = db.write(lambda s: case_files.build(s, settings, case_id=case.id, actor=SYSTEM))
    out = tmp_path / "case.zip"
    case_files.write_zip(settings, contents, out=out)
    return out, case.id, scene.incident_id


def test_a_case_file_verifies_offline_with_trail_and_history(
    db: Database, settings: Settings, *, tmp_path: Path
) -> None:
    zip_path, case_id, struck = _case_file(db, settings, tmp_path=tmp_path)
    run = standalone_verifier(zip_path, tmp_path / "fresh")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("VERIFIED")
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        record = json.loads(archive.read("case.json"))
        manifest = json.loads(archive.read("manifest.json"))
        everything = b"".join(archive.read(n) for n in names)
    assert PERSONAL.encode() not in everything
    assert f"incidents/{struck}/incident.json" in names
    assert any(n.startswith(f"incidents/{struck}/evidence/") for n in names)
    assert sum(n.startswith("case/events/") for n in names) == 3
    assert record["case"]["id"] == case_id
    assert [h["kind"] for h in record["history"]] == [
        "case_opened", "referral_national_authority", "support_material"
    ]  # fmt: skip
    trail = record["notification_trail"]
    assert len(trail) == 1 and trail[0]["acknowledged_at"] is not None
    assert any(n.startswith("notifications/") for n in names)
    acts = {event["act"] for event in manifest["custody_events"]}
    assert {"case.opened", "case.updated", "case.exported", "package.exported"} <= acts
    assert {"notification.sent", "notification.acknowledged", "evidence.received"} <= acts
    with db.read() as session:
        assert custody_check.verify(session, settings).ok


def _flip(zip_path: Path, target: Path, *, name: str, offset: int) -> None:
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            data = bytearray(source.read(info.filename))
            if info.filename == name:
                data[offset % len(data)] ^= 0x01
            out.writestr(info, bytes(data))


@pytest.mark.parametrize(
    ("member", "says"),
    [
        ("case/events/", "does NOT match the manifest"),
        ("case.json", "does NOT match the manifest"),
        ("notifications/", "does NOT match the manifest"),
        ("incidents/", "does NOT match the manifest"),
        ("custody/proofs.json", "custody entry"),
    ],
)
def test_one_flipped_byte_fails_the_case_file(
    db: Database, settings: Settings, *, tmp_path: Path, member: str, says: str
) -> None:
    zip_path, _, _ = _case_file(db, settings, tmp_path=tmp_path)
    with zipfile.ZipFile(zip_path) as archive:
        name = next(n for n in sorted(archive.namelist()) if n.startswith(member))
    broken = tmp_path / "broken.zip"
    _flip(zip_path, broken, name=name, offset=17 if member != "custody/proofs.json" else 300)
    run = standalone_verifier(broken, tmp_path / "fresh")
    assert run.returncode == 1
    assert "NOT VERIFIED" in run.stdout and says in run.stdout, run.stdout


def test_a_changed_event_row_stops_the_export(db: Database, settings: Settings) -> None:
    case = _open(db, add_incident(db))
    event = _add(db, case.id, kind="note", summary="original wording")

    def tamper(session: Session) -> None:
        row = session.get(CaseEventRow, event.id)
        assert row is not None
        row.summary = "changed wording"

    db.write(tamper)
    from haven.errors import IntegrityCheckFailed  # noqa: PLC0415

    with pytest.raises(IntegrityCheckFailed, match=f"event {event.id}"):
        db.write(lambda s: case_files.build(s, settings, case_id=case.id, actor=SYSTEM))


def test_cases_over_http_need_verify_and_the_organisation(
    client: TestClient, db: Database, *, tmp_path: Path
) -> None:
    verifier = {"Authorization": f"Bearer {make_token(db, 'case-verifier', role=Role.VERIFIER)}"}
    analyst = {"Authorization": f"Bearer {make_token(db, 'case-analyst', role=Role.ANALYST)}"}
    incident_id = add_incident(db)
    body = {"title": "HTTP case (fictional)", "incident_ids": [incident_id]}
    assert client.post("/api/cases", json=body, headers=analyst).status_code == 403
    made = client.post("/api/cases", json=body, headers=verifier)
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    bad = client.post(f"/api/cases/{case_id}/events", json={"kind": "sanction"}, headers=verifier)
    assert bad.status_code == 422 and "status must be one of" in bad.text
    due = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    event = client.post(
        f"/api/cases/{case_id}/events",
        json={"kind": "investigation_opened", "status": "opened", "due_at": due},
        headers=verifier,
    )
    assert event.status_code == 201, event.text
    listed = client.get("/api/cases/due", headers=verifier).json()
    assert [(i["case_id"], i["overdue"]) for i in listed] == [(case_id, True)]
    shown = client.get(f"/api/cases/{case_id}", headers=verifier).json()
    assert [e["kind"] for e in shown["events"]] == ["case_opened", "investigation_opened"]
    exported = client.post(f"/api/cases/{case_id}/export", headers=verifier)
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    zip_path = tmp_path / "http-case.zip"
    zip_path.write_bytes(exported.content)
    assert standalone_verifier(zip_path, tmp_path / "fresh").returncode == 0
    closed = client.post(
        f"/api/cases/{case_id}/status", json={"status": "closed"}, headers=verifier
    )
    assert closed.status_code == 422 and "outcome" in closed.text


def test_cases_cli_round_trip(sqlite_settings: Settings, *, tmp_path: Path) -> None:
    db = open_database(sqlite_settings)
    try:
        incident_id = add_incident(db)
    finally:
        db.close()
    runner = CliRunner()
    base = ["--data-dir", str(sqlite_settings.data_dir)]
    opened = runner.invoke(cli, [*base, "cases", "open", incident_id, "--title", "CLI case"])
    assert opened.exit_code == 0, opened.output
    case_id = int(opened.output.split()[1].rstrip(":"))
    due = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    added = runner.invoke(
        cli,
        [*base, "cases", "add-event", str(case_id), "--kind", "referral_court", "--status",
         "sent", "--authority", "Fictional District Court", "--due", due],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, [*base, "cases", "due"])
    assert "OVERDUE" in listed.output and f"case {case_id}" in listed.output
    out = tmp_path / "cli-case.zip"
    exported = runner.invoke(cli, [*base, "cases", "export", str(case_id), "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert standalone_verifier(out, tmp_path / "fresh").returncode == 0
    shown = runner.invoke(cli, [*base, "cases", "show", str(case_id)])
    assert "referral_court sent" in shown.output and "OVERDUE" in shown.output


def test_the_demo_opens_one_exercise_case(
    db: Database, settings: Settings, *, datasets: Path
) -> None:
    from haven import accountability_demo, commitments, demo  # noqa: PLC0415

    demo.load(db, datasets=datasets, seed=7, settings=settings)
    assert accountability_demo.load_demo(db, organisation=demo.DEMO_ORG) is False  # done
    demo.ensure_demo_people(
        db, credentials_file=settings.data_dir / "people.txt", hasher=password_hasher(settings)
    )
    with db.read() as session:
        found = [c for c in cases.list_cases(session, actor=SYSTEM) if c.exercise]
        assert [c.title for c in found] == [accountability_demo.DEMO_CASE_TITLE]
        # The demo's own verifier sees it (the case belongs to the demo organisation).
        verifier = session.scalar(select(UserRow).where(UserRow.username == "demo-verifier"))
        assert verifier is not None
        mine = cases.list_cases(session, actor=accounts.actor_for(verifier))
        assert [c.title for c in mine] == [accountability_demo.DEMO_CASE_TITLE]
        case = cases.get(session, found[0].id, actor=SYSTEM)
        party_id = session.scalar(
            select(PartyRow.id).where(PartyRow.name == notifications.DEMO_PARTIES[0])
        )
        assert party_id is not None
        profile = commitments.profile(session, party_id, actor=SYSTEM)
    assert [e.kind.value for e in case.events] == [
        "case_opened", "referral_national_authority", "support_psychosocial", "case_amended"
    ]  # fmt: skip
    assert all(c.exercise and "EXERCISE" in c.title for c in profile.commitments)


def test_the_trail_holds_every_version_of_the_notification(
    db: Database, settings: Settings, *, tmp_path: Path
) -> None:
    from haven import notifications as notices  # noqa: PLC0415

    scene = notified_strike(db, settings)
    changes = notices.NotificationUpdate(
        message="Fictional update after the strike", reason="x y z"
    )
    db.write(
        lambda s: notices.update(
            s, scene.notification_id, changes=changes, actor=SYSTEM, settings=settings
        )
    )
    case = _open(db, scene.incident_id)
    contents = db.write(lambda s: case_files.build(s, settings, case_id=case.id, actor=SYSTEM))
    out = tmp_path / "trail.zip"
    case_files.write_zip(settings, contents, out=out)
    assert standalone_verifier(out, tmp_path / "fresh").returncode == 0
    with zipfile.ZipFile(out) as archive:
        trail = json.loads(archive.read("case.json"))["notification_trail"]
        names = set(archive.namelist())
        acts = {e["act"] for e in json.loads(archive.read("manifest.json"))["custody_events"]}
    assert [(t["version"], t["state"]) for t in trail] == [(1, "superseded"), (2, "sent")]
    assert all(t["file"] in names for t in trail)
    assert {"notification.sent", "notification.acknowledged", "notification.updated"} <= acts
