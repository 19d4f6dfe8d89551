"""Deduplication: blocking, scoring, automatic and suggested merges, undo, and need-to-know."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from haven import accounts, dedup, incidents, reports
from haven.accounts import SYSTEM, Role
from haven.app import create_app
from haven.db import Database
from haven.dedup_candidates import DedupFacts, DedupRecords, candidate_pairs
from haven.dedup_score import MERGE_THRESHOLD, SUGGEST_THRESHOLD, link
from haven.errors import InvalidInput, NotFound
from haven.geo import LonLat
from haven.models import AuditEventRow, MergeRow, MergeSuggestionRow, ReportRow
from haven.settings import Settings
from haven.taxonomy import DatePrecision, GeoPrecision, SsaAttackType
from tests.conftest import make_token

AT = datetime(2024, 1, 15, 9, tzinfo=UTC)
HOSPITAL = LonLat(34.45, 31.50)
STORY = "An airstrike hit Al-Amal hospital in Khan Younis, killing 3 staff and wounding 5 patients."
RETOLD = "Airstrike hit Al-Amal hospital in Khan Younis: 3 staff killed and 5 patients wounded."
OTHER_STORY = "Soldiers raided the hospital and detained a doctor at the gate."

BASE = DedupFacts(
    occurred_at=AT,
    date_precision=DatePrecision.DAY,
    location=HOSPITAL,
    geo_precision=GeoPrecision.EXACT,
    country="PSE",
    admin1="Gaza Strip",
    attack_types=(SsaAttackType.HEAVY_WEAPONS,),
    killed=3,
    injured=5,
    name="Al-Amal Hospital",
    narrative=STORY,
)


def _pairs(*facts: DedupFacts) -> set[tuple[int, int]]:
    i, j = candidate_pairs(DedupRecords.from_facts(list(facts)))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def test_blocking_respects_date_precision() -> None:
    later = replace(BASE, occurred_at=AT + timedelta(days=10))
    assert _pairs(BASE, later) == set()
    by_month = replace(later, date_precision=DatePrecision.MONTH)
    assert _pairs(BASE, by_month) == {(0, 1)}


def test_blocking_respects_geo_precision() -> None:
    away = replace(BASE, location=LonLat(34.45, 31.68))  # 20 km north
    assert _pairs(BASE, away) == set()
    coarse = replace(away, geo_precision=GeoPrecision.NEAR_25KM)
    assert _pairs(BASE, coarse) == {(0, 1)}
    unplaced = replace(BASE, location=None, geo_precision=None)
    assert _pairs(BASE, unplaced) == {(0, 1)}


def test_blocking_never_pairs_countries_exercise_or_unlike_attacks() -> None:
    assert _pairs(BASE, replace(BASE, country="ISR")) == set()
    assert _pairs(BASE, replace(BASE, exercise=True)) == set()
    detention = (SsaAttackType.ABDUCTION_ARREST_DETENTION,)
    assert _pairs(BASE, replace(BASE, attack_types=detention)) == set()


def test_scoring_orders_duplicates_above_hard_negatives() -> None:
    duplicate = replace(
        BASE, location=LonLat(34.452, 31.501), name="al-amal hospital", narrative=RETOLD
    )
    same_place_next_days = replace(
        BASE,
        occurred_at=AT + timedelta(days=2),
        attack_types=(SsaAttackType.INDIVIDUAL_WEAPONS,),
        killed=0,
        injured=1,
        narrative=OTHER_STORY,
    )
    scored = link(DedupRecords.from_facts([BASE, duplicate, same_place_next_days]))
    score = {
        (int(a), int(b)): float(s)
        for a, b, s in zip(scored.left, scored.right, scored.score, strict=True)
    }
    assert score[(0, 1)] >= MERGE_THRESHOLD
    assert score[(0, 2)] < SUGGEST_THRESHOLD
    assert score[(0, 1)] > score[(1, 2)]


def _report(**changes: Any) -> reports.ReportIn:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "source": {"name": "partner form", "kind": "form"},
        "occurred_at": AT.isoformat(),
        "date_precision": "day",
        "location": {"lon": HOSPITAL.lon, "lat": HOSPITAL.lat},
        "geo_precision": 1,
        "country": "PSE",
        "admin1": "Gaza Strip",
        "location_name": "Al-Amal Hospital",
        "attack_types": [SsaAttackType.HEAVY_WEAPONS.value],
        "casualties": {"health_workers": {"killed": 3}, "patients": {"injured": 5}},
        "narrative": STORY,
        "tlp": "amber",
    }
    values.update(changes)
    return reports.ReportIn.model_validate(values)


def _submit(db: Database, report: reports.ReportIn, *, actor: accounts.Actor = SYSTEM) -> str:
    return db.write(lambda s: reports.submit(s, report, actor=actor)).incident_id


def _consolidate(
    db: Database, incident_id: str, *, actor: accounts.Actor = SYSTEM
) -> dedup.DedupOutcome:
    return db.write(lambda s: dedup.consolidate(s, incident_id, actor=actor, auto_merge=True))


def _listed(db: Database) -> set[str]:
    with db.read() as session:
        page = incidents.list_incidents(session, incidents.IncidentFilter(), actor=SYSTEM)
    return {i.id for i in page.items}


def test_automatic_merge_is_recorded_hidden_and_undoable(db: Database) -> None:
    first = _submit(db, _report())
    second = _submit(
        db,
        _report(
            narrative=RETOLD,
            location={"lon": 34.452, "lat": 31.501},
            source={"name": "media monitoring", "kind": "media"},
        ),
    )
    outcome = _consolidate(db, second)
    assert outcome.merge is not None and outcome.merge.automatic
    assert outcome.incident_id == first
    assert _listed(db) == {first}
    with db.read() as session, pytest.raises(NotFound):
        incidents.get(session, second, actor=SYSTEM)
    with db.read() as session:
        moved = session.scalars(select(ReportRow).where(ReportRow.incident_id == first)).all()
        sources = {r.id: r.source_id for r in moved}
        assert len(moved) == 2
        assert session.get(MergeRow, outcome.merge.id) is not None

    undone = db.write(lambda s: dedup.undo_merge(s, outcome.merge.id, actor=SYSTEM))  # type: ignore[union-attr]
    assert undone.undone
    assert _listed(db) == {first, second}
    with db.read() as session:
        back = session.scalars(select(ReportRow).where(ReportRow.incident_id == second)).all()
        assert [r.id for r in back] == undone.moved_report_ids
        assert all(sources[r.id] == r.source_id for r in back)  # provenance kept
        actions = set(session.scalars(select(AuditEventRow.action)))
    assert {"incident.merge", "incident.merge_undo"} <= actions


def test_grey_zone_queues_a_suggestion_and_a_verifier_decides(db: Database) -> None:
    first = _submit(db, _report())
    second = _submit(
        db,
        _report(
            narrative="",
            location_name=None,
            admin1=None,
            location={"lon": 34.46, "lat": 31.505},
            occurred_at=(AT + timedelta(days=2)).isoformat(),
            attack_types=[SsaAttackType.INDIVIDUAL_WEAPONS.value],
            casualties={"health_workers": {"killed": 2}},
        ),
    )
    outcome = _consolidate(db, second)
    assert outcome.merge is None
    assert [(s.incident_id, s.candidate_id) for s in outcome.suggestions] == [(second, first)]
    with db.read() as session:
        listed = dedup.suggestions(session, actor=SYSTEM)
    assert [s.id for s in listed] == [outcome.suggestions[0].id]
    decided = db.write(
        lambda s: dedup.decide_suggestion(
            s, listed[0].id, verdict=dedup.SuggestionVerdict.ACCEPT, actor=SYSTEM
        )
    )
    assert decided.status == "accepted"
    assert _listed(db) == {first}
    with db.read() as session:
        assert session.scalar(select(MergeSuggestionRow.decided_by)) == "system"


def test_exercise_and_real_records_never_merge(db: Database) -> None:
    real = _submit(db, _report())
    drill = _submit(db, _report(exercise=True))
    assert _consolidate(db, drill) == dedup.DedupOutcome(incident_id=drill)
    with pytest.raises(InvalidInput):
        db.write(lambda s: dedup.merge(s, real, merged=drill, actor=SYSTEM))
    other_country = _submit(db, _report(country="ISR", location=None, geo_precision=None))
    with pytest.raises(InvalidInput):
        db.write(lambda s: dedup.merge(s, real, merged=other_country, actor=SYSTEM))


def _user(db: Database, name: str, *, organisation: str) -> accounts.Actor:
    def make(session: Any) -> accounts.Actor:
        accounts.add_user(
            session,
            name,
            role=Role.VERIFIER,
            organisation=organisation,
            password=None,
            actor=SYSTEM,
        )
        return accounts.actor_named(session, name)

    return db.write(make)


def test_hidden_incidents_are_not_candidates(db: Database) -> None:
    alpha = _user(db, "alpha-verifier", organisation="Alpha Clinics")
    beta = _user(db, "beta-verifier", organisation="Beta Relief")
    hidden = _submit(db, _report(), actor=alpha)  # TLP:AMBER, Alpha's own
    mine = _submit(db, _report(narrative=RETOLD), actor=beta)
    assert _consolidate(db, mine, actor=beta) == dedup.DedupOutcome(incident_id=mine)
    with pytest.raises(NotFound):
        db.write(lambda s: dedup.merge(s, mine, merged=hidden, actor=beta))
    assert _consolidate(db, mine, actor=SYSTEM).merge is not None


def test_importer_hook_merges_a_duplicate(db: Database) -> None:
    first = _submit(db, _report())
    hook = dedup.after_submit(SYSTEM, auto_merge=True)
    merged = db.write(lambda s: hook(s, reports.submit(s, _report(narrative=RETOLD), actor=SYSTEM)))
    assert merged
    assert _listed(db) == {first}


def test_rows_of_one_published_dataset_never_merge_with_each_other(db: Database) -> None:
    dataset = {"name": "a published dataset", "kind": "dataset"}
    first = _submit(db, _report(source=dataset))
    second = _submit(db, _report(source=dataset, narrative=RETOLD))
    assert _consolidate(db, second) == dedup.DedupOutcome(incident_id=second)
    assert _listed(db) == {first, second}


def test_api_submit_consolidates_when_the_setting_is_on(settings: Settings, db: Database) -> None:
    token = make_token(db, "dedup-analyst")
    app = create_app(
        settings.model_copy(update={"dedup_on_submit": True, "dedup_auto_merge": True}), db=db
    )
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        first = client.post("/api/reports", json=_report().model_dump(mode="json"), headers=headers)
        again = _report(narrative=RETOLD).model_dump(mode="json")
        second = client.post("/api/reports", json=again, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json()["incident_id"] == first.json()["incident_id"]


def test_without_auto_merge_a_sure_duplicate_waits_for_a_verifier(db: Database) -> None:
    first = _submit(db, _report())
    second = _submit(db, _report(narrative=RETOLD))
    outcome = db.write(lambda s: dedup.consolidate(s, second, actor=SYSTEM))
    assert outcome.merge is None
    assert [(s.incident_id, s.candidate_id) for s in outcome.suggestions] == [(second, first)]
    assert _listed(db) == {first, second}


def test_an_incident_is_found_through_a_later_report_nearer_in_time(db: Database) -> None:
    first = _submit(db, _report(source={"name": "clinic A form", "kind": "form"}))
    three_days_on = (AT + timedelta(days=3)).isoformat()
    second = _submit(
        db, _report(source={"name": "clinic B form", "kind": "form"}, occurred_at=three_days_on)
    )
    assert _consolidate(db, second).incident_id == first
    # Six days after the first report, too far from it to be compared; near the second.
    six_days_on = (AT + timedelta(days=6)).isoformat()
    late = _submit(
        db, _report(source={"name": "media monitoring", "kind": "media"}, occurred_at=six_days_on)
    )
    outcome = _consolidate(db, late)
    assert outcome.merge is not None and outcome.incident_id == first
    assert _listed(db) == {first}
