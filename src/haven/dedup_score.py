"""Deduplication, step two: score candidate pairs and decide merge, suggest or distinct.

Each pair gets the features of ``FEATURES`` (all in 0..1), and a logistic model
turns them into a probability that both records describe one event::

    score = 1 / (1 + exp(-(bias + sum(weights[k] * feature[k]))))

The weights and the two thresholds were fitted on the calibration split of the
labelled set (``benchmarks/dedup_dataset.py``, events before the held-out
period) and are fixed here; the held-out period is used only to measure them
(see ``docs/methodology.md``, "Deduplication").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz

from haven.dedup_candidates import (
    SLACK_KM,
    TOLERANCE_DAYS,
    DedupRecords,
    FloatArray,
    IntArray,
    candidate_pairs,
    haversine_km_arrays,
)

__all__ = [
    "CLOCK_HOURS",
    "FEATURES",
    "MERGE_MARGIN",
    "MERGE_THRESHOLD",
    "MODEL",
    "SUGGEST_THRESHOLD",
    "Decision",
    "Model",
    "PairScores",
    "comparable",
    "features",
    "fit_logistic",
    "link",
    "score_features",
    "structured_only",
]

FEATURES = (
    "time",
    "distance",
    "no_location",
    "attack_types",
    "resources",
    "casualties",
    "no_casualties",
    "name",
    "no_name",
    "narrative",
    "no_narrative",
    "admin1",
    "same_day",
    "casualties_exact",
    "narrative_high",
    "narrative_words",
    "numbers_differ",
    "clock",
    "no_clock",
    "facility_same",
    "facility_differ",
    "detained",
    "no_detained",
)
"""Feature names, in column order:

- ``time``: 1 when the date intervals overlap, falling with the gap, times how
  specific the dates are (1 for day or exact, about 0.2 for a month, 0 for a year);
- ``distance``: 1 at the same point, 0 at the sum of both precision radii plus
  ``SLACK_KM``, times how precise the points are; ``no_location`` 1 if either lacks one;
- ``attack_types`` and ``resources``: Jaccard similarity of the WHO SSA codes;
- ``casualties``: agreement of killed and injured counts when either has any,
  ``no_casualties`` 1 when both report none;
- ``name`` and ``narrative``: rapidfuzz ``token_set_ratio`` / 100 of the location
  or facility names and of the narratives, each with its ``no_…`` flag;
- ``admin1``: 1 when both give the same first-level admin area;
- ``same_day``: 1 when both dates are a day (or an exact time) and fall on the same
  calendar day;
- ``casualties_exact``: 1 when both give the same non-zero killed and injured counts;
- ``narrative_high``: how far the narrative similarity is above 0.7 (0 to 1);
- ``narrative_words``: overlap coefficient of the narratives' content words (stop words
  dropped, words cut to five letters), which survives paraphrase better;
- ``numbers_differ``: share of the numbers written in either narrative that the other
  lacks (0 when either has none): "3 killed" and "5 killed" are two events;
- ``clock``: when both give an exact time, 1 at the same time of day, falling to 0 at
  ``CLOCK_HOURS`` apart; ``no_clock`` 1 when either lacks one;
- ``facility_same`` / ``facility_differ``: 1 when both give a WHO SSA facility type and
  it is the same / differs (both 0 when either lacks one);
- ``detained``: agreement of the counts of health workers and patients abducted,
  arrested or detained when either has any; ``no_detained`` 1 when both report none.

