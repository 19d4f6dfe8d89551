"""Custody log endpoints: signed heads and consistency proofs in public, the rest for verifiers.

Public (no token): ``/api/public/custody/heads`` (every signed head: publish
them, mirror them), ``/api/public/custody/keys`` (the public keys, retired ones
included) and ``/api/public/custody/consistency`` (hashes only). A leaf's entry
and its inclusion proof name an act and who did it, so they need ``verify``; so
does an evidence package.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query
from fastapi.responses import FileResponse

from haven import custody, package
from haven.accounts import Permission, require
from haven.api.auth import CurrentActor, app_settings, database
from haven.custody import ConsistencyProof, InclusionProof, Leaf, PublicKey, SignedTreeHead
from haven.db import Database
from haven.errors import NotFound
from haven.settings import Settings

__all__ = ["build_custody_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
Size = Annotated[int, Query(ge=1, le=2**62, description="A tree size (number of leaves).")]
IncidentId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-fA-F-]+$")]
LeafIndex = Annotated[int, Path(ge=0, le=2**62, description="The leaf's 0-based position.")]


def _zip_response() -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {"application/zip": {}}, "description": "The package (zip)."}}


def build_custody_router() -> APIRouter:
    """The custody routes (``/api/custody``, ``/api/public/custody``, packages)."""
    router = APIRouter(tags=["custody"])

    @router.get("/api/public/custody/heads")
    def custody_heads(
        *,
        db: DB,
        since_size: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[SignedTreeHead]:
        """Signed tree heads (oldest first): keep copies elsewhere to anchor the log."""
        with db.read() as session:
            return custody.heads(session, since_size=since_size, limit=limit)

    @router.get("/api/public/custody/heads/latest")
    def custody_latest_head(*, db: DB) -> SignedTreeHead:
        """The newest signed tree head (404 before the first one is signed)."""
        with db.read() as session:
            head = custody.latest_head(session)
        if head is None:
            raise NotFound("no tree head has been signed yet", fields={"head": "none"})
        return head

    @router.get("/api/public/custody/keys")
    def custody_keys(*, settings: AppSettings) -> dict[str, list[PublicKey]]:
        """Every public key tree heads are or were signed with (Ed25519, raw, base64)."""
        return {"keys": custody.public_keys(settings)}

    @router.get("/api/public/custody/consistency")
    def custody_consistency(first: Size, second: Size, *, db: DB) -> ConsistencyProof:
        """RFC 9162 proof that the tree of `second` leaves extends the tree of `first`."""
        with db.read() as session:
            return custody.consistency_proof(session, first=first, second=second)

    @router.post("/api/custody/heads", status_code=201)
    async def sign_custody_head(
        *, db: DB, settings: AppSettings, actor: CurrentActor
    ) -> SignedTreeHead:
        """Sign the current tree now (a new head only if the log grew); needs `verify`."""
        require(actor, Permission.VERIFY)
        return await db.awrite(lambda s: custody.sign_head(s, settings))

    @router.get("/api/custody/leaves/{index}")
    def custody_leaf(index: LeafIndex, *, db: DB, actor: CurrentActor) -> Leaf:
        """One custody act as recorded, with the exact entry its leaf hash covers."""
        require(actor, Permission.VERIFY)
        with db.read() as session:
            return custody.leaf(session, index)

    @router.get("/api/custody/leaves/{index}/proof")
    def custody_inclusion(
        index: LeafIndex, tree_size: Size, *, db: DB, actor: CurrentActor
    ) -> InclusionProof:
        """RFC 9162 inclusion proof of a leaf in the tree of `tree_size` leaves."""
        require(actor, Permission.VERIFY)
        with db.read() as session:
            return custody.inclusion_proof(session, index, tree_size=tree_size)

    @router.get("/api/custody/entities/{entity_type}/{entity_id}")
    def custody_history(
        entity_type: Annotated[str, Path(max_length=40, pattern=r"^[a-z_]+$")],
        entity_id: Annotated[str, Path(max_length=100)],
        *,
        db: DB,
        actor: CurrentActor,
    ) -> list[Leaf]:
        """Every custody act about one thing (e.g. `incident/<id>`, `evidence/<id>`)."""
        require(actor, Permission.VERIFY)
        with db.read() as session:
            return custody.leaves_for(session, entity_type=entity_type, entity_id=entity_id)

    @router.post(
        "/api/incidents/{incident_id}/package",
        response_class=FileResponse,
        responses=_zip_response(),
    )
    async def evidence_package(
        incident_id: IncidentId,
        background: BackgroundTasks,
        *,
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
    ) -> FileResponse:
        """An evidence package for the incident: originals, manifest, proofs, signed head,
        the standalone verifier. Recorded in the custody log; needs `verify`."""
        contents = await db.awrite(
            lambda s: package.build(s, settings, incident_id=incident_id, actor=actor)
        )
        folder = FilePath(tempfile.mkdtemp(prefix="haven-package-"))
        out = folder / f"haven-package-{incident_id}.zip"
        package.write_zip(settings, contents, out=out)
        background.add_task(_remove, folder)
        return FileResponse(out, media_type="application/zip", filename=out.name)

    return router


def _remove(folder: FilePath) -> None:
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    folder.rmdir()
