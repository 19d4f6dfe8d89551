"""Trips: the cheapest path between two points snapped onto roads, partial end roads included.

A point joins the network in the middle of a road (``spatial.snap``), so a trip
starts part-way along its first edge and ends part-way along its last. The engine
is asked for the cheapest path from the ends of the origin's road (each with the
cost of the part still to drive) to the starts of the destination's road (each
with the cost of the part to drive on it); when both points are on the same road,
driving straight along it is also considered. Fractions are by length, in the
edge's own direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from haven.routing.engine import Engine
from haven.routing.network import RoadNetwork
from haven.routing.shapes import PathShape
from haven.routing.spatial import Snap, segment_index

__all__ = ["Trip", "find_trip", "trip_shares", "trip_xy"]

FloatArray = npt.NDArray[np.float64]
_AT_JUNCTION = 1e-9
_NO_EDGE = -1


@dataclass(frozen=True, slots=True)
class Trip:
    """Edges driven in order, where on the first one the trip starts and on the last it ends."""

    cost_ds: int
    edges: list[int]
    start: float
    """Fraction of the first edge (by length, in its direction) where the trip starts."""
    end: float
    """Fraction of the last edge where the trip ends."""
    node: int = -1
    """Where a trip without edges stays (origin and destination at the same junction)."""


@dataclass(frozen=True, slots=True)
class _Road:
    """A directed edge of the road shape a point joins, and where along it the point is."""

    edge: int
    tail: int
    head: int
    weight: int
    fraction: float
    """Fraction of the edge (by length, in its direction) before the point."""


def _roads(network: RoadNetwork, engine: Engine, *, point: Snap, level: int) -> list[_Road]:
    """The directed edges drawn by the shape ``point`` joins, with their current weights."""
    index = segment_index(network)
    edges = index.edges[index.edge_ptr[point.segment] : index.edge_ptr[point.segment + 1]]
    weights = engine.weights_of(edges, level=level)
    return [
        _Road(edge, tail, head, weight, 1.0 - point.fraction if backwards else point.fraction)
        for edge, tail, head, weight, backwards in zip(
            edges.tolist(),
            network.tails[edges].tolist(),
            network.heads[edges].tolist(),
            weights.tolist(),
            network.edge_reversed[edges].tolist(),
            strict=True,
        )
    ]


def _candidates(roads: list[_Road], *, leaving: bool) -> dict[int, tuple[int, float, int]]:
    """Junction → (edge, fraction along it, cost) for joining the network on ``roads``."""
    found: dict[int, tuple[int, float, int]] = {}
    for road in roads:
        fraction = road.fraction
        if leaving:
            node, cost = road.head, round((1.0 - fraction) * road.weight)
            at_node = road.tail if fraction <= _AT_JUNCTION else None
        else:
            node, cost = road.tail, round(fraction * road.weight)
            at_node = road.head if fraction >= 1.0 - _AT_JUNCTION else None
        if node not in found or cost < found[node][2]:
            found[node] = (road.edge, fraction, cost)
        if at_node is not None:  # the point is the junction itself: no part of a road to drive
            found[at_node] = (_NO_EDGE, 0.0, 0)
    return found


def _same_road(ends: tuple[Snap, Snap], roads: tuple[list[_Road], list[_Road]]) -> Trip | None:
    if ends[0].segment != ends[1].segment:
        return None
    best: Trip | None = None
    for road, other in zip(*roads, strict=True):
        start, end = road.fraction, other.fraction
        if start <= end:
            cost = round((end - start) * road.weight)
            if best is None or cost < best.cost_ds:
                best = Trip(cost, [road.edge], start, end)
    return best


def find_trip(
    network: RoadNetwork, engine: Engine, *, ends: tuple[Snap, Snap], level: int
) -> Trip | None:
    """The cheapest trip between two snapped points at trade-off ``level``; None if none."""
    roads = (
        _roads(network, engine, point=ends[0], level=level),
        _roads(network, engine, point=ends[1], level=level),
    )
    leave = _candidates(roads[0], leaving=True)
    arrive = _candidates(roads[1], leaving=False)
    best = _same_road(ends, roads)
    found = engine.between(
        [(node, cost) for node, (_, _, cost) in leave.items()],
        [(node, cost) for node, (_, _, cost) in arrive.items()],
        level=level,
    )
    if found is not None:
        path, source, target = found
        first, start, _ = leave[source]
        last, end, _ = arrive[target]
        if best is None or path.cost_ds < best.cost_ds:
            edges = [*([first] if first != _NO_EDGE else []), *path.edges]
            if first == _NO_EDGE:
                start = 0.0
            if last == _NO_EDGE:
                end = 1.0
            else:
                edges.append(last)
            best = Trip(path.cost_ds, edges, start, end, node=source)
    return best


def trip_shares(trip: Trip) -> FloatArray:
    """The part of each edge of the trip that is driven (1 for all but the end edges)."""
    shares = np.ones(len(trip.edges))
    if not trip.edges:
        return shares
    if len(trip.edges) == 1:
        shares[0] = trip.end - trip.start
    else:
        shares[0] = 1.0 - trip.start
        shares[-1] = trip.end
    return shares


def trip_xy(network: RoadNetwork, trip: Trip, *, shape: PathShape | None) -> FloatArray:
    """The trip's shape, ``(n, 2)`` lon/lat: the full ``shape`` of its edges cut at both ends."""
    if not trip.edges or shape is None:
        here = [float(network.lon[trip.node]), float(network.lat[trip.node])]
        return np.array([here, here])
    cumulative = shape.cumulative
    total = float(cumulative[-1])
    if len(trip.edges) == 1:
        begin, finish = trip.start * total, trip.end * total
    else:
        first_len = float(cumulative[shape.first_points - 1])
        last_len = total - float(cumulative[-shape.last_points])
        begin, finish = trip.start * first_len, total - (1.0 - trip.end) * last_len
    # the points strictly between the cuts: ``cumulative`` never decreases, so they are a slice
    low = int(np.searchsorted(cumulative, begin, side="right"))
    high = int(np.searchsorted(cumulative, finish, side="left"))
    cuts = [begin, finish]
    lon = np.interp(cuts, cumulative, shape.lonlat[:, 0])
    lat = np.interp(cuts, cumulative, shape.lonlat[:, 1])
    out = np.empty((max(high - low, 0) + 2, 2))
    out[0] = lon[0], lat[0]
    out[1:-1] = shape.lonlat[low:high] if high > low else shape.lonlat[:0]
    out[-1] = lon[1], lat[1]
    return out
