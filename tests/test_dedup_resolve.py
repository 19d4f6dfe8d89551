"""The automatic-merge rule: the clear best candidate only, never two reports of one file."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from haven.db import Database
from haven.dedup_resolve import pick_merge, resolve
from haven.dedup_score import MERGE_MARGIN, MERGE_THRESHOLD
from tests.test_dedup import _consolidate, _listed, _report, _submit


def test_no_candidate_or_a_weak_one_is_never_merged() -> None:
    assert pick_merge([]) is None
    assert pick_merge([MERGE_THRESHOLD - 0.01]) is None
    assert pick_merge([0.02, MERGE_THRESHOLD]) == 1


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


def test_an_incident_takes_one_report_per_file_and_merges_do_not_chain() -> None:
    pairs = (np.array([0, 0, 1, 1]), np.array([1, 2, 2, 3]))
    score = np.array([0.9, 0.8, 0.9, 0.9])
    label = resolve(4, pairs, score=score, feed=["who", "shcc", "shcc", "awsd"])
    # 1 joins 0; 2 (shcc again) may not join incident 0 and 1 is no longer an incident;
    # 3 is compared only with open incidents: 1 was merged, so it opens its own.
    assert label.tolist() == [0, 0, 2, 3]


def test_resolve_leaves_an_ambiguous_report_alone() -> None:
    pairs = (np.array([0, 1]), np.array([2, 2]))
    label = resolve(3, pairs, score=np.array([0.9, 0.88]), feed=["who", "who", "partner"])
    assert label.tolist() == [0, 1, 2]


def test_the_database_suggests_both_when_two_incidents_fit_equally(db: Database) -> None:
    first = _submit(db, _report(source={"name": "clinic A form", "kind": "form"}))
    twin = _submit(db, _report(source={"name": "clinic B form", "kind": "form"}))
    late = _submit(db, _report(source={"name": "media monitoring", "kind": "media"}))
    outcome = _consolidate(db, late)
    assert outcome.merge is None
    assert {s.candidate_id for s in outcome.suggestions} >= {first, twin}
    assert _listed(db) == {first, twin, late}
