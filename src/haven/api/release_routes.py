"""Preparing releases under ``/api/releases``: preview, create a draft, approve, publish, withdraw.

Each endpoint needs a token whose role may prepare (analyst, coordinator,
admin) or approve (coordinator, admin) releases; approval must come from a
different person than the one who created the release.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from haven import releases
from haven.api.auth import CurrentActor, database
from haven.db import Database
from haven.releases import Release, ReleaseContent, ReleasePolicy, ReleasePreview

__all__ = ["build_release_router"]

DB = Annotated[Database, Depends(database)]
Version = Annotated[int, Path(ge=1, le=2_147_483_647, description="The release's version.")]


class PreviewIn(BaseModel):
    """What to preview: a policy (the WHO SSA default when left out)."""

    model_config = ConfigDict(extra="forbid")

    policy: ReleasePolicy = Field(default_factory=ReleasePolicy)


class CreateIn(BaseModel):
    """A new draft release: its title and policy."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    policy: ReleasePolicy = Field(default_factory=ReleasePolicy)


class WithdrawIn(BaseModel):
    """Why a release is taken down (kept in the audit log, never shown to the public)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=2000)


def build_release_router() -> APIRouter:
    """The ``/api/releases`` router (token needed)."""
    router = APIRouter(prefix="/api/releases", tags=["releases"])

    @router.post("/preview")
    def preview_release(body: PreviewIn, *, db: DB, actor: CurrentActor) -> ReleasePreview:
        """Exactly what the policy would publish now; nothing is stored."""
        with db.read() as session:
            return releases.preview(session, body.policy, actor=actor)

    @router.post("/drafts", status_code=201)
    async def create_release(body: CreateIn, *, db: DB, actor: CurrentActor) -> Release:
        """Create a release: freeze what the policy publishes now as a draft, with its SHA-256."""
        return await db.awrite(
            lambda s: releases.create(s, body.policy, title=body.title, actor=actor)
        )

    @router.get("")
    def list_releases(*, db: DB, actor: CurrentActor) -> list[Release]:
        """Every release in any state (draft, approved, published, withdrawn), newest first."""
        with db.read() as session:
            return releases.list_releases(session, actor=actor)

    @router.get("/{version:int}")
    def get_release(version: Version, *, db: DB, actor: CurrentActor) -> Release:
        """One release in any state, with who created, approved or withdrew it."""
        with db.read() as session:
            return releases.get(session, version, actor=actor)

    @router.get("/{version:int}/content")
    def get_release_content(version: Version, *, db: DB, actor: CurrentActor) -> ReleaseContent:
        """A release's frozen rows and counts: exactly what approving it would publish."""
        with db.read() as session:
            return releases.get_content(session, version, actor=actor)

    @router.post("/{version:int}/approve")
    async def approve_release(version: Version, *, db: DB, actor: CurrentActor) -> Release:
        """Approve a draft; the approver must not be the person who created it."""
        return await db.awrite(lambda s: releases.approve(s, version, actor=actor))

    @router.post("/{version:int}/publish")
    async def publish_release(version: Version, *, db: DB, actor: CurrentActor) -> Release:
        """Publish an approved release: it appears under /api/public."""
        return await db.awrite(lambda s: releases.publish(s, version, actor=actor))

    @router.post("/{version:int}/withdraw")
    async def withdraw_release(
        version: Version, body: WithdrawIn, *, db: DB, actor: CurrentActor
    ) -> Release:
        """Take a release down (or discard a draft); the public API stops serving it at once."""
        return await db.awrite(
            lambda s: releases.withdraw(s, version, reason=body.reason, actor=actor)
        )

    return router
