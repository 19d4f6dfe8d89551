"""Deduplicate 100,000 reports with Haven's core and with splink (DuckDB) on the same set.

The set is the labelled set of ``dedup_dataset.py`` scaled up: the real WHO SSA,
SHCC and AWSD records are repeated as new events 30 and 60 years later (so
copies never collide), each event re-reported with noise, until there are
``--reports`` reports. Both tools see the same facts; both are scored by
pairwise precision, recall and F1 after transitive closure (connected
components) of the pairs each calls duplicates. Wall time covers everything
from the in-memory records to the clusters, including splink's training.

    .venv/bin/python benchmarks/dedup.py --reports 100000 --write-docs

Needs ``pip install -e '.[bench]'`` (splink, duckdb).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_dataset import ARRIVAL, SEED, Labelled, build, cluster_metrics, real_records
from haven.dedup_candidates import DedupRecords
from haven.dedup_resolve import resolve
from haven.dedup_score import FEATURES, MERGE_MARGIN, MERGE_THRESHOLD, comparable, link
from haven.taxonomy import DatePrecision
from report import machine, run_block, write_section

BEGIN, END = "<!-- dedup:begin", "<!-- dedup:end -->"
SHIFT = timedelta(days=round(30 * 365.25))
HAVEN_RULE = f"best, score ≥ {MERGE_THRESHOLD}, margin {MERGE_MARGIN}"
PHASES: dict[str, float] = {}
"""Seconds spent in each phase of a tool's run, for the notes under the table."""


def scaled_set(reports: int) -> list[Labelled]:
    """``reports`` labelled reports: real events, then copies shifted by 30 years.

    A random ``reports`` of them are kept, in arrival order (file by file, as in
    ``dedup_dataset.ARRIVAL``).
    """
    base = real_records()
    records = list(base)
    copy = 1
    while True:
        labelled = build(records, seed=SEED)
        if len(labelled) >= reports:
            break
        records += [
            (source, replace(facts, occurred_at=facts.occurred_at + copy * SHIFT))
            for source, facts in base
        ]
        copy += 1
    random.Random(SEED).shuffle(labelled)
    return sorted(labelled[:reports], key=lambda r: ARRIVAL.index(r.feed))


def components(n: int, edges: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes given edges (union-find)."""
    left, right = edges
    parent = np.arange(n)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)])


def run_haven(labelled: list[Labelled]) -> tuple[float, np.ndarray, int]:
    """Haven's core: arrays, candidates, scores, merges above the threshold, clusters."""
    started = time.perf_counter()
    records = DedupRecords.from_facts([r.facts for r in labelled])
    PHASES["Haven arrays"] = time.perf_counter() - started
    scored = link(records)
    PHASES["Haven candidates and scores"] = time.perf_counter() - started - PHASES["Haven arrays"]
    clusters = resolve(
        len(labelled),
        (scored.left, scored.right),
        score=scored.score,
        comparable=comparable(scored.features),
        feed=[r.feed for r in labelled],
    )
    elapsed = time.perf_counter() - started
    merge = scored.score >= MERGE_THRESHOLD
    closure = components(len(labelled), (scored.left[merge], scored.right[merge]))
    run_haven.closure = closure  # type: ignore[attr-defined]
    return elapsed, clusters, len(scored.score)


_TOKEN = re.compile(r"[^\W\d_]{3,}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _table(labelled: list[Labelled]) -> Any:
    import pyarrow as pa  # noqa: PLC0415 - part of the bench extra

    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "unique_id",
            "country",
            "day",
            "week",
            "lat",
            "lon",
            "admin1",
            "attack_types",
            "killed",
            "injured",
            "name",
            "words",
            "hour",
            "facility_type",
            "detained",
        )
    }
    for k, r in enumerate(labelled):
        f = r.facts
        day = (f.occurred_at - _EPOCH).days
        rows["unique_id"].append(k)
        rows["country"].append(f.country)
        rows["day"].append(day)
        rows["week"].append(day // 7)
        rows["lat"].append(f.location.lat if f.location else None)
        rows["lon"].append(f.location.lon if f.location else None)
        rows["admin1"].append(f.admin1)
        rows["attack_types"].append(sorted(t.name for t in f.attack_types) or None)
        rows["killed"].append(f.killed)
        rows["injured"].append(f.injured)
        rows["name"].append(f.name.lower() or None)
        rows["words"].append(sorted(set(_TOKEN.findall(f.narrative.lower()))) or None)
        exact = f.date_precision is DatePrecision.EXACT
        rows["hour"].append(f.occurred_at.hour if exact else None)
        rows["facility_type"].append(f.facility_type)
        rows["detained"].append(f.detained)
    return pa.table(rows)


def _splink_settings() -> Any:
    import splink.comparison_level_library as cll  # noqa: PLC0415
    import splink.comparison_library as cl  # noqa: PLC0415
    from splink import SettingsCreator, block_on  # noqa: PLC0415

    jaccard = (
        "len(list_intersect(words_l, words_r)) * 1.0 / "
        "len(list_distinct(list_concat(words_l, words_r)))"
    )
    return SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("country", "day"),
            block_on("country", "week", "name"),
        ],
        comparisons=[
            cl.CustomComparison(
                output_column_name="day",
                comparison_levels=[
                    cll.NullLevel("day"),
                    cll.CustomLevel("day_l = day_r", label_for_charts="same day"),
                    cll.CustomLevel("abs(day_l - day_r) <= 1", label_for_charts="1 day"),
                    cll.CustomLevel("abs(day_l - day_r) <= 3", label_for_charts="3 days"),
                    cll.ElseLevel(),
                ],
            ),
            cl.DistanceInKMAtThresholds("lat", "lon", [2, 25, 60]),
            cl.ArrayIntersectAtSizes("attack_types", [2, 1]),
            cl.ExactMatch("killed"),
            cl.ExactMatch("injured"),
            cl.ExactMatch("admin1"),
            cl.JaroWinklerAtThresholds("name", [0.95, 0.8]),
            cl.ExactMatch("hour"),
            cl.ExactMatch("facility_type"),
            cl.ExactMatch("detained"),
            cl.CustomComparison(
                output_column_name="words",
                comparison_levels=[
                    cll.NullLevel("words"),
                    cll.CustomLevel(f"{jaccard} >= 0.7", label_for_charts="jaccard >= 0.7"),
                    cll.CustomLevel(f"{jaccard} >= 0.5", label_for_charts="jaccard >= 0.5"),
                    cll.CustomLevel(f"{jaccard} >= 0.3", label_for_charts="jaccard >= 0.3"),
                    cll.ElseLevel(),
                ],
            ),
        ],
        retain_intermediate_calculation_columns=False,
    )


