"""Conduct IHL prohibits that Haven flags, its legal sources, and `classify_conduct`."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from haven.taxonomy.ssa import SsaAttackType, SsaResource

__all__ = [
    "CONDUCT_IHL_REFERENCES",
    "CONDUCT_LABELS",
    "HARMFUL_ATTACK_TYPES",
    "ProhibitedConduct",
    "classify_conduct",
]


_A = SsaAttackType


class ProhibitedConduct(StrEnum):
    """Conduct IHL prohibits that Haven flags; `label` and `ihl_references` document each."""

    ATTACK_ON_MEDICAL_UNITS = "attack_on_medical_units"
    ATTACK_ON_MEDICAL_TRANSPORT = "attack_on_medical_transport"
    ATTACK_ON_MEDICAL_PERSONNEL = "attack_on_medical_personnel"
    OBSTRUCTION_OF_MEDICAL_ACCESS = "obstruction_of_medical_access"
    INTERFERENCE_WITH_RELIEF = "interference_with_humanitarian_relief"
    MILITARISATION = "militarisation_of_health_assets"
    EMBLEM_MISUSE = "misuse_of_emblem"

    @property
    def label(self) -> str:
        """A short human label."""
        return CONDUCT_LABELS[self]

    @property
    def ihl_references(self) -> tuple[str, ...]:
        """The treaty articles, customary rules and resolutions the conduct engages."""
        return CONDUCT_IHL_REFERENCES[self]


_P = ProhibitedConduct

CONDUCT_LABELS: dict[ProhibitedConduct, str] = {
    _P.ATTACK_ON_MEDICAL_UNITS: "Attack on medical units (facilities, medical stores)",
    _P.ATTACK_ON_MEDICAL_TRANSPORT: "Attack on medical transport",
    _P.ATTACK_ON_MEDICAL_PERSONNEL: "Attack on medical personnel or patients",
    _P.OBSTRUCTION_OF_MEDICAL_ACCESS: "Obstruction of medical routes or access to care",
    _P.INTERFERENCE_WITH_RELIEF: "Interference with humanitarian relief",
    _P.MILITARISATION: "Militarisation of health assets",
    _P.EMBLEM_MISUSE: "Misuse of the distinctive emblem",
}
"""Human labels of `ProhibitedConduct`."""

_RULE = "Customary IHL (ICRC study) rule"
_ROME_EMBLEM = "Rome Statute art. 8(2)(b)(xxiv) and (e)(ii)"
_UNSC_2286 = "UNSC resolution 2286 (2016)"

CONDUCT_IHL_REFERENCES: dict[ProhibitedConduct, tuple[str, ...]] = {
    _P.ATTACK_ON_MEDICAL_UNITS: (
        "GC I art. 19", "GC IV art. 18", "AP I art. 12", "AP II art. 11",
        f"{_RULE} 28", f"{_RULE} 30",
        "Rome Statute art. 8(2)(b)(ix) and (e)(iv)", _ROME_EMBLEM, _UNSC_2286,
    ),
    _P.ATTACK_ON_MEDICAL_TRANSPORT: (
        "GC I art. 35", "GC IV art. 21", "AP I arts. 21–31", "AP II art. 11",
        f"{_RULE} 29", f"{_RULE} 30", _ROME_EMBLEM, _UNSC_2286,
    ),
    _P.ATTACK_ON_MEDICAL_PERSONNEL: (
        "GC I arts. 12 and 24", "GC IV arts. 16 and 20", "AP I arts. 10, 15–16",
        "AP II arts. 7, 9–10", f"{_RULE} 25", f"{_RULE} 26", f"{_RULE} 30",
        f"{_RULE} 110", f"{_RULE} 111", _ROME_EMBLEM, _UNSC_2286,
    ),
    _P.OBSTRUCTION_OF_MEDICAL_ACCESS: (
        "GC I art. 15", "GC IV arts. 17 and 23", "AP I art. 10", "AP II arts. 7–8",
        f"{_RULE} 55", f"{_RULE} 56", f"{_RULE} 109", f"{_RULE} 110", _UNSC_2286,
    ),
    _P.INTERFERENCE_WITH_RELIEF: (
        "GC IV arts. 23, 33 and 59", "AP I arts. 70–71", "AP II art. 18",
        f"{_RULE} 31", f"{_RULE} 32", f"{_RULE} 52", f"{_RULE} 55", f"{_RULE} 56",
        "Rome Statute art. 8(2)(b)(iii) and (e)(iii)", _UNSC_2286,
        "UNSC resolution 2730 (2024)",
    ),
    _P.MILITARISATION: (
        "GC I arts. 19 and 21", "GC IV art. 19", "AP I arts. 12(4) and 13", "AP II art. 11(2)",
        f"{_RULE} 28", f"{_RULE} 97",
    ),
    _P.EMBLEM_MISUSE: (
        "GC I arts. 44, 53 and 54", "AP I arts. 37–38 and 85(3)(f)", "AP II art. 12",
        "AP III art. 6", f"{_RULE} 59", f"{_RULE} 65", "Rome Statute art. 8(2)(b)(vii)",
    ),
}  # fmt: skip
"""The legal sources each `ProhibitedConduct` engages (GC: Geneva Convention; AP: Protocol)."""

HARMFUL_ATTACK_TYPES: frozenset[SsaAttackType] = frozenset(SsaAttackType) - {
    _A.REMOVAL_OF_ASSETS,
    _A.MILITARIZATION,
    _A.OBSTRUCTION,
    _A.CRIMINALIZATION,
}
"""SSA types that harm or threaten what they hit (`classify_conduct` rules 1–3)."""


def classify_conduct(
    *,
    attack_types: Iterable[SsaAttackType],
    resources: Iterable[SsaResource],
    military_use_alleged: bool | None = None,
    emblem_misuse: bool | None = None,
    aid_workers_affected: bool | None = None,
) -> list[ProhibitedConduct]:
    """Return the prohibited conduct an incident's facts describe, by fixed rules.

    This names the conduct a report describes so it can be searched and counted. It is
    not a legal finding: it does not weigh intent, loss of protection, military necessity,
    warnings or precautions, which only a competent body can assess.

    Rules, where *harmful* means any of `HARMFUL_ATTACK_TYPES` (every SSA type except
    removal of assets, militarization, obstruction and criminalization):

    1. harmful type and resource facility or warehouse → attack on medical units;
    2. harmful type and resource transport → attack on medical transport;
    3. harmful type, or criminalization, and resource personnel or patients → attack on
       medical personnel or patients;
    4. obstruction to health care delivery → obstruction of medical routes or access;
    5. removal of health care assets, a harmful type against supplies or warehouse, or
       ``aid_workers_affected`` → interference with humanitarian relief;
    6. militarization of a health care asset, or ``military_use_alleged`` → militarisation;
    7. ``emblem_misuse`` → misuse of the emblem.

    Returns
    -------
    list of ProhibitedConduct
        Without repeats, in `ProhibitedConduct` order; empty when no rule applies.
    """
    types = set(attack_types)
    res = set(resources)
    harmful = bool(types & HARMFUL_ATTACK_TYPES)
    r = SsaResource
    rules = {
        _P.ATTACK_ON_MEDICAL_UNITS: harmful and bool(res & {r.FACILITY, r.WAREHOUSE}),
        _P.ATTACK_ON_MEDICAL_TRANSPORT: harmful and r.TRANSPORT in res,
        _P.ATTACK_ON_MEDICAL_PERSONNEL: (harmful or _A.CRIMINALIZATION in types)
        and bool(res & {r.PERSONNEL, r.PATIENTS}),
        _P.OBSTRUCTION_OF_MEDICAL_ACCESS: _A.OBSTRUCTION in types,
        _P.INTERFERENCE_WITH_RELIEF: _A.REMOVAL_OF_ASSETS in types
        or (harmful and bool(res & {r.SUPPLIES, r.WAREHOUSE}))
        or bool(aid_workers_affected),
        _P.MILITARISATION: _A.MILITARIZATION in types or bool(military_use_alleged),
        _P.EMBLEM_MISUSE: bool(emblem_misuse),
    }
    return [conduct for conduct in ProhibitedConduct if rules[conduct]]
