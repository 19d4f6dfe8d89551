"""Accountability endpoints: party commitments and type, attributions, compliance records, cases.

Commitments and the party type are recorded with ``notify`` and read with
``read_incidents``; attributions are recorded with ``verify``; the compliance
record (internal: it may include unpublished incidents) needs ``read_incidents``.
Cases are sensitive: every case route needs ``verify``, and opening an event's
personal details needs ``read_sensitive`` too, with a purpose (audited). Correcting a
case (amending its title or summary, removing an incident linked by mistake) needs
``verify`` and a written reason, and keeps what was there in the history. A case or
incident the caller may not see answers 404. Attribution is a reported
perpetrator, not a verdict.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from haven import attributions, case_files, cases, commitments, compliance
from haven.api.auth import CurrentActor, app_settings, database
from haven.attributions import Attribution, AttributionIn
from haven.cases import (
    Case,
    CaseAmendIn,
    CaseEvent,
    CaseEventIn,
    CaseIn,
    CaseOutcome,
    CaseStatus,
    CaseSummary,
    DueItem,
    IncidentsRemovalIn,
    PersonalDetail,
)
from haven.commitments import Commitment, CommitmentIn, PartyProfile, PartyType
from haven.compliance import ComplianceRecord
from haven.db import Database
from haven.settings import Settings

__all__ = ["build_accountability_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
PartyId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The party's id.")]
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The case's id.")]
EventId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The event's id.")]
IncidentId = Annotated[str, Path(max_length=64, description="The incident's id.")]


class PartyTypeIn(BaseModel):
    """What kind of party to the conflict it is."""

    model_config = ConfigDict(extra="forbid")

    party_type: PartyType


class CaseStatusIn(BaseModel):
    """Close a case (with its outcome) or reopen it."""

    model_config = ConfigDict(extra="forbid")

    status: CaseStatus
    outcome: CaseOutcome | None = None
    note: str = Field(default="", max_length=5000)


class IncidentsIn(BaseModel):
    """Incidents to add to a case."""

    model_config = ConfigDict(extra="forbid")

    incident_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=500
    )


def _zip_response() -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {"application/zip": {}}, "description": "The case file (zip)."}}


def _party_routes(router: APIRouter) -> None:
    @router.get("/parties/{party_id}/commitments")
    def party_profile(party_id: PartyId, *, db: DB, actor: CurrentActor) -> PartyProfile:
        """A party's type and the commitments it made."""
        with db.read() as session:
            return commitments.profile(session, party_id, actor=actor)

    @router.post("/parties/{party_id}/commitments", status_code=201)
    async def add_commitment(
        party_id: PartyId, body: CommitmentIn, *, db: DB, actor: CurrentActor
    ) -> Commitment:
        """Record a commitment (declaration, agreement, deconfliction participation, other)."""
        return await db.awrite(lambda s: commitments.add(s, party_id, data=body, actor=actor))

    @router.post("/parties/{party_id}/type")
    async def set_party_type(
        party_id: PartyId, body: PartyTypeIn, *, db: DB, actor: CurrentActor
    ) -> PartyProfile:
        """Say whether the party is state forces, a non-state armed group, or other."""
        return await db.awrite(
            lambda s: commitments.set_party_type(
                s, party_id, party_type=body.party_type, actor=actor
            )
        )

    @router.get("/parties/{party_id}/compliance")
    def compliance_record(party_id: PartyId, *, db: DB, actor: CurrentActor) -> ComplianceRecord:
        """The party's compliance record: attributed incidents by certainty (never above the
        incident's), notified sites and movements struck, obstruction, militarisation; each
        figure with its incidents and their proof. Attribution is not a verdict."""
        with db.read() as session:
            return compliance.record(session, party_id, actor=actor)

    @router.get("/incidents/{incident_id}/attributions")
    def list_attributions(
        incident_id: IncidentId, *, db: DB, actor: CurrentActor
    ) -> list[Attribution]:
        """The parties sources report as the incident's perpetrator (capped certainty)."""
        with db.read() as session:
            return attributions.list_for_incident(session, incident_id, actor=actor)

    @router.post("/incidents/{incident_id}/attributions", status_code=201)
    async def add_attribution(
        incident_id: IncidentId, body: AttributionIn, *, db: DB, actor: CurrentActor
    ) -> Attribution:
        """Record a reported perpetrator of the incident, with its source and basis."""
        return await db.awrite(lambda s: attributions.add(s, incident_id, data=body, actor=actor))


