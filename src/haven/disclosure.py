"""Disclosure control for published counts: small-cell and complementary suppression, DP noise.

A published table is a set of cells and *lines*: a line is a total and the
cells that add up to it (a row or a column of the table, with its margin).
Anyone can subtract the published cells of a line from its published total,
so hiding one cell of a line hides nothing. ``suppress`` hides every cell
under ``k`` (primary suppression) and then, line by line, hides more cells
until no line has exactly one hidden member and no line's hidden cells can be
pinned from their sum (complementary suppression).

``add_noise`` adds discrete Laplace noise through OpenDP (the optional
``haven[dp]`` extra), calibrated so that the whole vector of counts is
epsilon-differentially private for a stated L1 sensitivity.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from haven.errors import ConfigurationError

__all__ = ["Line", "add_noise", "line_is_safe", "require_opendp", "suppress"]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Line(Generic[K]):
    """A total and the cells that add up to it (the relation an attacker can subtract along)."""

    total: K
    parts: tuple[K, ...]

    @property
    def members(self) -> tuple[K, ...]:
        """The parts, then the total."""
        return (*self.parts, self.total)


def line_is_safe(
    line: Line[K], *, hidden: set[K] | frozenset[K], values: Mapping[K, int], k: int
) -> bool:
    """Whether no hidden member of ``line`` can be worked out from its published members.

    Safe when nothing is hidden, or at least two members are hidden and, if the
    total is published, the hidden parts' sum (which anyone can compute) does
    not pin each of them: it is not the smallest possible (every hidden cell is
    at least 1) nor, when all of them are under ``k``, the largest possible.
    """
    hidden_members = [m for m in line.members if m in hidden]
    if not hidden_members:
        return True
    if len(hidden_members) == 1:
        return False
    if line.total in hidden:
        return True
    hidden_parts = [values[m] for m in hidden_members]
    count, total = len(hidden_parts), sum(hidden_parts)
    if total <= count:
        return False
    return not (all(v < k for v in hidden_parts) and total >= count * (k - 1))


def _next_to_hide(line: Line[K], *, hidden: set[K], values: Mapping[K, int]) -> K | None:
    """The published member that costs least to hide: the smallest part, else the total."""
    candidates = [m for m in line.members if m not in hidden]
    if not candidates:
        return None
    return min(candidates, key=lambda m: (m == line.total, values[m], repr(m)))


def suppress(values: Mapping[K, int], lines: Iterable[Line[K]], *, k: int) -> set[K]:
    """The cells to hide: every cell under ``k``, plus the complements that protect them.

    ``values`` holds every cell of the table (parts and totals); ``lines`` every
    additive relation between them. Deterministic: the same table always hides
    the same cells.
    """
    line_list = list(lines)
    hidden: set[K] = {key for key, value in values.items() if value < k}
    changed = True
    while changed:
        changed = False
        for line in line_list:
            while not line_is_safe(line, hidden=hidden, values=values, k=k):
                extra = _next_to_hide(line, hidden=hidden, values=values)
                if extra is None:
                    break
                hidden.add(extra)
                changed = True
    return hidden


def require_opendp() -> None:
    """Raise ``ConfigurationError`` with the install hint unless OpenDP is importable."""
    try:
        import opendp  # noqa: F401, PLC0415 - optional extra
    except ImportError as exc:
        raise ConfigurationError(
            "differential privacy needs OpenDP: pip install 'haven[dp]'",
            fields={"dp_epsilon": "set, but the dp extra is not installed"},
        ) from exc


def add_noise(counts: Sequence[int], *, epsilon: float, sensitivity: int) -> list[int]:
    """``counts`` plus discrete Laplace noise: epsilon-DP when one person's data moves the
    vector by at most ``sensitivity`` in L1 distance.

    Uses OpenDP's vetted sampler (``make_laplace`` on an integer vector with the
    L1 metric); the scale is ``sensitivity / epsilon``, checked with OpenDP's own
    privacy map.
    """
    require_opendp()
    import opendp.prelude as dp  # noqa: PLC0415 - optional extra

    dp.enable_features("contrib")
    space = (dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int))
    scale = sensitivity / epsilon
    measurement = dp.m.make_laplace(*space, scale=scale)
    spent = float(measurement.map(sensitivity))  # type: ignore[no-untyped-call]
    if spent > epsilon * (1 + 1e-9):
        raise ConfigurationError(f"noise calibration failed: {spent} > epsilon {epsilon}")
    if not counts:
        return []
    return [int(v) for v in measurement(list(counts))]
