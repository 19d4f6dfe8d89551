"""What the pages show: code-list labels, and what the viewer may see of incidents and facilities.

Every read takes the viewer's ``Actor`` and goes through the same need-to-know
rule as the API (``haven.policy``), so a page never shows what its JSON twin
would not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import facility_risk, policy
from haven.accounts import Actor, Permission, require
from haven.errors import NotFound, PermissionDenied
from haven.facilities import FacilityKind
from haven.facility_risk import FacilityRisk
from haven.facility_status import FacilityStatus
from haven.forecast import month_index, parse_month
from haven.models import ReportRow, SourceRow
from haven.settings import Settings
from haven.sms import ATTACK_TYPE_CODES
from haven.taxonomy import Certainty, SsaAttackType, SsaFacilityType, SsaResource
from haven.taxonomy.verification import IncidentState, SourceType

__all__ = [
    "ATTACK_TYPE_CODES",
    "ATTACK_TYPE_LABELS",
    "CERTAINTY_LABELS",
    "FACILITY_KIND_LABELS",
    "FACILITY_STATUS_LABELS",
    "FACILITY_TYPE_LABELS",
    "RESOURCE_LABELS",
    "SOURCE_TYPE_LABELS",
    "STALE_MONTHS",
    "STATE_LABELS",
    "ReportLine",
    "RiskView",
    "facility_risk_view",
    "reports_of_incident",
]

# The labels are English msgids: the templates pass them through gettext.
ATTACK_TYPE_LABELS: dict[SsaAttackType, str] = {
    SsaAttackType.HEAVY_WEAPONS: "Heavy weapons (shelling, bombs, missiles)",
    SsaAttackType.INDIVIDUAL_WEAPONS: "Individual weapons (guns, knives, grenades, IED)",
    SsaAttackType.CHEMICAL_AGENT: "Chemical agent",
    SsaAttackType.SETTING_FIRE: "Setting fire",
    SsaAttackType.ASSAULT: "Assault without weapons",
    SsaAttackType.SEXUAL_ASSAULT: "Sexual assault",
    SsaAttackType.PSYCHOLOGICAL_VIOLENCE: "Threats or intimidation",
    SsaAttackType.ARMED_SEARCH: "Armed or violent search",
    SsaAttackType.ABDUCTION_ARREST_DETENTION: "Abduction, arrest or detention",
    SsaAttackType.REMOVAL_OF_ASSETS: "Removal of health care assets",
    SsaAttackType.MILITARIZATION: "Military use of a health care asset",
    SsaAttackType.OBSTRUCTION: "Obstruction to health care delivery",
    SsaAttackType.CRIMINALIZATION: "Criminalization of health care",
    SsaAttackType.OTHER: "Other",
    SsaAttackType.UNKNOWN: "Unknown",
}
"""Short labels for the WHO SSA attack types (the standard's own values stay the codes)."""

RESOURCE_LABELS: dict[SsaResource, str] = {
    SsaResource.FACILITY: "Health facility",
    SsaResource.PERSONNEL: "Health workers",
    SsaResource.PATIENTS: "Patients",
    SsaResource.TRANSPORT: "Ambulance or transport",
    SsaResource.SUPPLIES: "Supplies",
    SsaResource.WAREHOUSE: "Warehouse",
    SsaResource.OTHER: "Other",
}

FACILITY_TYPE_LABELS: dict[SsaFacilityType, str] = {
    SsaFacilityType.PRIMARY: "Primary care (health centre, clinic)",
    SsaFacilityType.SECONDARY: "Secondary care (hospital)",
    SsaFacilityType.TERTIARY: "Tertiary care (specialised hospital)",
    SsaFacilityType.MOBILE_CLINIC: "Mobile clinic",
    SsaFacilityType.PHARMACY: "Pharmacy",
    SsaFacilityType.WAREHOUSE: "Warehouse",
    SsaFacilityType.OTHER: "Other",
}
"""WHO SSA facility types, as the report form offers them."""

SOURCE_TYPE_LABELS: dict[SourceType, str] = {
    SourceType.EYEWITNESS: "I saw it myself",
    SourceType.PARTNER_SELF_REPORT: "Our organisation was affected",
    SourceType.SECONDARY: "Someone told me",
    SourceType.MEDIA: "News media",
    SourceType.SOCIAL_MEDIA: "Social media",
    SourceType.ANONYMOUS: "Anonymous",
}

CERTAINTY_LABELS: dict[Certainty, str] = {
    Certainty.RUMOUR: "Rumour",
    Certainty.POSSIBLE: "Possible",
    Certainty.PROBABLE: "Probable",
    Certainty.CONFIRMED: "Confirmed",
}


STATE_LABELS: dict[IncidentState, str] = {
    IncidentState.RECEIVED: "Received",
    IncidentState.IN_REVIEW: "In review",
    IncidentState.VERIFIED: "Verified",
    IncidentState.REJECTED: "Rejected",
    IncidentState.PUBLISHED: "Published",
    IncidentState.WITHDRAWN: "Withdrawn",
}

FACILITY_STATUS_LABELS: dict[str, str] = {
    FacilityStatus.OPERATIONAL: "Working",
    FacilityStatus.PARTIALLY_FUNCTIONING: "Partly working",
    FacilityStatus.NOT_FUNCTIONING: "Not working",
    "unknown": "Unknown",
}

FACILITY_KIND_LABELS: dict[FacilityKind, str] = {
    FacilityKind.HOSPITAL: "Hospital",
    FacilityKind.CLINIC: "Clinic",
    FacilityKind.FIRST_AID_POST: "First-aid post",
    FacilityKind.MOBILE_CLINIC: "Mobile clinic",
    FacilityKind.PHARMACY: "Pharmacy",
    FacilityKind.WAREHOUSE: "Warehouse",
    FacilityKind.AMBULANCE_BASE: "Ambulance base",
    FacilityKind.OTHER: "Other",
}


class RiskView(BaseModel):
    """A facility's risk as its page shows it: the score, or a note saying why there is none."""

    risk: FacilityRisk | None
    note: Literal["not_allowed", "no_forecast"] | None = None
    """Why the score (``not_allowed``: the viewer may not see it) or its forecast part
    (``no_forecast``: no attack on health care the viewer may see is recorded) is missing."""
    data_through: str | None = None
    """``YYYY-MM`` of the newest attack on health care the forecast rests on, when that is
    ``STALE_MONTHS`` or more months before the month forecast (``stale_months``)."""
    stale_months: int | None = None


STALE_MONTHS = 3
"""A forecast whose newest attack is this many months (or more) before its month says so."""


def facility_risk_view(
    session: Session, facility_id: int, *, actor: Actor, settings: Settings, exercise: bool
) -> RiskView:
    """The facility's risk next month for ``actor`` (``haven.facility_risk.facility_risk``).

    A viewer who may not see it gets a note instead of an error; so does a
    facility whose area has no forecast yet (its score is kept, forecast part 0).
    ``exercise`` must be the facility's own label: exercise facilities are scored
    from exercise incidents only, real ones from real incidents only.
    """
    try:
        risk = facility_risk.facility_risk(
            session, facility_id, actor=actor, settings=settings, exercise=exercise
        )
    except (PermissionDenied, NotFound):
        return RiskView(risk=None, note="not_allowed")
    forecast = next(p for p in risk.parts if p.name == "forecast")
    method = forecast.detail.get("method")
    if method in {None, "none"}:
        return RiskView(risk=risk, note="no_forecast")
    through = forecast.detail.get("data_through")
    if not through:
        return RiskView(risk=risk)
    gap = month_index(risk.month, start=parse_month(str(through)))
    if gap < STALE_MONTHS:
        return RiskView(risk=risk)
    return RiskView(risk=risk, data_through=through, stale_months=gap)


class ReportLine(BaseModel):
    """One report of an incident as the incident page lists it (no encrypted field)."""

    id: str
    source: str
    source_kind: str
    source_type: str | None
    received_at: datetime
    exercise: bool


def reports_of_incident(session: Session, incident_id: str, *, actor: Actor) -> list[ReportLine]:
    """The reports of an incident that ``actor`` may see, oldest first (READ_INCIDENTS)."""
    require(actor, Permission.READ_INCIDENTS)
    rows = session.execute(
        select(ReportRow, SourceRow.name, SourceRow.kind)
        .join(SourceRow, SourceRow.id == ReportRow.source_id)
        .where(ReportRow.incident_id == incident_id, policy.visible_reports(session, actor))
        .order_by(ReportRow.received_at, ReportRow.id)
    ).all()
    return [
        ReportLine(
            id=row.id,
            source=name,
            source_kind=kind,
            source_type=row.source_type,
            received_at=row.received_at,
            exercise=row.is_exercise,
        )
        for row, name, kind in rows
    ]
