"""Rolling-origin backtest of the early-warning model against honest baselines, with plots.

Train only on the past, predict the next months, roll forward: at each origin
the model is refitted on every month before it (every ``refit_every`` months,
to keep the full run short) and predicts the months up to the next origin; the
baselines (``haven.forecast.baseline``) predict the same unit-months from the
same past. Scores:

- **Brier score** of the probability of at least one attack (lower is better);
- **AUPR**, the area under the precision-recall curve (average precision) of
  that probability (higher is better; a constant forecast scores the share of
  unit-months with an attack);
- **CRPS** of the count, with a Poisson predictive distribution around each
  method's expected count (``scoringrules.crps_poisson``; a point mass at 0 for
  all-zero, whose CRPS is the observed count);

each also as **skill** against all-zero and against conflictology:
``1 - score / reference`` for Brier and CRPS, ``(A - A_ref) / (1 - A_ref)`` for AUPR.
``write_methodology`` puts the table between the ``forecast`` markers of
``docs/methodology.md``; ``reliability_plot`` and ``trend_plot`` draw the PNGs.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from haven.errors import ConfigurationError, InvalidInput
from haven.forecast import (
    EXPOSURE_FLOOR,
    GLM_WEIGHT,
    METHODS,
    FloatArray,
    Panel,
    UnitKind,
    baseline,
    features,
    fit,
    month_index,
    training_rows,
)

__all__ = [
    "BacktestResult",
    "Predictions",
    "ScoreRow",
    "aupr",
    "brier",
    "crps_poisson",
    "label_for",
    "reliability_plot",
    "run",
    "score",
    "skill",
    "trend_plot",
    "write_docs",
    "write_methodology",
]

BEGIN = "<!-- forecast:begin (written by `haven forecast backtest --write-docs`; edits here are overwritten) -->"  # noqa: E501
END = "<!-- forecast:end -->"


def brier(probability: FloatArray, occurred: FloatArray) -> float:
    """Mean squared difference between the probability and what happened (0 or 1)."""
    return float(np.mean((probability - occurred) ** 2))


def aupr(probability: FloatArray, occurred: FloatArray) -> float | None:
    """Average precision (area under the precision-recall curve); ``None`` without any event."""
    if occurred.sum() == 0:
        return None
    from sklearn.metrics import average_precision_score  # noqa: PLC0415 - optional extra

    return float(average_precision_score(occurred, probability))


def _crps_by_sum(mean: FloatArray, counts: FloatArray) -> FloatArray:
    """CRPS of Poisson forecasts by its definition, sum over k of (F(k) - 1{k >= y})²."""
    from scipy.stats import poisson  # noqa: PLC0415

    out = np.zeros(len(mean))
    for i, (mu, y) in enumerate(zip(mean, counts, strict=True)):
        top = int(max(y, mu + 12 * np.sqrt(mu) + 20))
        k = np.arange(top + 1)
        out[i] = float(np.sum((poisson.cdf(k, mu) - (k >= y)) ** 2))
    return out


def crps_poisson(mean: FloatArray, counts: FloatArray) -> float:
    """Mean CRPS of Poisson forecasts with these means (a mean of 0 is a point mass at 0).

    Uses ``scoringrules.crps_poisson`` (closed form); where it overflows (counts
    in the hundreds, as whole countries have), the definition is summed instead.
    """
    try:
        import scoringrules  # noqa: PLC0415 - optional extra
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigurationError("scoring needs scoringrules: install haven[forecast]") from exc
    safe = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    counts = np.asarray(counts, dtype=np.float64)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        values = np.asarray(scoringrules.crps_poisson(counts, safe), dtype=np.float64)
    broken = ~np.isfinite(values) & (safe > 0)
    if broken.any():
        values[broken] = _crps_by_sum(safe[broken], counts[broken])
    return float(np.mean(np.where(safe > 0, values, counts)))


def skill(value: float | None, reference: float | None, *, higher_is_better: bool) -> float | None:
    """Skill of ``value`` against ``reference``: 1 is perfect, 0 no better, below 0 worse."""
    if value is None or reference is None:
        return None
    if higher_is_better:
        return None if reference >= 1 else (value - reference) / (1 - reference)
    return None if reference == 0 else 1 - value / reference


class Predictions(BaseModel):
    """Every method's forecasts of the same test unit-months (flat arrays, one per method)."""

    model_config = {"arbitrary_types_allowed": True}

    units: Any = Field(description="Unit index of each row.")
    months: Any = Field(description="Month index of each row.")
    counts: Any = Field(description="Observed count of each row.")
    probability: dict[str, Any]
    mean: dict[str, Any]


