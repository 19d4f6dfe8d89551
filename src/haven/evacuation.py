"""Evacuation assignment: patients to receiving facilities under bed capacity, explained.

The solver takes a cost matrix, so it runs and is tested without a road
network; ``haven.evacuation_plan`` fills the matrix from the routing engine.

The model is a transportation problem (a min-cost flow). Each group of
patients (origin facility, urgency, needed service) is a supply node; it has
an edge to every receiving facility that offers the service, is reachable and
is not the origin itself; each receiver's free beds cap its flow to the sink.
What cannot be placed goes to an explicit *unplaced* outcome with its reason
(``no_service``, ``no_route`` or ``no_beds``), never silently dropped.

The objective is lexicographic, as triage asks:

1. place as many ``red`` (immediate) patients as possible; then, keeping that,
   as many ``yellow`` (urgent); then as many ``green`` (delayed) — a less
   urgent patient never takes a bed a more urgent one could have had;
2. among those plans, minimise the urgency-weighted, risk-weighted travel
   time: ``sum(URGENCY_WEIGHT[urgency] * round(cost_s))`` over patients, where
   ``cost_s`` is the route's risk-weighted time in seconds (whole seconds).

Each stage is a linear program solved by HiGHS' dual simplex through
``scipy.optimize.linprog``: its constraints form a network matrix, so the
vertex HiGHS returns is integral (a fractional one would be solved again with
``scipy.optimize.milp``, exactly). scipy is already one of Haven's core
dependencies and HiGHS a well-kept exact solver; OR-Tools' min-cost flow would
add a large binary wheel, and networkx's network simplex is pure Python and
cannot express the triage stages. 300 groups × 100 receivers (9,500 edges)
solve in about 1 s on one core of the development machine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from haven.errors import HavenError, InvalidInput

__all__ = [
    "URGENCY_ORDER",
    "URGENCY_WEIGHT",
    "Alternative",
    "Assignment",
    "Leg",
    "PatientGroup",
    "Receiver",
    "Service",
    "Solution",
    "Totals",
    "Unplaced",
    "UnplacedReason",
    "Urgency",
    "solve",
    "unit_cost",
]


class Urgency(StrEnum):
    """Triage category (START colours): how soon the patient needs care."""

    RED = "red"
    """Immediate."""
    YELLOW = "yellow"
    """Urgent, can wait a few hours."""
    GREEN = "green"
    """Delayed or minor."""


URGENCY_ORDER: tuple[Urgency, ...] = (Urgency.RED, Urgency.YELLOW, Urgency.GREEN)
"""Most urgent first: the order in which beds are given."""

URGENCY_WEIGHT: Mapping[Urgency, int] = {Urgency.RED: 4, Urgency.YELLOW: 2, Urgency.GREEN: 1}
"""How much one second of a patient's journey counts, by urgency."""


class Service(StrEnum):
    """The care a patient needs and a receiving facility offers."""

    GENERAL = "general"
    SURGERY = "surgery"
    MATERNITY = "maternity"
    DIALYSIS = "dialysis"
    BURNS = "burns"
    PAEDIATRICS = "paediatrics"
    INTENSIVE_CARE = "intensive_care"


class UnplacedReason(StrEnum):
    """Why patients could not be placed."""

    NO_SERVICE = "no_service"
    """No receiving facility offers the service."""
    NO_ROUTE = "no_route"
    """Facilities offer it, but none can be reached from the origin."""
    NO_BEDS = "no_beds"
    """Reachable facilities offer it, but their beds went to these or more urgent patients."""


@dataclass(frozen=True, slots=True)
class PatientGroup:
    """``count`` patients of one urgency needing one service, waiting at ``origin``."""

    origin: int
    count: int
    urgency: Urgency
    service: Service


@dataclass(frozen=True, slots=True)
class Receiver:
    """A receiving facility: its free beds and the services it offers."""

    facility: int
    free_beds: int
    services: frozenset[Service]


@dataclass(frozen=True, slots=True)
class Leg:
    """The route from one facility to another: time, risk exposure, risk-weighted time."""

    time_s: float
    cost_s: float
    """Risk-weighted travel time in seconds: what the plan minimises."""
    risk: float | None = None
    """Risk exposure along the route (routing's "seconds at full risk"), when known."""
    length_m: float | None = None


