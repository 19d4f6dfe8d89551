"""Aid Worker Security Database (AWSD) code lists and casualty columns."""

from __future__ import annotations

from haven.taxonomy._coded import _Coded
from haven.taxonomy.common import CasualtyGroup, CasualtyOutcome

__all__ = [
    "AWSD_CASUALTY_COLUMNS",
    "AwsdActorType",
    "AwsdAttackContext",
    "AwsdLocation",
    "AwsdMeansOfAttack",
    "AwsdMotive",
]


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