def _case_routes(router: APIRouter) -> None:
    @router.get("/cases")
    def list_cases(
        *,
        db: DB,
        actor: CurrentActor,
        status: Annotated[CaseStatus | None, Query(description="Only open or closed.")] = None,
    ) -> list[CaseSummary]:
        """Cases the caller may see, newest first."""
        with db.read() as session:
            return cases.list_cases(session, actor=actor, status=status)

    @router.post("/cases", status_code=201)
    async def open_case(body: CaseIn, *, db: DB, actor: CurrentActor) -> Case:
        """Open a case about one or more incidents (custody-logged)."""
        return await db.awrite(lambda s: cases.open_case(s, body, actor=actor))

    @router.get("/cases/due")
    def due(
        *,
        db: DB,
        actor: CurrentActor,
        within_days: Annotated[int, Query(ge=0, le=3650, description="Horizon in days.")] = 7,
    ) -> list[DueItem]:
        """Deadlines not yet met on open cases, due within ``within_days``; overdue flagged."""
        with db.read() as session:
            return cases.due(session, actor=actor, within=timedelta(days=within_days))

    @router.get("/cases/{case_id}")
    def get_case(case_id: CaseId, *, db: DB, actor: CurrentActor) -> Case:
        """A case with its incidents and its whole history."""
        with db.read() as session:
            return cases.get(session, case_id, actor=actor)

    @router.post("/cases/{case_id}/events", status_code=201)
    async def add_event(
        case_id: CaseId, body: CaseEventIn, *, db: DB, actor: CurrentActor
    ) -> CaseEvent:
        """Record a referral, investigation step, sanction, claim, support referral or note."""
        return await db.awrite(lambda s: cases.add_event(s, case_id, data=body, actor=actor))

    @router.post("/cases/{case_id}/incidents")
    async def add_incidents(
        case_id: CaseId, body: IncidentsIn, *, db: DB, actor: CurrentActor
    ) -> Case:
        """Add incidents to an open case."""
        return await db.awrite(
            lambda s: cases.add_incidents(s, case_id, incident_ids=body.incident_ids, actor=actor)
        )

    @router.post("/cases/{case_id}/amend")
    async def amend_case(
        case_id: CaseId, body: CaseAmendIn, *, db: DB, actor: CurrentActor
    ) -> Case:
        """Correct an open case's title and/or summary, with a reason (history keeps both).

        The ``case_amended`` event holds the values before and after and the reason.
        """
        return await db.awrite(lambda s: cases.amend_case(s, case_id, data=body, actor=actor))

    @router.post("/cases/{case_id}/incidents/remove")
    async def remove_incidents(
        case_id: CaseId, body: IncidentsRemovalIn, *, db: DB, actor: CurrentActor
    ) -> Case:
        """Take incidents linked by mistake out of an open case, with a reason.

        The ``incident_removed`` event keeps which and why; a case keeps at least one incident.
        """
        return await db.awrite(lambda s: cases.remove_incidents(s, case_id, data=body, actor=actor))

    @router.post("/cases/{case_id}/status")
    async def set_status(
        case_id: CaseId, body: CaseStatusIn, *, db: DB, actor: CurrentActor
    ) -> Case:
        """Close a case with its outcome, or reopen it."""
        return await db.awrite(
            lambda s: cases.set_status(
                s, case_id, status=body.status, outcome=body.outcome, note=body.note, actor=actor
            )
        )

    @router.get("/cases/{case_id}/events/{event_id}/personal")
    async def open_personal(
        case_id: CaseId,
        event_id: EventId,
        *,
        purpose: Annotated[str, Query(max_length=300, description="Why you need it (audited).")],
        db: DB,
        actor: CurrentActor,
    ) -> PersonalDetail:
        """An event's personal details (``read_sensitive``; the read is audited)."""
        return await db.awrite(
            lambda s: cases.open_personal(
                s, case_id, event_id=event_id, actor=actor, purpose=purpose
            )
        )

    @router.post("/cases/{case_id}/export", response_class=FileResponse, responses=_zip_response())
    async def export_case(
        case_id: CaseId,
        background: BackgroundTasks,
        *,
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
    ) -> FileResponse:
        """The case file: each incident's evidence package, the notification trail and the
        case history, with proofs and the standalone verifier (custody-logged)."""
        contents = await db.awrite(
            lambda s: case_files.build(s, settings, case_id=case_id, actor=actor)
        )
        folder = FilePath(tempfile.mkdtemp(prefix="haven-case-"))
        out = folder / f"haven-case-{case_id}.zip"
        case_files.write_zip(settings, contents, out=out)
        background.add_task(_remove, folder)
        return FileResponse(out, media_type="application/zip", filename=out.name)


def build_accountability_router() -> APIRouter:
    """Routes under ``/api/parties/{id}/…``, ``/api/incidents/{id}/attributions``, ``/api/cases``
    (every one needs a token)."""
    router = APIRouter(prefix="/api", tags=["accountability"])
    _party_routes(router)
    _case_routes(router)
    return router


def _remove(folder: FilePath) -> None:
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    folder.rmdir()