Pairs that can compare neither a place nor a narrative (``no_location`` and
``no_narrative`` both 1: *structured-only* pairs, e.g. a WHO SSA row and a report
without narrative) are scored with their own weight set (``Model.structured_weights``),
as the evidence there is of another kind.
"""
CLOCK_HOURS = 3.0
"""Two exact times this many hours apart (or more) get ``clock`` 0."""
NO_LOCATION = FEATURES.index("no_location")
NO_NARRATIVE = FEATURES.index("no_narrative")


@dataclass(frozen=True, slots=True)
class Model:
    """Logistic weights (one per feature) and bias, and a second set for structured-only pairs."""

    weights: FloatArray
    bias: float
    structured_weights: FloatArray
    structured_bias: float


MODEL = Model(
    weights=np.array(
        [
            *(1.24, 0.77, -0.25, 1.97, 0.37, 1.38, -0.04, 4.34, 1.28, 6.06, 8.16, 0.26),
            *(1.00, -0.14, 1.93, 2.27, -2.02, 0.00, -0.65, 0.03, 0.71, 0.00, 0.00),
        ],
        dtype=np.float64,
    ),
    bias=-13.34,
    structured_weights=np.array(
        [
            *(1.80, 0.00, 0.00, 2.10, 3.21, 0.67, -0.31, 4.44, -2.18, 0.00, 0.00, 3.30),
            *(1.06, 0.25, 0.00, 0.00, 0.00, 3.80, 0.49, 2.00, -0.05, 3.80, -0.86),
        ],
        dtype=np.float64,
    ),
    structured_bias=-8.2,
)
"""The weights in use (fitted on the calibration split; see the module docstring)."""
MERGE_THRESHOLD = 0.1
"""At or above, and ``MERGE_MARGIN`` clear of every other candidate: merge automatically."""
SUGGEST_THRESHOLD = 0.05
"""At or above (when not merged): queue a suggestion for a verifier."""
MERGE_MARGIN = 0.1
"""An automatic merge also needs the best candidate this far above the next one
(``haven.dedup_resolve.pick_merge``); otherwise every candidate is suggested."""


class Decision(StrEnum):
    """What deduplication does with a pair."""

    MERGE = "merge"
    SUGGEST = "suggest"
    DISTINCT = "distinct"


@dataclass(frozen=True, slots=True)
class PairScores:
    """Scored candidate pairs: ``left[k]`` and ``right[k]`` have ``score[k]``."""

    left: IntArray
    right: IntArray
    features: FloatArray
    score: FloatArray

    def decisions(
        self, *, merge_at: float = MERGE_THRESHOLD, suggest_at: float = SUGGEST_THRESHOLD
    ) -> list[Decision]:
        """The decision for each pair."""
        return [
            Decision.MERGE
            if s >= merge_at
            else Decision.SUGGEST
            if s >= suggest_at
            else Decision.DISTINCT
            for s in self.score
        ]


def _popcount(values: IntArray) -> IntArray:
    bits = np.unpackbits(values.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1)
    counts: IntArray = bits.sum(axis=1).astype(np.int64)
    return counts


def _jaccard(a: IntArray, b: IntArray) -> FloatArray:
    union = _popcount(a | b)
    shared = _popcount(a & b)
    result: FloatArray = np.where(union > 0, shared / np.maximum(union, 1), 0.0)
    return result


def _text(texts: list[str], pairs: tuple[IntArray, IntArray]) -> tuple[FloatArray, FloatArray]:
    """Similarity of texts, and 1 where either is missing."""
    i, j = pairs
    values = np.zeros(len(i))
    missing = np.zeros(len(i))
    for k, (a, b) in enumerate(zip(i.tolist(), j.tolist(), strict=True)):
        ta, tb = texts[a], texts[b]
        if not ta or not tb:
            missing[k] = 1.0
        else:
            values[k] = fuzz.token_set_ratio(ta, tb) / 100.0
    return values, missing


_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "were",
        "with",
        "which",
        "who",
        "reportedly",
    ]
)
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d+")


def _stems(text: str) -> tuple[frozenset[str], frozenset[str]]:
    words = frozenset(w[:5] for w in _WORD.findall(text) if w not in _STOP and len(w) > 1)
    return words, frozenset(_NUMBER.findall(text))


def _word_overlap(
    texts: list[str], pairs: tuple[IntArray, IntArray]
) -> tuple[FloatArray, FloatArray]:
    """Content-word overlap coefficient |A and B| / min(|A|, |B|), and the numbers' mismatch."""
    stems: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
    overlap, numbers = np.zeros(len(pairs[0])), np.zeros(len(pairs[0]))
    for k, (a, b) in enumerate(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)):
        (wa, na), (wb, nb) = (
            stems[x] if x in stems else stems.setdefault(x, _stems(texts[x])) for x in (a, b)
        )
        if wa and wb:
            overlap[k] = len(wa & wb) / min(len(wa), len(wb))
        if na and nb:
            numbers[k] = len(na ^ nb) / len(na | nb)
    return overlap, numbers


def _specific(width_days: FloatArray) -> FloatArray:
    result: FloatArray = 1.0 / (1.0 + np.maximum(width_days - 1.0, 0.0) / 7.0)
    return result


