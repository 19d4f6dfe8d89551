"""The public API under ``/api/public``: published releases only, no token needed.

Nothing here reads incidents: every endpoint serves the frozen content of a
published release (``haven.releases``), so the public sees exactly what two
people approved and nothing else. A withdrawn release answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel

from haven import exports, releases
from haven.accounts import Actor, Role
from haven.api.auth import app_settings, database
from haven.db import Database
from haven.exports import ExportFormat, ExportTable
from haven.releases import PublicCell, PublicIncidentPage, PublicRelease
from haven.settings import Settings

__all__ = ["build_public_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]
Version = Annotated[int, Path(ge=1, le=2_147_483_647, description="The release's version.")]


class PublicAggregates(BaseModel):
    """The count cells of one published release."""

    version: int
    cells: list[PublicCell]


PUBLIC_READER = Actor(label="public", role=Role.REPORTER, scopes=frozenset())
"""Who anonymous downloads of published releases are recorded as (no address is kept)."""


def _download(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {}}, "description": "The file."}}


def _export(db: Database, version: int, *, fmt: ExportFormat, table: ExportTable) -> Response:
    with db.read() as session:
        content = releases.public_content(session, version)
    rendered = exports.export(content, fmt=fmt, table=table)
    db.write(
        lambda s: releases.record_export(
            s, version, fmt=fmt.value, table=table.value, actor=PUBLIC_READER
        )
    )
    return Response(
        rendered.data,
        media_type=rendered.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{rendered.filename}"',
            "Cache-Control": "no-cache",
        },
    )


def build_public_router() -> APIRouter:
    """The ``/api/public`` router (anonymous, read-only)."""
    router = APIRouter(prefix="/api/public", tags=["public"])

    @router.get("/releases")
    def list_public_releases(*, db: DB) -> list[PublicRelease]:
        """Every published release, newest first, with its policy (no token needed)."""
        with db.read() as session:
            return releases.list_published(session)

    @router.get("/releases/{version}")
    def get_public_release(version: Version, *, db: DB) -> PublicRelease:
        """One published release: title, date, policy, SHA-256 of its content, epsilon."""
        with db.read() as session:
            return releases.get_published(session, version)

    @router.get("/releases/{version}/incidents")
    def public_release_incidents(
        version: Version,
        *,
        db: DB,
        settings: AppSettings,
        limit: Annotated[int | None, Query(ge=1, description="Rows per page.")] = None,
        cursor: Annotated[str | None, Query(max_length=20)] = None,
    ) -> PublicIncidentPage:
        """The release's coarsened incident rows, in release order; follow `next_cursor`."""
        page_size = min(limit or settings.page_size, settings.max_page_size)
        with db.read() as session:
            return releases.get_public_items(session, version, limit=page_size, cursor=cursor)

    @router.get("/releases/{version}/aggregates")
    def public_release_aggregates(version: Version, *, db: DB) -> PublicAggregates:
        """Counts by country, period and attack type, with totals; small counts suppressed."""
        with db.read() as session:
            return PublicAggregates(
                version=version, cells=releases.get_public_cells(session, version)
            )

    @router.get(
        "/releases/{version}/export.csv",
        response_class=Response,
        responses=_download("text/csv"),
    )
    def export_release_csv(
        version: Version, *, db: DB, table: ExportTable = ExportTable.INCIDENTS
    ) -> Response:
        """The release as CSV with an HXL hashtag row; `table=aggregates` for the counts."""
        return _export(db, version, fmt=ExportFormat.CSV, table=table)

    @router.get(
        "/releases/{version}/export.geojson",
        response_class=Response,
        responses=_download("application/geo+json"),
    )
    def export_release_geojson(version: Version, *, db: DB) -> Response:
        """The release's rows as GeoJSON: points at H3 cell centres only, else no geometry."""
        return _export(db, version, fmt=ExportFormat.GEOJSON, table=ExportTable.INCIDENTS)

    @router.get(
        "/releases/{version}/export.xlsx",
        response_class=Response,
        responses=_download("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
    def export_release_xlsx(version: Version, *, db: DB) -> Response:
        """The release as an XLSX workbook: incidents, aggregates (each with an HXL row), about."""
        return _export(db, version, fmt=ExportFormat.XLSX, table=ExportTable.INCIDENTS)

    return router
