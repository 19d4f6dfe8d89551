"""Code lists of WHO SSA, Insecurity Insight, AWSD, ACLED and Haven, and crosswalks between them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import IntEnum, StrEnum
from functools import cache
from typing import Self

__all__ = [
    "ACLED_SUB_EVENT_EVENT_TYPE",
    "ACLED_SUB_EVENT_TO_SSA",
    "AWSD_ATTACK_CONTEXT_TO_FLAGS",
    "AWSD_CASUALTY_COLUMNS",
    "AWSD_LOCATION_TO_FLAGS",
    "AWSD_MEANS_TO_SSA",
    "CONDUCT_IHL_REFERENCES",
    "CONDUCT_LABELS",
    "HARMFUL_ATTACK_TYPES",
    "SHCC_CASUALTY_COLUMNS",
    "SHCC_INDICATOR_TO_RESOURCES",
    "SHCC_INDICATOR_TO_SSA",
    "SHCC_LOCATION_TO_FLAGS",
    "SSA_CASUALTY_COLUMNS",
    "WEAPON_TO_SSA",
    "AcledEventType",
    "AcledSubEventType",
    "AttackTimeBin",
    "AwsdActorType",
    "AwsdAttackContext",
    "AwsdLocation",
    "AwsdMeansOfAttack",
    "AwsdMotive",
    "CasualtyGroup",
    "CasualtyOutcome",
    "Certainty",
    "ContextFlag",
    "DatePrecision",
    "GeoPrecision",
    "PerpetratorCategory",
    "ProhibitedConduct",
    "Sensitivity",
    "ShccIndicator",
    "ShccLocation",
    "SsaAttackType",
    "SsaFacilityType",
    "SsaResource",
    "Tlp",
    "Weapon",
    "certainty_rank",
    "classify_conduct",
    "context_flags_from_awsd",
    "context_flags_from_shcc",
    "parse_shcc_weapons",
    "parse_ssa_attack_types",
    "resources_from_shcc",
    "split_shcc_multi",
    "split_ssa_multi",
    "ssa_attack_time_bin",
    "ssa_attack_types_from_acled",
    "ssa_attack_types_from_awsd",
    "ssa_attack_types_from_shcc",
    "ssa_resources_from_row",
]


def _norm(text: str) -> str:
    """Fold case and collapse whitespace, so ``" Host State "`` matches ``"Host state"``."""
    return " ".join(text.split()).casefold()


class _Coded(StrEnum):
    """A code list whose values are the standard's own spelling, read back with ``from_label``."""

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        """Other spellings seen in the sources, mapped to a member's value."""
        return {}

    @classmethod
    def from_label(cls, text: str) -> Self:
        """Return the member a source spells ``text`` (case and spacing are ignored).

        Raises
        ------
        ValueError
            If ``text`` is not a known spelling; the message names the value.
        """
        member = cls._find(text)
        if member is None:
            raise ValueError(f"unknown {cls.__name__} label: {text!r}")
        return member

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        """Accept the other spellings (``from_label``) wherever the enum is built from a value."""
        return cls._find(value) if isinstance(value, str) else None

    @classmethod
    def _find(cls, text: str | None) -> Self | None:
        value = _label_index(cls).get(_norm(text or ""))
        return None if value is None else cls(value)


@cache
def _label_index(cls: type[_Coded]) -> dict[str, str]:
    index = {_norm(alias): value for alias, value in cls._aliases().items()}
    index.update({_norm(member.value): member.value for member in cls})
    return index


# --- Haven's own lists and shared standards -------------------------------------------------


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


# --- WHO Surveillance System for Attacks on Health Care (SSA) --------------------------------


class SsaAttackType(_Coded):
    """The 15 WHO SSA attack types, spelled as the SSA public export spells them.

    The individual-weapons label is unbalanced (it never closes its first parenthesis) and
    the armed-search label contains a comma: split multi-valued cells with `split_ssa_multi`.
    """

    HEAVY_WEAPONS = (
        "Violence with heavy weapons (requires more than one person to use such as firearms, "
        "tanks, missiles, bombs, mortars)"
    )
    INDIVIDUAL_WEAPONS = (
        "Violence with individual weapons (knives, bricks, clubs, guns, grenades and "
        "improvised explosive devices (IED)"
    )
    CHEMICAL_AGENT = "Chemical agent"
    SETTING_FIRE = "Setting fire"
    ASSAULT = "Assault (without weapons)"
    SEXUAL_ASSAULT = "Sexual assault"
    PSYCHOLOGICAL_VIOLENCE = "Psychological violence/threat of violence/intimidation"
    ARMED_SEARCH = "Armed or violent search of health care personnel, facility or transport"
    ABDUCTION_ARREST_DETENTION = "Abduction/Arrest/Detention of health personnel or patients"
    REMOVAL_OF_ASSETS = "Removal of health care assets (e.g. transport, supplies, materials)"
    MILITARIZATION = "Militarization of a health care asset"
    OBSTRUCTION = "Obstruction to health care delivery (e.g. physical, administrative, legal etc)"
    CRIMINALIZATION = "Criminalization of health care"
    OTHER = "Other"
    UNKNOWN = "Unknown"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        short = {m.value.split(" (")[0]: m.value for m in cls if " (" in m.value}
        return short | {cls.INDIVIDUAL_WEAPONS.value + ")": cls.INDIVIDUAL_WEAPONS.value}