def run_splink(labelled: list[Labelled]) -> tuple[float, np.ndarray, int]:
    """splink 4/5 on DuckDB: train (u by sampling, m by EM), predict, cluster at 0.5."""
    from splink import Linker, block_on  # noqa: PLC0415
    from splink.backends.duckdb import DuckDBAPI  # noqa: PLC0415

    started = time.perf_counter()
    db_api = DuckDBAPI()
    frame = db_api.register(_table(labelled), table_name="reports")
    linker = Linker(frame, _splink_settings(), log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("country", "day", "killed", "injured", "name")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("country", "day"), fix_probability_two_random_records_match=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("country", "name"), fix_probability_two_random_records_match=True
    )
    PHASES["splink training"] = time.perf_counter() - started
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    pairs = predictions.as_pyarrow_table() if hasattr(predictions, "as_pyarrow_table") else None
    if pairs is None:
        rows = predictions.as_record_dict()
        left = np.array([r["unique_id_l"] for r in rows], dtype=np.int64)
        right = np.array([r["unique_id_r"] for r in rows], dtype=np.int64)
        prob = np.array([r["match_probability"] for r in rows])
    else:
        left = pairs.column("unique_id_l").to_numpy()
        right = pairs.column("unique_id_r").to_numpy()
        prob = pairs.column("match_probability").to_numpy()
    keep = prob >= 0.5
    clusters = components(len(labelled), (left[keep], right[keep]))
    elapsed = time.perf_counter() - started
    PHASES["splink prediction and clusters"] = elapsed - PHASES["splink training"]
    run_splink.scored = (left, right, prob)  # type: ignore[attr-defined]
    return elapsed, clusters, len(prob)


def _machine() -> dict[str, str]:
    import duckdb  # noqa: PLC0415
    import rapidfuzz  # noqa: PLC0415
    import splink  # noqa: PLC0415

    return machine(
        f"numpy {np.__version__}, rapidfuzz {rapidfuzz.__version__}, "
        f"splink {splink.__version__}, duckdb {duckdb.__version__}"
    )