class ScoreRow(BaseModel):
    """Scores of every method over one scope (overall, or one country)."""

    scope: str
    unit_months: int
    with_attack: int = Field(description="Unit-months with at least one attack.")
    attacks: int
    brier: dict[str, float]
    aupr: dict[str, float | None]
    crps: dict[str, float]

    def skill(self, metric: str, method: str, *, against: str) -> float | None:
        """Skill of ``method`` on ``metric`` (brier, aupr, crps) against another method."""
        values: dict[str, Any] = getattr(self, metric)
        return skill(values[method], values[against], higher_is_better=metric == "aupr")


class BacktestResult(BaseModel):
    """What one backtest measured."""

    model_config = {"arbitrary_types_allowed": True}

    unit_kind: UnitKind
    label: str
    first_test: date
    last_test: date
    units: int
    refit_every: int
    half_life: float
    rows: list[ScoreRow]
    predictions: Predictions = Field(exclude=True)

    def overall(self) -> ScoreRow:
        """The ``overall`` row."""
        return self.rows[0]


def score(predictions: Predictions, *, scope: str, rows: Any = None) -> ScoreRow:
    """Scores of every method over the prediction rows selected by ``rows`` (all if None)."""
    pick = slice(None) if rows is None else rows
    counts = np.asarray(predictions.counts)[pick]
    occurred = (counts > 0).astype(np.float64)
    result: dict[str, dict[str, Any]] = {"brier": {}, "aupr": {}, "crps": {}}
    for method in predictions.probability:
        probability = np.asarray(predictions.probability[method])[pick]
        mean = np.asarray(predictions.mean[method])[pick]
        result["brier"][method] = brier(probability, occurred)
        result["aupr"][method] = aupr(probability, occurred)
        result["crps"][method] = crps_poisson(mean, counts)
    return ScoreRow(
        scope=scope,
        unit_months=len(counts),
        with_attack=int(occurred.sum()),
        attacks=int(counts.sum()),
        **result,
    )


def _origins(first: int, last: int, *, every: int) -> list[tuple[int, int]]:
    return [(o, min(o + every, last + 1)) for o in range(first, last + 1, every)]


def predict_rolling(
    panel: Panel, *, first_test: int, refit_every: int, half_life: float
) -> Predictions:
    """Rolling-origin forecasts of every method for months ``first_test`` to the panel's end."""
    if not 4 <= first_test < panel.months:
        raise InvalidInput(
            "the test months must start after at least four months of history and before the "
            "data ends",
            fields={"since": panel.month(max(first_test, 0)).isoformat()[:7]},
        )
    table = features(panel, half_life=half_life)
    references = {m: baseline(panel, m, half_life=half_life) for m in METHODS if m != "model"}
    probability: dict[str, list[FloatArray]] = {m: [] for m in METHODS}
    mean: dict[str, list[FloatArray]] = {m: [] for m in METHODS}
    units: list[Any] = []
    months: list[Any] = []
    for origin, stop in _origins(first_test, panel.months - 1, every=refit_every):
        rows, counts = training_rows(table, panel, before=origin)
        model = fit(rows, counts)
        p, mu = model.predict(table[:, origin:stop, :].reshape(-1, table.shape[2]))
        probability["model"].append(p)
        mean["model"].append(mu)
        for method, (bp, bm) in references.items():
            probability[method].append(bp[:, origin:stop].reshape(-1))
            mean[method].append(bm[:, origin:stop].reshape(-1))
        grid_u, grid_t = np.meshgrid(
            np.arange(len(panel.units)), np.arange(origin, stop), indexing="ij"
        )
        units.append(grid_u.reshape(-1))
        months.append(grid_t.reshape(-1))
    unit_index = np.concatenate(units)
    month_idx = np.concatenate(months)
    return Predictions(
        units=unit_index,
        months=month_idx,
        counts=panel.health[unit_index, month_idx],
        probability={m: np.concatenate(v) for m, v in probability.items()},
        mean={m: np.concatenate(v) for m, v in mean.items()},
    )


