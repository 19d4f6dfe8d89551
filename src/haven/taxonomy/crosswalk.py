"""Crosswalks from SHCC, AWSD and ACLED codes to WHO SSA attack types, resources and flags."""

from __future__ import annotations

from collections.abc import Iterable

from haven.taxonomy.acled import AcledSubEventType
from haven.taxonomy.awsd import AwsdAttackContext, AwsdLocation, AwsdMeansOfAttack
from haven.taxonomy.common import ContextFlag
from haven.taxonomy.shcc import ShccIndicator, ShccLocation, Weapon, split_shcc_multi
from haven.taxonomy.ssa import SsaAttackType, SsaResource

__all__ = [
    "ACLED_SUB_EVENT_TO_SSA",
    "AWSD_ATTACK_CONTEXT_TO_FLAGS",
    "AWSD_LOCATION_TO_FLAGS",
    "AWSD_MEANS_TO_SSA",
    "SHCC_INDICATOR_TO_RESOURCES",
    "SHCC_INDICATOR_TO_SSA",
    "SHCC_LOCATION_TO_FLAGS",
    "WEAPON_TO_SSA",
    "context_flags_from_awsd",
    "context_flags_from_shcc",
    "resources_from_shcc",
    "ssa_attack_types_from_acled",
    "ssa_attack_types_from_awsd",
    "ssa_attack_types_from_shcc",
]


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
