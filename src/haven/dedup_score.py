"""Deduplication, step two: score candidate pairs and decide merge, suggest or distinct.

Each pair gets the features of ``FEATURES`` (all in 0..1), and a logistic model
turns them into a probability that both records describe one event::

    score = 1 / (1 + exp(-(BIAS + sum(WEIGHTS[k] * feature[k]))))

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
    "BIAS",
    "FEATURES",
    "MERGE_MARGIN",
    "MERGE_THRESHOLD",
    "SUGGEST_THRESHOLD",
    "WEIGHTS",
    "Decision",
    "PairScores",
    "features",
    "fit_logistic",
    "link",
    "score_features",
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
- ``same_day``: 1 when both dates start within half a day of each other;
- ``casualties_exact``: 1 when both give the same non-zero killed and injured counts;
- ``narrative_high``: how far the narrative similarity is above 0.7 (0 to 1);
- ``narrative_words``: overlap coefficient of the narratives' content words (stop words
  dropped, words cut to five letters), which survives paraphrase better;
- ``numbers_differ``: share of the numbers written in either narrative that the other
  lacks (0 when either has none): "3 killed" and "5 killed" are two events.
"""

WEIGHTS = np.array(
    [
        *(1.79, -0.56, -2.06, 2.31, 1.36, 1.29, -0.19, 4.78, 0.69),
        *(6.11, 7.65, 1.35, 1.24, -0.03, 2.36, 2.44, -1.67),
    ],
    dtype=np.float64,
)
"""Logistic weights per feature (fitted on the calibration split; see the module docstring)."""
BIAS = -15.09
MERGE_THRESHOLD = 0.15
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
    same_day = (np.abs(r.start[i] - r.start[j]) < 0.5).astype(np.float64)
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
    ]
    return np.column_stack(columns) if len(i) else np.empty((0, len(FEATURES)))


def score_features(
    matrix: FloatArray, *, weights: FloatArray = WEIGHTS, bias: float = BIAS
) -> FloatArray:
    """The probability that each pair is one event."""
    result: FloatArray = 1.0 / (1.0 + np.exp(-(matrix @ weights + bias)))
    return result


def link(records: DedupRecords, *, weights: FloatArray = WEIGHTS, bias: float = BIAS) -> PairScores:
    """Candidate pairs of ``records`` with their features and scores."""
    i, j = candidate_pairs(records)
    matrix = features(records, (i, j))
    return PairScores(
        left=i, right=j, features=matrix, score=score_features(matrix, weights=weights, bias=bias)
    )


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
