"""The risk assessment's figures, drawn from released data only: the monthly trend with its
bands, attacks by type, and the hotspot map of published H3 cells (PNG, matplotlib).

Every figure is a deterministic PNG: the same release draws the same bytes
(no timestamp in the file, fixed size and fonts). The hotspot map bins the
release's published H3 cells, coarsened to resolution ``MAX_MAP_RESOLUTION``
or coarser, and runs Getis-Ord Gi* with k-ring weights and Benjamini-Hochberg
control (``haven.hotspot_stats``, drawn by ``haven.hotspot_plot``).
"""

from __future__ import annotations

import io
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import h3
import numpy as np

from haven import hotspot_plot
from haven.errors import ConfigurationError
from haven.hotspot_stats import (
    benjamini_hochberg,
    cells_to_int,
    gi_star,
    kring_weights,
    neighbourhood,
)
from haven.indicator_tally import Indicators

__all__ = [
    "MAX_MAP_RESOLUTION",
    "MIN_MAP_CELLS",
    "hotspot_png",
    "map_cells",
    "trend_png",
    "types_png",
]

MAX_MAP_RESOLUTION = 5
"""The finest H3 resolution a report draws or tabulates (cells of about 250 km²)."""
MIN_MAP_CELLS = 3
"""Fewer occupied cells than this: no hotspot statistics, no map."""
_PNG = {"format": "png", "dpi": 110, "metadata": {"Software": None}}


def _pyplot() -> Any:
    try:
        import matplotlib  # noqa: PLC0415 -- optional extra, imported on use

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigurationError("reports need matplotlib: install haven[plots]") from exc
    plt.rcParams["svg.hashsalt"] = "haven"
    return plt


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, bbox_inches="tight", **_PNG)
    _pyplot().close(figure)
    return buffer.getvalue()


def trend_png(found: Indicators) -> bytes:
    """Incidents per month of the trend window, with 95 % Garwood bands and the fitted trend."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 3.2))
    months = [m.month for m in found.trend_months]
    x = np.arange(len(months))
    counts = [m.incidents if m.incidents is not None else 0 for m in found.trend_months]
    period = set(found.months)
    colours = ["#b2182b" if m in period else "#8c8c8c" for m in months]
    axes.bar(x, counts, color=colours, width=0.7)
    for i, month in enumerate(found.trend_months):
        if month.incidents is None:
            axes.text(i, 0, "n/a", ha="center", va="bottom", fontsize=7, color="#555555")
        elif month.lower is not None and month.upper is not None:
            axes.plot([i, i], [month.lower, month.upper], color="#333333", lw=0.8)
    if found.trend is not None:
        fitted_x = x[len(x) - len(found.trend.fitted) :]
        axes.plot(fitted_x, found.trend.fitted, color="#2166ac", lw=1.5, label="Poisson trend")
        axes.legend(loc="upper left", fontsize=7, frameon=False)
    axes.set_xticks(x, months, rotation=60, fontsize=7)
    axes.set_ylabel("incidents")
    axes.set_title("Incidents per month (red: this period; lines: 95 % band)", fontsize=9)
    axes.grid(axis="y", color="#eeeeee", lw=0.5)
    axes.set_axisbelow(True)
    return _png(figure)


def _short(label: str) -> str:
    head = label.split(" (", maxsplit=1)[0]
    return head if len(head) <= 48 else head[:45] + "..."


def types_png(found: Indicators) -> bytes:
    """Incidents of the period by attack type (unknown totals left out)."""
    plt = _pyplot()
    rows = [b for b in found.by_type if b.total is not None][:10]
    figure, axes = plt.subplots(figsize=(8, 0.45 * max(len(rows), 1) + 0.8))
    labels = [_short(b.key) for b in rows][::-1]
    values = [b.total or 0 for b in rows][::-1]
    axes.barh(np.arange(len(rows)), values, color="#ef8a62")
    axes.set_yticks(np.arange(len(rows)), labels, fontsize=8)
    axes.set_xlabel("incidents (one incident may have several types)")
    axes.set_title("Attacks by type", fontsize=9)
    axes.grid(axis="x", color="#eeeeee", lw=0.5)
    axes.set_axisbelow(True)
    return _png(figure)


def map_cells(cells: Iterable[str]) -> Counter[str]:
    """Published H3 cells coarsened to ``MAX_MAP_RESOLUTION`` or coarser, counted."""
    counted: Counter[str] = Counter()
    for cell in cells:
        resolution = h3.get_resolution(cell)
        coarse = (
            cell
            if resolution <= MAX_MAP_RESOLUTION
            else h3.cell_to_parent(cell, MAX_MAP_RESOLUTION)
        )
        counted[coarse] += 1
    return counted


def _layer(counted: Counter[str]) -> dict[str, Any]:
    """A Gi* layer (the shape ``hotspot_plot`` draws) over the occupied cells and their rings."""
    occupied = sorted(counted)
    resolutions = {h3.get_resolution(c) for c in occupied}
    finest = max(resolutions)
    same = Counter[str]()
    for cell, n in counted.items():  # one grid: cells coarser than the finest become children
        if h3.get_resolution(cell) == finest:
            same[cell] += n
        else:
            same[h3.cell_to_center_child(cell, finest)] += n
    study = neighbourhood(cells_to_int(sorted(same)), k=1)
    names = [h3.int_to_str(int(c)) for c in study]
    y = np.array([same.get(n, 0) for n in names], dtype=np.float64)
    gi = gi_star(y, kring_weights(study, k=1))
    q = benjamini_hochberg(gi.p)
    level = (q <= 0.10).astype(np.int64) + (q <= 0.05) + (q <= 0.01)
    bins = np.sign(gi.z).astype(np.int64) * level
    features = []
    for i, name in enumerate(names):
        if y[i] == 0 and bins[i] == 0:
            continue
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(name)]
        features.append(
            {
                "type": "Feature",
                "id": name,
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                "properties": {"count": int(y[i]), "gi_bin": int(bins[i])},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def hotspot_png(counted: Counter[str], *, title: str) -> bytes | None:
    """The hotspot map of the counted cells; ``None`` with fewer than ``MIN_MAP_CELLS`` cells."""
    if len(counted) < MIN_MAP_CELLS:
        return None
    _pyplot()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hotspots.png"
        hotspot_plot.render_png(_layer(counted), path, title=title)
        return path.read_bytes()
