"""Confidence bands of the indicators: exact Poisson (Garwood) and binomial (Clopper-Pearson)
intervals, and a Poisson log-linear trend of monthly counts.

Monthly attack counts are treated as Poisson counts. The band of one month is
Garwood's exact interval (``scipy.stats.chi2``); the band of a share is the
Clopper-Pearson exact interval (``scipy.stats.beta``); the trend is the rate
ratio per month of a Poisson regression ``log E[y_t] = a + b t`` fitted by
iteratively reweighted least squares, with a Wald interval on ``b`` widened
by the Pearson dispersion when the counts are overdispersed (quasi-Poisson).
The method is written down in docs/indicators.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field
from scipy import stats

__all__ = ["CONFIDENCE", "Trend", "clopper_pearson", "garwood", "poisson_trend"]

CONFIDENCE = 0.95
"""The confidence level of every band the indicators show."""

_MIN_MONTHS = 3
_MAX_ITERATIONS = 50
_MAX_LOG_RATIO = 50.0


def garwood(count: int, *, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact (Garwood) interval of a Poisson mean from one observed ``count``.

    ``lower = chi2.ppf(α/2, 2k) / 2`` (0 when k = 0), ``upper = chi2.ppf(1-α/2, 2k+2) / 2``.
    """
    if count < 0:
        raise ValueError("a count cannot be negative")
    alpha = 1.0 - confidence
    lower = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2, 2 * count)) / 2
    upper = float(stats.chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    return lower, upper


def clopper_pearson(
    successes: int, trials: int, *, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a proportion ``successes / trials``."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError("need 0 <= successes <= trials and trials > 0")
    alpha = 1.0 - confidence
    lower = (
        0.0
        if successes == 0
        else float(stats.beta.ppf(alpha / 2, successes, trials - successes + 1))
    )
    upper = (
        1.0
        if successes == trials
        else float(stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    )
    return lower, upper


class Trend(BaseModel):
    """The monthly rate ratio of a Poisson log-linear fit, with its confidence band."""

    months: int = Field(description="Months fitted.")
    rate_ratio: float = Field(
        description="Multiplier of the expected count from one month to the next."
    )
    lower: float
    upper: float
    p_value: float = Field(description="Two-sided Wald test of no trend (rate ratio 1).")
    dispersion: float = Field(description="Pearson chi² / (n - 2), at least 1 (quasi-Poisson).")
    fitted: list[float] = Field(description="Expected count of each month under the fit.")


def _fit(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson regression of ``y`` on ``[1, t]`` by IRLS: coefficients and their covariance."""
    design = np.column_stack([np.ones_like(t), t])
    beta = np.array([math.log(max(y.mean(), 0.5)), 0.0])
    for _ in range(_MAX_ITERATIONS):
        mu = np.exp(design @ beta)
        z = design @ beta + (y - mu) / mu
        weighted = design * mu[:, None]
        information = design.T @ weighted
        updated = np.linalg.solve(information, weighted.T @ z)
        if np.max(np.abs(updated - beta)) < 1e-10:
            beta = updated
            break
        beta = updated
    mu = np.exp(design @ beta)
    covariance = np.linalg.inv(design.T @ (design * mu[:, None]))
    return beta, covariance


def poisson_trend(counts: Sequence[int], *, confidence: float = CONFIDENCE) -> Trend | None:
    """The trend of consecutive monthly ``counts``; ``None`` with fewer than three months, no
    incident at all, or every incident in the first or the last month (the fit then runs
    off to a rate ratio of 0 or infinity)."""
    if len(counts) < _MIN_MONTHS or sum(counts) == 0:
        return None
    if sum(counts) in (counts[0], counts[-1]):
        return None  # every incident in the first or the last month: the slope has no finite MLE
    y = np.asarray(counts, dtype=float)
    t = np.arange(len(y), dtype=float)
    beta, covariance = _fit(y, t)
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(covariance))):
        return None
    mu = np.exp(beta[0] + beta[1] * t)
    pearson = float(np.sum((y - mu) ** 2 / mu))
    dispersion = max(1.0, pearson / (len(y) - 2)) if len(y) > 2 else 1.0
    se = math.sqrt(float(covariance[1, 1]) * dispersion)
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    slope = float(beta[1])
    if max(abs(slope - z * se), abs(slope + z * se)) > _MAX_LOG_RATIO:
        return None  # a band beyond e^±50 a month says nothing (and overflows)
    p_value = float(2 * stats.norm.sf(abs(slope) / se)) if se > 0 else 0.0
    return Trend(
        months=len(y),
        rate_ratio=math.exp(slope),
        lower=math.exp(slope - z * se),
        upper=math.exp(slope + z * se),
        p_value=p_value,
        dispersion=dispersion,
        fitted=[float(v) for v in mu],
    )
