"""Other merge rules tried against ``dedup_resolve.pick_merge`` on the labelled set.

``pick_merge`` merges the best candidate incident when its score is at least
``MERGE_THRESHOLD`` and ``MERGE_MARGIN`` above every other candidate's. A WHO SSA
re-report meets a median of about 20 rows of that file, and the fixed margin
refuses most of them. Two rules that use the whole candidate list were tried:

- a **posterior over candidates**: each candidate's score ``p`` as odds
  ``o = p / (1 - p)``, and the chance that candidate ``i`` is the one
  ``o_i / (c + sum(o))``, ``c`` the weight of "none of them"; merge the best when
  that reaches a threshold (and, with a tie guard, no other candidate scores the same);
- a **second stage**: a logistic model over features of the list (``CHOICE_FEATURES``)
  predicting "the best candidate is the right one", fitted on the calibration split's
  lists; merge the best when it reaches a threshold;
- an **odds margin** where the best pair compares a narrative or a place: such scores
  crowd near 1, where a gap of 0.1 is an odds ratio of 10 or more, so the lead is
  measured in log-odds there (structured-only pairs keep ``pick_merge``).

Each variant's parameters are chosen on the calibration split (events before
``HOLDOUT_FROM``) as the best F1 whose precision reaches ``MERGE_PRECISION``, the
criterion ``pick_merge`` was chosen by. With ``--held-out`` the best variant is
scored on the held-out split: that figure was looked at once, to decide whether
to adopt it (see docs/methodology.md, "Choosing among competing candidates")::

    .venv/bin/python benchmarks/dedup_rules.py [--held-out]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_dataset import (
    MARGINS,
    MERGE_PRECISION,
    STRATA,
    THRESHOLDS,
    Split,
    build,
    cluster_metrics,
    incidents,
    real_records,
    split,
    strata,
)
from haven.dedup_resolve import Choose, pick_merge
from haven.dedup_score import comparable, fit_logistic, score_features, structured_only

Pick = Callable[[Sequence[float]], int | None]
NONE_ODDS = (0.1, 0.3, 0.5, 0.7, 1.0)
"""Grid of ``c``, the weight of "none of the candidates" in the posterior."""
POSTERIORS = (0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
"""Grid of the posterior a merge needs."""
TIES = (None, 0.0, 0.01)
"""Tie guards: none; no merge when another candidate scores the same (0.0), or within 0.01."""
CONFIDENCES = tuple(round(0.5 + 0.02 * k, 2) for k in range(16))
"""Grid of the second stage's probability a merge needs (0.5 to 0.8)."""
ODDS_THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3)
"""Grid of the score the odds margin's best candidate needs."""
LOG_ODDS_MARGINS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
"""Grid of the lead in log-odds the odds margin needs."""
CHOICE_FEATURES = (
    "logit_best",
    "logit_second",
    "log_candidates",
    "log_other_odds",
    "gap",
    "structured",
    "comparable",
    *(
        f"structured_x_{name}"
        for name in ("logit_best", "logit_second", "log_candidates", "log_other_odds", "gap")
    ),
)
"""Features of a candidate list: the best and second scores (as logits; 1e-6 when there is
no second), the log of the number of candidates and of the other candidates' summed odds,
the best score's lead, whether the best pair is structured-only, how much of it can be
compared (``dedup_score.comparable`` / 2), and the first five again for structured-only."""


def _odds(p: float) -> float:
    p = min(max(p, 1e-12), 1.0 - 1e-9)
    return p / (1.0 - p)


def _logit(p: float) -> float:
    return math.log(_odds(min(max(p, 1e-6), 1.0 - 1e-6)))


def _tied(scores: Sequence[float], best: int, *, tie: float | None) -> bool:
    """Whether another candidate scores within ``tie`` of the best (never, with None)."""
    return tie is not None and any(
        scores[best] - s <= tie + 1e-9 for k, s in enumerate(scores) if k != best
    )


def posterior_rule(*, none_odds: float, threshold: float, tie: float | None) -> Pick:
    """Merge the best candidate when ``o_best / (none_odds + sum(o))`` reaches ``threshold``."""

    def pick(scores: Sequence[float]) -> int | None:
        if not scores:
            return None
        odds = [_odds(s) for s in scores]
        best = odds.index(max(odds))
        if _tied(scores, best, tie=tie) or odds[best] / (none_odds + sum(odds)) < threshold:
            return None
        return best

    return pick


