"""Importers of published datasets: one per format, and `run_import`, which every shell calls.

An import reads the whole file and refuses it before anything is written when it
is not what it claims; then it writes the rows through the single writer, in
chunks, as reports with their source and original row. Report ids come from the
rows themselves, so importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from haven import reports
from haven.accounts import Actor, Permission, require
from haven.db import Database
from haven.errors import InvalidInput
from haven.importers.acled import AcledImporter
from haven.importers.awsd import AwsdImporter
from haven.importers.base import DamagedCell, Importer, RowRejected
from haven.importers.files import RawRow, refuse
from haven.importers.geojson import GeoJsonImporter
from haven.importers.hxl import HxlImporter
from haven.importers.kika import KikaImporter
from haven.importers.shcc import ShccImporter
from haven.importers.who_ssa import WhoSsaImporter
from haven.models import ImportRunRow, ReportRow, utcnow
from haven.reports import ReportIn, ReportReceipt

__all__ = [
    "FORMATS",
    "AfterSubmit",
    "ImportSummary",
    "Importer",
    "Progress",
    "Rejection",
    "RowRejected",
    "importer_for",
    "run_import",
]

FORMATS: dict[str, type[Importer]] = {
    cls.format: cls
    for cls in (
        AwsdImporter,
        ShccImporter,
        KikaImporter,
        WhoSsaImporter,
        AcledImporter,
        HxlImporter,
        GeoJsonImporter,
    )
}
"""Every importer by its format name."""

CHUNK_ROWS = 500
"""Rows written per ``db.write`` (one transaction of the single writer)."""

Progress = Callable[[int, int], None]
"""Called with (rows done, rows in all) as the import goes."""

AfterSubmit = Callable[[Session, ReportReceipt], bool]
"""Called in the write transaction after each new report; True: merged into an older incident."""


class Rejection(BaseModel):
    """A row that was not imported, and why."""

    row: int = Field(description="Data row number (1 = first data row, after any HXL row).")
    column: str
    reason: str


class ImportSummary(BaseModel):
    """What an import did: every row read is imported, merged, unchanged or rejected."""

    format: str
    file: str
    sha256: str
    run_id: int | None = Field(description="The import run record (None for a dry run).")
    dry_run: bool
    rows_read: int
    imported: int = Field(description="New reports, each opening a new incident.")
    merged: int = Field(description="New reports merged into an existing incident.")
    unchanged: int = Field(description="Rows already imported with the same content.")
    rejected: int
    rejects: list[Rejection]

    def lines(self) -> list[str]:
        """The summary as lines for a terminal."""
        label = " (dry run: nothing written)" if self.dry_run else ""
        return [
            f"{self.file} ({self.format}){label}",
            f"rows read: {self.rows_read}",
            f"imported:  {self.imported}",
            f"merged:    {self.merged}",
            f"unchanged: {self.unchanged}",
            f"rejected:  {self.rejected}",
        ]


def importer_for(fmt: str, path: Path) -> Importer:
    """The importer of ``fmt`` for ``path`` (``InvalidInput`` for an unknown format)."""
    cls = FORMATS.get(fmt)
    if cls is None:
        known = ", ".join(sorted(FORMATS))
        raise InvalidInput(f"unknown import format {fmt!r}", fields={"format": f"one of {known}"})
    return cls(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _parse_all(importer: Importer, rejects: list[Rejection]) -> list[tuple[RawRow, ReportIn]]:
    """Every row as a report; a damaged cell refuses the whole file (nothing is written)."""
    parsed: list[tuple[RawRow, ReportIn]] = []
    first_row: dict[str, int] = {}
    for row in importer.rows():
        try:
            report = importer.to_report(row)
        except RowRejected as exc:
            rejects.append(Rejection(row=row.number, column=exc.column, reason=exc.reason))
            continue
        except DamagedCell as exc:
            raise refuse(
                importer.path,
                f"row {row.number}, column {exc.column!r}: {exc.reason}",
                where=f"row {row.number}, column {exc.column}",
                detail=exc.reason,
            ) from None
        key = str(report.id)
        if key in first_row:
            reason = f"the same record as row {first_row[key]} (same id and date)"
            rejects.append(Rejection(row=row.number, column="id", reason=reason))
            continue
        first_row[key] = row.number
        parsed.append((row, report))
    return parsed


class _Tally:
    def __init__(self) -> None:
        self.imported = 0
        self.merged = 0
        self.unchanged = 0


_Written = tuple[_Tally, list[Rejection]]


def _same(report: ReportIn, stored: tuple[str, dict[str, Any]]) -> bool:
    """Whether a stored report says what this row says (the same file, or the same facts
    read from another format of the same export, e.g. WHO SSA CSV then XLSX)."""
    digest, facts = stored
    if digest == report.content_sha256():
        return True
    return facts == report.facts().model_dump(mode="json", exclude={"narrative"})


def _write_chunk(
    session: Session,
    chunk: list[tuple[RawRow, ReportIn]],
    *,
    run_id: int,
    actor: Actor,
    after_submit: AfterSubmit | None,
) -> _Written:
    """Submit a chunk of rows in one transaction; rows stored before are counted, not re-sent."""
    tally, rejects = _Tally(), []
    ids = [str(report.id) for _row, report in chunk]
    found = session.execute(
        select(ReportRow.id, ReportRow.payload_sha256, ReportRow.facts).where(ReportRow.id.in_(ids))
    ).all()
    stored = {report_id: (digest, facts) for report_id, digest, facts in found}
    numbered: list[dict[str, Any]] = []
    # Without a hook, nothing in the chunk needs to see the rows before it: one flush per
    # chunk instead of two per row (reports.submit's look-ups would each flush).
    batch = session.no_autoflush if after_submit is None else nullcontext()
    with batch:
        for row, report in chunk:
            report_id = str(report.id)
            if report_id in stored:
                if _same(report, stored[report_id]):
                    tally.unchanged += 1
                else:
                    reason = "already imported with other content (the source changed it)"
                    rejects.append(Rejection(row=row.number, column="id", reason=reason))
                continue
            receipt = reports.submit(session, report, actor=actor)
            if after_submit is not None and after_submit(session, receipt):
                tally.merged += 1
            else:
                tally.imported += 1
            numbered.append({"id": report_id, "import_run_id": run_id, "row_number": row.number})
    if numbered:
        session.flush()
        session.execute(update(ReportRow), numbered)
    return tally, rejects


def _start_run(session: Session, *, fmt: str, path: Path, sha256: str, actor: Actor) -> int:
    run = ImportRunRow(format=fmt, filename=path.name[:300], sha256=sha256, actor=actor.label)
    session.add(run)
    session.flush()
    return run.id


def _finish_run(session: Session, summary: ImportSummary) -> None:
    run = session.get(ImportRunRow, summary.run_id)
    assert run is not None
    run.finished_at = utcnow()
    run.rows_read = summary.rows_read
    run.imported = summary.imported
    run.merged = summary.merged
    run.unchanged = summary.unchanged
    run.rejected = summary.rejected
    run.rejects = [r.model_dump() for r in summary.rejects]


def write_rejects(path: Path, rejects: list[Rejection]) -> None:
    """One CSV line per rejected row: row number, column and reason."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "column", "reason"])
        writer.writerows([r.row, r.column, r.reason] for r in rejects)


