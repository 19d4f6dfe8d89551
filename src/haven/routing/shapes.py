"""Edge shapes in driving order as flat arrays, so a path's shape is a few numpy gathers.

An edge's shape is stored once per road (``geom_ptr``/``geom_lon``/``geom_lat``) and
read backwards for the edge that drives it the other way. Here every directed edge
gets its points in driving order WITHOUT its first point (the joint it shares with
the edge before it on a path), each with the plane length of the piece ending at
it, plus its first point. A path's shape is then its first edge's first point
followed by the runs of its edges, and its cumulative length the running sum of
their pieces: the same numbers, summed in the same order, as walking the path's
points one by one.

What a route summary reads per edge (travel time, length, road shape, where its run
starts and how long it is) sits in one record per edge, and each point of a run is
one record too, so that a path costs one gather per table instead of one per array:
paths are scattered over the arrays, and on a large network each gather is mostly
waiting for memory. Built on first use and kept on the network
(``RoadNetwork.cache``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from haven.routing.network import RoadNetwork
from haven.routing.spatial import plane

__all__ = ["EDGE_RECORD", "EdgeShapes", "PathShape", "edge_shapes", "ranges"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EDGE_RECORD = np.dtype(
    [
        ("start", np.int64),
        ("count", np.int64),
        ("segment", np.int64),
        ("time_s", np.float64),
        ("length_m", np.float64),
    ]
)
"""Per directed edge: its run (``start``, ``count``), road shape, travel time and length."""
_POINT = np.dtype((np.void, 24))  # one run point: lon, lat, length of the piece ending at it


def ranges(starts: IntArray, counts: IntArray) -> IntArray:
    """``starts[0] … starts[0] + counts[0] - 1, starts[1] …``: consecutive runs, concatenated."""
    ends = np.cumsum(counts)
    if len(ends) == 0 or ends[-1] == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - ends + counts, counts)
    return np.arange(int(ends[-1]), dtype=np.int64) + offsets


@dataclass(frozen=True, slots=True)
class PathShape:
    """The shape of a path of edges: ``[lon, lat]`` points and the length up to each, m."""

    lonlat: FloatArray
    """``(n, 2)`` longitudes and latitudes; the joints between edges are not repeated."""
    cumulative: FloatArray
    """Plane distance from the first point to each point, metres."""
    first_points: int
    """Points of the first edge (its joint with the second edge included)."""
    last_points: int
    """Points of the last edge (its joint with the edge before included)."""


@dataclass(frozen=True, slots=True)
class EdgeShapes:
    """Per directed edge, its record and the run of its points (see the module docstring)."""

    edges: npt.NDArray[np.void]
    """One ``EDGE_RECORD`` per directed edge."""
    runs: FloatArray
    """``(points, 3)``: longitude, latitude and the plane length (m) of the piece ending there."""
    first: FloatArray
    """``(edges, 2)`` each edge's first point in driving order."""

    def records(self, edges: IntArray) -> npt.NDArray[np.void]:
        """The ``EDGE_RECORD`` of each of the given edges."""
        return self.edges.take(edges)

    def path(self, records: npt.NDArray[np.void], *, first_edge: int) -> PathShape:
        """The shape of a non-empty path of consecutive edges, given their records."""
        counts = records["count"]
        run = ranges(records["start"], counts)
        points = np.empty((len(run) + 1, 3))
        points[0, :2] = self.first[first_edge]
        points[0, 2] = 0.0
        np.take(self.runs.view(_POINT).reshape(-1), run, out=points[1:].view(_POINT).reshape(-1))
        np.cumsum(points[1:, 2], out=points[1:, 2])
        return PathShape(
            lonlat=points[:, :2],
            cumulative=points[:, 2],
            first_points=int(counts[0]) + 1,
            last_points=int(counts[-1]) + 1,
        )


def edge_shapes(network: RoadNetwork) -> EdgeShapes:
    """The network's edge records and shapes in driving order (cached)."""
    found = network.cache.get("edge_shapes")
    if found is None:
        found = _build(network)
        network.cache["edge_shapes"] = found
    result: EdgeShapes = found
    return result


def _build(network: RoadNetwork) -> EdgeShapes:
    segment = network.edge_geom.astype(np.int64)
    start = network.geom_ptr[segment].astype(np.int64)
    stop = network.geom_ptr[segment + 1].astype(np.int64)
    backwards = network.edge_reversed.astype(bool)
    counts = stop - start - 1
    step = ranges(np.zeros(len(counts), dtype=np.int64), counts) + 1  # 1 … count per edge
    reversed_run = np.repeat(backwards, counts)
    point = np.where(
        reversed_run,
        np.repeat(stop - 1, counts) - step,
        np.repeat(start, counts) + step,
    )
    previous = np.where(reversed_run, point + 1, point - 1)
    x, y = plane(network).xy(network.geom_lon, network.geom_lat)
    runs = np.column_stack(
        [
            network.geom_lon[point],
            network.geom_lat[point],
            np.hypot(x[point] - x[previous], y[point] - y[previous]),
        ]
    )
    records = np.zeros(network.edge_count, dtype=EDGE_RECORD)
    records["start"] = np.concatenate([[0], np.cumsum(counts)[:-1]])
    records["count"] = counts
    records["segment"] = segment
    records["time_s"] = network.time_s
    records["length_m"] = network.length_m
    first = np.where(backwards, stop - 1, start)
    return EdgeShapes(
        edges=records,
        runs=np.ascontiguousarray(runs, dtype=np.float64),
        first=np.ascontiguousarray(
            np.column_stack([network.geom_lon[first], network.geom_lat[first]]), dtype=np.float64
        ),
    )
