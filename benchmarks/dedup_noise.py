"""The deduplication figures when re-reports carry only the noise the issue names.

The labelled set of ``dedup_dataset.py`` re-reports each real record with the noise
partners' reports show: dates shifted or blurred to the month, points jittered or
dropped, counts changed or unknown, attack types dropped, narratives retold or
missing, names, admin areas, times and facility types dropped or changed. This
builds the same set with only the four kinds of noise the deduplication issue names
(``named_noise``): the date shifted a day, the point jittered within its
precision, the narrative retold, the killed and injured counts changed, each as
often as in the full set, and nothing dropped. It prints, for the held-out split,
the figures with the weights and rule in use, and with weights, threshold and
margin fitted again on this set's calibration split, and the ceiling of a matcher
that does not guess between twins (``dedup_dataset.twins``)::

    .venv/bin/python benchmarks/dedup_noise.py

It answers one question: is the aim (F1 ≥ 0.95) out of reach because of the noise
the labelled set adds beyond what the issue names, or because of the records?
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_dataset import (
    STRATA,
    Split,
    _jitter,
    build,
    choose_rule,
    fit,
    incidents,
    real_records,
    reword,
    split,
    strata,
)
from haven.dedup_candidates import DedupFacts
from haven.dedup_score import MERGE_MARGIN, MERGE_THRESHOLD, MODEL, Model, score_features
from haven.taxonomy import DatePrecision


def named_noise(facts: DedupFacts, rng: random.Random) -> DedupFacts:
    """A re-report with only the issue's noise: date ±1 day (30 %), the point jittered within
    its precision, the narrative retold, killed ±1 (30 %) and injured −2..+3 (20 %)."""
    at = facts.occurred_at
    if facts.date_precision in (DatePrecision.DAY, DatePrecision.EXACT) and rng.random() < 0.3:
        at += timedelta(days=rng.choice((-1, 1)))
    location = facts.location
    if location is not None and facts.geo_precision is not None:
        location = _jitter(location, facts.geo_precision.radius_km or 25.0, rng=rng)
    killed, injured = facts.killed, facts.injured
    if rng.random() < 0.3:
        killed = max(0, killed + rng.choice((-1, 1)))
    if rng.random() < 0.2:
        injured = max(0, injured + rng.randint(-2, 3))
    narrative = reword(facts.narrative, rng) if facts.narrative else ""
    return replace(
        facts,
        occurred_at=at,
        location=location,
        killed=killed,
        injured=injured,
        narrative=narrative,
    )


def _unchanged(facts: DedupFacts, _rng: random.Random) -> DedupFacts:
    return facts


def report(name: str, part: Split, *, model: Model, threshold: float, margin: float) -> None:
    """Print one rule's figures on ``part``, overall and by the file that published the event."""
    scores = score_features(part.matrix, model=model)
    label = incidents(part, scores, threshold=threshold, margin=margin)
    titles = dict([(None, "all reports"), *STRATA])
    for key, value in strata(part, scores=scores, label=label).items():
        print(
            f"| {name} | {titles[key]} | {value.precision:.3f} | {value.recall:.3f}"
            f" | {value.f1:.3f} | {value.twinned:.3f} | {value.ceiling_f1:.3f}",
            flush=True,
        )


def main() -> None:
    started = time.perf_counter()
    labelled = build(real_records(), noise=named_noise, details=_unchanged)
    calibration, test = split(labelled, held_out=False), split(labelled, held_out=True)
    refit = fit(calibration)
    threshold, margin, _ = choose_rule(calibration, score_features(calibration.matrix, model=refit))
    print("| weights and rule | held-out stratum | precision | recall | F1 | twinned | ceiling F1")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---:")
    report("in use", test, model=MODEL, threshold=MERGE_THRESHOLD, margin=MERGE_MARGIN)
    report(
        f"fitted on this set (threshold {threshold}, margin {margin})",
        test,
        model=refit,
        threshold=threshold,
        margin=margin,
    )
    print(f"{len(labelled):,} reports, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