def run(
    panel: Panel,
    *,
    since: date,
    label: str,
    refit_every: int = 12,
    half_life: float = 3.0,
    top_countries: int = 5,
) -> BacktestResult:
    """Backtest from month ``since`` to the panel's end; scores overall and per country.

    Countries are those with the most attacks in the test months (``top_countries``).
    """
    first_test = month_index(since, start=panel.start)
    predictions = predict_rolling(
        panel, first_test=first_test, refit_every=refit_every, half_life=half_life
    )
    rows = [score(predictions, scope="overall")]
    country_of = np.array(panel.countries)[np.asarray(predictions.units)]
    counts = np.asarray(predictions.counts)
    totals = {c: float(counts[country_of == c].sum()) for c in set(panel.countries)}
    ranked = sorted((c for c in totals if totals[c] > 0), key=lambda c: (-totals[c], c))
    rows += [score(predictions, scope=c, rows=country_of == c) for c in ranked[:top_countries]]
    return BacktestResult(
        unit_kind=panel.kind,
        label=label,
        first_test=panel.month(first_test),
        last_test=panel.month(panel.months - 1),
        units=len(panel.units),
        refit_every=refit_every,
        half_life=half_life,
        rows=rows,
        predictions=predictions,
    )


# --- reporting -----------------------------------------------------------------------------


def _fmt(value: float | None, *, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+.1f}%" if percent else f"{value:.4f}"


def _row_lines(row: ScoreRow) -> list[str]:
    lines = []
    for method in ("model", "conflictology", "decayed", "last_value", "all_zero"):
        cells = [row.scope if method == "model" else "", method]
        for metric in ("brier", "aupr", "crps"):
            cells.append(_fmt(getattr(row, metric)[method]))
            for against in ("all_zero", "conflictology"):
                cells.append(
                    _fmt(row.skill(metric, method, against=against), percent=True)
                    if method not in {against}
                    else "–"
                )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def table_markdown(result: BacktestResult) -> str:
    """The result as a Markdown table: each metric and its skill against the two baselines."""
    head = (
        "| scope | method | Brier | skill vs zero | skill vs conflictology | AUPR "
        "| skill vs zero | skill vs conflictology | CRPS | skill vs zero "
        "| skill vs conflictology |"
    )
    lines = [head, "|" + "---|" * 11]
    for row in result.rows:
        lines += _row_lines(row)
    counts = [
        f"{r.scope}: {r.unit_months:,} unit-months, {r.with_attack:,} with an attack "
        f"({r.attacks:,} attacks)"
        for r in result.rows
    ]
    return "\n".join(lines) + "\n\nTest data — " + "; ".join(counts) + "."