def choice_features(scores: Sequence[float], *, structured: bool, fullness: int) -> list[float]:
    """``CHOICE_FEATURES`` of one candidate list (``structured``/``fullness``: the best pair's)."""
    ordered = sorted(scores, reverse=True)
    second = ordered[1] if len(ordered) > 1 else 0.0
    plain = [
        _logit(ordered[0]),
        _logit(second) if len(ordered) > 1 else _logit(1e-6),
        math.log(len(ordered)),
        math.log(sum(_odds(s) for s in ordered[1:]) + 1e-3),
        ordered[0] - second,
    ]
    flag = float(structured)
    return [*plain, flag, fullness / 2.0, *(flag * x for x in plain)]


@dataclass(frozen=True, slots=True)
class SecondStage:
    """Weights and bias over ``CHOICE_FEATURES``."""

    weights: np.ndarray
    bias: float

    def confidence(self, features: Sequence[float]) -> float:
        """Probability that the best candidate is the right one."""
        return 1.0 / (1.0 + math.exp(-(float(np.asarray(features) @ self.weights) + self.bias)))


def second_stage_rule(
    part: Split, stage: SecondStage, *, threshold: float, tie: float | None
) -> Choose:
    """Merge the best candidate when ``stage`` gives it at least ``threshold``."""
    alone, fullness = structured_only(part.matrix), comparable(part.matrix)

    def choose(scores: list[float], pairs: list[int]) -> int | None:
        best = scores.index(max(scores))
        if _tied(scores, best, tie=tie):
            return None
        k = pairs[best]
        found = choice_features(scores, structured=bool(alone[k]), fullness=int(fullness[k]))
        return best if stage.confidence(found) >= threshold else None

    return choose


def fit_second_stage(part: Split, scores: np.ndarray) -> SecondStage:
    """Fit on the candidate lists of ``part`` when nothing merges (each report against every
    earlier report of another file that blocking brings it): label 1 when the best is its event.
    Weights rounded to two decimals, as they would be written into the code."""
    rows: list[list[float]] = []
    labels: list[float] = []
    alone, fullness = structured_only(part.matrix), comparable(part.matrix)

    def record(candidates: list[float], pairs: list[int]) -> None:
        k = pairs[candidates.index(max(candidates))]
        rows.append(
            choice_features(candidates, structured=bool(alone[k]), fullness=int(fullness[k]))
        )
        labels.append(float(part.labels[k]))

    incidents(part, scores, choose=record)
    matrix = np.array(rows)
    mean, spread = matrix.mean(axis=0), matrix.std(axis=0) + 1e-9
    weights, bias = fit_logistic((matrix - mean) / spread, np.array(labels), l2=1.0)
    weights = np.round(weights / spread, 2)
    return SecondStage(weights=weights, bias=round(bias - float(mean @ weights), 2))


def odds_margin_rule(part: Split, *, threshold: float, margin: float) -> Choose:
    """Where the best pair compares a narrative or a place, merge it when it reaches
    ``threshold`` and leads every other candidate by ``margin`` in log-odds; structured-only
    best pairs are left to ``pick_merge``."""
    alone = structured_only(part.matrix)

    def choose(scores: list[float], pairs: list[int]) -> int | None:
        best = scores.index(max(scores))
        if alone[pairs[best]]:
            return pick_merge(scores)
        logits = [_logit(s) for s in scores]
        others = logits[:best] + logits[best + 1 :]
        if scores[best] < threshold or (others and logits[best] - max(others) < margin):
            return None
        return best

    return choose


def odds_margin_variant(part: Split, scores: np.ndarray) -> tuple[Found, float, float]:
    """The odds margin over its grid; the chosen threshold and margin too."""
    settings = [(t, m) for t in ODDS_THRESHOLDS for m in LOG_ODDS_MARGINS]
    found = [
        (
            f"threshold {t}, log-odds lead ≥ {m}",
            cluster_metrics(
                incidents(part, scores, choose=odds_margin_rule(part, threshold=t, margin=m)),
                part.events,
            ),
        )
        for t, m in settings
    ]
    chosen = _best(found)
    threshold, margin = settings[found.index(chosen)]
    return chosen, threshold, margin


def _by_scores(pick: Pick) -> Choose:
    return lambda scores, _pairs: pick(scores)