def _chunks(
    items: list[tuple[RawRow, ReportIn]], *, size: int
) -> Iterator[list[tuple[RawRow, ReportIn]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_import(  # noqa: PLR0917 - db, format and file, then keyword-only options
    db: Database,
    fmt: str,
    path: Path,
    *,
    actor: Actor,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    after_submit: AfterSubmit | None = None,
    dry_run: bool = False,
) -> ImportSummary:
    """Import ``path`` as ``fmt``: check the whole file, then write its rows in chunks.

    Raises
    ------
    InvalidInput
        Before anything is written, when the file is not what ``fmt`` claims (missing
        columns, wrong encoding, truncated, a damaged number); the message names the
        row and column.
    PermissionDenied
        When ``actor`` may not import data.
    """
    require(actor, Permission.IMPORT_DATA)
    importer = importer_for(fmt, path)
    importer.check_file()
    rejects: list[Rejection] = []
    parsed = _parse_all(importer, rejects)
    rows_read = len(parsed) + len(rejects)
    sha256 = _sha256(path)
    tally = _Tally()
    run_id: int | None = None
    if not dry_run:
        started = db.write(lambda s: _start_run(s, fmt=fmt, path=path, sha256=sha256, actor=actor))
        run_id = started
        done = 0
        for chunk in _chunks(parsed, size=CHUNK_ROWS):

            def write(session: Session, rows: list[tuple[RawRow, ReportIn]] = chunk) -> _Written:
                return _write_chunk(
                    session, rows, run_id=started, actor=actor, after_submit=after_submit
                )

            counted, refused = db.write(write)
            tally.imported += counted.imported
            tally.merged += counted.merged
            tally.unchanged += counted.unchanged
            rejects.extend(refused)
            done += len(chunk)
            if progress is not None:
                progress(done, len(parsed))
    rejects.sort(key=lambda r: r.row)
    summary = ImportSummary(
        format=fmt,
        file=path.name,
        sha256=sha256,
        run_id=run_id,
        dry_run=dry_run,
        rows_read=rows_read,
        imported=tally.imported,
        merged=tally.merged,
        unchanged=tally.unchanged,
        rejected=len(rejects),
        rejects=rejects,
    )
    if run_id is not None:
        db.write(lambda s: _finish_run(s, summary))
    if rejects_path is not None:
        write_rejects(rejects_path, rejects)
    return summary