def _section(
    results: list[tuple[str, float, int, tuple[float, float, float]]],
    *,
    n: int,
    true_pairs: int,
    extra: list[tuple[str, str, tuple[float, float, float]]],
    command: str,
) -> str:
    facts = _machine()
    lines = [
        f"{BEGIN} (written by benchmarks/dedup.py; edits here are overwritten) -->",
        "## Deduplication (`benchmarks/dedup.py`)",
        "",
        f"{n:,} reports built from the real WHO SSA, SHCC and AWSD records (the labelled set of",
        "`benchmarks/dedup_dataset.py`, repeated as new events 30 and 60 years later and",
        're-reported with noise; see docs/methodology.md, "Deduplication"), deduplicated by',
        "Haven's core and by splink with the DuckDB backend, in the same run. Aim: Haven faster",
        "than splink at equal or better F1.",
        "",
        *run_block(command, facts),
        "",
        "### Results",
        "",
        f"Pairwise precision, recall and F1 of the clusters, against {true_pairs:,} true pairs.",
        "Haven clusters as `dedup.consolidate` does in the database (`dedup_resolve`: each",
        "report, file by file, joins the clear best incident holding no report of its file,",
        "an incident scoring as its best report, or opens one); splink as its",
        "documented `cluster_pairwise_predictions_at_threshold` does (connected components).",
        "The extra rows swap the two rules, and give splink the threshold picked with the labels.",
        "",
        "| tool | decision rule | wall time, s | pairs | precision | recall | F1 |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, seconds, scored, (p, r, f) in results:
        rule = HAVEN_RULE if name.startswith("Haven") else "probability ≥ 0.5"
        lines.append(
            f"| {name} | {rule} | {seconds:.1f} | {scored:,} | {p:.3f} | {r:.3f} | {f:.3f} |"
        )
    for name, rule, (p, r, f) in extra:
        lines.append(f"| {name} | {rule} | – | – | {p:.3f} | {r:.3f} | {f:.3f} |")
    (_, haven_s, _, haven), (_, splink_s, _, splink) = results[0], results[1]
    faster = haven_s < splink_s
    at_least = haven[2] >= splink[2]
    lines += [
        "",
        f"- Haven {haven_s:.1f} s at F1 {haven[2]:.3f}; splink {splink_s:.1f} s at F1 "
        f"{splink[2]:.3f}: aim {'met' if faster and at_least else 'not met'} "
        f"({'faster' if faster else 'slower'}, F1 {'equal or better' if at_least else 'lower'}).",
        "- Neither reaches the 0.95 F1 aim on this set: see docs/methodology.md for why (records",
        "  that carry no place or narrative, and template narratives) and the per-source figures.",
        "*pairs*: candidate pairs Haven scored; pairs splink returned at match probability",
        "0.01 or more (it scores more inside its blocks). Phases, in seconds: "
        + ", ".join(f"{k} {v:.1f}" for k, v in PHASES.items())
        + f". Load average of the (shared) machine at the end: {os.getloadavg()[0]:.1f} on",
        f"{os.cpu_count()} cores; other work ran beside the benchmark, so both times are",
        "inflated alike.",
        "",
        "How it is set up: Haven runs `DedupRecords.from_facts` and `dedup_score.link` (H3",
        f"k-ring and time-window blocking sized by precision, {len(FEATURES)} features, the",
        "logistic weights fitted on the calibration split, a second set for pairs with neither",
        "place nor narrative) and merges by `dedup_resolve.pick_merge`. splink is",
        "configured as an analyst would: blocking on country + day and on country + week + place",
        "name; comparisons on day difference, distance (2/25/60 km), attack types, killed,",
        "injured, admin1, place name (Jaro-Winkler), narrative word Jaccard, and the WHO SSA",
        "fields Haven also uses (hour of an exact time, facility type, people detained); λ from a",
        "deterministic rule, u by random sampling, m by two EM passes; clusters at match",
        "probability 0.5. Both are timed from in-memory records to clusters; splink's time",
        "includes training. The ceiling for both is the same: many real records (WHO SSA rows",
        "without place or narrative, SHCC rows with the same template text) cannot be told apart.",
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--skip-splink", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    labelled = scaled_set(args.reports)
    truth = np.array([r.event for r in labelled])
    sizes = np.unique(truth, return_counts=True)[1]
    true_pairs = int((sizes * (sizes - 1) // 2).sum())
    print(f"{len(labelled):,} reports, {len(sizes):,} events, {true_pairs:,} true pairs")
    seconds, clusters, scored = run_haven(labelled)
    results = [("Haven (dedup core)", seconds, scored, cluster_metrics(clusters, truth))]
    print(results[-1])
    closure = cluster_metrics(run_haven.closure, truth)  # type: ignore[attr-defined]
    print("Haven, transitive closure", closure)
    if args.skip_splink:
        return
    seconds, clusters, scored = run_splink(labelled)
    results.append(("splink 5 (DuckDB)", seconds, scored, cluster_metrics(clusters, truth)))
    print(results[-1])
    left, right, prob = run_splink.scored  # type: ignore[attr-defined]
    best = (0.5, results[-1][3])
    for threshold in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99):
        keep = prob >= threshold
        found = cluster_metrics(components(len(labelled), (left[keep], right[keep])), truth)
        if found[2] > best[1][2]:
            best = (threshold, found)
    print("splink oracle", best)
    online = cluster_metrics(
        resolve(
            len(labelled),
            (left, right),
            score=prob,
            comparable=np.zeros(len(prob), dtype=np.int64),  # splink's pairs: plain best member
            feed=[r.feed for r in labelled],
            threshold=0.5,
        ),
        truth,
    )
    print("splink, online rule", online)
    extra = [
        ("Haven, transitive closure instead", f"score ≥ {MERGE_THRESHOLD}", closure),
        ("splink, Haven's rule instead", f"probability ≥ 0.5, margin {MERGE_MARGIN}", online),
        ("splink, best threshold in hindsight (uses labels)", f"probability ≥ {best[0]}", best[1]),
    ]
    if args.write_docs:
        command = ".venv/bin/python benchmarks/dedup.py " + " ".join(sys.argv[1:])
        write_section(
            "dedup",
            _section(results, n=len(labelled), true_pairs=true_pairs, extra=extra, command=command),
        )


if __name__ == "__main__":
    main()