Found = tuple[str, tuple[float, float, float]]


def _best(found: list[Found]) -> Found:
    """The setting with the best F1 whose precision reaches MERGE_PRECISION."""
    return max(
        (f for f in found if f[1][0] >= MERGE_PRECISION),
        key=lambda f: f[1][2],
        default=("none reaches the bound", (0.0, 0.0, 0.0)),
    )


def margin_variant(part: Split, scores: np.ndarray) -> Found:
    """``pick_merge`` (threshold and margin), the rule in use, over its own grid."""
    return _best(
        [
            (
                f"threshold {threshold}, margin {margin}",
                cluster_metrics(
                    incidents(part, scores, threshold=threshold, margin=margin), part.events
                ),
            )
            for threshold in THRESHOLDS
            for margin in MARGINS
        ]
    )


def _tie_name(tie: float | None) -> str:
    return "no tie guard" if tie is None else "ties exact" if tie == 0.0 else f"ties {tie}"


def posterior_variant(part: Split, scores: np.ndarray, *, tie: float | None) -> Found:
    """The posterior rule with tie guard ``tie``, over the grid of ``c`` and threshold."""
    return _best(
        [
            (
                f"c {c}, posterior ≥ {threshold}, {_tie_name(tie)}",
                cluster_metrics(
                    incidents(
                        part,
                        scores,
                        choose=_by_scores(
                            posterior_rule(none_odds=c, threshold=threshold, tie=tie)
                        ),
                    ),
                    part.events,
                ),
            )
            for c in NONE_ODDS
            for threshold in POSTERIORS
        ]
    )


def second_stage_variant(
    part: Split, scores: np.ndarray, *, stage: SecondStage
) -> tuple[Found, float, float | None]:
    """The second stage over the grid of thresholds and tie guards; the chosen pair too."""
    settings = [(t, tie) for tie in TIES[1:] for t in CONFIDENCES]
    found = [
        (
            f"confidence ≥ {t}, {_tie_name(tie)}",
            cluster_metrics(
                incidents(
                    part, scores, choose=second_stage_rule(part, stage, threshold=t, tie=tie)
                ),
                part.events,
            ),
        )
        for t, tie in settings
    ]
    chosen = _best(found)
    threshold, tie = settings[found.index(chosen)]
    return chosen, threshold, tie


def _row(name: str, found: Found) -> str:
    p, r, f = found[1]
    return f"| {name} | {found[0]} | {p:.3f} | {r:.3f} | {f:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--held-out", action="store_true", help="also score the chosen second stage held out"
    )
    args = parser.parse_args()
    labelled = build(real_records())
    calibration = split(labelled, held_out=False)
    scores = score_features(calibration.matrix)
    stage = fit_second_stage(calibration, scores)
    print("second stage weights", dict(zip(CHOICE_FEATURES, stage.weights.tolist(), strict=True)))
    print("second stage bias", stage.bias)
    print("| variant | chosen on calibration | precision | recall | F1 |")
    print("| --- | --- | ---: | ---: | ---: |")
    print(_row("margin (`pick_merge`, in use)", margin_variant(calibration, scores)), flush=True)
    for tie in TIES:
        print(_row("posterior over candidates", posterior_variant(calibration, scores, tie=tie)))
    chosen, threshold, tie = second_stage_variant(calibration, scores, stage=stage)
    print(_row("second stage", chosen), flush=True)
    odds, odds_threshold, odds_margin = odds_margin_variant(calibration, scores)
    print(_row("odds margin for narrative or place pairs", odds), flush=True)
    if not args.held_out:
        return
    test = split(labelled, held_out=True)
    held_scores = score_features(test.matrix)
    titles = dict([(None, "all reports"), *STRATA])
    for name, rule in (
        ("second stage", second_stage_rule(test, stage, threshold=threshold, tie=tie)),
        ("odds margin", odds_margin_rule(test, threshold=odds_threshold, margin=odds_margin)),
    ):
        label = incidents(test, held_scores, choose=rule)
        for key, value in strata(test, scores=held_scores, label=label).items():
            print(
                f"{name}, held-out, {titles[key]}: precision {value.precision:.3f}"
                f" recall {value.recall:.3f} F1 {value.f1:.3f} reached {value.reached:.3f}"
            )


if __name__ == "__main__":
    main()
