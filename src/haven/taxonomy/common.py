"""Haven's own code lists and the shared standards: precision, certainty, sensitivity, TLP, harm."""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum

from haven.taxonomy._coded import _Coded

__all__ = [
    "CasualtyGroup",
    "CasualtyOutcome",
    "Certainty",
    "ContextFlag",
    "DatePrecision",
    "GeoPrecision",
    "Sensitivity",
    "Tlp",
    "certainty_rank",
]


class DatePrecision(StrEnum):
    """How much of an event's date and time is known."""

    EXACT = "exact"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class Certainty(_Coded):
    """WHO SSA certainty levels, weakest first (see `certainty_rank`)."""

    RUMOUR = "rumour"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    CONFIRMED = "confirmed"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {"Rumor": "rumour"}

    @property
    def rank(self) -> int:
        """Order of strength: rumour 0, possible 1, probable 2, confirmed 3."""
        return list(Certainty).index(self)


def certainty_rank(certainty: Certainty) -> int:
    """Return ``certainty.rank`` (a key function for ``max`` and ``sorted``)."""
    return certainty.rank


class Sensitivity(StrEnum):
    """OCHA data sensitivity classification (OCHA Data Responsibility Guidelines)."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    SEVERE = "severe"

    @property
    def description(self) -> str:
        """The harm disclosure is likely to cause, in the guidelines' terms."""
        return {
            "low": "Unlikely to cause harm or negative impact to people or organizations.",
            "moderate": "Likely to cause minor harm or negative impact.",
            "high": "Likely to cause serious harm or negative impact.",
            "severe": "Likely to cause severe harm (e.g. injury, death, incarceration).",
        }[self.value]


class Tlp(_Coded):
    """FIRST Traffic Light Protocol 2.0 labels; `label` gives the ``TLP:`` form."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        labels = {f"TLP:{m.value}": m.value for m in cls}
        return labels | {"white": "clear", "TLP:WHITE": "clear"}

    @property
    def label(self) -> str:
        """The label as TLP 2.0 writes it, e.g. ``TLP:AMBER+STRICT``."""
        return f"TLP:{self.value.upper()}"


class GeoPrecision(IntEnum):
    """UCDP / Insecurity Insight geo-precision, 1 (exact) to 7 (estimated sea or air position)."""

    EXACT = 1
    NEAR_25KM = 2
    DISTRICT = 3
    PROVINCE = 4
    LINEAR_FEATURE = 5
    COUNTRY = 6
    SEA_OR_AIR = 7

    @property
    def description(self) -> str:
        """What the level means (Insecurity Insight wording, aligned with UCDP GED)."""
        return _GEO_PRECISION[self][0]

    @property
    def radius_km(self) -> float | None:
        """Haven's nominal uncertainty radius in km; None when no radius bounds the point.

        The sources give no radius: these are Haven's conservative, typical values,
        used only to choose how fine an H3 cell a point supports.
        """
        return _GEO_PRECISION[self][1]

    @classmethod
    def from_label(cls, text: str) -> GeoPrecision:
        """Read ``"(2) 25 km Precision "`` or ``"2"``.

        Raises
        ------
        ValueError
            If no level 1–7 opens the text; the message names the value.
        """
        match = re.match(r"\s*\(?\s*([1-7])\s*(\)|$)", text)
        if match is None:
            raise ValueError(f"unknown GeoPrecision label: {text!r}")
        return cls(int(match.group(1)))


_GEO_PRECISION: dict[GeoPrecision, tuple[str, float | None]] = {
    GeoPrecision.EXACT: ("Exact location", 1.0),
    GeoPrecision.NEAR_25KM: ("Within 25 km of a named place", 25.0),
    GeoPrecision.DISTRICT: ("District, communicipality or commune (admin level 2)", 50.0),
    GeoPrecision.PROVINCE: ("Province, state or governorate (admin level 1)", 250.0),
    GeoPrecision.LINEAR_FEATURE: ("Linear feature, e.g. along a road or river", None),
    GeoPrecision.COUNTRY: ("Country", None),
    GeoPrecision.SEA_OR_AIR: ("Estimated sea or air coordinates", None),
}


class CasualtyGroup(StrEnum):
    """Who was harmed."""

    HEALTH_WORKERS = "health_workers"
    PATIENTS = "patients"
    AID_WORKERS_NATIONAL = "aid_workers_national"
    AID_WORKERS_INTERNATIONAL = "aid_workers_international"
    OTHERS = "others"


class CasualtyOutcome(StrEnum):
    """What happened to them."""

    KILLED = "killed"
    INJURED = "injured"
    KIDNAPPED = "kidnapped"
    ARRESTED = "arrested"
    DETAINED = "detained"
    THREATENED = "threatened"
    ASSAULTED = "assaulted"
    SEXUALLY_ASSAULTED = "sexually_assaulted"


class ContextFlag(StrEnum):
    """Circumstances analysts flag on an incident; `description` says when each applies."""

    ACTIVE_HOSTILITIES = "active_hostilities"
    CROSSFIRE = "crossfire"
    SIEGE = "siege"
    CHECKPOINT = "checkpoint"
    CONVOY = "convoy"
    MEDICAL_EVACUATION = "medical_evacuation"
    REPEAT_STRIKE = "repeat_strike"
    PROTEST_OR_UNREST = "protest_or_unrest"
    DETENTION_SETTING = "detention_setting"
    DISPLACEMENT_SITE = "displacement_site"
    EPIDEMIC_RESPONSE = "epidemic_response"
    VACCINATION_CAMPAIGN = "vaccination_campaign"

    @property
    def description(self) -> str:
        """When the flag applies."""
        return _CONTEXT_FLAG_TEXT[self]


_CONTEXT_FLAG_TEXT: dict[ContextFlag, str] = {
    ContextFlag.ACTIVE_HOSTILITIES: "Fighting was under way in the area at the time.",
    ContextFlag.CROSSFIRE: "Harm came from an exchange of fire not aimed at the victims.",
    ContextFlag.SIEGE: "The place was encircled, with movement of people or goods cut off.",
    ContextFlag.CHECKPOINT: "It happened at or because of a checkpoint or barrier.",
    ContextFlag.CONVOY: "A humanitarian or medical convoy was involved.",
    ContextFlag.MEDICAL_EVACUATION: "Patients were being moved or evacuated.",
    ContextFlag.REPEAT_STRIKE: "A second strike hit the same place after responders arrived.",
    ContextFlag.PROTEST_OR_UNREST: "A protest, riot or mob was involved.",
    ContextFlag.DETENTION_SETTING: "It happened in custody or a place of detention.",
    ContextFlag.DISPLACEMENT_SITE: "It happened in or at an IDP or refugee camp.",
    ContextFlag.EPIDEMIC_RESPONSE: "Linked to an epidemic response (e.g. Ebola, COVID-19).",
    ContextFlag.VACCINATION_CAMPAIGN: "Linked to vaccination work.",
}
