"""Certainty from sources: the WHO SSA Table 1 rules as a table, and the pure ``derive``.

An incident's certainty (rumour < possible < probable < confirmed) follows from
the grades of the reports that describe it. ``RULES`` holds one row per rule,
strongest first; ``derive`` returns the first row whose test holds, with its
reason. docs/verification.md prints the table with where each rule comes from.

Monotonicity: every test asks "is there at least one report (or at least two
independent sources) such that …", and whether a report counts depends on
that report alone. Adding a report can therefore only make more tests hold,
never fewer: adding a source, however weak, never lowers the certainty
(tests/test_verification.py proves it with Hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from haven.taxonomy import Certainty, Credibility, EvidenceKind, Reliability, SourceType

__all__ = [
    "RULES",
    "CertaintyDecision",
    "CertaintyRule",
    "ReportGrade",
    "derive",
]

SECONDHAND = frozenset({SourceType.SECONDARY, SourceType.MEDIA})
"""Identified sources that learnt of the attack from others (SSA "secondary sources")."""
IMAGERY = frozenset({EvidenceKind.PHOTO, EvidenceKind.VIDEO, EvidenceKind.SATELLITE})
"""Evidence that lifts probable to confirmed (SSA: photo or video; Haven adds satellite)."""
TRUSTED_RELIABILITY = frozenset({Reliability.A, Reliability.B, Reliability.C})
"""Grades at which a first-hand source counts as a known partner."""
RELIABLE = frozenset({Reliability.A, Reliability.B})
CREDIBLE = frozenset({Credibility.CONFIRMED, Credibility.PROBABLY_TRUE})


@dataclass(frozen=True, slots=True)
class ReportGrade:
    """What the rules need to know about one report of an incident.

    ``source`` names the source (two reports from one source are one source,
    not two independent ones). ``claimed`` is the certainty the source itself
    gives; it counts only when ``claim_trusted`` (a published dataset such as
    WHO SSA's own export, or a partner's graded report).
    """

    source: str = ""
    source_type: SourceType | None = None
    reliability: Reliability | None = None
    credibility: Credibility | None = None
    evidence: frozenset[EvidenceKind] = field(default_factory=frozenset)
    claimed: Certainty | None = None
    claim_trusted: bool = False

    @property
    def discredited(self) -> bool:
        """Graded unreliable (E) or improbable (5): it counts toward no rule."""
        return self.reliability is Reliability.E or self.credibility is Credibility.IMPROBABLE

    @property
    def partner_first_hand(self) -> bool:
        """An eyewitness or self-report from a source not judged doubtful (A-C, or ungraded)."""
        return (
            self.source_type is not None
            and self.source_type.first_hand
            and (self.reliability is None or self.reliability in TRUSTED_RELIABILITY)
        )

    @property
    def secondhand(self) -> bool:
        """An identified account that is not a trusted first-hand one (secondary, media, or a
        first-hand account whose source is judged doubtful, D, or cannot be judged, F)."""
        if self.source_type in SECONDHAND:
            return True
        return (
            self.source_type is not None
            and self.source_type.first_hand
            and not self.partner_first_hand
        )


class CertaintyDecision(BaseModel):
    """An incident's certainty, the rule that gave it, and why, in words."""

    model_config = ConfigDict(frozen=True)

    certainty: Certainty
    rule: str
    reason: str


Test = Callable[[Sequence[ReportGrade]], bool]


@dataclass(frozen=True, slots=True)
class CertaintyRule:
    """One row of the rule table: if ``test`` holds for the counted reports, ``certainty``."""

    id: str
    certainty: Certainty
    text: str
    """The rule in words (the reason shown to users)."""
    source: str
    """Where the rule comes from: "SSA Table 1", or "Haven" for an interpretation."""
    test: Test


def _counted(grades: Sequence[ReportGrade]) -> list[ReportGrade]:
    return [g for g in grades if not g.discredited]


def _claims(level: Certainty) -> Test:
    return lambda gs: any(g.claim_trusted and g.claimed is level for g in gs)


def _first_hand(gs: Sequence[ReportGrade]) -> bool:
    return any(g.partner_first_hand for g in gs)


