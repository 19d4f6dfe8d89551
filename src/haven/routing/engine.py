"""The shortest-path engine: a customizable contraction hierarchy with risk-weighted metrics.

One node ordering per network (computed at import) and one ``routingkit_cch.CCH``
index per process. Each trade-off level ``k`` (0 … ``LEVELS``) is one metric on that
index, built on first use, with edge weights in tenths of a second::

    w(e) = base(e) × (1 + (k / LEVELS) × RISK_FACTOR × risk(e)) + delay(e)   (open road)
    w(e) = BLOCKED_DS                                                     (closed road)

so level 0 is the fastest route and level ``LEVELS`` the safest. A blocked road gets
a large finite weight, not infinity (weights stay far below 2³¹), so a route that
cannot avoid a closure is still found and flagged. New conditions change only the
weights that differ, through ``CCHMetricPartialUpdater`` (no re-ordering, no
re-import). A lock serialises queries and updates: the binding forbids updating a
metric while a query object on it is alive.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from haven.routing.network import RoadNetwork
from haven.routing.osm import optional_routingkit

__all__ = ["BLOCKED_DS", "LEVELS", "RISK_FACTOR", "Engine", "PathResult", "engine_for"]

BLOCKED_DS = 1_000_000
"""Weight of a closed road: about 28 hours, in tenths of a second."""
RISK_FACTOR = 9.0
"""A road at full risk (1.0) costs ten times its travel time on the safest route."""
LEVELS = 20
"""Trade-off levels between fastest (0) and safest (``LEVELS``)."""
_MAX_WEIGHT = 100_000_000

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class PathResult:
    """A shortest path: its cost in tenths of a second and its edges in order."""

    cost_ds: int
    edges: list[int]


class _Metric:
    """One trade-off level: the CCH metric, its current weights and a reusable query."""

    def __init__(self, metric: object, weights: IntArray) -> None:
        self.metric = metric
        self.weights = weights
        self.query: object | None = None


class Engine:
    """Routes on one network under changing conditions (see the module docstring)."""

    def __init__(self, network: RoadNetwork) -> None:
        routingkit_cch = optional_routingkit()
        self._rk = routingkit_cch
        self.network = network
        self.lock = threading.RLock()
        self._cch = routingkit_cch.CCH(
            network.order.tolist(), network.tails.tolist(), network.heads.tolist(), False
        )
        self._updater = routingkit_cch.CCHMetricPartialUpdater(self._cch)
        self._tails = network.tails
        self._heads = network.heads
        self._base = network.weight_ds.astype(np.float64)
        self.blocked = np.zeros(network.edge_count, dtype=bool)
        self.delay_ds = np.zeros(network.edge_count, dtype=np.int64)
        self.risk = np.zeros(network.edge_count, dtype=np.float64)
        self._metrics: dict[int, _Metric] = {}
        self.conditions_key: object = None
        """What ``set_conditions`` last applied (the caller's fingerprint of its inputs)."""

    def weights(self, level: int) -> IntArray:
        """The weights of trade-off ``level`` under the current conditions."""
        factor = 1.0 + (level / LEVELS) * RISK_FACTOR * self.risk
        raw = np.rint(self._base * factor).astype(np.int64) + self.delay_ds
        weights = np.where(self.blocked, BLOCKED_DS, np.clip(raw, 1, _MAX_WEIGHT))
        return weights.astype(np.int64)

    def _metric(self, level: int) -> _Metric:
        found = self._metrics.get(level)
        if found is None:
            weights = self.weights(level)
            found = _Metric(self._rk.CCHMetric(self._cch, weights.tolist()), weights)
            self._metrics[level] = found
        return found

    def _apply(self, metric: _Metric, edges: IntArray, *, values: IntArray) -> None:
        if len(edges) == 0:
            return
        metric.query = None  # the binding refuses updates while a query is alive
        self._updater.apply(metric.metric, dict(zip(edges.tolist(), values.tolist(), strict=True)))
        metric.weights[edges] = values

    def set_conditions(
        self,
        *,
        blocked: npt.NDArray[np.bool_],
        delay_ds: IntArray,
        risk: npt.NDArray[np.float64],
        key: object = None,
    ) -> int:
        """Apply new closures, delays and risk; return how many edge weights changed."""
        with self.lock:
            self.blocked, self.delay_ds, self.risk = blocked, delay_ds, risk
            changed = 0
            for level, metric in self._metrics.items():
                new = self.weights(level)
                edges = np.flatnonzero(new != metric.weights)
                self._apply(metric, edges, values=new[edges])
                changed = max(changed, len(edges))
            self.conditions_key = key
            return changed

    def shortest_path(self, source: int, target: int, *, level: int) -> PathResult | None:
        """The cheapest path at ``level`` from node ``source`` to ``target``; None if none."""
        with self.lock:
            metric = self._metric(level)
            if metric.query is None:
                metric.query = self._rk.CCHQuery(metric.metric)
            result = metric.query.run(source, target)  # type: ignore[attr-defined]
            distance, arcs = result.distance, result.arc_path
            del result  # the binding needs the result gone before the next run
        if distance is None:
            return None
        return PathResult(cost_ds=int(distance), edges=arcs)

    def between(
        self,
        sources: list[tuple[int, int]],
        targets: list[tuple[int, int]],
        *,
        level: int,
    ) -> tuple[PathResult, int, int] | None:
        """The cheapest path from any ``(node, initial cost)`` source to any target.

        Returns the path (its cost includes both initial costs) with the source and
        target node it runs between, or None when no source reaches a target.
        """
        with self.lock:
            metric = self._metric(level)
            if metric.query is None:
                metric.query = self._rk.CCHQuery(metric.metric)
            result = metric.query.run_multi(sources, targets)  # type: ignore[attr-defined]
            distance = result.distance
            arcs: list[int] = [] if distance is None else result.arc_path
            # Each unpacking costs as much as the search: ask for the nodes only when
            # there are no arcs to read the ends from (source and target the same node).
            nodes: list[int] = result.node_path if distance is not None and not arcs else []
            del result  # the binding needs the result gone before the next run
        if distance is None:
            return None
        if arcs:
            source, target = int(self._tails[arcs[0]]), int(self._heads[arcs[-1]])
        elif nodes:
            source = target = int(nodes[0])
        else:
            return None
        return PathResult(cost_ds=int(distance), edges=arcs), source, target

    def weights_of(self, edges: IntArray, *, level: int) -> IntArray:
        """The weights currently applied at ``level`` to the given edges."""
        with self.lock:
            return self._metric(level).weights[edges].copy()

    @contextmanager
    def penalised(self, level: int, edges: IntArray, *, factor: float) -> Iterator[None]:
        """Within the block, the given edges cost ``factor`` times more at ``level``."""
        with self.lock:
            metric = self._metric(level)
            edges = np.unique(edges)
            original = metric.weights[edges].copy()
            raised = np.minimum(np.rint(original * factor), _MAX_WEIGHT).astype(np.int64)
            self._apply(metric, edges, values=raised)
            try:
                yield
            finally:
                self._apply(metric, edges, values=original)

    def edge_weights(self, level: int) -> IntArray:
        """The weights currently applied at ``level`` (a copy)."""
        with self.lock:
            return self._metric(level).weights.copy()


def engine_for(network: RoadNetwork, *, exercise: bool = False) -> Engine:
    """The network's engine, built on first use and kept for the life of the process.

    Real and exercise routing each have their own engine (the same node order, their
    own weights), so exercise conditions never reach a real route.
    """
    lock = network.cache.setdefault("engine_lock", threading.Lock())
    name = "engine:exercise" if exercise else "engine"
    with lock:
        engine = network.cache.get(name)
        if engine is None:
            engine = Engine(network)
            network.cache[name] = engine
    result: Engine = engine
    return result
