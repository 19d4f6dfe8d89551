"""The automatic-merge rule: the clear best candidate only, never two reports of one file.

Also the rules tried instead of it (``benchmarks/dedup_rules.py``, not adopted): they are
replayed through ``resolve(choose=...)``, so their figures rest on the same code path.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven.db import Database
from haven.dedup_resolve import best_by_incident, pick_merge, resolve
from haven.dedup_score import FEATURES, MERGE_MARGIN, MERGE_THRESHOLD
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


def test_resolve_replays_another_rule_with_the_pairs_each_candidate_scores_by() -> None:
    # Report 3 meets incident 0 through reports 0 and 1 (pairs 2 and 3) and report 2
    # (pair 4). Incident 0 scores by its better report, 1 (pair 3).
    pairs = (np.array([0, 0, 0, 1, 2]), np.array([1, 2, 3, 3, 3]))
    score = np.array([0.9, 0.0, 0.2, 0.6, 0.55])
    seen: list[tuple[list[float], list[int]]] = []

    def choose(scores: list[float], by: list[int]) -> int | None:
        seen.append((scores, by))
        return scores.index(max(scores)) if max(scores) >= 0.5 else None

    feed = ["awsd", "shcc", "who", "partner"]
    label = resolve(
        4, pairs, score=score, comparable=np.zeros(5, np.int64), feed=feed, choose=choose
    )
    assert seen == [([0.9], [0]), ([0.0], [1]), ([0.6, 0.55], [3, 4])]
    assert label.tolist() == [0, 0, 2, 0]
    # The margin rule in use refuses report 3 (0.6 is not MERGE_MARGIN above 0.55).
    default = resolve(4, pairs, score=score, comparable=np.zeros(5, np.int64), feed=feed)
    assert default.tolist() == [0, 0, 2, 3]


@pytest.fixture(scope="module")
def tried() -> ModuleType:
    """``benchmarks/dedup_rules.py``, the rules tried instead of ``pick_merge``."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "dedup_rules.py"
    spec = importlib.util.spec_from_file_location("dedup_rules", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dedup_rules"] = module
    spec.loader.exec_module(module)
    return module


def test_the_posterior_takes_a_close_pair_the_margin_refuses_but_never_an_exact_tie(
    tried: ModuleType,
) -> None:
    pick = tried.posterior_rule(none_odds=0.5, threshold=0.2, tie=0.0)
    # Odds 1.5 and 11/9: the best is 1.5 / (0.5 + 1.5 + 11/9) = 0.466 likely the one.
    assert pick_merge([0.6, 0.55]) is None
    assert pick([0.6, 0.55]) == 0
    # One candidate at 0.2: odds 0.25, posterior 0.25 / 0.75 = 0.33; at 0.1: 0.111 / 0.611 = 0.18.
    assert pick([0.2]) == 0
    assert pick([0.1]) is None
    # Twenty-one candidates at 0.3 beside a best at 0.6: 1.5 / (0.5 + 1.5 + 21 * 3/7) = 0.14.
    assert pick([0.3] * 10 + [0.6] + [0.3] * 11) is None
    assert pick([0.9, 0.9]) is None
    assert tried.posterior_rule(none_odds=0.5, threshold=0.2, tie=None)([0.9, 0.9]) == 0


def test_the_second_stage_reads_the_list_and_merges_above_its_threshold(
    tried: ModuleType,
) -> None:
    found = tried.choice_features([0.2, 0.5], structured=False, fullness=2)
    expected = [0.0, math.log(0.25), math.log(2), math.log(0.25 + 1e-3), 0.3, 0.0, 1.0]
    assert found == pytest.approx([*expected, 0.0, 0.0, 0.0, 0.0, 0.0])
    flagged = tried.choice_features([0.5], structured=True, fullness=0)
    assert flagged[5:7] == [1.0, 0.0] and flagged[7:] == pytest.approx(flagged[:5])
    # Only the lead counts here: confidence = 1 / (1 + exp(-(10 * gap - 2))).
    weights = np.zeros(len(tried.CHOICE_FEATURES))
    weights[tried.CHOICE_FEATURES.index("gap")] = 10.0
    stage = tried.SecondStage(weights=weights, bias=-2.0)
    part = tried.Split(
        chosen=[],
        matrix=np.zeros((2, len(FEATURES))),
        labels=np.zeros(2),
        left=np.zeros(2, np.int64),
        right=np.ones(2, np.int64),
    )
    choose = tried.second_stage_rule(part, stage, threshold=0.6, tie=0.0)
    # Lead 0.3: confidence 1 / (1 + e^-1) = 0.73, merged; lead 0.2: exactly 0.5, refused.
    assert choose([0.2, 0.5], [0, 1]) == 1
    assert choose([0.3, 0.5], [0, 1]) is None
    assert choose([0.5, 0.5], [0, 1]) is None


def test_the_odds_margin_reads_the_lead_in_log_odds_only_where_a_narrative_or_place_compares(
    tried: ModuleType,
) -> None:
    matrix = np.zeros((2, len(FEATURES)))
    # Pair 0 compares a narrative and a place; pair 1 neither (structured-only).
    matrix[1, FEATURES.index("no_location")] = matrix[1, FEATURES.index("no_narrative")] = 1.0
    part = tried.Split(
        chosen=[], matrix=matrix, labels=np.zeros(2), left=np.zeros(2, np.int64), right=np.ones(2)
    )
    choose = tried.odds_margin_rule(part, threshold=0.1, margin=1.0)
    # 0.99 against 0.9: a lead of 0.09, which pick_merge refuses, but log(99) - log(9) = 2.4.
    assert pick_merge([0.99, 0.9]) is None
    assert choose([0.99, 0.9], [0, 0]) == 0
    # 0.6 against 0.4: a lead of 0.2, which pick_merge takes, but log(1.5) - log(2/3) = 0.81.
    assert pick_merge([0.6, 0.4]) == 0
    assert choose([0.6, 0.4], [0, 0]) is None
    # A structured-only best pair is left to pick_merge; below the threshold nothing merges.
    assert choose([0.99, 0.9], [1, 0]) is None
    assert choose([0.6, 0.4], [1, 0]) == 0
    assert choose([0.09], [0]) is None
