"""WHO Surveillance System for Attacks on Health Care (SSA) code lists and cell parsers."""

from __future__ import annotations

import re
from collections.abc import Mapping

from haven.taxonomy._coded import _Coded, _split_known
from haven.taxonomy.common import CasualtyGroup, CasualtyOutcome

__all__ = [
    "SSA_CASUALTY_COLUMNS",
    "AttackTimeBin",
    "SsaAttackType",
    "SsaFacilityType",
    "SsaResource",
    "parse_ssa_attack_types",
    "split_ssa_multi",
    "ssa_attack_time_bin",
    "ssa_resources_from_row",
]


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
