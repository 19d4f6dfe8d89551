"""A party's compliance record: attributions capped at the evidence, figures drillable to proof."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from haven import attributions, compliance, parties
from haven.accounts import SYSTEM, Role
from haven.attributions import AttributionIn
from haven.compliance import FigureKey
from haven.db import Database
from haven.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from haven.settings import Settings
from haven.taxonomy import Certainty, SsaAttackType
from tests.conftest import make_token
from tests.support.accountability import add_incident, notified_strike, set_certainty

LEVELS = list(Certainty)


def _party(db: Database, *, exercise: bool = False) -> int:
    data = parties.PartyIn(name=f"Party {uuid.uuid4().hex[:8]} (fictional)", exercise=exercise)
    return db.write(lambda s: parties.add(s, data, actor=SYSTEM)).id


def _attribute(db: Database, incident_id: str, *, party_id: int, claimed: Certainty) -> None:
    data = AttributionIn(
        party_id=party_id,
        source="Fictional partner report",
        basis="vehicle markings seen by two fictional witnesses",
        certainty=claimed,
    )
    db.write(lambda s: attributions.add(s, incident_id, data=data, actor=SYSTEM))


def test_shown_certainty_is_the_weaker_of_the_two() -> None:
    for claimed in LEVELS:
        for incident in LEVELS:
            shown = attributions.shown_certainty(claimed, incident=incident)
            assert shown.rank == min(claimed.rank, incident.rank)


@hypothesis_settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pairs=st.lists(
        st.tuples(st.sampled_from(LEVELS), st.sampled_from(LEVELS)), min_size=1, max_size=4
    )
)
def test_the_record_never_shows_an_attribution_above_the_incident(
    db: Database, pairs: list[tuple[Certainty, Certainty]]
) -> None:
    party_id = _party(db)
    expected: dict[str, Certainty] = {}
    over_claimed: dict[str, bool] = {}
    for incident_level, claimed in pairs:
        incident_id = add_incident(db)
        set_certainty(db, incident_id, certainty=incident_level)
        _attribute(db, incident_id, party_id=party_id, claimed=claimed)
        expected[incident_id] = min(incident_level, claimed, key=lambda c: c.rank)
        over_claimed[incident_id] = claimed.rank > incident_level.rank
    with db.read() as session:
        record = compliance.record(session, party_id, actor=SYSTEM)
        listed = {i: attributions.list_for_incident(session, i, actor=SYSTEM) for i in expected}
    assert {i.incident_id: i.certainty for i in record.incidents} == expected
    for item in record.incidents:
        assert item.certainty.rank <= item.incident_certainty.rank
        assert item.capped == over_claimed[item.incident_id]
    for group in record.by_certainty:
        for incident_id in group.incident_ids:
            assert group.certainty == expected[incident_id]
    for figure in record.figures:
        for level, count in figure.by_certainty.items():
            assert count == sum(1 for i in figure.incident_ids if expected[i] == level)
    for incident_id, found in listed.items():
        assert [a.certainty for a in found] == [expected[incident_id]]
        assert all(a.certainty.rank <= a.incident_certainty.rank for a in found)


def test_record_counts_strikes_after_acknowledgement_and_conduct(
    db: Database, settings: Settings
) -> None:
    scene = notified_strike(db, settings)
    set_certainty(db, scene.incident_id, certainty=Certainty.POSSIBLE)
    _attribute(db, scene.incident_id, party_id=scene.party_id, claimed=Certainty.CONFIRMED)
    blocked = add_incident(db, attack_types=[SsaAttackType.OBSTRUCTION.value])
    set_certainty(db, blocked, certainty=Certainty.CONFIRMED)
    _attribute(db, blocked, party_id=scene.party_id, claimed=Certainty.PROBABLE)
    occupied = add_incident(db, attack_types=[SsaAttackType.MILITARIZATION.value])
    set_certainty(db, occupied, certainty=Certainty.RUMOUR)
    _attribute(db, occupied, party_id=scene.party_id, claimed=Certainty.CONFIRMED)
    with db.read() as session:
        record = compliance.record(session, scene.party_id, actor=SYSTEM)
    assert "not a verdict" in record.statement
    assert record.attributed == 3
    groups = {g.certainty: g.incident_ids for g in record.by_certainty}
    assert groups == {
        Certainty.CONFIRMED: [],
        Certainty.PROBABLE: [blocked],
        Certainty.POSSIBLE: [scene.incident_id],
        Certainty.RUMOUR: [occupied],
    }
    figures = {f.key: f for f in record.figures}
    struck = figures[FigureKey.SITE_STRUCK_AFTER_ACK]
    assert struck.incident_ids == [scene.incident_id]
    assert struck.by_certainty[Certainty.POSSIBLE] == 1
    assert struck.by_certainty[Certainty.CONFIRMED] == 0
    assert figures[FigureKey.SITE_STRUCK_UNACKNOWLEDGED].count == 0
    assert figures[FigureKey.OBSTRUCTION].incident_ids == [blocked]
    assert figures[FigureKey.MILITARISATION].incident_ids == [occupied]
    by_id = {i.incident_id: i for i in record.incidents}
    hit = by_id[scene.incident_id]
    assert hit.capped and hit.certainty is Certainty.POSSIBLE
    assert len(hit.proof.notification_leaves) == 2  # the send and the acknowledgement
    assert hit.proof.package == f"/api/incidents/{scene.incident_id}/package"
    assert not by_id[blocked].capped and by_id[blocked].proof.notification_leaves == []
    other = _party(db)
    with db.read() as session:  # another party's record does not borrow this one's proof
        assert compliance.record(session, other, actor=SYSTEM).attributed == 0


def test_attribution_rules(db: Database) -> None:
    incident_id, drill = add_incident(db), add_incident(db, exercise=True)
    party_id = _party(db)
    _attribute(db, incident_id, party_id=party_id, claimed=Certainty.POSSIBLE)
    with pytest.raises(Conflict, match="already attributed"):
        _attribute(db, incident_id, party_id=party_id, claimed=Certainty.PROBABLE)
    with pytest.raises(InvalidInput, match="exercise"):
        _attribute(db, drill, party_id=party_id, claimed=Certainty.POSSIBLE)
    with pytest.raises(NotFound, match="no party"):
        _attribute(db, incident_id, party_id=999_999, claimed=Certainty.POSSIBLE)
    with pytest.raises(NotFound, match="no incident"):
        _attribute(db, "no-such-incident", party_id=party_id, claimed=Certainty.POSSIBLE)
    make_token(db, "attr-analyst", role=Role.ANALYST)
    from haven import accounts  # noqa: PLC0415

    with db.read() as session:
        analyst = accounts.actor_named(session, "attr-analyst")
    data = AttributionIn(party_id=party_id, source="x source", basis="y basis", certainty="rumour")
    with pytest.raises(PermissionDenied):
        db.write(lambda s: attributions.add(s, incident_id, data=data, actor=analyst))


def test_compliance_over_http(client: TestClient, db: Database) -> None:
    analyst = {"Authorization": f"Bearer {make_token(db, 'comp-analyst', role=Role.ANALYST)}"}
    verifier = {"Authorization": f"Bearer {make_token(db, 'comp-verifier', role=Role.VERIFIER)}"}
    party_id = _party(db)
    incident_id = add_incident(db)
    body = {
        "party_id": party_id,
        "source": "Fictional NGO bulletin",
        "basis": "claim of responsibility",
        "certainty": "confirmed",
    }
    url = f"/api/incidents/{incident_id}/attributions"
    assert client.post(url, json=body, headers=analyst).status_code == 403
    made = client.post(url, json=body, headers=verifier)
    assert made.status_code == 201, made.text
    assert made.json()["certainty"] == made.json()["incident_certainty"]  # capped at the evidence
    record = client.get(f"/api/parties/{party_id}/compliance", headers=analyst)
    assert record.status_code == 200
    payload = record.json()
    assert "not a verdict" in payload["statement"]
    assert [i["incident_id"] for i in payload["incidents"]] == [incident_id]
    missing = client.get("/api/parties/999999/compliance", headers=analyst)
    assert missing.status_code == 404