def _independent_secondhand(gs: Sequence[ReportGrade]) -> bool:
    return len({g.source for g in gs if g.secondhand}) >= 2


def _reliable_secondhand(gs: Sequence[ReportGrade]) -> bool:
    return any(g.secondhand and g.reliability in RELIABLE and g.credibility in CREDIBLE for g in gs)


def _probable(gs: Sequence[ReportGrade]) -> bool:
    return (
        _independent_secondhand(gs) or _reliable_secondhand(gs) or _claims(Certainty.PROBABLE)(gs)
    )


def _imagery(gs: Sequence[ReportGrade]) -> bool:
    return any(g.evidence & IMAGERY for g in gs)


def _one_secondhand(gs: Sequence[ReportGrade]) -> bool:
    return any(g.secondhand for g in gs)


RULES: tuple[CertaintyRule, ...] = (
    CertaintyRule(
        "first_hand",
        Certainty.CONFIRMED,
        "a first-hand account: an eyewitness or the attacked partner itself, from a source "
        "graded A-C or not graded",
        "SSA Table 1 (confirmed: reported by an eyewitness or the affected partner)",
        _first_hand,
    ),
    CertaintyRule(
        "probable_with_imagery",
        Certainty.CONFIRMED,
        "probable, and a report carries photo, video or satellite imagery",
        "SSA Table 1 (confirmed: probable with photo/video evidence); satellite added by Haven",
        lambda gs: _probable(gs) and _imagery(gs),
    ),
    CertaintyRule(
        "claimed_confirmed",
        Certainty.CONFIRMED,
        "a trusted dataset or partner already graded it confirmed",
        "Haven: a trusted grading (e.g. WHO SSA's own) stands as its own rule",
        _claims(Certainty.CONFIRMED),
    ),
    CertaintyRule(
        "two_secondhand",
        Certainty.PROBABLE,
        "two or more independent second-hand accounts (secondary sources or media)",
        "SSA Table 1 (probable: two or more secondary sources)",
        _independent_secondhand,
    ),
    CertaintyRule(
        "reliable_secondhand",
        Certainty.PROBABLE,
        "one second-hand account from a reliable source (A-B) graded probably true or better (1-2)",
        "Haven: the admiralty grade stands in for SSA's 'reliable secondary source'",
        _reliable_secondhand,
    ),
    CertaintyRule(
        "claimed_probable",
        Certainty.PROBABLE,
        "a trusted dataset or partner already graded it probable",
        "Haven: a trusted grading (e.g. WHO SSA's own) stands as its own rule",
        _claims(Certainty.PROBABLE),
    ),
    CertaintyRule(
        "one_secondhand",
        Certainty.POSSIBLE,
        "one second-hand account (a secondary source or a media report)",
        "SSA Table 1 (possible: one secondary source, e.g. a media report)",
        _one_secondhand,
    ),
    CertaintyRule(
        "claimed_possible",
        Certainty.POSSIBLE,
        "a trusted dataset or partner already graded it possible",
        "Haven: a trusted grading (e.g. WHO SSA's own) stands as its own rule",
        _claims(Certainty.POSSIBLE),
    ),
    CertaintyRule(
        "unverified",
        Certainty.RUMOUR,
        "only social media, anonymous, discredited or ungraded accounts",
        "SSA Table 1 (rumour: unverified information, e.g. social media only)",
        lambda _gs: True,
    ),
)
"""The rule table, strongest first. Every test is monotone (see the module docstring)."""


def derive(reports: Sequence[ReportGrade]) -> CertaintyDecision:
    """The certainty the WHO SSA rules give an incident described by ``reports``.

    Reports graded unreliable (E) or improbable (5) are left out. The first rule
    of ``RULES`` that holds decides; ``unverified`` always holds, so an incident
    with no usable report is a rumour.
    """
    counted = _counted(reports)
    for rule in RULES:
        if rule.test(counted):
            left_out = len(reports) - len(counted)
            tail = f"; {left_out} discredited report(s) left out" if left_out else ""
            return CertaintyDecision(
                certainty=rule.certainty,
                rule=rule.id,
                reason=f"{rule.certainty.value}: {rule.text} [{rule.id}]{tail}",
            )
    raise AssertionError("the 'unverified' rule always holds")  # pragma: no cover
