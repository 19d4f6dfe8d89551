"""Gi* on 1,000,000 incidents binned to H3 resolution 8: Haven against PySAL esda in one run.

The points are fictional, clustered around real city coordinates (Gaussian
clusters of a few km, plus a thin uniform background over each city's region).
Both sides get the same cells (the occupied cells and the empty ring around
them) and the same binary k-ring weights; each side's time includes building its
weights (Haven: ``kring_weights``; esda: libpysal's ``Graph.build_h3`` and, as a
second baseline, a classic ``W`` from each cell's ``h3.grid_disk``). The
z-scores and p-values must agree to 1e-9 or the run fails.

Run: ``python benchmarks/hotspots.py [--points 1000000] [--permutations 999] --write-docs``
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import esda
import h3
import h3.api.basic_int as h3i
import libpysal
import numpy as np
from libpysal.graph import Graph

from haven.hotspot_stats import gi_star, kring_weights, neighbourhood, permutation_p
from report import machine, write_section

T = TypeVar("T")

CITIES = {  # name: (lon, lat) of real cities where attacks on health care were documented
    "Khartoum": (32.53, 15.59),
    "Omdurman": (32.48, 15.64),
    "El Fasher": (25.35, 13.63),
    "Nyala": (24.88, 12.05),
    "Gaza City": (34.45, 31.50),
    "Khan Younis": (34.30, 31.34),
    "Aleppo": (37.16, 36.20),
    "Idlib": (36.63, 35.93),
    "Kharkiv": (36.23, 49.99),
    "Kherson": (32.62, 46.64),
    "Mogadishu": (45.32, 2.05),
    "Kabul": (69.16, 34.53),
    "Goma": (29.22, -1.68),
    "Juba": (31.58, 4.86),
    "Mandalay": (96.08, 21.97),
    "Sanaa": (44.21, 15.37),
}


def points(count: int, *, seed: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Longitudes and latitudes: 85 % in city clusters (σ 1.5-6 km), 15 % in a 2° box around."""
    rng = np.random.default_rng(seed)
    centres = np.array(list(CITIES.values()))
    weights = rng.dirichlet(np.ones(len(centres)))
    city = rng.choice(len(centres), size=count, p=weights)
    clustered = rng.uniform(size=count) < 0.85
    sigma_km = rng.uniform(1.5, 6.0, size=len(centres))[city]
    lat0 = centres[city, 1]
    dlat = rng.normal(0, 1, count) * sigma_km / 111.2
    dlon = rng.normal(0, 1, count) * sigma_km / (111.2 * np.cos(np.radians(lat0)))
    spread = rng.uniform(-1.0, 1.0, (count, 2))
    lon = centres[city, 0] + np.where(clustered, dlon, spread[:, 0])
    lat = lat0 + np.where(clustered, dlat, spread[:, 1])
    return lon, lat


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run(args: argparse.Namespace) -> dict[str, Any]:
    lon, lat = points(args.points, seed=args.seed)
    cells, t_bin = timed(
        lambda: np.fromiter(
            (h3i.latlng_to_cell(b, a, 8) for a, b in zip(lon, lat, strict=True)),
            dtype=np.uint64,
            count=len(lon),
        )
    )
    (study, y), t_study = timed(lambda: _study(cells))
    names = np.array([format(int(c), "x") for c in study])
    print(
        f"{args.points:,} points → {np.count_nonzero(y):,} occupied cells, {len(study):,} analysed"
    )

    (ours, t_ours_w), t_ours = timed(lambda: _ours(study, y))
    (theirs, t_esda_w), t_esda = timed(lambda: _esda(names, y))
    (classic, t_w_w), t_w = timed(lambda: _esda_classic(study, y))
    z_diff = max(float(np.abs(ours.z - r.Zs).max()) for r in (theirs, classic))
    p_diff = max(float(np.abs(ours.p_norm - r.p_norm).max()) for r in (theirs, classic))
    assert z_diff <= 1e-9 and p_diff <= 1e-9, (z_diff, p_diff)
    print(
        f"analytic: Haven {t_ours:.2f} s (weights {t_ours_w:.2f} s), esda+Graph {t_esda:.2f} s "
        f"(weights {t_esda_w:.2f} s), esda+W {t_w:.2f} s (weights {t_w_w:.2f} s); "
        f"max |Δz| {z_diff:.1e}, max |Δp| {p_diff:.1e}"
    )

    w = kring_weights(study, k=1)
    perms = args.permutations
    _, t_perm_ours = timed(lambda: permutation_p(y, w, permutations=perms, seed=1))
    esda_perms = args.esda_permutations
    graph = Graph.build_h3(names, order=1, weight="binary")
    warm = np.array(sorted(h3.grid_disk(names[0], 3)))
    _esda_perm(Graph.build_h3(warm, order=1, weight="binary"), np.arange(37.0), permutations=9)
    p_esda, t_perm_esda = timed(lambda: _esda_perm(graph, y, permutations=esda_perms))
    p_ours, t_perm_ours_same = timed(lambda: permutation_p(y, w, permutations=esda_perms, seed=1))
    p_sim_diff = float(np.abs(p_esda - p_ours).mean())
    assert p_sim_diff < 0.05, p_sim_diff  # two Monte Carlo estimates of the same p-values
    print(
        f"permutations: Haven {perms} in {t_perm_ours:.2f} s, {esda_perms} in "
        f"{t_perm_ours_same:.2f} s; esda {esda_perms} in {t_perm_esda:.2f} s"
    )
    return {
        "points": args.points,
        "occupied": int(np.count_nonzero(y)),
        "cells": len(study),
        "t_bin": t_bin,
        "t_study": t_study,
        "t_ours": t_ours,
        "t_ours_w": t_ours_w,
        "t_esda": t_esda,
        "t_esda_w": t_esda_w,
        "t_w": t_w,
        "t_w_w": t_w_w,
        "z_diff": z_diff,
        "p_diff": p_diff,
        "perms": perms,
        "esda_perms": esda_perms,
        "t_perm_ours": t_perm_ours,
        "t_perm_ours_same": t_perm_ours_same,
        "t_perm_esda": t_perm_esda,
        "p_sim_diff": p_sim_diff,
    }


