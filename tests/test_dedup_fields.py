"""Deduplication on WHO SSA's structured fields: time of day, facility type, detention counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from haven import dedup, reports
from haven.accounts import SYSTEM
from haven.db import Database
from haven.dedup_candidates import DedupFacts, DedupRecords, candidate_pairs, detained_count
from haven.dedup_score import FEATURES, MODEL, features, link, score_features, structured_only
from haven.geo import LonLat
from haven.models import ReportRow, SourceRow
from haven.taxonomy import DatePrecision, GeoPrecision, SsaAttackType, SsaFacilityType
from tests.test_dedup import _consolidate, _report, _submit

AT = datetime(2024, 2, 7, 14, 0, tzinfo=UTC)
ROW = DedupFacts(
    occurred_at=AT,
    date_precision=DatePrecision.EXACT,
    location=None,
    geo_precision=None,
    country="PSE",
    attack_types=(SsaAttackType.INDIVIDUAL_WEAPONS,),
    killed=1,
    injured=2,
    facility_type=SsaFacilityType.PRIMARY.value,
    detained=2,
)
"""A WHO SSA row as deduplication sees it: no place, no narrative."""
DAY_ONLY = replace(
    ROW, occurred_at=AT.replace(hour=0), date_precision=DatePrecision.DAY, facility_type=None
)


def _score(a: DedupFacts, b: DedupFacts) -> float:
    scored = link(DedupRecords.from_facts([a, b]))
    assert len(scored.score) == 1
    return float(scored.score[0])


def _feature(a: DedupFacts, b: DedupFacts, *, name: str) -> float:
    matrix = features(DedupRecords.from_facts([a, b]), (np.array([0]), np.array([1])))
    return float(matrix[0, FEATURES.index(name)])


def test_facility_type_disagreement_lowers_the_score() -> None:
    same = replace(ROW, occurred_at=AT + timedelta(hours=1))
    other = replace(same, facility_type=SsaFacilityType.TERTIARY.value)
    assert _feature(ROW, same, name="facility_same") == 1.0
    assert _feature(ROW, other, name="facility_differ") == 1.0
    assert _score(ROW, other) < _score(ROW, same)


def test_structured_pairs_with_matching_time_and_facility_score_above_those_without() -> None:
    told = replace(ROW, occurred_at=AT + timedelta(minutes=30))
    assert _feature(ROW, told, name="clock") > 0.8
    assert _feature(ROW, DAY_ONLY, name="no_clock") == 1.0
    assert _score(ROW, told) > _score(ROW, DAY_ONLY)
    far_apart = replace(told, occurred_at=AT.replace(hour=2))
    assert _feature(ROW, far_apart, name="clock") == 0.0
    assert _score(ROW, far_apart) < _score(ROW, told)


def test_detention_counts_that_agree_raise_the_score() -> None:
    same = replace(ROW, occurred_at=AT.replace(hour=0), date_precision=DatePrecision.DAY)
    none = replace(same, detained=0)
    assert _feature(ROW, same, name="detained") == 1.0
    assert _feature(ROW, none, name="detained") == 0.0
    assert _score(ROW, same) > _score(ROW, none)


def test_detained_count_reads_health_workers_and_patients_only() -> None:
    casualties = {
        "health_workers": {"kidnapped": 1, "arrested": 2, "killed": 4},
        "patients": {"detained": 3},
        "aid_workers_national": {"kidnapped": 5},
    }
    assert detained_count(casualties) == 6
    assert detained_count({}) == 0


def test_structured_only_pairs_are_scored_by_their_own_weights() -> None:
    located = replace(ROW, location=LonLat(34.45, 31.5), geo_precision=GeoPrecision.EXACT)
    records = DedupRecords.from_facts([ROW, DAY_ONLY, located])
    matrix = features(records, (np.array([0, 0]), np.array([1, 2])))
    assert structured_only(matrix).tolist() == [True, True]  # a point on one side only
    with_narrative = replace(located, narrative="Shots were fired at the clinic.")
    both = DedupRecords.from_facts([located, with_narrative])
    pair = features(both, (np.array([0]), np.array([1])))
    assert not structured_only(pair)[0]
    expected = 1 / (1 + np.exp(-(matrix[0] @ MODEL.structured_weights + MODEL.structured_bias)))
    assert np.isclose(score_features(matrix)[0], expected)
    general = 1 / (1 + np.exp(-(pair[0] @ MODEL.weights + MODEL.bias)))
    assert np.isclose(score_features(pair)[0], general)


def test_points_known_only_to_the_province_are_still_compared() -> None:
    province = replace(
        ROW,
        date_precision=DatePrecision.DAY,
        location=LonLat(34.36, 31.44),
        geo_precision=GeoPrecision.PROVINCE,
    )
    moved = replace(province, location=LonLat(35.70, 32.18))  # 180 km: within 250 km
    elsewhere = replace(moved, location=LonLat(34.46, 31.50), geo_precision=GeoPrecision.EXACT)
    i, j = candidate_pairs(DedupRecords.from_facts([province, moved, elsewhere]))
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == {(0, 1), (0, 2), (1, 2)}


def _who_row(**changes: Any) -> reports.ReportIn:
    values: dict[str, Any] = {
        "source": {"name": "WHO SSA export", "kind": "dataset"},
        "occurred_at": AT.isoformat(),
        "date_precision": "exact",
        "location": None,
        "geo_precision": None,
        "location_name": None,
        "admin1": None,
        "narrative": "",
        "attack_types": [SsaAttackType.INDIVIDUAL_WEAPONS.value],
        "casualties": {"others": {"killed": 1, "injured": 2}},
    }
    values.update(changes)
    return _report(**values)


def test_the_database_matches_on_facility_type_and_detentions(db: Database) -> None:
    detained = {"others": {"killed": 1, "injured": 2}, "health_workers": {"detained": 2}}
    primary = _submit(db, _who_row(facility_type="Primary", casualties=detained))
    tertiary = _submit(db, _who_row(facility_type="Tertiary"))
    partner = _submit(
        db,
        _who_row(
            source={"name": "partner file", "kind": "form"},
            facility_type="Primary",
            casualties=detained,
        ),
    )
    outcome = _consolidate(db, partner)
    assert outcome.merge is not None and outcome.merge.kept_incident_id == primary
    undone = db.write(lambda s: dedup.undo_merge(s, outcome.merge.id, actor=SYSTEM))  # type: ignore[union-attr]
    assert undone.undone
    queued = db.write(lambda s: dedup.consolidate(s, partner, actor=SYSTEM))
    scores = {s.candidate_id: s for s in queued.suggestions}
    below = scores[tertiary].score if tertiary in scores else 0.0  # under SUGGEST_THRESHOLD
    assert scores[primary].score > below
    assert scores[primary].features["facility_same"] == 1.0
    assert scores[primary].features["detained"] == 1.0


AID_WORKERS_SHOT = (
    "Gunmen shot at an ambulance crew near the clinic in Khan Younis, killing a paramedic; "
    "two colleagues were taken away."
)
CREW_FIRED_ON = (
    "Gunmen opened fire on a paramedic crew near a primary health clinic in Khan Younis; one "
    "paramedic killed, two injured, two health workers detained."
)
CREW_TOLL = {"health_workers": {"killed": 1, "injured": 2, "detained": 2}}


def _sources(db: Database, incident_id: str) -> list[str]:
    with db.read() as session:
        return sorted(
            session.scalars(
                select(SourceRow.name)
                .join(ReportRow, ReportRow.source_id == SourceRow.id)
                .where(ReportRow.incident_id == incident_id)
            )
        )


def test_a_structured_row_joins_an_incident_through_the_report_it_matches(db: Database) -> None:
    placed = {"location": {"lon": 34.45, "lat": 31.5}, "geo_precision": 1}
    awsd = _submit(
        db,
        _who_row(
            source={"name": "AWSD", "kind": "dataset"},
            occurred_at=AT.replace(hour=0).isoformat(),
            date_precision="day",
            **placed,
            location_name="Khan Younis",
            admin1="Gaza Strip",
            narrative=AID_WORKERS_SHOT,
            casualties={"aid_workers_national": {"killed": 1}},
        ),
    )
    shcc = _submit(
        db,
        _who_row(
            source={"name": "SHCC", "kind": "dataset"},
            **placed,
            location_name="Khan Younis",
            admin1="Gaza Strip",
            narrative=CREW_FIRED_ON,
            resources=["HC Transport"],
            facility_type="Primary",
            casualties=CREW_TOLL,
        ),
    )
    first = _consolidate(db, shcc).merge
    assert first is not None and first.kept_incident_id == awsd
    who = _submit(
        db,
        _who_row(
            source={"name": "WHO SSA", "kind": "dataset"},
            resources=["HC Transport"],
            facility_type="Primary",
            casualties=CREW_TOLL,
        ),
    )
    joined = _consolidate(db, who)
    assert joined.merge is not None and joined.incident_id == awsd
    assert _sources(db, awsd) == ["AWSD", "SHCC", "WHO SSA"]
    # Apart again, the WHO SSA row matches the SHCC report only: not the AWSD one that
    # opened the incident, which alone would never have let it in.
    for done in (joined.merge, first):
        db.write(lambda s, done=done: dedup.undo_merge(s, done.id, actor=SYSTEM))
    alone = db.write(lambda s: dedup.consolidate(s, who, actor=SYSTEM))
    assert [s.candidate_id for s in alone.suggestions] == [shcc]
