"""Deduplication, step three: from scored pairs to incidents, as ``dedup.consolidate`` decides.

A report that arrives is compared with the open incidents it may describe. An
incident that already holds a report from the same published feed is not a
candidate (a publisher lists each event once). Among the rest, the best-scoring
incident is merged with automatically only when its score reaches
``MERGE_THRESHOLD`` *and* no other candidate comes within ``MERGE_MARGIN`` of it:
when two incidents fit about equally well, a verifier decides. ``pick_merge`` is
that rule; ``dedup.consolidate`` applies it in the database and ``resolve``
applies it to a whole labelled set in memory (``benchmarks/``), so that the
figures in ``docs/methodology.md`` measure what the database does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from haven.dedup_candidates import FloatArray, IntArray
from haven.dedup_score import MERGE_MARGIN, MERGE_THRESHOLD

__all__ = ["pick_merge", "resolve"]


def pick_merge(
    scores: Sequence[float] | FloatArray,
    *,
    threshold: float = MERGE_THRESHOLD,
    margin: float = MERGE_MARGIN,
) -> int | None:
    """Index of the candidate to merge with automatically, or None (suggest or leave distinct).

    The best candidate wins when it reaches ``threshold`` and beats every other
    candidate by at least ``margin``.
    """
    values = np.asarray(scores, dtype=np.float64)
    if not len(values):
        return None
    best = int(np.argmax(values))
    top = float(values[best])
    if top < threshold:
        return None
    others = np.delete(values, best)
    if len(others) and top - float(others.max()) < margin:
        return None
    return best


def resolve(
    n: int,
    pairs: tuple[IntArray, IntArray],
    *,
    score: FloatArray,
    feed: Sequence[str],
    threshold: float = MERGE_THRESHOLD,
    margin: float = MERGE_MARGIN,
) -> IntArray:
    """Incident label of each of ``n`` reports arriving in index order.

    Each report either joins an incident opened by an earlier report (chosen by
    ``pick_merge`` among the incidents without a report of its ``feed``) or opens
    its own. An incident keeps its first report's facts, so merges do not chain.
    """
    left, right = np.minimum(*pairs), np.maximum(*pairs)
    order = np.argsort(right, kind="stable")
    left, right, score = left[order], right[order], score[order]
    starts = np.searchsorted(right, np.arange(n + 1))
    label = np.arange(n)
    feeds: dict[int, set[str]] = {}
    for b in range(n):
        lo, hi = int(starts[b]), int(starts[b + 1])
        if lo == hi:
            continue
        own = feed[b]
        eligible = [
            (int(a), float(s))
            for a, s in zip(left[lo:hi].tolist(), score[lo:hi].tolist(), strict=True)
            if label[a] == a and own not in feeds.get(a, {feed[a]})
        ]
        chosen = pick_merge([s for _, s in eligible], threshold=threshold, margin=margin)
        if chosen is None:
            continue
        incident = eligible[chosen][0]
        label[b] = incident
        feeds.setdefault(incident, {feed[incident]}).add(own)
    return label
