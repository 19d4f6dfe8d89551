"""A hotspot layer drawn as a PNG map (matplotlib, from the optional ``plots`` extra).

Cells are drawn in longitude / latitude with the aspect of their mean latitude;
hot cells in reds and cold cells in blues by Gi* confidence (90, 95, 99 %),
cells with incidents but no significant clustering in grey.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from haven.errors import ConfigurationError

__all__ = ["BIN_COLOURS", "render_png"]

BIN_COLOURS = {
    3: "#b2182b",
    2: "#ef8a62",
    1: "#fddbc7",
    0: "#d9d9d9",
    -1: "#d1e5f0",
    -2: "#67a9cf",
    -3: "#2166ac",
}
"""Gi* bin (ESRI's Gi_Bin, sign of z × confidence level) → fill colour (ColorBrewer RdBu)."""
_LABELS = {
    3: "hot spot, 99 %",
    2: "hot spot, 95 %",
    1: "hot spot, 90 %",
    0: "incidents, not significant",
    -1: "cold spot, 90 %",
    -2: "cold spot, 95 %",
    -3: "cold spot, 99 %",
}


def render_png(layer: dict[str, Any], path: Path, *, title: str) -> int:
    """Draw the layer's cells into ``path`` (PNG); return how many cells were drawn.

    Raises
    ------
    ConfigurationError
        When matplotlib is not installed (``pip install haven[plots]``).
    """
    try:
        import matplotlib  # noqa: PLC0415 -- optional extra, imported on use

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt  # noqa: PLC0415
        from matplotlib.patches import Patch, Polygon  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigurationError("plots need matplotlib: install haven[plots]") from exc
    features = layer.get("features", [])
    figure, axes = plt.subplots(figsize=(8, 8), dpi=110)
    lats: list[float] = []
    shown: set[int] = set()
    for feature in features:
        level = int(feature["properties"].get("gi_bin", 0))
        ring = feature["geometry"]["coordinates"][0]
        lats.extend(point[1] for point in ring)
        shown.add(level)
        axes.add_patch(
            Polygon(ring, closed=True, facecolor=BIN_COLOURS[level], edgecolor="white", lw=0.3)
        )
        count = int(feature["properties"].get("count", 0))
        if level and count:
            centre_lon = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
            centre_lat = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
            colour = "white" if abs(level) >= 2 else "black"
            axes.text(
                centre_lon,
                centre_lat,
                str(count),
                ha="center",
                va="center",
                fontsize=6,
                color=colour,
            )
    if lats:
        lons = [p[0] for f in features for p in f["geometry"]["coordinates"][0]]
        pad = 0.05 * max(max(lons) - min(lons), max(lats) - min(lats), 0.1)
        axes.set_xlim(min(lons) - pad, max(lons) + pad)
        axes.set_ylim(min(lats) - pad, max(lats) + pad)
        axes.set_aspect(1.0 / max(0.1, math.cos(math.radians(sum(lats) / len(lats)))))
    axes.set_xlabel("longitude (°E)")
    axes.set_ylabel("latitude (°N)")
    axes.set_title(title, fontsize=11)
    axes.grid(color="#eeeeee", lw=0.5)
    axes.legend(
        handles=[
            Patch(color=BIN_COLOURS[k], label=_LABELS[k]) for k in sorted(shown, reverse=True)
        ],
        loc="lower left",
        fontsize=8,
        frameon=True,
    )
    axes.text(
        0.99,
        0.01,
        "numbers: incidents in the cell",
        transform=axes.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
        color="#555555",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)
    return len(features)
