"""Insecurity Insight / Safeguarding Health in Conflict Coalition (SHCC) code lists."""

from __future__ import annotations

from haven.taxonomy._coded import _Coded, _split_known
from haven.taxonomy.common import CasualtyGroup, CasualtyOutcome

__all__ = [
    "SHCC_CASUALTY_COLUMNS",
    "PerpetratorCategory",
    "ShccIndicator",
    "ShccLocation",
    "Weapon",
    "parse_shcc_weapons",
    "split_shcc_multi",
]


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
