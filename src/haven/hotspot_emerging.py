"""Emerging hot spot categories (ESRI's method) from a cell's history of hot and cold periods.

Each location's history is its significant hot and cold periods (oldest first)
and the Mann-Kendall trend of its Gi* z-scores; the rules are written down in
docs/methodology.md ("Emerging hot spots"). Vectorised over locations.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

__all__ = ["EmergingCategory", "emerging_categories"]


class EmergingCategory(StrEnum):
    """Emerging hot spot categories (ESRI's Emerging Hot Spot Analysis), hot and cold."""

    NEW_HOT = "new_hot_spot"
    CONSECUTIVE_HOT = "consecutive_hot_spot"
    INTENSIFYING_HOT = "intensifying_hot_spot"
    PERSISTENT_HOT = "persistent_hot_spot"
    DIMINISHING_HOT = "diminishing_hot_spot"
    SPORADIC_HOT = "sporadic_hot_spot"
    OSCILLATING_HOT = "oscillating_hot_spot"
    HISTORICAL_HOT = "historical_hot_spot"
    NEW_COLD = "new_cold_spot"
    CONSECUTIVE_COLD = "consecutive_cold_spot"
    INTENSIFYING_COLD = "intensifying_cold_spot"
    PERSISTENT_COLD = "persistent_cold_spot"
    DIMINISHING_COLD = "diminishing_cold_spot"
    SPORADIC_COLD = "sporadic_cold_spot"
    OSCILLATING_COLD = "oscillating_cold_spot"
    HISTORICAL_COLD = "historical_cold_spot"
    NO_PATTERN = "no_pattern"


def emerging_categories(
    hot: npt.NDArray[np.bool_], cold: npt.NDArray[np.bool_], *, trend: npt.NDArray[np.int64]
) -> list[EmergingCategory]:
    """Each location's category from its significant hot / cold periods and z-score trend.

    ``hot`` and ``cold`` are (locations × periods), oldest first; ``trend`` is
    +1 / -1 for a significant Mann-Kendall up / down trend of the location's
    z-scores, else 0. The rules are in docs/methodology.md ("Emerging hot spots").
    """
    result = np.full(hot.shape[0], EmergingCategory.NO_PATTERN.value, dtype=object)
    for flags, other, sign, names in (
        (cold, hot, -1, "cold"),
        (hot, cold, 1, "hot"),  # last: a final hot period wins over a cold history
    ):
        picked = _one_side(flags, other, trend=trend * sign)
        for key, mask in picked.items():
            result[mask] = EmergingCategory(f"{key}_{names}_spot").value
    return [EmergingCategory(v) for v in result]


def _one_side(
    flags: npt.NDArray[np.bool_], other: npt.NDArray[np.bool_], *, trend: npt.NDArray[np.int64]
) -> dict[str, npt.NDArray[np.bool_]]:
    periods = flags.shape[1]
    count = flags.sum(axis=1)
    final = flags[:, -1]
    mostly = count >= 0.9 * periods
    reversed_flags = flags[:, ::-1]
    trailing = np.where(reversed_flags.all(axis=1), periods, np.argmin(reversed_flags, axis=1))
    other_before = other[:, :-1].any(axis=1)
    recent = final & ~mostly
    oscillating = recent & other_before
    new = recent & ~other_before & (count == 1)
    consecutive = recent & ~other_before & (trailing >= 2) & (count == trailing)
    sporadic = recent & ~other.any(axis=1) & ~new & ~consecutive
    return {
        "historical": mostly & ~final,
        "intensifying": mostly & final & (trend > 0),
        "diminishing": mostly & final & (trend < 0),
        "persistent": mostly & final & (trend == 0),
        "oscillating": oscillating,
        "new": new,
        "consecutive": consecutive,
        "sporadic": sporadic,
    }