@dataclass(frozen=True, slots=True)
class Alternative:
    """A facility cheaper to reach than the chosen one, and why it was not used."""

    facility: int
    cost_s: float
    reason: str
    """``full`` (its beds went to other patients of this plan) or ``lacks_service``."""
    beds_left: int
    taken_by: dict[str, int] = field(default_factory=dict)
    """For a full facility: how many of its beds each urgency got."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """``count`` patients of one group sent to one facility, with the route and the reason."""

    origin: int
    destination: int
    count: int
    urgency: Urgency
    service: Service
    time_s: float
    cost_s: float
    risk: float | None
    length_m: float | None
    weighted_cost: int
    """``count * URGENCY_WEIGHT[urgency] * unit_cost(leg)``."""
    cheaper_alternatives: list[Alternative]
    why: str


@dataclass(frozen=True, slots=True)
class Unplaced:
    """Patients of one group that no facility could take, and why."""

    origin: int
    count: int
    urgency: Urgency
    service: Service
    reason: UnplacedReason
    detail: str


@dataclass(frozen=True, slots=True)
class Totals:
    """The plan in numbers."""

    patients: int
    placed: int
    unplaced: int
    placed_by_urgency: dict[str, int]
    unplaced_by_urgency: dict[str, int]
    weighted_cost: int
    patient_travel_s: float
    """Sum over placed patients of their travel time."""
    max_travel_s: float | None
    risk_exposure: float | None
    """Sum over placed patients of their route's risk (``None`` when a route's risk is unknown)."""


@dataclass(frozen=True, slots=True)
class Solution:
    """An optimal plan: assignments, the unplaced and the totals."""

    assignments: list[Assignment]
    unplaced: list[Unplaced]
    totals: Totals


_INTEGRAL = 1e-6
"""How far from a whole number an LP value may be and still count as one."""


def unit_cost(leg: Leg) -> int:
    """The integer cost of one unweighted patient on ``leg``: risk-weighted seconds, rounded."""
    return round(leg.cost_s)


def _check(
    groups: Sequence[PatientGroup],
    receivers: Sequence[Receiver],
    *,
    legs: Mapping[tuple[int, int], Leg],
) -> None:
    fields: dict[str, str] = {}
    seen_groups: dict[tuple[int, Urgency, Service], int] = {}
    for index, group in enumerate(groups):
        if group.count < 0:
            fields[f"patients[{index}].count"] = f"{group.count} is negative"
        key = (group.origin, group.urgency, group.service)
        if key in seen_groups:
            fields[f"patients[{index}]"] = (
                f"same origin, urgency and service as patients[{seen_groups[key]}]; add the counts"
            )
        seen_groups.setdefault(key, index)
    seen_receivers: dict[int, int] = {}
    for index, receiver in enumerate(receivers):
        if receiver.free_beds < 0:
            fields[f"receivers[{index}].free_beds"] = f"{receiver.free_beds} is negative"
        first = seen_receivers.get(receiver.facility)
        if first is not None:
            fields[f"receivers[{index}].facility"] = (
                f"facility {receiver.facility} is already receivers[{first}]"
            )
        seen_receivers.setdefault(receiver.facility, index)
    for (origin, destination), leg in legs.items():
        for name in ("time_s", "cost_s", "risk", "length_m"):
            value = getattr(leg, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                fields[f"legs[{origin},{destination}].{name}"] = (
                    f"{value} is not a finite number ≥ 0"
                )
    if fields:
        raise InvalidInput(f"{len(fields)} invalid field(s) in the evacuation", fields=fields)


@dataclass(frozen=True, slots=True)
class _Edge:
    group: int
    receiver: int
    leg: Leg


def _edges(
    groups: Sequence[PatientGroup],
    receivers: Sequence[Receiver],
    *,
    legs: Mapping[tuple[int, int], Leg],
) -> list[_Edge]:
    edges: list[_Edge] = []
    for g, group in enumerate(groups):
        if group.count == 0:
            continue
        for r, receiver in enumerate(receivers):
            leg = legs.get((group.origin, receiver.facility))
            if (
                receiver.free_beds > 0
                and group.service in receiver.services
                and receiver.facility != group.origin
                and leg is not None
            ):
                edges.append(_Edge(g, r, leg))
    return edges


def _stage(
    objective: npt.NDArray[np.float64], *, rows: Any, upper: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """One stage: minimise ``objective @ x`` subject to ``rows @ x <= upper``, ``x >= 0``, integer.

    The constraint matrix is a network matrix (source → urgency level → group →
    receiver → sink, with the stage floors as lower bounds on the level arcs), so
    the LP's vertices are integral: HiGHS' dual simplex returns one. Should it
    ever return a fractional vertex, the stage is solved again as an integer program.
    """
    result = linprog(objective, A_ub=rows, b_ub=upper, bounds=(0, None), method="highs-ds")
    if result.status == 0:
        vertex: npt.NDArray[np.float64] = np.round(result.x)
        if np.abs(result.x - vertex).max() <= _INTEGRAL:
            return vertex
    exact = milp(
        objective,
        constraints=[LinearConstraint(rows, -np.inf, upper)],
        integrality=np.ones(len(objective)),
        bounds=Bounds(0, np.inf),
        options={"mip_rel_gap": 0.0},
    )
    if not exact.success:
        raise HavenError(f"the evacuation solver failed: {exact.message}")
    whole: npt.NDArray[np.float64] = np.round(exact.x)
    return whole


def _solve_flows(
    groups: Sequence[PatientGroup], receivers: Sequence[Receiver], *, edges: Sequence[_Edge]
) -> list[int]:
    """Integer flow per edge: the lexicographic optimum (triage stages, then cost)."""
    n = len(edges)
    if n == 0:
        return []
    columns = np.arange(n)
    ones = np.ones(n)
    supply = sparse.csr_array((ones, ([e.group for e in edges], columns)), shape=(len(groups), n))
    beds = sparse.csr_array(
        (ones, ([e.receiver for e in edges], columns)), shape=(len(receivers), n)
    )
    rows = sparse.vstack([supply, beds]).tocsr()
    upper = np.array([g.count for g in groups] + [r.free_beds for r in receivers], dtype=float)
    for urgency in URGENCY_ORDER:
        level = np.array([1.0 if groups[e.group].urgency == urgency else 0.0 for e in edges])
        if not level.any():
            continue
        placed = float(level @ _stage(-level, rows=rows, upper=upper))
        # keep this many placed in the next stages: -level @ x <= -placed
        rows = sparse.vstack([rows, sparse.csr_array(-level[None, :])]).tocsr()
        upper = np.append(upper, -placed)
    cost = np.array(
        [URGENCY_WEIGHT[groups[e.group].urgency] * unit_cost(e.leg) for e in edges], dtype=float
    )
    return [int(value) for value in _stage(cost, rows=rows, upper=upper)]


def _unplaced_reason(
    group: PatientGroup, receivers: Sequence[Receiver], *, legs: Mapping[tuple[int, int], Leg]
) -> tuple[UnplacedReason, str]:
    offering = [r for r in receivers if group.service in r.services and r.facility != group.origin]
    if not offering:
        return UnplacedReason.NO_SERVICE, f"no receiving facility offers {group.service.value}"
    reachable = [r for r in offering if (group.origin, r.facility) in legs]
    if not reachable:
        names = ", ".join(str(r.facility) for r in offering)
        return UnplacedReason.NO_ROUTE, f"no route from {group.origin} to {names}"
    beds = sum(r.free_beds for r in reachable)
    return (
        UnplacedReason.NO_BEDS,
        f"the {beds} free bed(s) at {len(reachable)} reachable facilities offering "
        f"{group.service.value} went to these or more urgent patients",
    )


def _alternatives(
    group: PatientGroup,
    chosen: Receiver,
    *,
    receivers: Sequence[Receiver],
    legs: Mapping[tuple[int, int], Leg],
    used: Mapping[int, dict[str, int]],
) -> list[Alternative]:
    chosen_cost = unit_cost(legs[(group.origin, chosen.facility)])
    found: list[Alternative] = []
    for receiver in receivers:
        leg = legs.get((group.origin, receiver.facility))
        if receiver is chosen or receiver.facility == group.origin or leg is None:
            continue
        if unit_cost(leg) >= chosen_cost:
            continue
        taken = used.get(receiver.facility, {})
        beds_left = receiver.free_beds - sum(taken.values())
        if group.service not in receiver.services:
            found.append(Alternative(receiver.facility, leg.cost_s, "lacks_service", beds_left))
        else:
            found.append(Alternative(receiver.facility, leg.cost_s, "full", beds_left, dict(taken)))
    found.sort(key=lambda a: (a.cost_s, a.facility))
    return found


def _why(alternatives: Sequence[Alternative]) -> str:
    if not alternatives:
        return "the cheapest reachable facility offering the service"
    full = sum(1 for a in alternatives if a.reason == "full")
    lacking = len(alternatives) - full
    parts = []
    if full:
        parts.append(f"{full} cheaper facilit{'y is' if full == 1 else 'ies are'} full")
    if lacking:
        parts.append(
            f"{lacking} cheaper facilit{'y lacks' if lacking == 1 else 'ies lack'} the service"
        )
    return "; ".join(parts)


def _risk_sum(assignments: Sequence[Assignment]) -> float | None:
    total = 0.0
    for a in assignments:
        if a.risk is None:
            return None
        total += a.count * a.risk
    return total


def _totals(
    groups: Sequence[PatientGroup],
    *,
    assignments: Sequence[Assignment],
    unplaced: Sequence[Unplaced],
) -> Totals:
    placed_by = {u.value: 0 for u in URGENCY_ORDER}
    unplaced_by = {u.value: 0 for u in URGENCY_ORDER}
    for a in assignments:
        placed_by[a.urgency.value] += a.count
    for u in unplaced:
        unplaced_by[u.urgency.value] += u.count
    return Totals(
        patients=sum(g.count for g in groups),
        placed=sum(placed_by.values()),
        unplaced=sum(unplaced_by.values()),
        placed_by_urgency=placed_by,
        unplaced_by_urgency=unplaced_by,
        weighted_cost=sum(a.weighted_cost for a in assignments),
        patient_travel_s=sum(a.count * a.time_s for a in assignments),
        max_travel_s=max((a.time_s for a in assignments), default=None),
        risk_exposure=_risk_sum(assignments),
    )


def solve(
    groups: Sequence[PatientGroup],
    receivers: Sequence[Receiver],
    *,
    legs: Mapping[tuple[int, int], Leg],
) -> Solution:
    """The optimal plan for ``groups`` over ``receivers``; ``legs[(origin, dest)]`` are routes.

    A pair missing from ``legs`` has no route. ``InvalidInput`` names each bad
    field (negative counts or beds, duplicate receivers or groups, bad costs).
    """
    _check(groups, receivers, legs=legs)
    edges = _edges(groups, receivers, legs=legs)
    flows = _solve_flows(groups, receivers, edges=edges)
    used: dict[int, dict[str, int]] = {}
    placed = [0] * len(groups)
    for edge, flow in zip(edges, flows, strict=True):
        if flow:
            taken = used.setdefault(receivers[edge.receiver].facility, {})
            urgency = groups[edge.group].urgency.value
            taken[urgency] = taken.get(urgency, 0) + flow
            placed[edge.group] += flow
    assignments: list[Assignment] = []
    for edge, flow in zip(edges, flows, strict=True):
        if not flow:
            continue
        group, receiver = groups[edge.group], receivers[edge.receiver]
        alternatives = _alternatives(group, receiver, receivers=receivers, legs=legs, used=used)
        assignments.append(
            Assignment(
                origin=group.origin,
                destination=receiver.facility,
                count=flow,
                urgency=group.urgency,
                service=group.service,
                time_s=edge.leg.time_s,
                risk=edge.leg.risk,
                cost_s=edge.leg.cost_s,
                length_m=edge.leg.length_m,
                weighted_cost=flow * URGENCY_WEIGHT[group.urgency] * unit_cost(edge.leg),
                cheaper_alternatives=alternatives,
                why=_why(alternatives),
            )
        )
    unplaced: list[Unplaced] = []
    for g, group in enumerate(groups):
        left = group.count - placed[g]
        if left > 0:
            reason, detail = _unplaced_reason(group, receivers, legs=legs)
            unplaced.append(
                Unplaced(group.origin, left, group.urgency, group.service, reason, detail)
            )
    return Solution(
        assignments, unplaced, _totals(groups, assignments=assignments, unplaced=unplaced)
    )
