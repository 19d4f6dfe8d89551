"""Parties' type and commitments: sourced, audited, exercise kept apart, readable by analysts."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from haven import accounts, commitments, parties
from haven.accounts import SYSTEM, Role
from haven.cli import cli
from haven.commitments import CommitmentIn, PartyType
from haven.db import Database, open_database
from haven.errors import InvalidInput, NotFound, PermissionDenied
from haven.models import AuditEventRow
from haven.settings import Settings
from tests.conftest import make_token


def _party(db: Database, *, exercise: bool = False) -> int:
    data = parties.PartyIn(name=f"Party {uuid.uuid4().hex[:8]} (fictional)", exercise=exercise)
    return db.write(lambda s: parties.add(s, data, actor=SYSTEM)).id


def _commitment(**changes: object) -> CommitmentIn:
    base: dict[str, object] = {
        "kind": "declaration",
        "title": "Fictional declaration on the protection of health care",
        "made_on": "2024-05-01",
        "source_url": "https://example.org/declaration",
    }
    return CommitmentIn.model_validate(base | changes)


def test_commitments_are_listed_oldest_first_with_the_party_type(db: Database) -> None:
    party_id = _party(db)
    for made_on, kind in (("2024-06-01", "agreement"), ("2023-01-15", "declaration")):
        data = _commitment(kind=kind, made_on=made_on)
        db.write(lambda s, d=data: commitments.add(s, party_id, data=d, actor=SYSTEM))
    undated = _commitment(kind="deconfliction_participation", made_on=None, source_url=None,
                          reference="Fictional HNS mechanism, membership list")  # fmt: skip
    db.write(lambda s: commitments.add(s, party_id, data=undated, actor=SYSTEM))
    db.write(
        lambda s: commitments.set_party_type(
            s, party_id, party_type=PartyType.NON_STATE_ARMED_GROUP, actor=SYSTEM
        )
    )
    with db.read() as session:
        found = commitments.profile(session, party_id, actor=SYSTEM)
        actions = list(session.scalars(select(AuditEventRow.action)))
    assert found.party_type is PartyType.NON_STATE_ARMED_GROUP
    assert [c.kind.value for c in found.commitments] == [
        "declaration",
        "agreement",
        "deconfliction_participation",
    ]
    assert actions.count("commitment.add") == 3 and "party.set_type" in actions


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"source_url": None}, "source_url or a reference"),
        ({"made_on": "2150-01-01"}, "future"),
        ({"kind": "promise"}, "kind"),
        ({"source_url": "ftp://example.org/x"}, "http"),
        ({"made_on": 20240101}, "YYYY-MM-DD"),
    ],
)
def test_bad_commitments_are_refused(changes: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        _commitment(**changes)


def test_exercise_and_real_commitments_do_not_mix(db: Database) -> None:
    real, drill = _party(db), _party(db, exercise=True)
    with pytest.raises(InvalidInput, match="exercise"):
        db.write(lambda s: commitments.add(s, drill, data=_commitment(), actor=SYSTEM))
    with pytest.raises(InvalidInput, match="exercise"):
        db.write(lambda s: commitments.add(s, real, data=_commitment(exercise=True), actor=SYSTEM))
    with pytest.raises(NotFound, match="no party"):
        db.write(lambda s: commitments.add(s, 999_999, data=_commitment(), actor=SYSTEM))


def test_analysts_read_coordinators_record(client: TestClient, db: Database) -> None:
    analyst = {"Authorization": f"Bearer {make_token(db, 'c-analyst', role=Role.ANALYST)}"}
    coordinator = {
        "Authorization": f"Bearer {make_token(db, 'c-coordinator', role=Role.COORDINATOR)}"
    }
    party_id = _party(db)
    body = _commitment().model_dump(mode="json")
    url = f"/api/parties/{party_id}/commitments"
    assert client.post(url, json=body, headers=analyst).status_code == 403
    made = client.post(url, json=body, headers=coordinator)
    assert made.status_code == 201, made.text
    typed = client.post(
        f"/api/parties/{party_id}/type", json={"party_type": "state_forces"}, headers=coordinator
    )
    assert typed.status_code == 200
    read = client.get(url, headers=analyst).json()
    assert read["party_type"] == "state_forces"
    assert [c["title"] for c in read["commitments"]] == [body["title"]]
    bad = client.post(url, json={**body, "source_url": None}, headers=coordinator)
    assert bad.status_code == 422
    with db.read() as session:
        reporter = accounts.actor_named(session, "c-analyst")
    with pytest.raises(PermissionDenied):
        db.write(lambda s: commitments.set_party_type(s, party_id, party_type=PartyType.OTHER,
                                                       actor=reporter))  # fmt: skip


def test_commitments_cli(sqlite_settings: Settings, tmp_path: Path) -> None:
    db = open_database(sqlite_settings)
    try:
        party_id = _party(db)
    finally:
        db.close()
    base = ["--data-dir", str(sqlite_settings.data_dir)]
    runner = CliRunner()
    added = runner.invoke(
        cli,
        [*base, "commitments", "add", str(party_id), "--kind", "agreement", "--title",
         "Fictional humanitarian pause", "--made-on", "2024-11-02", "--url",
         "https://example.org/pause"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    typed = runner.invoke(cli, [*base, "commitments", "party-type", str(party_id), "state_forces"])
    assert typed.exit_code == 0, typed.output
    listed = runner.invoke(cli, [*base, "commitments", "list", str(party_id)])
    assert "(state_forces)" in listed.output and "Fictional humanitarian pause" in listed.output
    record = runner.invoke(cli, [*base, "compliance", str(party_id)])
    assert record.exit_code == 0 and "not a verdict" in record.output
