"""Duplicate endpoints: suggested duplicates, a verifier's decision, manual merges and undo.

Each needs a token whose role may verify (verifier, coordinator, admin). An
incident, merge or suggestion the caller may not see answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from haven import dedup
from haven.api.auth import CurrentActor, database
from haven.db import Database
from haven.dedup import Merge, Suggestion, SuggestionVerdict

__all__ = ["build_dedup_router"]

DB = Annotated[Database, Depends(database)]
IncidentId = Annotated[str, Path(max_length=64, description="The incident that is kept.")]
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class DecisionIn(BaseModel):
    """A verifier's answer: ``accept`` merges the suggested pair, ``reject`` keeps them apart."""

    model_config = ConfigDict(extra="forbid")

    verdict: SuggestionVerdict


class MergeIn(BaseModel):
    """The incident to merge into the one in the path (its reports move there)."""

    model_config = ConfigDict(extra="forbid")

    merged: str = Field(min_length=1, max_length=64)


def build_dedup_router() -> APIRouter:
    """The duplicate routes under ``/api`` (token needed)."""
    router = APIRouter(prefix="/api", tags=["duplicates"])

    @router.get("/duplicates/suggestions")
    def list_suggestions(
        *,
        db: DB,
        actor: CurrentActor,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[Suggestion]:
        """Open suggested duplicates the caller may see, best score first."""
        with db.read() as session:
            return dedup.suggestions(session, actor=actor, limit=limit)

    @router.post("/duplicates/suggestions/{suggestion_id}/decision")
    async def decide(
        suggestion_id: RowId, body: DecisionIn, *, db: DB, actor: CurrentActor
    ) -> Suggestion:
        """Accept (merge) or reject a suggested duplicate; audited."""
        return await db.awrite(
            lambda s: dedup.decide_suggestion(s, suggestion_id, verdict=body.verdict, actor=actor)
        )

    @router.post("/incidents/{incident_id}/merge")
    async def merge_incident(
        incident_id: IncidentId, body: MergeIn, *, db: DB, actor: CurrentActor
    ) -> Merge:
        """Merge another incident into this one: its reports move here, it leaves listings."""
        return await db.awrite(
            lambda s: dedup.merge(s, incident_id, merged=body.merged, actor=actor)
        )

    @router.post("/merges/{merge_id}/undo")
    async def undo(merge_id: RowId, *, db: DB, actor: CurrentActor) -> Merge:
        """Undo a merge: its reports go back and the merged incident is listed again."""
        return await db.awrite(lambda s: dedup.undo_merge(s, merge_id, actor=actor))

    return router