class SsaResource(_Coded):
    """WHO SSA health care resources affected; values are the export's column names."""

    FACILITY = "HC Facilities"
    PERSONNEL = "HC Personnel"
    PATIENTS = "HC Patients"
    TRANSPORT = "HC Transport"
    SUPPLIES = "HC Supplies Assets"
    WAREHOUSE = "HC Warehouse Storage"
    OTHER = "HC Other"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {m.name: m.value for m in cls} | {"facilities": cls.FACILITY.value}


class SsaFacilityType(_Coded):
    """WHO SSA ``Type of Facility``."""

    PRIMARY = "Primary"
    SECONDARY = "Secondary"
    TERTIARY = "Tertiary"
    MOBILE_CLINIC = "Mobile Clinic"
    PHARMACY = "Pharmacy"
    WAREHOUSE = "Warehouse"
    OTHER = "Other"


class AttackTimeBin(_Coded):
    """WHO SSA ``Attack Time`` bins; the export also holds exact ``HH:MM`` times."""

    NIGHT = "00:00-06:00"
    MORNING = "06:00-12:00"
    AFTERNOON = "12:00-18:00"
    EVENING = "18:00-00:00"
    UNKNOWN = "Time Unknown"


def ssa_attack_time_bin(text: str) -> AttackTimeBin:
    """Return the bin an SSA ``Attack Time`` falls in: a bin label or an ``HH:MM`` time.

    Raises
    ------
    ValueError
        If ``text`` is neither; the message names the value.
    """
    match = re.fullmatch(r"\s*([01]?\d|2[0-3]):[0-5]\d\s*", text)
    if match is None:
        return AttackTimeBin.from_label(text)
    return list(AttackTimeBin)[int(match.group(1)) // 6]


def ssa_resources_from_row(row: Mapping[str, str | None]) -> list[SsaResource]:
    """Return the resources an SSA export row marks ``YES`` (``HC Other`` when it has text)."""
    found: list[SsaResource] = [r for r in SsaResource if row.get(r.value) == "YES"]
    if SsaResource.OTHER not in found and (row.get(SsaResource.OTHER.value) or "").strip():
        found.append(SsaResource.OTHER)
    return found


def _split_known(text: str, known: Iterable[str]) -> list[str]:
    """Split on commas outside parentheses, keeping any known label whole."""
    labels = sorted(known, key=len, reverse=True)
    parts: list[str] = []
    i = 0
    while i < len(text):
        while i < len(text) and (text[i] == "," or text[i].isspace()):
            i += 1
        if i == len(text):
            break
        for label in labels:
            end = i + len(label)
            if text[i:end].casefold() == label.casefold() and text[end:].lstrip()[:1] in ("", ","):
                parts.append(text[i:end])
                i = end
                break
        else:
            end = _top_level_comma(text, i)
            parts.append(text[i:end].strip())
            i = end
    return parts


def _top_level_comma(text: str, start: int) -> int:
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth = max(depth - 1, 0)
        elif text[j] == "," and depth == 0:
            return j
    return len(text)


def split_ssa_multi(text: str) -> list[str]:
    """Split a multi-valued SSA cell on commas that are not inside parentheses.

    Known attack-type labels are kept whole first, because two of them break the simple
    rule (one contains a comma, one never closes its parenthesis). Unknown text is split
    on commas outside parentheses.

    Examples
    --------
    >>> split_ssa_multi("Setting fire, Assault (without weapons)")
    ['Setting fire', 'Assault (without weapons)']
    """
    return _split_known(text, (m.value for m in SsaAttackType))


def parse_ssa_attack_types(text: str) -> list[SsaAttackType]:
    """Parse an SSA ``Attack Type`` cell into members (raises ValueError on an unknown part)."""
    return [SsaAttackType.from_label(part) for part in split_ssa_multi(text)]


SSA_CASUALTY_COLUMNS: dict[str, tuple[CasualtyGroup, CasualtyOutcome]] = {
    "HW Abduction": (CasualtyGroup.HEALTH_WORKERS, CasualtyOutcome.KIDNAPPED),
    "HW Arrest": (CasualtyGroup.HEALTH_WORKERS, CasualtyOutcome.ARRESTED),
    "HW Detention": (CasualtyGroup.HEALTH_WORKERS, CasualtyOutcome.DETAINED),
    "Patient Abduction": (CasualtyGroup.PATIENTS, CasualtyOutcome.KIDNAPPED),
    "Patient Arrest": (CasualtyGroup.PATIENTS, CasualtyOutcome.ARRESTED),
    "Patient Detention": (CasualtyGroup.PATIENTS, CasualtyOutcome.DETAINED),
}
"""SSA export count columns by group and outcome (``Total Death``, ``Total Injured``: no group)."""


# --- Insecurity Insight / Safeguarding Health in Conflict Coalition (SHCC) -------------------


class PerpetratorCategory(_Coded):
    """Insecurity Insight ``Reported Perpetrator`` (SHCC 2016–2023 file and the aid-worker API)."""

    STATE_ARMED_FORCES = "Armed Forces of Government/Self-Declared Government"
    HOST_GOVERNMENT_MILITARY = "Host Government: Military"
    GOVERNMENT = "Government/Self-Declared Government"
    POLICE = "Police"
    FOREIGN_FORCES_MILITARY = "Foreign Forces: Military"
    DONOR_GOVERNMENT = "Donor Government"
    NON_STATE_ACTOR = "NSA"
    MILITARY_COMBATANT = "MilCombatant"
    CRIMINAL = "Criminal"
    VIGILANTE = "Vigilante"
    PROTESTORS = "Protestors"
    POLITICAL_PARTY = "Political Party"
    CIVILIAN = "Civilian"
    COMMUNITY_MEMBER = "Community Member"
    CAMP_RESIDENT = "Camp Resident"
    PATIENT_OR_FAMILY = "Patient or Family"
    EMPLOYEE = "Employee"
    STAFF_WORKER = "Staff Worker"
    ADMINISTRATION = "Administration"
    MULTIPLE = "Multiple"
    OTHER = "Other"
    NO_INFORMATION = "No Information"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {"Foreign Forces - Military": cls.FOREIGN_FORCES_MILITARY.value}


class Weapon(_Coded):
    """Insecurity Insight ``Weapon Carried/Used`` (multi-valued: use `split_shcc_multi`)."""

    FIREARMS = "Firearms"
    FIREARM_BLUNT_USE = "Fire Arm Blunt Use"
    TASERS_LIVE_RUBBER_BULLETS = "Tasers, Live and Rubber Bullets"
    KNIFE = "Knife"
    STONES_STICKS_GRAVEL = "Stones, Sticks and Gravel"
    FIST_AND_FOOT = "Fist and Foot"
    HAND_GRENADE = "Hand Grenade"
    RPG = "RPG"
    ARSON = "Arson"
    CHEMICAL_OR_HOT_LIQUID = "Chemical or Hot Liquid"
    AERIAL_BOMB_PLANE = "Aerial Bomb: Plane"
    AERIAL_BOMB_DRONE = "Aerial Bomb: Drone"
    AERIAL_BOMB_MISSILE = "Aerial Bomb: Missile"
    AERIAL_BOMB_UNKNOWN_PLATFORM = "Aerial Bomb: No Information on Platform Type"
    MISSILE = "Missile"
    ROCKET = "Rocket"
    SHELLING = "Shelling"
    ARTILLERY = "Artillery"
    MORTAR = "Mortar"
    CLUSTER_BOMB = "Cluster Bomb"
    UNSPECIFIED_EXPLOSIVE = "Unspecified Explosive"
    UNSPECIFIED_IED = "Unspecified IED"
    VBIED = "VBIED"
    SVIED = "SVIED"
    RCIED = "RCIED"
    MINE = "Mine"
    UXO = "UXO"
    OTHER = "Other Weapon"
    UNARMED = "Unarmed Perpetrator"
    NO_DIRECT_VIOLENCE = "Not Applicable: No Direct Violence"
    NO_INFORMATION = "No Information on the Weapon Used"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {"Remote-controlled IED": cls.RCIED.value}


class ShccLocation(_Coded):
    """Insecurity Insight ``Location`` / ``Location of Incident``: the type of place."""

    HEALTH_BUILDING = "Health Building"
    ROAD = "Road"
    CHECKPOINT = "Checkpoint"
    OPEN_SPACE = "Open Space"
    HOME = "Home"
    ADMINISTRATION = "Administration"
    PROJECT_SITE = "Project Site"
    COMPOUND_OFFICE = "Compound/Office Building"
    COMMUNICATION = "Communication"
    IDP_REFUGEE_CAMP = "IDP/Refugee Camp"
    WAREHOUSE = "Warehouse"
    PUBLIC_BUILDING = "Public Building"
    SCHOOL = "School"
    POLICE_STATION = "Police Station"
    AIRSTRIP = "Airstrip"
    SHIP_WATER = "Ship/Water"
    OTHER = "Other"
    NO_INFORMATION = "No Information"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {
            "Compound or Office Building": cls.COMPOUND_OFFICE.value,
            "IDP Refugee Camp": cls.IDP_REFUGEE_CAMP.value,
        }


class ShccIndicator(_Coded):
    """SHCC event-indicator columns (a count or flag per incident); values are column names."""

    FACILITY_DESTROYED = "Number of Attacks on Health Facilities Reporting Destruction"
    FACILITY_DAMAGED = "Number of Attacks on Health Facilities Reporting Damaged"
    FORCEFUL_ENTRY = "Forceful Entry into Health Facility"
    FACILITY_OCCUPIED = "Occupation of Health Facility"
    VICINITY_AFFECTED = "Vicinity of Health Facility Affected"
    TRANSPORT_DESTROYED = "Health Transportation Destroyed"
    TRANSPORT_DAMAGED = "Health Transportation Damaged"
    TRANSPORT_STOLEN = "Health Transportation Stolen/Hijacked"
    SUPPLIES_LOOTED = "Looting/Theft/Robbery/Burglary of Health Supplies"
    ACCESS_OBSTRUCTED = "Access Denied or Obstructed"
    HW_KILLED = "Health Workers Killed"
    HW_INJURED = "Health Workers Injured"
    HW_KIDNAPPED = "Health Workers Kidnapped"
    HW_ARRESTED = "Health Workers Arrested"
    HW_THREATENED = "Health Workers Threatened"
    HW_ASSAULTED = "Health Workers Assaulted"
    HW_SEXUALLY_ASSAULTED = "Health Workers Sexually Assaulted"


def split_shcc_multi(text: str) -> list[str]:
    """Split a multi-valued Insecurity Insight cell, keeping labels such as
    ``"Stones, Sticks and Gravel"`` whole."""
    return _split_known(text, (m.value for m in Weapon))


def parse_shcc_weapons(text: str) -> list[Weapon]:
    """Parse a ``Weapon Carried/Used`` cell into members (raises ValueError on an unknown part)."""
    return [Weapon.from_label(part) for part in split_shcc_multi(text)]


SHCC_CASUALTY_COLUMNS: dict[str, tuple[CasualtyGroup, CasualtyOutcome]] = {
    ShccIndicator.HW_KILLED.value: (CasualtyGroup.HEALTH_WORKERS, CasualtyOutcome.KILLED),
    ShccIndicator.HW_INJURED.value: (CasualtyGroup.HEALTH_WORKERS, CasualtyOutcome.INJURED),
    ShccIndicator.HW_KIDNAPPED.value: (CasualtyGroup.HEALTH_WORKERS, CasualtyOutcome.KIDNAPPED),
    ShccIndicator.HW_ARRESTED.value: (CasualtyGroup.HEALTH_WORKERS, CasualtyOutcome.ARRESTED),
    ShccIndicator.HW_THREATENED.value: (CasualtyGroup.HEALTH_WORKERS, CasualtyOutcome.THREATENED),
    ShccIndicator.HW_ASSAULTED.value: (CasualtyGroup.HEALTH_WORKERS, CasualtyOutcome.ASSAULTED),
    ShccIndicator.HW_SEXUALLY_ASSAULTED.value: (
        CasualtyGroup.HEALTH_WORKERS,
        CasualtyOutcome.SEXUALLY_ASSAULTED,
    ),
}
"""SHCC count columns by group and outcome."""


# --- Aid Worker Security Database (AWSD) ------------------------------------------------------


class AwsdMeansOfAttack(_Coded):
    """AWSD ``Means of attack`` (``Vehicle-born`` is the AWSD's own spelling)."""

    SHOOTING = "Shooting"
    KIDNAPPING = "Kidnapping"
    KIDNAP_KILLING = "Kidnap-killing"
    BODILY_ASSAULT = "Bodily assault"
    RAPE_SEXUAL_ASSAULT = "Rape/sexual assault"
    DETENTION_ARREST = "Detention/arrest"
    AERIAL_BOMBARDMENT = "Aerial bombardment"
    SHELLING = "Shelling"
    VEHICLE_BORNE_IED = "Vehicle-born IED"
    ROADSIDE_IED = "Roadside IED"
    BODY_BORNE_IED = "Body-borne IED"
    LANDMINE = "Landmine"
    OTHER_EXPLOSIVES = "Other Explosives"
    COMPLEX_ATTACK = "Complex attack"
    UNKNOWN = "Unknown"


class AwsdAttackContext(_Coded):
    """AWSD ``Attack context``."""

    AMBUSH = "Ambush"
    COMBAT_CROSSFIRE = "Combat/Crossfire"
    INDIVIDUAL_ATTACK = "Individual attack"
    RAID = "Raid"
    MOB_VIOLENCE = "Mob violence"
    DETENTION = "Detention"
    UNKNOWN = "Unknown"


class AwsdLocation(_Coded):
    """AWSD ``Location`` (the type of place)."""

    ROAD = "Road"
    PUBLIC_LOCATION = "Public location"
    PROJECT_SITE = "Project site"
    HOME = "Home"
    OFFICE_COMPOUND = "Office/compound"
    CUSTODY = "Custody"
    UNKNOWN = "Unknown"


class AwsdMotive(_Coded):
    """AWSD ``Motive``."""

    POLITICAL = "Political"
    ECONOMIC = "Economic"
    INCIDENTAL = "Incidental"
    DISPUTED = "Disputed"
    OTHER = "Other"
    UNKNOWN = "Unknown"


class AwsdActorType(_Coded):
    """AWSD ``Actor type``."""

    HOST_STATE = "Host state"
    STATE_UNKNOWN = "State: unknown"
    FOREIGN_OR_COALITION_FORCES = "Foreign or coalition forces"
    POLICE_OR_PARAMILITARY = "Police or paramilitary"
    NSAG_GLOBAL = "Non-state armed group: Global"
    NSAG_REGIONAL = "Non-state armed group: Regional"
    NSAG_NATIONAL = "Non-state armed group: National"
    NSAG_SUBNATIONAL = "Non-state armed group: Subnational"
    NSAG_UNKNOWN = "Non-state armed group: Unknown"
    CRIMINAL = "Criminal"
    UNAFFILIATED = "Unaffiliated"
    AID_RECIPIENT = "Aid recipient"
    STAFF_MEMBER = "Staff member"
    UNKNOWN = "Unknown"


AWSD_CASUALTY_COLUMNS: dict[str, tuple[CasualtyGroup, CasualtyOutcome]] = {
    f"{prefix} {verb}": (group, outcome)
    for prefix, group in (
        ("Nationals", CasualtyGroup.AID_WORKERS_NATIONAL),
        ("Internationals", CasualtyGroup.AID_WORKERS_INTERNATIONAL),
    )
    for verb, outcome in (
        ("killed", CasualtyOutcome.KILLED),
        ("wounded", CasualtyOutcome.INJURED),
        ("kidnapped", CasualtyOutcome.KIDNAPPED),
        ("detained", CasualtyOutcome.DETAINED),
    )
}
"""AWSD count columns by group and outcome (``Total …`` columns are sums of these)."""


# --- ACLED --------------------------------------------------------------------------------------


class AcledEventType(_Coded):
    """ACLED event types (ACLED Codebook)."""

    BATTLES = "Battles"
    EXPLOSIONS_REMOTE_VIOLENCE = "Explosions/Remote violence"
    VIOLENCE_AGAINST_CIVILIANS = "Violence against civilians"
    PROTESTS = "Protests"
    RIOTS = "Riots"
    STRATEGIC_DEVELOPMENTS = "Strategic developments"


class AcledSubEventType(_Coded):
    """ACLED sub-event types (ACLED Codebook); `event_type` gives the parent."""

    ARMED_CLASH = "Armed clash"
    GOVERNMENT_REGAINS_TERRITORY = "Government regains territory"
    NON_STATE_ACTOR_OVERTAKES_TERRITORY = "Non-state actor overtakes territory"
    CHEMICAL_WEAPON = "Chemical weapon"
    AIR_DRONE_STRIKE = "Air/drone strike"
    SUICIDE_BOMB = "Suicide bomb"
    SHELLING_ARTILLERY_MISSILE = "Shelling/artillery/missile attack"
    REMOTE_EXPLOSIVE_LANDMINE_IED = "Remote explosive/landmine/IED"
    GRENADE = "Grenade"
    SEXUAL_VIOLENCE = "Sexual violence"
    ATTACK = "Attack"
    ABDUCTION_FORCED_DISAPPEARANCE = "Abduction/forced disappearance"
    PEACEFUL_PROTEST = "Peaceful protest"
    PROTEST_WITH_INTERVENTION = "Protest with intervention"
    EXCESSIVE_FORCE_AGAINST_PROTESTERS = "Excessive force against protesters"
    VIOLENT_DEMONSTRATION = "Violent demonstration"
    MOB_VIOLENCE = "Mob violence"
    AGREEMENT = "Agreement"
    ARRESTS = "Arrests"
    CHANGE_TO_GROUP_ACTIVITY = "Change to group/activity"
    DISRUPTED_WEAPONS_USE = "Disrupted weapons use"
    HEADQUARTERS_OR_BASE_ESTABLISHED = "Headquarters or base established"
    LOOTING_PROPERTY_DESTRUCTION = "Looting/property destruction"
    NON_VIOLENT_TRANSFER_OF_TERRITORY = "Non-violent transfer of territory"
    OTHER = "Other"

    @property
    def event_type(self) -> AcledEventType:
        """The event type this sub-event type belongs to."""
        return ACLED_SUB_EVENT_EVENT_TYPE[self]


_ACLED_GROUPS = (
    (AcledEventType.BATTLES, 3),
    (AcledEventType.EXPLOSIONS_REMOTE_VIOLENCE, 6),
    (AcledEventType.VIOLENCE_AGAINST_CIVILIANS, 3),
    (AcledEventType.PROTESTS, 3),
    (AcledEventType.RIOTS, 2),
    (AcledEventType.STRATEGIC_DEVELOPMENTS, 8),
)

ACLED_SUB_EVENT_EVENT_TYPE: dict[AcledSubEventType, AcledEventType] = dict(
    zip(
        AcledSubEventType,
        (event for event, count in _ACLED_GROUPS for _ in range(count)),
        strict=True,
    )
)
"""Each ACLED sub-event type's event type (members are declared grouped, in codebook order)."""


# --- Crosswalks to WHO SSA attack types -------------------------------------------------------

_A = SsaAttackType

WEAPON_TO_SSA: dict[Weapon, tuple[SsaAttackType, ...]] = {
    Weapon.FIREARMS: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.FIREARM_BLUNT_USE: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.TASERS_LIVE_RUBBER_BULLETS: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.KNIFE: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.STONES_STICKS_GRAVEL: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.FIST_AND_FOOT: (_A.ASSAULT,),
    Weapon.HAND_GRENADE: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.RPG: (_A.HEAVY_WEAPONS,),
    Weapon.ARSON: (_A.SETTING_FIRE,),
    Weapon.CHEMICAL_OR_HOT_LIQUID: (_A.CHEMICAL_AGENT,),
    Weapon.AERIAL_BOMB_PLANE: (_A.HEAVY_WEAPONS,),
    Weapon.AERIAL_BOMB_DRONE: (_A.HEAVY_WEAPONS,),
    Weapon.AERIAL_BOMB_MISSILE: (_A.HEAVY_WEAPONS,),
    Weapon.AERIAL_BOMB_UNKNOWN_PLATFORM: (_A.HEAVY_WEAPONS,),
    Weapon.MISSILE: (_A.HEAVY_WEAPONS,),
    Weapon.ROCKET: (_A.HEAVY_WEAPONS,),
    Weapon.SHELLING: (_A.HEAVY_WEAPONS,),
    Weapon.ARTILLERY: (_A.HEAVY_WEAPONS,),
    Weapon.MORTAR: (_A.HEAVY_WEAPONS,),
    Weapon.CLUSTER_BOMB: (_A.HEAVY_WEAPONS,),
    Weapon.UNSPECIFIED_EXPLOSIVE: (_A.HEAVY_WEAPONS,),
    Weapon.UNSPECIFIED_IED: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.VBIED: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.SVIED: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.RCIED: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.MINE: (_A.INDIVIDUAL_WEAPONS,),
    Weapon.UXO: (_A.OTHER,),
    Weapon.OTHER: (_A.OTHER,),
    Weapon.UNARMED: (),
    Weapon.NO_DIRECT_VIOLENCE: (),
    Weapon.NO_INFORMATION: (_A.UNKNOWN,),
}
"""Insecurity Insight weapon → SSA attack types (SSA counts IEDs and grenades as individual)."""

SHCC_INDICATOR_TO_SSA: dict[ShccIndicator, tuple[SsaAttackType, ...]] = {
    ShccIndicator.FORCEFUL_ENTRY: (_A.ARMED_SEARCH,),
    ShccIndicator.FACILITY_OCCUPIED: (_A.MILITARIZATION,),
    ShccIndicator.TRANSPORT_STOLEN: (_A.REMOVAL_OF_ASSETS,),
    ShccIndicator.SUPPLIES_LOOTED: (_A.REMOVAL_OF_ASSETS,),
    ShccIndicator.ACCESS_OBSTRUCTED: (_A.OBSTRUCTION,),
    ShccIndicator.HW_KIDNAPPED: (_A.ABDUCTION_ARREST_DETENTION,),
    ShccIndicator.HW_ARRESTED: (_A.ABDUCTION_ARREST_DETENTION,),
    ShccIndicator.HW_THREATENED: (_A.PSYCHOLOGICAL_VIOLENCE,),
    ShccIndicator.HW_ASSAULTED: (_A.ASSAULT,),
    ShccIndicator.HW_SEXUALLY_ASSAULTED: (_A.SEXUAL_ASSAULT,),
}
"""SHCC indicator → SSA attack types. Damage, destruction, killed and injured say what was hit,
not how: the weapon gives the type. See `ssa_attack_types_from_shcc` for the assault rule."""

SHCC_INDICATOR_TO_RESOURCES: dict[ShccIndicator, tuple[SsaResource, ...]] = {
    ShccIndicator.FACILITY_DESTROYED: (SsaResource.FACILITY,),
    ShccIndicator.FACILITY_DAMAGED: (SsaResource.FACILITY,),
    ShccIndicator.FORCEFUL_ENTRY: (SsaResource.FACILITY,),
    ShccIndicator.FACILITY_OCCUPIED: (SsaResource.FACILITY,),
    ShccIndicator.TRANSPORT_DESTROYED: (SsaResource.TRANSPORT,),
    ShccIndicator.TRANSPORT_DAMAGED: (SsaResource.TRANSPORT,),
    ShccIndicator.TRANSPORT_STOLEN: (SsaResource.TRANSPORT,),
    ShccIndicator.SUPPLIES_LOOTED: (SsaResource.SUPPLIES,),
    **{column: (SsaResource.PERSONNEL,) for column in ShccIndicator if column.name[:3] == "HW_"},
}
"""SHCC indicator → SSA resources (``Vicinity…`` and ``Access…`` name no resource)."""

AWSD_MEANS_TO_SSA: dict[AwsdMeansOfAttack, tuple[SsaAttackType, ...]] = {
    AwsdMeansOfAttack.SHOOTING: (_A.INDIVIDUAL_WEAPONS,),
    AwsdMeansOfAttack.KIDNAPPING: (_A.ABDUCTION_ARREST_DETENTION,),
    AwsdMeansOfAttack.KIDNAP_KILLING: (_A.ABDUCTION_ARREST_DETENTION,),
    AwsdMeansOfAttack.BODILY_ASSAULT: (_A.ASSAULT,),
    AwsdMeansOfAttack.RAPE_SEXUAL_ASSAULT: (_A.SEXUAL_ASSAULT,),
    AwsdMeansOfAttack.DETENTION_ARREST: (_A.ABDUCTION_ARREST_DETENTION,),
    AwsdMeansOfAttack.AERIAL_BOMBARDMENT: (_A.HEAVY_WEAPONS,),
    AwsdMeansOfAttack.SHELLING: (_A.HEAVY_WEAPONS,),
    AwsdMeansOfAttack.VEHICLE_BORNE_IED: (_A.INDIVIDUAL_WEAPONS,),
    AwsdMeansOfAttack.ROADSIDE_IED: (_A.INDIVIDUAL_WEAPONS,),
    AwsdMeansOfAttack.BODY_BORNE_IED: (_A.INDIVIDUAL_WEAPONS,),
    AwsdMeansOfAttack.LANDMINE: (_A.INDIVIDUAL_WEAPONS,),
    AwsdMeansOfAttack.OTHER_EXPLOSIVES: (_A.INDIVIDUAL_WEAPONS,),
    AwsdMeansOfAttack.COMPLEX_ATTACK: (_A.HEAVY_WEAPONS, _A.INDIVIDUAL_WEAPONS),
    AwsdMeansOfAttack.UNKNOWN: (_A.UNKNOWN,),
}
"""AWSD means of attack → SSA attack types."""

ACLED_SUB_EVENT_TO_SSA: dict[AcledSubEventType, tuple[SsaAttackType, ...]] = {
    AcledSubEventType.ARMED_CLASH: (_A.INDIVIDUAL_WEAPONS,),
    AcledSubEventType.GOVERNMENT_REGAINS_TERRITORY: (),
    AcledSubEventType.NON_STATE_ACTOR_OVERTAKES_TERRITORY: (),
    AcledSubEventType.CHEMICAL_WEAPON: (_A.CHEMICAL_AGENT,),
    AcledSubEventType.AIR_DRONE_STRIKE: (_A.HEAVY_WEAPONS,),
    AcledSubEventType.SUICIDE_BOMB: (_A.INDIVIDUAL_WEAPONS,),
    AcledSubEventType.SHELLING_ARTILLERY_MISSILE: (_A.HEAVY_WEAPONS,),
    AcledSubEventType.REMOTE_EXPLOSIVE_LANDMINE_IED: (_A.INDIVIDUAL_WEAPONS,),
    AcledSubEventType.GRENADE: (_A.INDIVIDUAL_WEAPONS,),
    AcledSubEventType.SEXUAL_VIOLENCE: (_A.SEXUAL_ASSAULT,),
    AcledSubEventType.ATTACK: (_A.UNKNOWN,),
    AcledSubEventType.ABDUCTION_FORCED_DISAPPEARANCE: (_A.ABDUCTION_ARREST_DETENTION,),
    AcledSubEventType.PEACEFUL_PROTEST: (),
    AcledSubEventType.PROTEST_WITH_INTERVENTION: (),
    AcledSubEventType.EXCESSIVE_FORCE_AGAINST_PROTESTERS: (_A.INDIVIDUAL_WEAPONS,),
    AcledSubEventType.VIOLENT_DEMONSTRATION: (_A.OTHER,),
    AcledSubEventType.MOB_VIOLENCE: (_A.OTHER,),
    AcledSubEventType.AGREEMENT: (),
    AcledSubEventType.ARRESTS: (_A.ABDUCTION_ARREST_DETENTION,),
    AcledSubEventType.CHANGE_TO_GROUP_ACTIVITY: (),
    AcledSubEventType.DISRUPTED_WEAPONS_USE: (),
    AcledSubEventType.HEADQUARTERS_OR_BASE_ESTABLISHED: (_A.MILITARIZATION,),
    AcledSubEventType.LOOTING_PROPERTY_DESTRUCTION: (_A.REMOVAL_OF_ASSETS,),
    AcledSubEventType.NON_VIOLENT_TRANSFER_OF_TERRITORY: (),
    AcledSubEventType.OTHER: (_A.OTHER,),
}
"""ACLED sub-event → SSA attack types, for an event already known to affect health care."""


def _tidy(types: Iterable[SsaAttackType]) -> list[SsaAttackType]:
    """Dedupe in SSA list order; drop ``Unknown`` when a known type is present."""
    found = set(types)
    if len(found) > 1:
        found.discard(_A.UNKNOWN)
    return [t for t in SsaAttackType if t in found]


def _labels(values: str | Iterable[str], split: bool) -> list[str]:
    if isinstance(values, str):
        return split_shcc_multi(values) if split else [values]
    return [str(v) for v in values]


def ssa_attack_types_from_shcc(
    weapons: str | Iterable[str], *, indicators: Iterable[str] = ()
) -> list[SsaAttackType]:
    """Map an SHCC incident's weapons and event indicators to SSA attack types.

    Parameters
    ----------
    weapons
        The ``Weapon Carried/Used`` cell (split here) or its labels.
    indicators
        The `ShccIndicator` columns that are non-zero or true for the incident.

    Returns
    -------
    list of SsaAttackType
        In SSA list order, from `WEAPON_TO_SSA` and `SHCC_INDICATOR_TO_SSA`, with two rules:
        ``Assault (without weapons)`` is dropped when a weapon maps to individual or heavy
        weapons, and added when the perpetrator was unarmed and health workers were killed
        or injured. An unrecognised weapon gives ``Other``; so does a record from which
        nothing maps (every SHCC record is an attack of some type).
    """
    seen = {Weapon._find(label) or Weapon.OTHER for label in _labels(weapons, split=True)}
    by_weapon = [t for weapon in seen for t in WEAPON_TO_SSA[weapon]]
    found = {ShccIndicator._find(label) for label in _labels(indicators, split=False)}
    by_indicator = [t for i in found if i is not None for t in SHCC_INDICATOR_TO_SSA.get(i, ())]
    if {_A.INDIVIDUAL_WEAPONS, _A.HEAVY_WEAPONS} & set(by_weapon):
        by_indicator = [t for t in by_indicator if t is not _A.ASSAULT]
    elif Weapon.UNARMED in seen and found & {ShccIndicator.HW_KILLED, ShccIndicator.HW_INJURED}:
        by_indicator.append(_A.ASSAULT)
    return _tidy(by_weapon + by_indicator) or [_A.OTHER]


def resources_from_shcc(indicators: Iterable[str]) -> list[SsaResource]:
    """Map the SHCC indicator columns that are non-zero to SSA resources (unknown names ignored)."""
    found: set[SsaResource] = set()
    for label in indicators:
        indicator = ShccIndicator._find(label)
        if indicator is not None:
            found.update(SHCC_INDICATOR_TO_RESOURCES.get(indicator, ()))
    return [r for r in SsaResource if r in found]


def ssa_attack_types_from_awsd(means_of_attack: str) -> list[SsaAttackType]:
    """Map an AWSD ``Means of attack`` to SSA attack types (``[Other]`` if unrecognised)."""
    means = AwsdMeansOfAttack._find(means_of_attack)
    return [_A.OTHER] if means is None else list(AWSD_MEANS_TO_SSA[means])


def ssa_attack_types_from_acled(sub_event_type: str) -> list[SsaAttackType]:
    """Map an ACLED ``sub_event_type`` to SSA attack types (``[Other]`` if unrecognised).

    Types that say nothing about how health care was harmed (e.g. ``Agreement``) give ``[]``.
    """
    sub_event = AcledSubEventType._find(sub_event_type)
    return [_A.OTHER] if sub_event is None else list(ACLED_SUB_EVENT_TO_SSA[sub_event])


# --- Crosswalks to context flags --------------------------------------------------------------

AWSD_ATTACK_CONTEXT_TO_FLAGS: dict[AwsdAttackContext, tuple[ContextFlag, ...]] = {
    AwsdAttackContext.COMBAT_CROSSFIRE: (ContextFlag.ACTIVE_HOSTILITIES, ContextFlag.CROSSFIRE),
    AwsdAttackContext.MOB_VIOLENCE: (ContextFlag.PROTEST_OR_UNREST,),
    AwsdAttackContext.DETENTION: (ContextFlag.DETENTION_SETTING,),
}
"""AWSD attack context → context flags (other contexts give none)."""

AWSD_LOCATION_TO_FLAGS: dict[AwsdLocation, tuple[ContextFlag, ...]] = {
    AwsdLocation.CUSTODY: (ContextFlag.DETENTION_SETTING,),
}
"""AWSD location → context flags (other locations give none)."""

SHCC_LOCATION_TO_FLAGS: dict[ShccLocation, tuple[ContextFlag, ...]] = {
    ShccLocation.CHECKPOINT: (ContextFlag.CHECKPOINT,),
    ShccLocation.IDP_REFUGEE_CAMP: (ContextFlag.DISPLACEMENT_SITE,),
    ShccLocation.POLICE_STATION: (ContextFlag.DETENTION_SETTING,),
}
"""Insecurity Insight location → context flags (other locations give none)."""


def context_flags_from_awsd(
    *, attack_context: str | None = None, location: str | None = None
) -> list[ContextFlag]:
    """Map an AWSD attack context and location to context flags (unrecognised give none)."""
    context = AwsdAttackContext._find(attack_context)
    place = AwsdLocation._find(location)
    found = set(AWSD_ATTACK_CONTEXT_TO_FLAGS.get(context, ())) if context else set()
    found.update(AWSD_LOCATION_TO_FLAGS.get(place, ()) if place else ())
    return [f for f in ContextFlag if f in found]


def context_flags_from_shcc(location: str | None) -> list[ContextFlag]:
    """Map an Insecurity Insight location to context flags (unrecognised give none)."""
    place = ShccLocation._find(location)
    return list(SHCC_LOCATION_TO_FLAGS.get(place, ())) if place else []


# --- Prohibited conduct -----------------------------------------------------------------------


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