def _study(cells: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    occupied, counts = np.unique(cells, return_counts=True)
    study = neighbourhood(occupied, k=1)
    y = np.zeros(len(study))
    y[np.searchsorted(study, occupied)] = counts
    return study, y


def _ours(study: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[Any, float]:
    w, t_w = timed(lambda: kring_weights(study, k=1))
    return gi_star(y, w), t_w


def _esda(names: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[Any, float]:
    graph, t_w = timed(lambda: Graph.build_h3(names, order=1, weight="binary"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = esda.G_Local(y, graph, transform="B", star=True, permutations=0)
    return result, t_w


def _esda_classic(study: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[Any, float]:
    """esda on a classic libpysal ``W`` built from each cell's H3 k-ring (as PySAL users do)."""

    def build() -> Any:
        index = {int(c): i for i, c in enumerate(study)}
        neighbours = {
            i: [index[n] for n in h3i.grid_disk(int(c), 1) if n in index and n != int(c)]
            for i, c in enumerate(study)
        }
        return libpysal.weights.W(neighbours, silence_warnings=True)

    w, t_w = timed(build)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    return result, t_w


def _esda_perm(graph: Any, y: np.ndarray[Any, Any], *, permutations: int) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(
            y, graph, transform="B", star=True, permutations=permutations, seed=1
        ).p_sim


def section(r: dict[str, Any], command: str) -> str:
    facts = machine(
        f"h3 {h3.__version__}, numpy {np.__version__}, esda {esda.__version__}, "
        f"libpysal {libpysal.__version__}, numba {__import__('numba').__version__}"
    )
    rows = "\n".join(f"| {k} | {v} |" for k, v in facts.items())
    speed = r["t_esda"] / r["t_ours"]
    w_speed = r["t_w"] / r["t_ours"]
    stats_ours = r["t_ours"] - r["t_ours_w"]
    stats_esda = r["t_esda"] - r["t_esda_w"]
    stats_x = stats_esda / stats_ours
    verdict = (
        "The aim of 10× with the weights included is met."
        if min(speed, w_speed) >= 10
        else f"The aim of 10× with the weights included is **not met** ({speed:.1f}× and"
        f" {w_speed:.1f}×): the per-cell H3 calls that build the weights are most of"
        f" Haven's time; the statistics themselves are {stats_x:.0f}× faster."
    )
    classic = f"{r['t_w']:.2f} s (weights {r['t_w_w']:.2f} s)"
    perm_row = f"{r['t_perm_ours_same']:.2f} s | {r['t_perm_esda']:.2f} s"
    perm_speed = r["t_perm_esda"] / r["t_perm_ours_same"]
    return f"""<!-- hotspots:begin (written by benchmarks/hotspots.py; do not edit by hand) -->
## Hotspots: Getis-Ord Gi* on H3 cells

{r["points"]:,} fictional incidents clustered around {len(CITIES)} real cities, binned to
H3 resolution 8: {r["occupied"]:,} occupied cells, {r["cells"]:,} cells analysed (the
occupied cells and the empty ring around them), binary k-ring weights (k = 1,
each cell its own neighbour). Baseline in the same run: PySAL esda `G_Local(star=True,
transform="B")` on libpysal's `Graph.build_h3` weights of the same cells. Each side's
time includes building its weights: libpysal calls `h3.grid_disk` once per cell;
Haven reads each cell's position on H3's local IJ lattice (one `cell_to_local_ij`
per cell) and finds neighbours by lattice offsets in numpy, calling `grid_disk`
only for cells whose ring may cross a base-cell edge or touch a pentagon base
cell. Results agree: max |Δz| = {r["z_diff"]:.1e},
max |Δp| = {r["p_diff"]:.1e} (the run fails above 1e-9).

| step | Haven | esda + libpysal | speed-up |
| --- | ---: | ---: | ---: |
| weights | {r["t_ours_w"]:.2f} s | {r["t_esda_w"]:.2f} s | {r["t_esda_w"] / r["t_ours_w"]:.1f}× |
| analytic Gi* (z, p), weights given | {stats_ours:.3f} s | {stats_esda:.2f} s | {stats_x:.0f}× |
| weights + analytic Gi* (z, p) | {r["t_ours"]:.2f} s | {r["t_esda"]:.2f} s | {speed:.1f}× |
| the same, esda on a classic libpysal `W` | {r["t_ours"]:.2f} s | {classic} | {w_speed:.1f}× |
| {r["esda_perms"]} permutations (conditional randomisation) | {perm_row} | {perm_speed:.1f}× |
| {r["perms"]} permutations | {r["t_perm_ours"]:.2f} s | not run | |

{verdict}

Shared by both and not in the comparison: binning the points to cells
({r["t_bin"]:.2f} s, one `h3.latlng_to_cell` per point) and finding the analysed
cells ({r["t_study"]:.2f} s). The two sides' permutation p-values are independent
Monte Carlo estimates of the same conditional-randomisation p-values: their mean
absolute difference was {r["p_sim_diff"]:.3f} ({r["esda_perms"]} permutations each;
esda's permutations were cut to {r["esda_perms"]} to keep the run short, Haven's
{r["perms"]} are shown too). esda's permutations run compiled by numba on every
core; Haven's simulate one null distribution per distinct (count, number of
neighbours) pair and answer each cell by binary search, which is why its time
hardly depends on the number of cells.

| machine | |
| --- | --- |
{rows}

Command: `{command}`
<!-- hotspots:end -->
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--esda-permutations", type=int, default=99)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.write_docs:
        command = (
            "python benchmarks/hotspots.py "
            + " ".join(
                f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "write_docs"
            )
            + " --write-docs"
        )
        write_section("hotspots", section(result, command))


if __name__ == "__main__":
    main()
