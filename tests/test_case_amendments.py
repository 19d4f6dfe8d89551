"""Correcting a case: amended title and summary, incidents removed, history and custody kept."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import case_files, cases, custody, custody_check
from haven.accounts import SYSTEM, Role
from haven.case_events import record_bytes
from haven.cases import CaseAmendIn, CaseIn, CaseOutcome, CaseStatus, IncidentsRemovalIn
from haven.cli import cli
from haven.db import Database, open_database
from haven.errors import Conflict, InvalidInput
from haven.models import AuditEventRow, CaseEventRow, CaseIncidentRow, CustodyLeafRow
from haven.settings import Settings
from tests.conftest import make_token
from tests.support.accountability import add_incident
from tests.support.verifier import standalone_verifier

TITLE = "Strke on the test clinic (fictional)"
SUMMARY = "Fictional strike on a fictional clinic."


def _open(db: Database, *incident_ids: str) -> cases.Case:
    data = CaseIn(title=TITLE, summary=SUMMARY, incident_ids=list(incident_ids))
    return db.write(lambda s: cases.open_case(s, data, actor=SYSTEM))


def _amend(db: Database, case_id: int, **fields: object) -> cases.Case:
    data = CaseAmendIn.model_validate(fields)
    return db.write(lambda s: cases.amend_case(s, case_id, data=data, actor=SYSTEM))


def _remove(db: Database, case_id: int, *incident_ids: str, reason: str) -> cases.Case:
    data = IncidentsRemovalIn(incident_ids=list(incident_ids), reason=reason)
    return db.write(lambda s: cases.remove_incidents(s, case_id, data=data, actor=SYSTEM))


def _close(db: Database, case_id: int) -> None:
    db.write(
        lambda s: cases.set_status(
            s, case_id, status=CaseStatus.CLOSED, outcome=CaseOutcome.INCONCLUSIVE, actor=SYSTEM
        )
    )


def _counts(db: Database) -> tuple[int, ...]:
    with db.read() as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (CaseEventRow, CaseIncidentRow, CustodyLeafRow, AuditEventRow)
        )


def _leaf_covers(session: Session, row: CaseEventRow) -> bool:
    leaf = custody.leaf(session, row.custody_leaf)
    return (
        leaf.act == "case.updated"
        and (leaf.entity_type, leaf.entity_id) == ("case", str(row.case_id))
        and leaf.content_sha256 == hashlib.sha256(record_bytes(row)).hexdigest()
    )


def test_amending_the_title_keeps_the_old_one_in_a_custody_logged_event(db: Database) -> None:
    case = _open(db, add_incident(db))
    fixed = "Strike on the test clinic (fictional)"
    amended = _amend(db, case.id, title=f"  {fixed} ", reason="typo in the title")
    assert (amended.title, amended.summary) == (fixed, SUMMARY)
    event = amended.events[-1]
    assert event.kind is cases.CaseEventKind.CASE_AMENDED
    assert event.detail == {
        "reason": "typo in the title",
        "before": {"title": TITLE},
        "after": {"title": fixed},
    }
    with db.read() as session:
        row = session.get(CaseEventRow, event.id)
        assert row is not None and _leaf_covers(session, row)
        record = json.loads(record_bytes(row))
        actions = list(session.scalars(select(AuditEventRow.action)))
    assert record["kind"] == "case_amended" and record["detail"]["before"] == {"title": TITLE}
    assert actions.count("case.case_amended") == 1


def test_amending_the_summary_then_both(db: Database) -> None:
    case = _open(db, add_incident(db))
    longer = f"{SUMMARY} A second fictional strike followed the next day."
    first = _amend(db, case.id, summary=longer, reason="extend the summary")
    assert (first.title, first.summary) == (TITLE, longer)
    assert first.events[-1].detail["before"] == {"summary": SUMMARY}
    both = _amend(db, case.id, title="Two strikes (fictional)", summary="Short.", reason="re-scope")
    assert (both.title, both.summary) == ("Two strikes (fictional)", "Short.")
    assert both.events[-1].detail["before"] == {"title": TITLE, "summary": longer}
    assert both.events[-1].detail["after"] == {
        "title": "Two strikes (fictional)",
        "summary": "Short.",
    }
    cleared = _amend(db, case.id, summary="", reason="the summary named a place it should not")
    assert cleared.summary == "" and cleared.events[-1].detail["before"] == {"summary": "Short."}
    with db.read() as session:
        again = cases.get(session, case.id, actor=SYSTEM)
        rows = session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case.id)).all()
        assert all(_leaf_covers(session, r) for r in rows if r.kind == "case_amended")
    assert again.summary == "" and again.title == "Two strikes (fictional)"
    assert [e.kind.value for e in again.events] == ["case_opened"] + ["case_amended"] * 3


def test_an_amendment_with_nothing_changed_names_the_field_and_writes_nothing(
    db: Database,
) -> None:
    case = _open(db, add_incident(db))
    before = _counts(db)
    with pytest.raises(InvalidInput, match="new title or summary") as neither:
        _amend(db, case.id, reason="nothing given")
    assert set(neither.value.fields) == {"title", "summary"}
    with pytest.raises(InvalidInput, match="nothing to amend") as same_title:
        _amend(db, case.id, title=TITLE, reason="same title")
    assert same_title.value.fields == {"title": "same as the current title"}
    with pytest.raises(InvalidInput, match="nothing to amend") as same_both:
        _amend(db, case.id, title=f" {TITLE}", summary=SUMMARY, reason="same both")
    assert set(same_both.value.fields) == {"title", "summary"}
    assert _counts(db) == before
    only_summary = _amend(db, case.id, title=TITLE, summary="New.", reason="title unchanged")
    assert only_summary.events[-1].detail["after"] == {"summary": "New."}


def test_a_closed_case_is_refused_until_reopened(db: Database) -> None:
    a, b = add_incident(db), add_incident(db)
    case = _open(db, a, b)
    _close(db, case.id)
    before = _counts(db)
    with pytest.raises(Conflict, match="reopen it first"):
        _amend(db, case.id, title="Closed case (fictional)", reason="too late")
    with pytest.raises(Conflict, match="reopen it first"):
        _remove(db, case.id, b, reason="too late")
    assert _counts(db) == before
    db.write(lambda s: cases.set_status(s, case.id, status=CaseStatus.OPEN, actor=SYSTEM))
    assert _amend(db, case.id, title="Reopened case (fictional)", reason="now open").title == (
        "Reopened case (fictional)"
    )


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"title": "Fine title"}, "reason", "Field required"),
        ({"title": "Fine title", "reason": "ab"}, "reason", "at least 3"),
        ({"title": "Fine title", "reason": "  ab   "}, "reason", "at least 3"),
        ({"title": "Fine title", "reason": "x" * 501}, "reason", "at most 500"),
        ({"title": "Fine title", "reason": "bad\x00reason"}, "reason", "NUL"),
        ({"title": "ab", "reason": "too short"}, "title", "at least 3"),
        ({"title": "t" * 201, "reason": "too long"}, "title", "at most 200"),
        ({"title": "a\x00b title", "reason": "nul in title"}, "title", "NUL"),
        ({"summary": "s" * 5001, "reason": "too long"}, "summary", "at most 5000"),
        ({"summary": "nul\x00", "reason": "nul in summary"}, "summary", "NUL"),
        ({"title": "Fine title", "reason": "why", "status": "open"}, "status", "Extra"),
    ],
)
def test_bad_amendments_are_refused_naming_the_field(
    fields: dict[str, object], field: str, *, says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        CaseAmendIn.model_validate(fields)
    assert [e["loc"] for e in refused.value.errors()] == [(field,)]
    assert says in str(refused.value)


def test_bad_removals_are_refused_naming_the_field() -> None:
    for fields, field in [
        ({"incident_ids": [], "reason": "why not"}, "incident_ids"),
        ({"incident_ids": ["x"], "reason": "no"}, "reason"),
        ({"incident_ids": ["x"], "reason": "x" * 501}, "reason"),
        ({"incident_ids": ["x"]}, "reason"),
    ]:
        with pytest.raises(ValidationError) as refused:
            IncidentsRemovalIn.model_validate(fields)
        assert refused.value.errors()[0]["loc"] == (field,)
    twice = IncidentsRemovalIn(incident_ids=["x", "y", "x"], reason="dedup")
    assert twice.incident_ids == ["x", "y"]


def test_removing_an_incident_keeps_the_link_in_the_history(db: Database) -> None:
    a, b, c = add_incident(db), add_incident(db), add_incident(db)
    case = _open(db, a, b, c)
    after = _remove(db, case.id, c, b, reason="different clinic, linked by mistake")
    assert after.incident_ids == [a]
    event = after.events[-1]
    assert event.kind is cases.CaseEventKind.INCIDENT_REMOVED
    assert event.detail == {
        "incident_ids": [c, b],
        "reason": "different clinic, linked by mistake",
    }
    with db.read() as session:
        row = session.get(CaseEventRow, event.id)
        assert row is not None and _leaf_covers(session, row)
        assert "case.incident_removed" in set(session.scalars(select(AuditEventRow.action)))
    # the removed incident can be added back; both acts stay in the history
    back = db.write(lambda s: cases.add_incidents(s, case.id, incident_ids=[b], actor=SYSTEM))
    assert back.incident_ids == sorted([a, b])
    assert [e.kind.value for e in back.events] == [
        "case_opened", "incident_removed", "incident_added"
    ]  # fmt: skip


def test_removal_refuses_the_last_incident_and_strangers(db: Database) -> None:
    a, b, stranger = add_incident(db), add_incident(db), add_incident(db)
    single = _open(db, a)
    pair = _open(db, a, b)
    before = _counts(db)
    with pytest.raises(InvalidInput, match="without an incident") as last:
        _remove(db, single.id, a, reason="would empty it")
    assert "incident_ids" in last.value.fields
    with pytest.raises(InvalidInput, match="without an incident"):
        _remove(db, pair.id, b, a, reason="would empty it")
    with pytest.raises(InvalidInput, match=f"{stranger} is not in case") as missing:
        _remove(db, pair.id, b, stranger, reason="one is not there")
    assert missing.value.fields == {"incident_ids[1]": "not in the case"}
    with pytest.raises(InvalidInput, match="is not in case"):
        _remove(db, pair.id, "no-such-incident", reason="unknown")
    assert _counts(db) == before


def test_a_removed_incident_no_longer_counts_for_that_case(db: Database) -> None:
    a, b = add_incident(db), add_incident(db)
    case = _open(db, a, b)
    other = _open(db, b)
    db.write(
        lambda s: cases.add_event(
            s,
            case.id,
            data=cases.CaseEventIn(kind=cases.CaseEventKind.INVESTIGATION_OPENED, status="opened"),
            actor=SYSTEM,
        )
    )
    with db.read() as session:
        before = cases.case_coverage(session, [a, b])
    assert before[b].case_ids == sorted([case.id, other.id]) and before[b].has_investigation
    _remove(db, case.id, b, reason="linked by mistake")
    with db.read() as session:
        after = cases.case_coverage(session, [a, b])
    assert after[a].case_ids == [case.id] and after[a].has_investigation
    assert after[b].case_ids == [other.id] and not after[b].has_investigation
    db.write(lambda s: cases.add_incidents(s, other.id, incident_ids=[a], actor=SYSTEM))
    _remove(db, other.id, b, reason="linked by mistake too")
    with db.read() as session:
        assert b not in cases.case_coverage(session, [a, b])


def test_a_failed_correction_leaves_no_trace(db: Database) -> None:
    a, b = add_incident(db), add_incident(db)
    case = _open(db, a, b)
    before = _counts(db)

    def correct_then_fail(session: Session) -> None:
        data = CaseAmendIn(title="Half-done amendment", reason="will fail")
        cases.amend_case(session, case.id, data=data, actor=SYSTEM)
        removal = IncidentsRemovalIn(incident_ids=[b], reason="will fail")
        cases.remove_incidents(session, case.id, data=removal, actor=SYSTEM)
        raise Conflict("simulated failure after the corrections")

    with pytest.raises(Conflict, match="simulated"):
        db.write(correct_then_fail)
    assert _counts(db) == before
    with db.read() as session:
        kept = cases.get(session, case.id, actor=SYSTEM)
    assert (kept.title, kept.incident_ids) == (TITLE, sorted([a, b]))


def test_the_case_file_carries_the_corrections_and_verifies(
    db: Database, settings: Settings, *, tmp_path: Path
) -> None:
    a, b = add_incident(db), add_incident(db)
    case = _open(db, a, b)
    _amend(db, case.id, title="Strike on the test clinic (fictional)", reason="typo in the title")
    _amend(db, case.id, summary=f"{SUMMARY} Extended.", reason="extend the summary")
    _remove(db, case.id, b, reason="different clinic")
    contents = db.write(lambda s: case_files.build(s, settings, case_id=case.id, actor=SYSTEM))
    out = tmp_path / "corrected.zip"
    case_files.write_zip(settings, contents, out=out)
    run = standalone_verifier(out, tmp_path / "fresh")
    assert run.returncode == 0, run.stdout + run.stderr
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        record = json.loads(archive.read("case.json"))
        files = {h["kind"]: archive.read(h["file"]) for h in record["history"]}
        acts = [e["act"] for e in json.loads(archive.read("manifest.json"))["custody_events"]]
    kinds = [h["kind"] for h in record["history"]]
    assert kinds == ["case_opened", "case_amended", "case_amended", "incident_removed"]
    assert record["case"]["title"] == "Strike on the test clinic (fictional)"
    assert record["case"]["summary"] == f"{SUMMARY} Extended."
    assert record["case"]["incident_ids"] == [a]
    assert record["history"][1]["detail"]["before"] == {"title": TITLE}
    assert record["history"][3]["detail"] == {"incident_ids": [b], "reason": "different clinic"}
    assert f"incidents/{a}/incident.json" in names
    assert not any(n.startswith(f"incidents/{b}/") for n in names)
    assert acts.count("case.updated") == 3
    with db.read() as session:
        rows = session.scalars(
            select(CaseEventRow).where(
                CaseEventRow.case_id == case.id, CaseEventRow.kind == "incident_removed"
            )
        ).all()
        assert files["incident_removed"] == record_bytes(rows[0])
        assert custody_check.verify(session, settings).ok


def test_corrections_over_http(client: TestClient, db: Database) -> None:
    verifier = {"Authorization": f"Bearer {make_token(db, 'fix-verifier', role=Role.VERIFIER)}"}
    analyst = {"Authorization": f"Bearer {make_token(db, 'fix-analyst', role=Role.ANALYST)}"}
    a, b = add_incident(db), add_incident(db)
    made = client.post(
        "/api/cases", json={"title": TITLE, "incident_ids": [a, b]}, headers=verifier
    )
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    amend = {"title": "Strike on the test clinic (fictional)", "reason": "typo"}
    assert (
        client.post(f"/api/cases/{case_id}/amend", json=amend, headers=analyst).status_code == 403
    )
    short = client.post(
        f"/api/cases/{case_id}/amend", json={**amend, "reason": "no"}, headers=verifier
    )
    assert short.status_code == 422 and "reason" in short.json()["error"]["fields"]
    fixed = client.post(
        f"/api/cases/{case_id}/amend",
        json={**amend, "reason": "typo in the title"},
        headers=verifier,
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["title"] == amend["title"]
    same = client.post(
        f"/api/cases/{case_id}/amend", json={**amend, "reason": "again"}, headers=verifier
    )
    assert same.status_code == 422 and same.json()["error"]["fields"] == {
        "title": "same as the current title"
    }
    removal = {"incident_ids": [b], "reason": "linked by mistake"}
    removed = client.post(f"/api/cases/{case_id}/incidents/remove", json=removal, headers=verifier)
    assert removed.status_code == 200, removed.text
    last = client.post(
        f"/api/cases/{case_id}/incidents/remove", json={**removal, "incident_ids": [a]},
        headers=verifier,
    )  # fmt: skip
    assert last.status_code == 422 and "incident_ids" in last.json()["error"]["fields"]
    shown = client.get(f"/api/cases/{case_id}", headers=verifier).json()
    assert [e["kind"] for e in shown["events"]] == [
        "case_opened", "case_amended", "incident_removed"
    ]  # fmt: skip
    assert shown["incident_ids"] == [a] and shown["events"][1]["detail"]["reason"] == (
        "typo in the title"
    )
    client.post(
        f"/api/cases/{case_id}/status",
        json={"status": "closed", "outcome": "not_pursued"},
        headers=verifier,
    )
    closed = client.post(
        f"/api/cases/{case_id}/amend", json={"summary": "late", "reason": "late"}, headers=verifier
    )
    assert closed.status_code == 409 and "reopen it first" in closed.text


def test_corrections_from_the_cli(sqlite_settings: Settings) -> None:
    db = open_database(sqlite_settings)
    try:
        a, b = add_incident(db), add_incident(db)
        case_id = _open(db, a, b).id
    finally:
        db.close()
    runner = CliRunner()
    base = ["--data-dir", str(sqlite_settings.data_dir), "cases"]
    amended = runner.invoke(
        cli,
        [*base, "amend", str(case_id), "--summary", "Extended (fictional).", "--reason",
         "extend the summary"],
    )  # fmt: skip
    assert amended.exit_code == 0, amended.output
    assert "summary: Extended (fictional)." in amended.output
    assert "case_amended" in amended.output and "extend the summary" in amended.output
    nothing = runner.invoke(cli, [*base, "amend", str(case_id), "--reason", "nothing given"])
    assert isinstance(nothing.exception, InvalidInput) and "title" in nothing.exception.fields
    short = runner.invoke(cli, [*base, "amend", str(case_id), "--title", "New", "--reason", "x"])
    assert isinstance(short.exception, InvalidInput) and "reason" in short.exception.fields
    removed = runner.invoke(
        cli, [*base, "remove-incidents", str(case_id), b, "--reason", "linked by mistake"]
    )
    assert removed.exit_code == 0, removed.output
    assert f"incidents: {a}\n" in removed.output and "incident_removed" in removed.output
    last = runner.invoke(cli, [*base, "remove-incidents", str(case_id), a, "--reason", "empty"])
    assert isinstance(last.exception, InvalidInput)
    assert last.exception.exit_code == 65 and "without an incident" in last.exception.cli_line()
