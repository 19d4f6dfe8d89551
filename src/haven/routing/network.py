"""The road network as compact arrays (CSR), stored on disk as one ``.npz`` file.

A network is a directed graph: node ``i`` is at ``(lon[i], lat[i])`` (WGS84, GeoJSON
order); the edges leaving ``i`` are ``indptr[i]:indptr[i + 1]``, each with its head node,
length in metres, travel time in seconds and an integer weight in tenths of a second
(what the routing engine adds up). An edge's shape is a run of points in
``geom_lon``/``geom_lat`` (``geom_ptr[edge_geom[e]]`` onwards; read backwards when
``edge_reversed[e]``). ``order`` is the node ordering of the customizable contraction
hierarchy, computed once when the network is built.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from haven.errors import ConfigurationError

__all__ = ["ARRAYS", "RoadNetwork", "read_network", "write_network"]

ARRAYS = (
    "lon",
    "lat",
    "indptr",
    "tails",
    "heads",
    "length_m",
    "time_s",
    "weight_ds",
    "edge_geom",
    "edge_reversed",
    "geom_ptr",
    "geom_lon",
    "geom_lat",
    "order",
)
"""The arrays a network file holds, in the order they are written."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(eq=False)
class RoadNetwork:
    """A directed road graph in CSR form with edge shapes and a contraction order."""

    lon: FloatArray
    lat: FloatArray
    indptr: IntArray
    tails: IntArray
    heads: IntArray
    length_m: FloatArray
    time_s: FloatArray
    weight_ds: IntArray
    edge_geom: IntArray
    edge_reversed: npt.NDArray[np.bool_]
    geom_ptr: IntArray
    geom_lon: FloatArray
    geom_lat: FloatArray
    order: IntArray
    name: str = ""
    sha256: str = ""
    snap_limit_m: float = 2000.0
    risk_radius_m: float = 500.0
    risk_half_life_days: float = 7.0
    risk_window_days: int = 60
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    """Per-process helpers built on first use (spatial indexes, the routing engine)."""

    @property
    def node_count(self) -> int:
        """Number of nodes."""
        return int(self.lon.shape[0])

    @property
    def edge_count(self) -> int:
        """Number of directed edges."""
        return int(self.heads.shape[0])

    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of the nodes."""
        return (
            float(self.lon.min()),
            float(self.lat.min()),
            float(self.lon.max()),
            float(self.lat.max()),
        )

    def edge_line(self, edge: int) -> list[tuple[float, float]]:
        """The shape of one edge, ``(lon, lat)`` pairs from its tail to its head."""
        segment = int(self.edge_geom[edge])
        start, stop = int(self.geom_ptr[segment]), int(self.geom_ptr[segment + 1])
        points = list(
            zip(self.geom_lon[start:stop].tolist(), self.geom_lat[start:stop].tolist(), strict=True)
        )
        return points[::-1] if bool(self.edge_reversed[edge]) else points

    def path_line(self, edges: list[int]) -> list[list[float]]:
        """The shape of a path of consecutive edges, ``[lon, lat]`` pairs without repeats."""
        coordinates: list[list[float]] = []
        for edge in edges:
            points = self.edge_line(edge)
            start = 1 if coordinates else 0
            coordinates.extend([lon, lat] for lon, lat in points[start:])
        return coordinates


def write_network(network: RoadNetwork, path: Path) -> None:
    """Write the arrays to ``path`` (``.npz``) atomically: a reader sees the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.part")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **{name: getattr(network, name) for name in ARRAYS})
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_network(path: Path, *, name: str = "", sha256: str = "") -> RoadNetwork:
    """Load a network file written by ``write_network``."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in ARRAYS}
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigurationError(
            f"the road network file {path} is missing or damaged; run `haven roads import` again"
        ) from exc
    return RoadNetwork(**arrays, name=name, sha256=sha256)
