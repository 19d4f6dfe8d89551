"""Deduplication, step three: from scored pairs to incidents, as ``dedup.consolidate`` decides.

A report that arrives is compared with every report of the open incidents it
may describe, and an incident scores as its best-matching report among those
it can be compared with most fully (``best_by_incident``): a WHO SSA row that
fits an incident's SHCC report joins it even when it scores low against the AWSD
report that opened it, but a report whose narrative contradicts the opener's is
not let in by a member that has no narrative to contradict it. An incident
that already holds a report from the same published feed is not a candidate (a
publisher lists each event once). Among the rest, the best-scoring incident is
merged with automatically only when its score reaches ``MERGE_THRESHOLD`` *and*
no other candidate comes within ``MERGE_MARGIN`` of it: when two incidents fit
about equally well, a verifier decides. ``pick_merge`` is that rule;
``dedup.consolidate`` applies it in the database and ``resolve`` applies it to a
whole labelled set in memory (``benchmarks/``), so that the figures in
``docs/methodology.md`` measure what the database does.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeAlias, TypeVar

import numpy as np

from haven.dedup_candidates import FloatArray, IntArray
from haven.dedup_score import MERGE_MARGIN, MERGE_THRESHOLD

__all__ = ["Choose", "best_by_incident", "pick_merge", "resolve"]

K = TypeVar("K", bound=Hashable)
Choose: TypeAlias = Callable[[list[float], list[int]], int | None]
"""Another merge rule for ``resolve`` to replay: given each candidate incident's score and
the index (into ``pairs``) of the pair it scores by, the index of the candidate to merge
with, or None."""


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
    values = [float(v) for v in scores]
    if not values:
        return None
    top = max(values)
    best = values.index(top)
    if top < threshold:
        return None
    others = values[:best] + values[best + 1 :]
    if others and top - max(others) < margin:
        return None
    return best


def best_by_incident(
    incidents: Sequence[K],
    scores: Sequence[float] | FloatArray,
    *,
    comparable: Sequence[int] | IntArray,
) -> dict[K, int]:
    """For each incident (in order of first appearance), the index of the report it scores by.

    ``incidents[k]`` is the incident of the report scored ``scores[k]``, whose pair with
    the new report can compare ``comparable[k]`` of narrative and place
    (``dedup_score.comparable``). An incident scores as its best report among those
    that compare the most: a member without a narrative does not outvote one whose
    narrative disagrees. Ties keep the first report.
    """
    best: dict[K, int] = {}
    for k, incident in enumerate(incidents):
        seen = best.get(incident)
        if seen is None or (comparable[k], scores[k]) > (comparable[seen], scores[seen]):
            best[incident] = k
    return best


def resolve(
    n: int,
    pairs: tuple[IntArray, IntArray],
    *,
    score: FloatArray,
    comparable: IntArray,
    feed: Sequence[str],
    threshold: float = MERGE_THRESHOLD,
    margin: float = MERGE_MARGIN,
    choose: Choose | None = None,
) -> IntArray:
    """Incident label of each of ``n`` reports arriving in index order.

    Each report either joins an incident opened by an earlier report or opens its
    own. The candidates are the incidents of the earlier reports it is paired
    with, less those holding a report of its ``feed``; each scores as its best
    report among those compared most fully (``best_by_incident``, ``comparable`` per
    pair) and ``pick_merge`` chooses. Merges chain through
    members: A, then B merged with A, then C like B but not A end in one incident.
    ``choose``, when given, decides instead of ``pick_merge`` (``benchmarks/`` measure
    other rules through it; the database uses ``pick_merge``).
    """
    left, right = np.minimum(*pairs), np.maximum(*pairs)
    order = np.argsort(right, kind="stable")
    earlier, pair_of = left[order].tolist(), order.tolist()
    scores, fullness = score[order].tolist(), comparable[order].tolist()
    starts = np.searchsorted(right[order], np.arange(n + 1)).tolist()
    label = list(range(n))
    feeds: dict[int, set[str]] = {}
    for b in range(n):
        own = feed[b]
        member_of, member_score, member_fullness, member_pair = [], [], [], []
        for k in range(starts[b], starts[b + 1]):
            incident = label[earlier[k]]
            if own not in feeds.get(incident, (feed[incident],)):
                member_of.append(incident)
                member_score.append(scores[k])
                member_fullness.append(fullness[k])
                member_pair.append(pair_of[k])
        if not member_of:
            continue
        best = best_by_incident(member_of, member_score, comparable=member_fullness)
        candidates = [member_score[k] for k in best.values()]
        chosen = (
            pick_merge(candidates, threshold=threshold, margin=margin)
            if choose is None
            else choose(candidates, [member_pair[k] for k in best.values()])
        )
        if chosen is None:
            continue
        incident = list(best)[chosen]
        label[b] = incident
        feeds.setdefault(incident, {feed[incident]}).add(own)
    return np.array(label, dtype=np.int64)