def _clock(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Agreement of two times of day (hours) when both are known, and 1 where either is not."""
    missing = np.isnan(a) | np.isnan(b)
    apart = np.abs(np.nan_to_num(a) - np.nan_to_num(b))
    apart = np.minimum(apart, 24.0 - apart)
    agree = np.where(missing, 0.0, np.clip(1.0 - apart / CLOCK_HOURS, 0.0, 1.0))
    return agree, missing.astype(np.float64)


def _facility(a: IntArray, b: IntArray) -> tuple[FloatArray, FloatArray]:
    """1 where both give the same facility type, and 1 where both give one and they differ."""
    both = (a > 0) & (b > 0)
    return (both & (a == b)).astype(np.float64), (both & (a != b)).astype(np.float64)


def _agreement(a: IntArray, b: IntArray) -> tuple[FloatArray, FloatArray]:
    """Agreement of two counts when either has any, and 1 where both are zero."""
    total = a + b
    agree = np.where(total > 0, 1.0 - np.abs(a - b) / np.maximum(total, 1), 0.0)
    return agree, (total == 0).astype(np.float64)


def features(records: DedupRecords, pairs: tuple[IntArray, IntArray]) -> FloatArray:
    """The ``FEATURES`` matrix (one row per pair ``(i[k], j[k])`` of ``pairs``)."""
    i, j = pairs
    r = records
    gap = np.maximum(np.maximum(r.start[i], r.start[j]) - np.minimum(r.end[i], r.end[j]), 0.0)
    width = np.maximum(r.end[i] - r.start[i], r.end[j] - r.start[j])
    time = np.clip(1.0 - gap / (TOLERANCE_DAYS + 1.0), 0.0, 1.0) * _specific(width)
    reach = r.radius_km[i] + r.radius_km[j] + SLACK_KM
    dist = haversine_km_arrays((r.lon[i], r.lat[i]), (r.lon[j], r.lat[j]))
    no_location = np.isnan(reach)
    closeness = np.clip(1.0 - dist / np.where(no_location, 1.0, reach), 0.0, 1.0)
    distance = np.where(no_location, 0.0, closeness / (1.0 + np.nan_to_num(reach) / 50.0))
    total = r.killed[i] + r.killed[j] + r.injured[i] + r.injured[j]
    differ = np.abs(r.killed[i] - r.killed[j]) + np.abs(r.injured[i] - r.injured[j])
    casualties = np.where(total > 0, 1.0 - differ / np.maximum(total, 1), 0.0)
    name, no_name = _text(r.names, (i, j))
    narrative, no_narrative = _text(r.narratives, (i, j))
    admin1 = np.array(
        [bool(r.admin1[a]) and r.admin1[a] == r.admin1[b] for a, b in zip(i, j, strict=True)],
        dtype=np.float64,
    )
    daily = (r.end[i] - r.start[i] <= 1.0) & (r.end[j] - r.start[j] <= 1.0)
    same_day = (daily & (np.floor(r.start[i]) == np.floor(r.start[j]))).astype(np.float64)
    exact = ((r.killed[i] == r.killed[j]) & (r.injured[i] == r.injured[j]) & (total > 0)).astype(
        np.float64
    )
    words, numbers = _word_overlap(r.narratives, (i, j))
    columns = [
        time,
        distance,
        no_location.astype(np.float64),
        _jaccard(r.attack_mask[i], r.attack_mask[j]),
        _jaccard(r.resource_mask[i], r.resource_mask[j]),
        casualties,
        (total == 0).astype(np.float64),
        name,
        no_name,
        narrative,
        no_narrative,
        admin1,
        same_day,
        exact,
        np.clip((narrative - 0.7) / 0.3, 0.0, 1.0),
        words,
        numbers,
        *_clock(r.clock[i], r.clock[j]),
        *_facility(r.facility[i], r.facility[j]),
        *_agreement(r.detained[i], r.detained[j]),
    ]
    return np.column_stack(columns) if len(i) else np.empty((0, len(FEATURES)))


def structured_only(matrix: FloatArray) -> npt.NDArray[np.bool_]:
    """The pairs that can compare neither a place nor a narrative."""
    result: npt.NDArray[np.bool_] = (matrix[:, NO_LOCATION] == 1.0) & (
        matrix[:, NO_NARRATIVE] == 1.0
    )
    return result


def comparable(matrix: FloatArray) -> IntArray:
    """How much of each pair can be compared: 1 for the narrative plus 1 for the place (0-2)."""
    both = (1.0 - matrix[:, NO_NARRATIVE]) + (1.0 - matrix[:, NO_LOCATION])
    result: IntArray = both.astype(np.int64)
    return result


def score_features(matrix: FloatArray, *, model: Model = MODEL) -> FloatArray:
    """The probability that each pair is one event (structured-only pairs by their own weights)."""
    general = matrix @ model.weights + model.bias
    structured = matrix @ model.structured_weights + model.structured_bias
    z = np.where(structured_only(matrix), structured, general)
    result: FloatArray = 1.0 / (1.0 + np.exp(-z))
    return result


def link(records: DedupRecords, *, model: Model = MODEL) -> PairScores:
    """Candidate pairs of ``records`` with their features and scores."""
    i, j = candidate_pairs(records)
    matrix = features(records, (i, j))
    return PairScores(left=i, right=j, features=matrix, score=score_features(matrix, model=model))


def fit_logistic(
    matrix: FloatArray, labels: FloatArray, *, l2: float = 1.0, steps: int = 50
) -> tuple[FloatArray, float]:
    """Fit weights and bias by Newton's method with an L2 penalty (calibration only)."""
    x = np.column_stack([matrix, np.ones(len(matrix))])
    beta = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (p - labels) + penalty * beta
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return beta[:-1], float(beta[-1])
