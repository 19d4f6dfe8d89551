"""The automatic-merge rule: the clear best candidate only, never two reports of one file."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from haven.db import Database
from haven.dedup_resolve import best_by_incident, pick_merge, resolve
from haven.dedup_score import MERGE_MARGIN, MERGE_THRESHOLD
from tests.test_dedup import _consolidate, _listed, _report, _submit


def test_no_candidate_or_a_weak_one_is_never_merged() -> None:
    assert pick_merge([]) is None
    assert pick_merge([MERGE_THRESHOLD - 0.01]) is None
    assert pick_merge([0.0, MERGE_THRESHOLD]) == 1


def test_two_candidates_that_fit_about_equally_are_left_to_a_verifier() -> None:
    assert pick_merge([0.9, 0.9 - MERGE_MARGIN / 2]) is None
    assert pick_merge([0.9 - MERGE_MARGIN - 0.01, 0.9]) == 1


@given(st.lists(st.floats(0, 1), max_size=12))
def test_the_merge_is_the_best_and_clear_of_every_other(scores: list[float]) -> None:
    chosen = pick_merge(scores)
    if chosen is None:
        ordered = sorted(scores, reverse=True)
        assert (
            not ordered
            or ordered[0] < MERGE_THRESHOLD
            or (len(ordered) > 1 and ordered[0] - ordered[1] < MERGE_MARGIN)
        )
        return
    assert scores[chosen] == max(scores) >= MERGE_THRESHOLD
    assert all(scores[chosen] - s >= MERGE_MARGIN for k, s in enumerate(scores) if k != chosen)


def test_an_incident_takes_one_report_per_file_and_is_found_through_any_report() -> None:
    pairs = (np.array([0, 0, 1, 1]), np.array([1, 2, 2, 3]))
    score = np.array([0.9, 0.8, 0.9, 0.9])
    label = resolve(
        4,
        pairs,
        score=score,
        comparable=np.zeros(4, np.int64),
        feed=["who", "shcc", "shcc", "awsd"],
    )
    # 1 joins 0; 2 (shcc again) may not join incident 0, which holds an shcc report;
    # 3 meets only report 1, now a member of incident 0, and joins it through 1.
    assert label.tolist() == [0, 0, 2, 0]


def test_a_member_without_a_narrative_does_not_outvote_one_that_disagrees() -> None:
    # Report 2 scores low against 0 (narratives compared: they differ) and high against
    # 1, a member of 0's incident that has no narrative (only the place compared).
    pairs = (np.array([0, 0, 1]), np.array([1, 2, 2]))
    score = np.array([0.9, 0.01, 0.9])
    fullness = np.array([2, 2, 1])
    label = resolve(3, pairs, score=score, comparable=fullness, feed=["awsd", "shcc", "who"])
    assert label.tolist() == [0, 0, 2]
    same = resolve(3, pairs, score=score, comparable=np.ones(3, np.int64), feed=["a", "b", "c"])
    assert same.tolist() == [0, 0, 0]


def test_best_by_incident_scores_each_incident_by_its_best_comparable_report() -> None:
    best = best_by_incident(["x", "y", "x", "y"], [0.2, 0.5, 0.7, 0.9], comparable=[1, 1, 1, 0])
    assert best == {"x": 2, "y": 1}


def test_resolve_leaves_an_ambiguous_report_alone() -> None:
    pairs = (np.array([0, 1]), np.array([2, 2]))
    label = resolve(
        3,
        pairs,
        score=np.array([0.9, 0.88]),
        comparable=np.zeros(2, np.int64),
        feed=["who", "who", "partner"],
    )
    assert label.tolist() == [0, 1, 2]


def test_the_database_suggests_both_when_two_incidents_fit_equally(db: Database) -> None:
    first = _submit(db, _report(source={"name": "clinic A form", "kind": "form"}))
    twin = _submit(db, _report(source={"name": "clinic B form", "kind": "form"}))
    late = _submit(db, _report(source={"name": "media monitoring", "kind": "media"}))
    outcome = _consolidate(db, late)
    assert outcome.merge is None
    assert {s.candidate_id for s in outcome.suggestions} >= {first, twin}
    assert _listed(db) == {first, twin, late}
