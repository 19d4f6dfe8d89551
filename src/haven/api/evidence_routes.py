"""Evidence endpoints: stream a file in, list and read metadata, download, derive copies.

Uploading needs ``submit_report`` on an incident the caller may see; reading
needs ``read_incidents`` and an incident the caller may see (else 404);
deriving a copy needs ``verify``. Every read, download and derivation is a
custody act. The upload body is the raw file, streamed to disk as it arrives
(never held in memory), with its media type as ``Content-Type`` and what the
uploader knows about it in query parameters.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from haven import evidence
from haven.accounts import Actor
from haven.api.auth import CurrentActor, app_settings, database
from haven.api.errors import ErrorBody
from haven.api.routes import Purpose
from haven.db import Database
from haven.errors import InvalidInput
from haven.evidence import DeriveIn, Evidence, EvidenceIn
from haven.evidence_store import StagedBlob, Staging
from haven.settings import Settings

__all__ = ["build_evidence_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
IncidentId = Annotated[str, Path(max_length=64, description="The incident's id.")]
EvidenceId = Annotated[str, Path(max_length=64, description="The evidence file's id.")]

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes; its media type as Content-Type (see "
        "`evidence_media_types` in docs/settings.md).",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_UNSUPPORTED: dict[int | str, dict[str, Any]] = {
    415: {"model": ErrorBody, "description": "The media type is not allowed."}
}


def _check_upload(
    db: Database,
    incident_id: str,
    *,
    meta: EvidenceIn,
    content_type: str | None,
    actor: Actor,
    settings: Settings,
) -> str:
    with db.read() as session:
        return evidence.check_upload(
            session,
            incident_id,
            meta=meta,
            media_type=content_type,
            actor=actor,
            settings=settings,
        )


async def _stage(request: Request, *, settings: Settings, media_type: str) -> StagedBlob:
    """Stream the request body into the store's temporary area, hashing as it goes."""
    staging = Staging(settings, media_type=media_type)
    try:
        async for chunk in request.stream():
            staging.write(chunk)
        return await run_in_threadpool(staging.finish)
    except ClientDisconnect as exc:
        staging.discard()
        raise InvalidInput(
            "the upload was interrupted", fields={"body": "incomplete; send it again"}
        ) from exc
    except BaseException:
        staging.discard()
        raise


def build_evidence_router() -> APIRouter:
    """The evidence routes under ``/api`` (token needed)."""
    router = APIRouter(prefix="/api", tags=["evidence"])

    @router.post(
        "/incidents/{incident_id}/evidence",
        status_code=201,
        openapi_extra=_UPLOAD_BODY,
        responses=_UNSUPPORTED,
    )
    async def upload_evidence(
        incident_id: IncidentId,
        request: Request,
        *,
        meta: Annotated[EvidenceIn, Query()],
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
    ) -> Evidence:
        """Store a file (the raw body) as evidence of the incident; returns its record.

        Refused before any byte is stored: an unknown incident (404), a media type
        outside the allow-list (415), bad metadata (422). An empty or oversized body
        (413) leaves nothing behind. Identical bytes are stored once.
        """
        media_type = await run_in_threadpool(
            _check_upload,
            db,
            incident_id,
            meta=meta,
            content_type=request.headers.get("content-type"),
            actor=actor,
            settings=settings,
        )
        staged = await _stage(request, settings=settings, media_type=media_type)
        try:
            return await db.awrite(
                lambda s: evidence.receive(
                    s, incident_id, meta=meta, staged=staged, actor=actor, settings=settings
                )
            )
        finally:
            staged.discard()

    @router.get("/incidents/{incident_id}/evidence")
    async def list_evidence(
        incident_id: IncidentId, *, db: DB, actor: CurrentActor
    ) -> list[Evidence]:
        """The incident's evidence files, originals and derived copies, oldest first."""
        return await db.awrite(lambda s: evidence.list_for_incident(s, incident_id, actor=actor))

    @router.get("/evidence/{evidence_id}")
    async def get_evidence(
        evidence_id: EvidenceId, *, db: DB, actor: CurrentActor, purpose: Purpose = None
    ) -> Evidence:
        """One evidence file's record; with `purpose`, also EXIF GPS, camera and device notes."""
        return await db.awrite(lambda s: evidence.get(s, evidence_id, actor=actor, purpose=purpose))

    @router.get(
        "/evidence/{evidence_id}/content",
        response_class=FileResponse,
        responses={
            200: {
                "description": "The file, with its own media type.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def download_evidence(
        evidence_id: EvidenceId, *, db: DB, settings: AppSettings, actor: CurrentActor
    ) -> FileResponse:
        """The file's bytes, streamed, as an attachment.

        `ETag` is the SHA-256 (hex) and `Repr-Digest` the RFC 9530 SHA-256 digest:
        check the bytes against them.
        """
        found = await db.awrite(
            lambda s: evidence.download(s, evidence_id, actor=actor, settings=settings)
        )
        digest = base64.b64encode(bytes.fromhex(found.sha256)).decode()
        return FileResponse(
            found.path,
            media_type=found.media_type,
            filename=found.filename,
            headers={
                "ETag": f'"{found.sha256}"',
                "Repr-Digest": f"sha-256=:{digest}:",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )

    @router.post("/evidence/{evidence_id}/derive", status_code=201)
    async def derive_evidence(
        evidence_id: EvidenceId,
        body: DeriveIn,
        *,
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
    ) -> Evidence:
        """Make a thumbnail or a redaction of an image; the original stays as it is.

        A redaction is a full-size copy with the given rectangles blacked out; both
        kinds are made from the pixels alone, so no EXIF, GPS or other metadata survives.
        """
        return await run_in_threadpool(
            lambda: evidence.derive_copy(
                db, evidence_id, settings=settings, request=body, actor=actor
            )
        )

    return router
