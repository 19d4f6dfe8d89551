"""``POST /api/imports``: an admin uploads a dataset file; Haven imports it like ``haven import``.

The body is the file itself (any content type) or a multipart form with a ``file``
field. It is streamed to a temporary file, at most ``max_import_bytes`` long, and
deleted after the import.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from haven import dedup
from haven.accounts import Permission, require
from haven.api.auth import CurrentActor, app_settings, database
from haven.db import Database
from haven.errors import InvalidInput, PayloadTooLarge
from haven.importers import FORMATS, ImportSummary, run_import
from haven.settings import Settings

__all__ = ["build_import_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1 << 16


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the file is larger than {limit} bytes", fields={"body": f"at most {limit} bytes"}
    )


async def _save_body(request: Request, target: Path, *, limit: int) -> str | None:
    """Stream the upload to ``target``; return the uploaded file's name, if it has one."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("no file in the form", fields={"file": "send the file as 'file'"})
        with target.open("wb") as out:
            await run_in_threadpool(shutil.copyfileobj, upload.file, out, _CHUNK)
        if target.stat().st_size > limit:
            raise _too_large(limit)
        return upload.filename
    size = 0
    with target.open("wb") as out:
        async for block in request.stream():
            size += len(block)
            if size > limit:
                raise _too_large(limit)
            out.write(block)
    return None


def build_import_router() -> APIRouter:
    """The ``/api/imports`` router (admins only)."""
    router = APIRouter(prefix="/api", tags=["imports"])

    @router.post(
        "/imports",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    },
                },
            }
        },
    )
    async def import_file(
        request: Request,
        *,
        db: DB,
        settings: AppSettings,
        actor: CurrentActor,
        format: Annotated[str, Query(pattern=r"^[a-z_]+$", description=", ".join(sorted(FORMATS)))],
        filename: Annotated[
            str | None, Query(max_length=200, description="Name to record for a raw body.")
        ] = None,
        dry_run: bool = False,
    ) -> ImportSummary:
        """Import a dataset file (the body, or a multipart ``file``): summary and rejected rows.

        The whole file is checked before anything is written; a file that is not what
        ``format`` claims gets 422 naming the row and column. Re-sending the same file
        changes nothing.
        """
        require(actor, Permission.IMPORT_DATA)
        if format not in FORMATS:
            known = ", ".join(sorted(FORMATS))
            raise InvalidInput(f"unknown import format {format!r}", fields={"format": known})
        with tempfile.TemporaryDirectory(prefix="haven-import-") as folder:
            staging = Path(folder) / "upload"
            uploaded = await _save_body(request, staging, limit=settings.max_import_bytes)
            name = _SAFE_NAME.sub("_", Path(filename or uploaded or f"upload-{format}").name)
            path = staging.rename(Path(folder) / (name.strip("._") or "upload"))
            return await run_in_threadpool(
                lambda: run_import(
                    db,
                    format,
                    path,
                    actor=actor,
                    dry_run=dry_run,
                    after_submit=dedup.after_submit(actor, auto_merge=settings.dedup_auto_merge),
                )
            )

    return router