def verdict(result: BacktestResult) -> list[str]:
    """Plain sentences: where the model beats both baselines and where it does not."""
    said = []
    for row in result.rows:
        for metric in ("brier", "aupr", "crps"):
            for against in ("all_zero", "conflictology"):
                value = row.skill(metric, "model", against=against)
                if value is not None and value <= 0:
                    said.append(
                        f"In {row.scope}, the model does **not** beat {against} on "
                        f"{metric.upper() if metric != 'brier' else 'Brier'} "
                        f"(skill {value * 100:+.1f}%)."
                    )
    if not said:
        said.append("The model beats both baselines on every metric, overall and in every row.")
    overall_row = result.overall()
    for metric in ("brier", "aupr", "crps"):
        values: dict[str, Any] = getattr(overall_row, metric)
        for other in ("decayed", "last_value"):
            value = overall_row.skill(metric, "model", against=other)
            if value is not None and value < 0:
                name = "Brier" if metric == "brier" else metric.upper()
                said.append(
                    f"Overall, the {other.replace('_', ' ')} reference scores a better {name} "
                    f"than the model ({values[other]:.4f} against {values['model']:.4f})."
                )
    overall = result.overall().skill("brier", "model", against="conflictology")
    if overall is not None:
        aim = "meets" if overall >= 0.10 else "does **not** meet"
        said.append(
            f"Overall Brier skill against conflictology is {overall * 100:+.1f}%, which {aim} "
            "the aim of at least +10%."
        )
    return said


def write_methodology(path: Path, *, body: str) -> None:
    """Put ``body`` between the forecast markers of ``path`` (appended at the end if absent)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{BEGIN}\n{body.rstrip()}\n{END}\n"
    pattern = re.compile(r"<!-- forecast:begin.*?-->.*?<!-- forecast:end -->\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def _pyplot() -> Any:
    try:
        import matplotlib  # noqa: PLC0415 - optional extra

        matplotlib.use("Agg")
        from matplotlib import pyplot  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigurationError("plots need matplotlib: install haven[forecast]") from exc
    return pyplot


def reliability_plot(result: BacktestResult, path: Path, *, bins: int = 10) -> Path:
    """Predicted probability against observed frequency (model and baselines), as a PNG."""
    plt = _pyplot()
    occurred = (np.asarray(result.predictions.counts) > 0).astype(np.float64)
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="perfect")
    edges = np.linspace(0, 1, bins + 1)
    for method, colour in (
        ("model", "#c0392b"), ("conflictology", "#2c7fb8"), ("decayed", "#41ab5d")
    ):  # fmt: skip
        probability = np.asarray(result.predictions.probability[method])
        which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
        xs, ys, ns = [], [], []
        for b in range(bins):
            mask = which == b
            if mask.sum() >= 20:
                xs.append(probability[mask].mean())
                ys.append(occurred[mask].mean())
                ns.append(mask.sum())
        ax.plot(xs, ys, marker="o", color=colour, label=method)
    ax.set_xlabel("forecast probability of at least one attack")
    ax.set_ylabel("observed share of unit-months with an attack")
    ax.set_title(
        f"Reliability, {result.label}\n{result.first_test:%Y-%m} to {result.last_test:%Y-%m}"
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def trend_plot(panel: Panel, path: Path, *, countries: Sequence[str], title: str) -> Path:
    """Attacks on health care per month in each of ``countries`` (small multiples), as a PNG."""
    plt = _pyplot()
    shown = list(countries)
    if not shown:
        raise InvalidInput("no country to plot", fields={"countries": "empty"})
    cols = 2
    rows = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.3 * rows), dpi=100, sharex=True)
    flat = np.atleast_1d(axes).reshape(-1)
    months = [panel.month(t) for t in range(panel.months)]
    names = np.array(panel.countries)
    for ax, country in zip(flat, shown, strict=False):
        series = panel.health[names == country].sum(axis=0)
        ax.bar(months, series, width=25, color="#c0392b")
        ax.set_title(f"{country}: attacks on health care per month", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in flat[len(shown) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def label_for(kind: UnitKind, countries: Sequence[str]) -> str:
    """A short name for a backtest: the unit and the countries (all if none)."""
    unit = {
        UnitKind.COUNTRY: "country × month",
        UnitKind.ADMIN1: "admin1 area × month",
        UnitKind.H3: "H3 res-4 cell × month",
    }[kind]
    return f"{unit}, {', '.join(countries) if countries else 'all countries'}"


_SECTION = """\
## Early warning: forecasts, their backtest and facility risk

