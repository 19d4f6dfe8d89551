"""Verification endpoints: move incidents through review, grade certainty, comment, read history.

Writing needs a token whose role may verify (verifier, coordinator, admin);
reading an incident's history needs ``read_incidents``. An incident the caller
may not see answers 404. The correction log under ``/api/public`` needs no token.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Path, Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from haven import corrections, verification
from haven.api.auth import CurrentActor, database
from haven.corrections import PublicCorrection
from haven.db import Database
from haven.facts import no_nul
from haven.taxonomy import (
    Certainty,
    Credibility,
    EvidenceKind,
    IncidentState,
    Reliability,
    SourceType,
)
from haven.verification import HistoryEntry, QueueItem, VerificationStatus

__all__ = ["build_verification_router"]

DB = Annotated[Database, Depends(database)]
Text = Annotated[str, AfterValidator(no_nul)]


class StateIn(BaseModel):
    """The state to move to, and why (needed to reject or withdraw)."""

    model_config = ConfigDict(extra="forbid")

    to: IncidentState
    note: Text = Field(default="", max_length=2000)


class CertaintyIn(BaseModel):
    """Either ``approve: true`` (accept the derived certainty) or a ``certainty`` with a
    ``rationale`` of at least 10 characters (override)."""

    model_config = ConfigDict(extra="forbid")

    approve: bool = False
    certainty: Certainty | None = None
    rationale: Text = Field(default="", max_length=5000)

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if self.approve == (self.certainty is not None):
            raise ValueError("give either approve: true or a certainty with a rationale")
        return self


class GradeIn(BaseModel):
    """A report's grade; a field left out means "not graded" (the grade is replaced whole)."""

    model_config = ConfigDict(extra="forbid")

    source_type: SourceType | None = None
    reliability: Reliability | None = None
    credibility: Credibility | None = None
    evidence_kinds: list[EvidenceKind] = Field(default_factory=list, max_length=5)


class CommentIn(BaseModel):
    """A verifier's comment."""

    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1, max_length=5000)


class CommentOut(BaseModel):
    """The stored comment's id."""

    id: int


_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


def _iso_only(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date or date-time, e.g. 2024-01-31T00:00:00Z")
    return value


Since = Annotated[
    datetime | None,
    BeforeValidator(_iso_only),
    Query(description="At or after (UTC; a time without offset is read as UTC)."),
]
IncidentId = Annotated[str, Path(max_length=64, description="The incident's id.")]


def build_verification_router() -> APIRouter:
    """The verification routes under ``/api`` (token needed) and ``/api/public/corrections``."""
    router = APIRouter(prefix="/api", tags=["verification"])

    @router.post("/incidents/{incident_id}/state")
    async def change_state(
        incident_id: IncidentId, body: StateIn, *, db: DB, actor: CurrentActor
    ) -> VerificationStatus:
        """Move an incident to another verification state; 409 names a move that is not allowed."""
        return await db.awrite(
            lambda s: verification.transition(
                s, incident_id, to_state=body.to, note=body.note, actor=actor
            )
        )

    @router.post("/incidents/{incident_id}/certainty")
    async def set_certainty(
        incident_id: IncidentId, body: CertaintyIn, *, db: DB, actor: CurrentActor
    ) -> VerificationStatus:
        """Approve the derived certainty, or override it with a written rationale."""
        if body.approve:
            return await db.awrite(
                lambda s: verification.approve_certainty(
                    s, incident_id, note=body.rationale, actor=actor
                )
            )
        certainty = body.certainty
        assert certainty is not None  # the model allows nothing else
        return await db.awrite(
            lambda s: verification.override_certainty(
                s, incident_id, certainty=certainty, rationale=body.rationale, actor=actor
            )
        )

    @router.post("/reports/{report_id}/grade")
    async def grade_report(
        report_id: Annotated[str, Path(max_length=64, description="The report's id.")],
        body: GradeIn,
        *,
        db: DB,
        actor: CurrentActor,
    ) -> VerificationStatus:
        """Grade a report (source type, admiralty grade, evidence); its incident is re-derived."""
        return await db.awrite(
            lambda s: verification.grade_report(
                s,
                report_id,
                source_type=body.source_type,
                reliability=body.reliability,
                credibility=body.credibility,
                evidence_kinds=body.evidence_kinds,
                actor=actor,
            )
        )

    @router.post("/incidents/{incident_id}/comments", status_code=201)
    async def add_comment(
        incident_id: IncidentId, body: CommentIn, *, db: DB, actor: CurrentActor
    ) -> CommentOut:
        """Add a comment to the incident's verification history."""
        note_id = await db.awrite(
            lambda s: verification.comment(s, incident_id, text=body.text, actor=actor)
        )
        return CommentOut(id=note_id)

    @router.get("/incidents/{incident_id}/history")
    def incident_history(
        incident_id: IncidentId, *, db: DB, actor: CurrentActor
    ) -> list[HistoryEntry]:
        """Everything that happened to the incident, oldest first, with notes and comments."""
        with db.read() as session:
            return verification.history(session, incident_id, actor=actor)

    @router.get("/verification/queue")
    def verification_queue(
        *,
        db: DB,
        actor: CurrentActor,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[QueueItem]:
        """Incidents received or in review, oldest first, each with its certainty and why."""
        with db.read() as session:
            return verification.queue(session, actor=actor, limit=limit)

    @router.get("/public/corrections", tags=["public"])
    def public_corrections(
        *,
        db: DB,
        since: Since = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    ) -> list[PublicCorrection]:
        """The public correction log: every change to a published incident, oldest first."""
        with db.read() as session:
            return corrections.corrections(session, since=since, limit=limit)

    return router
