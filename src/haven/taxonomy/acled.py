"""ACLED event types and sub-event types (ACLED Codebook)."""

from __future__ import annotations

from haven.taxonomy._coded import _Coded

__all__ = [
    "ACLED_SUB_EVENT_EVENT_TYPE",
    "AcledEventType",
    "AcledSubEventType",
]


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
