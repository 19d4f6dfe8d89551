"""The demo's accountability data: an EXERCISE commitment, attribution and case, labelled."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import attributions, cases, commitments
from haven.accounts import SYSTEM, ensure_organisation
from haven.attributions import AttributionIn
from haven.cases import CaseAmendIn, CaseEventIn, CaseEventKind, CaseIn
from haven.commitments import CommitmentIn, CommitmentKind, PartyType
from haven.db import Database
from haven.models import CaseRow, IncidentRow, PartyRow, utcnow
from haven.notifications import DEMO_PARTIES
from haven.taxonomy import Certainty

__all__ = ["DEMO_CASE_TITLE", "load_demo"]

DEMO_CASE_TITLE = "EXERCISE - strike near a notified hospital (fictional)"
_SUMMARY = "EXERCISE - not a real case. Shows referrals, deadlines and support."


def _load(session: Session, *, party_id: int, incident_id: str, organisation: str) -> None:
    commitments.set_party_type(session, party_id, party_type=PartyType.OTHER, actor=SYSTEM)
    commitments.add(
        session,
        party_id,
        data=CommitmentIn(
            kind=CommitmentKind.DECONFLICTION_PARTICIPATION,
            title="EXERCISE - participation in the humanitarian notification system",
            reference="EXERCISE-HNS-001 (fictional)",
            text="EXERCISE - not a real commitment. Used to train coordinators.",
            exercise=True,
        ),
        actor=SYSTEM,
    )
    attributions.add(
        session,
        incident_id,
        data=AttributionIn(
            party_id=party_id,
            source="EXERCISE scenario generator",
            basis="EXERCISE - fictional markings reported by a fictional witness",
            certainty=Certainty.PROBABLE,
        ),
        actor=SYSTEM,
    )
    # The case belongs to the demo organisation, so its verifier and coordinator see it.
    owner = replace(SYSTEM, organisation_id=ensure_organisation(session, organisation))
    case = cases.open_case(
        session,
        CaseIn(
            title=DEMO_CASE_TITLE,
            incident_ids=[incident_id],
            summary=_SUMMARY,
        ),
        actor=owner,
    )
    for event in (
        CaseEventIn(
            kind=CaseEventKind.REFERRAL_NATIONAL,
            status="sent",
            authority="EXERCISE Ministry of Justice (fictional)",
            reference="EXERCISE-MJ-001",
            due_at=utcnow() + timedelta(days=14),
        ),
        CaseEventIn(
            kind=CaseEventKind.SUPPORT_PSYCHOSOCIAL,
            status="referred",
            authority="EXERCISE psychosocial support partner (fictional)",
            beneficiary_ref="family-1",
        ),
    ):
        cases.add_event(session, case.id, data=event, actor=SYSTEM)
    cases.amend_case(
        session,
        case.id,
        data=CaseAmendIn(
            summary=f"{_SUMMARY} The summary was extended afterwards: see its history.",
            reason="EXERCISE - shows how a case is corrected with its history kept",
        ),
        actor=SYSTEM,
    )


def load_demo(db: Database, *, organisation: str) -> bool:
    """Give the first EXERCISE demo party a type and a commitment, and open an EXERCISE case
    of ``organisation`` (with an attribution, a referral due in 14 days, a support referral
    and an amended summary) on the first exercise incident. Does nothing when there is no
    demo party yet or it was done already; returns whether it loaded."""
    with db.read() as session:
        if session.scalar(select(CaseRow.id).where(CaseRow.title == DEMO_CASE_TITLE)) is not None:
            return False
        party_id = session.scalar(select(PartyRow.id).where(PartyRow.name == DEMO_PARTIES[0]))
        incident_id = session.scalar(
            select(IncidentRow.id)
            .where(IncidentRow.is_exercise.is_(True), IncidentRow.merged_into.is_(None))
            .order_by(IncidentRow.occurred_at, IncidentRow.id)
            .limit(1)
        )
    if party_id is None or incident_id is None:
        return False
    db.write(
        lambda s: _load(s, party_id=party_id, incident_id=incident_id, organisation=organisation)
    )
    return True