*Written by `{command}` from the real datasets; the numbers below are measured,
not typed in.*

**What is forecast.** For each unit and the coming month: the probability of at
least one attack on health care, and the expected number of attacks. "Attacks
on health care" are incidents from any source other than the aid-worker datasets
(AWSD, KIKA) and conflict-event imports (ACLED): SHCC, WHO SSA, and reports
made in Haven. SHCC and WHO SSA describe many of the same events; without the
automatic merge (off by default) both records count, so counts per country are
higher than either dataset's own.

**Units, and why.** WHO SSA publishes only the country, so the only unit that
uses all three datasets is the **country × month**. SHCC gives points, mostly
at 25 km or district precision; AWSD gives points except in Palestine. Those
support **H3 resolution-4 cells** (about 1,770 km², some 45 km across) × month,
not finer: a finer grid would claim a precision the data does not have.
Incidents whose location is coarser than the cell (country-only rows, WHO SSA)
are not counted in any cell (they feed a country-wide feature instead);
incidents dated only to a year are left out of all panels. SHCC also names the
first-level admin area (province, governorate, state, oblast) of every row with a
place, and AWSD and KIKA of most rows: that name matches the district or province
precision of most SHCC points, so the **admin1 area × month** is the third unit
(`haven.admin_areas` turns the names into one key per area: spellings, accents,
words such as Oblast or Governorate, and aliases such as Kiev for Kyiv).
Placeholders (SHCC's "No Information" for country-precision rows and "Palestinian
Territories", AWSD's "Sudan" as a province of Sudan) and WHO SSA rows are not
counted in any area; they feed the same country-wide feature as in the H3 panel.
Haven holds no admin boundaries, so admin areas have no neighbours (the
neighbour features are zero); the rest of the country still counts. The units
are those with at least one recorded event of any kind (attack on health care,
aid-worker incident, conflict event) in the period. Facility-level
forecasts are not made from these data: only the exercise scenario has points
precise enough; a facility's risk score (below) uses its cell's forecast.

**Features** (for month *t*, from months before *t* only; a test checks that
changing month *t* or later changes nothing): the unit's counts one, two and
three months before; its 12-month sum; its mean and share of months with an
attack so far; exponentially decayed counts and shares (half-life
{half_life:g} months); months since its last attack; the same decayed counts over
its neighbouring cells (k-ring 1 and ring 2; none for countries and admin areas)
and over the rest of its country;
the number of attacks everywhere last month; aid-worker incidents (AWSD, KIKA)
last month and decayed, in the unit and its neighbours; conflict events (ACLED
imports, when present) last month and decayed; attacks on health care known
only to the country (WHO SSA and other country-level rows) in the unit's country,
last month and decayed; the number of registered facilities in the unit (today's
registry, not a history).

**Model.** The probability of at least one attack is {glm_weight:g} × a logistic
regression (a GLM on the standardised logarithms of the features) + {boost_weight:g} ×
scikit-learn's histogram gradient-boosted classifier. The expected count comes from a
gradient-boosted Poisson regressor of the *rate per unit of exposure*, the exposure
being the unit's decayed count + {exposure_floor:g}: the count is rate × exposure, so it
follows a unit whose level rises above anything in training (trees alone cannot
answer more than the largest count they were trained on). The weight and the
exposure were chosen on validation months before the test months (see "What was
tried" below). All three are refitted every {refit} months of the rolling backtest
on every earlier unit-month.

**Baselines.** *All-zero* (nothing happens; most unit-months are empty);
*conflictology* (each unit's share of earlier months with an attack, and its
mean count); *decayed history* (the same with exponentially decaying weights);
*last value* (last month again, a reference only: it is the worst at fine grain).

**Metrics.** *Brier score*: mean squared error of the probability (lower is
better). *AUPR*: area under the precision-recall curve (average precision),
which rewards ranking the months with attacks first (a constant forecast scores
the share of unit-months with an attack). *CRPS*: for counts, with a Poisson
distribution around each method's expected count (`scoringrules`). Skill
against a reference is `1 − score / reference` for Brier and CRPS and
`(A − A_ref) / (1 − A_ref)` for AUPR: above 0 beats it, 0 ties, below 0 loses.
"n/a": undefined (no month with an attack, or a reference that is already perfect).

{results}

**What the service serves.** The `forecast_method` setting is `auto` by
default: for every request, Haven re-scores the model, conflictology and
decayed history over the last `forecast_validation_months` (12) months of the
data the caller may see and serves the one with the best Brier score, saying
which and why in the answer (`method`, `method_reason`, `validation_brier`).
Where the model does not beat a baseline, the baseline is served.

**Facility risk.** A score from 0 to 1 per facility for the coming month: 0.4 ×
its cell's forecast probability + 0.3 × recent incidents within 1, 5 and 25 km
(an incident counts only in a band its location precision allows) + 0.15 × whether
a notified site within 25 km was struck + 0.15 × its status (not functioning 1,
partially 0.5). The weights are a judgement written down, not fitted; the score
ranks facilities for attention and is not a probability. Each part is shown
with its value, weight and share. A score at or above
`facility_risk_alert_threshold` raises one alert per facility and month to its
parties and focal points, computed from community-visible incidents only.

**Assumptions and limits.** Recorded attacks are not all attacks: reporting
varies by country, year and source, and a forecast learns the reporting as well
as the violence. The datasets end at different dates, so the backtest stops at
the last month every health-care source still covers. A month with no record
is counted as a month with no attack. The unit set comes from the whole period
(units first seen late are empty before). The country panel has few units, so
each per-country row scores one unit (one series of months) and is noisy. WHO
SSA enters the H3 and admin1 panels only as country-wide context, never as a
unit's count. One model, with the same features and settings, serves all three
panels: nothing was tuned for the admin1 panel.
None of this is a prediction about a particular facility or person.
"""


def _result_block(result: BacktestResult) -> str:
    name = f"forecast-calibration-{result.unit_kind.value}"
    return (
        f"### {result.label}: {result.first_test:%Y-%m} to {result.last_test:%Y-%m}\n\n"
        f"{result.units:,} units; model refitted every {result.refit_every} months.\n\n"
        f"{table_markdown(result)}\n\n"
        + "\n".join(f"- {line}" for line in verdict(result))
        + f"\n\n![Reliability plot, {result.label}](img/{name}.png)\n"
    )


def write_docs(path: Path, *, results: Sequence[tuple[BacktestResult, Panel]]) -> list[Path]:
    """Write the section into ``path`` and its plots under ``path.parent / img``."""
    if not results:
        raise InvalidInput("no backtest to write", fields={"unit": "none run"})
    images = path.parent / "img"
    written: list[Path] = []
    blocks = []
    for result, panel in results:
        kind = result.unit_kind.value
        written.append(reliability_plot(result, images / f"forecast-calibration-{kind}.png"))
        blocks.append(_result_block(result))
        if result.unit_kind is UnitKind.COUNTRY:
            top = [r.scope for r in result.rows[1:7]]
            written.append(
                trend_plot(
                    panel, images / "trend-countries.png", countries=top,
                    title="Recorded attacks on health care (SHCC + WHO SSA + reports)",
                )
            )  # fmt: skip
            blocks.append(
                "![Attacks on health care per month, top countries](img/trend-countries.png)\n"
            )
    first = results[0][0]
    command = "haven forecast backtest --refit-every " + str(first.refit_every) + " --write-docs"
    body = _SECTION.format(
        command=command + f" {path.as_posix()}",
        half_life=first.half_life,
        refit=first.refit_every,
        glm_weight=GLM_WEIGHT,
        boost_weight=round(1 - GLM_WEIGHT, 6),
        exposure_floor=EXPOSURE_FLOOR,
        results="\n".join(blocks),
    )
    write_methodology(path, body=body)
    written.append(path)
    return written
