"""Evidence: files of an incident with capture metadata, derived copies, access and custody.

The bytes live in the content-addressed, write-once store
(``haven.evidence_store``: ``DATA_DIR/evidence/sha256/ab/cd/<hex>``). Each
upload is its own row (``EvidenceRow``) with who sent it, when, and what the
sender and the file's EXIF say about its capture; EXIF GPS, the camera and
device notes are encrypted (``haven.privacy``) and shown only with
``read_sensitive``. Thumbnails and redactions (``haven.evidence_media``) are
new blobs and rows that point to their original (``derived_from``) and never
replace it.

Every custody act (received, viewed, downloaded, derived) is a leaf of the
custody log (``haven.custody``) in the same transaction as the change, with
an audit event. Evidence is visible exactly to those who may see its incident
(``haven.policy``); anything else is "not found".
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, BinaryIO, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit, custody, evidence_store, policy, privacy
from haven.accounts import Actor, Permission, require
from haven.custody import Act
from haven.errors import IntegrityCheckFailed, InvalidInput, NotFound, UnsupportedMediaType
from haven.evidence_media import (
    THUMBNAIL_SIDE,
    ExifFacts,
    Rectangle,
    exercise_image,
    redact,
    thumbnail,
)
from haven.evidence_store import StagedBlob, Staging, blob_path, stage_file
from haven.facts import IsoDateTime, Point, no_nul
from haven.models import EvidenceRow, IncidentRow, ReportRow, utcnow
from haven.settings import Settings

__all__ = [
    "Derivation",
    "DerivationPlan",
    "DeriveIn",
    "Download",
    "Evidence",
    "EvidenceIn",
    "EvidenceItem",
    "EvidenceSensitive",
    "add_demo_evidence",
    "blob_path",
    "check_media_type",
    "check_upload",
    "derive_copy",
    "download",
    "for_incident",
    "get",
    "list_for_incident",
    "make_derivative",
    "prepare_derivation",
    "receive",
    "record_derivation",
    "upload_file",
]

_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FUTURE_SLACK = timedelta(days=1)


class Derivation(StrEnum):
    """What kind of working copy a derived evidence file is."""

    THUMBNAIL = "thumbnail"
    REDACTION = "redaction"


# --- schemas ------------------------------------------------------------------------------------


def _utc_in_the_past(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value > utcnow() + _FUTURE_SLACK:
        raise ValueError("is in the future")
    if value.year < 1900:
        raise ValueError("is before 1900")
    return value


def _http_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
        raise ValueError("must be an http:// or https:// URL")
    return value


class EvidenceIn(BaseModel):
    """What an uploader says about a file (the file itself is the request body)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    filename: Annotated[str, AfterValidator(no_nul)] = Field(
        default="", max_length=255, description="The file's original name."
    )
    captured_at: Annotated[IsoDateTime | None, AfterValidator(_utc_in_the_past)] = Field(
        default=None,
        description="When the device captured it, ISO 8601 (UTC if no offset is given).",
    )
    source_url: Annotated[str | None, AfterValidator(_http_url)] = Field(
        default=None, max_length=2000, description="Where the file was found (http or https)."
    )
    device_notes: Annotated[str, AfterValidator(no_nul)] | None = Field(
        default=None, max_length=2000, description="About the capturing device; encrypted."
    )
    report_id: str | None = Field(
        default=None, max_length=64, description="The report (of this incident) it came with."
    )


class EvidenceItem(BaseModel):
    """One evidence file as packages and lists show it: hash, size, type, times and lineage."""

    id: str
    sha256: str = Field(description="SHA-256 of the file's bytes (hex); its name in the store.")
    size: int = Field(description="Bytes.")
    media_type: str
    filename: str
    received_at: datetime = Field(description="When the server stored it (server clock, UTC).")
    captured_at: datetime | None = Field(description="When the uploader says it was captured.")
    exif_taken_at: str | None = Field(
        description="EXIF DateTimeOriginal, ISO 8601; without offset it is camera-local time."
    )
    derived_from: str | None = Field(description="The evidentiary original; null for originals.")
    derivation: str | None = Field(description="thumbnail or redaction; null for originals.")
    source_url: str | None


class EvidenceSensitive(BaseModel):
    """The encrypted part: shown only with ``read_sensitive`` and a stated purpose."""

    gps: Point | None = Field(default=None, description="EXIF GPS, WGS84, longitude first.")
    camera: str | None = Field(default=None, description="EXIF make, model and serial number.")
    device_notes: str | None = None


class Evidence(EvidenceItem):
    """One evidence file with its incident, uploader and (on request) its encrypted part."""

    incident_id: str
    report_id: str | None
    uploader: str
    has_exif_gps: bool = Field(description="Whether EXIF GPS was found (the point is encrypted).")
    exercise: bool
    derivation_params: dict[str, Any]
    sensitive: EvidenceSensitive | None = None


class DeriveIn(BaseModel):
    """A derived working copy to make: a thumbnail, or a redaction with rectangles blacked out."""

    model_config = ConfigDict(extra="forbid")

    kind: Derivation
    rectangles: list[Rectangle] = Field(
        default_factory=list,
        max_length=500,
        description="Redaction only: pixel rectangles of the displayed image to black out.",
    )
    side: int = Field(
        default=THUMBNAIL_SIDE, ge=16, le=2048, description="Thumbnail only: longest side, px."
    )

    @model_validator(mode="after")
    def _rectangles_only_for_redaction(self) -> Self:
        if self.rectangles and self.kind is not Derivation.REDACTION:
            raise ValueError("rectangles are for kind 'redaction' only")
        return self


@dataclass(frozen=True, slots=True)
class Download:
    """A stored file ready to send: where it is, its hash, size, type and name."""

    path: Path
    sha256: str
    size: int
    media_type: str
    filename: str


# --- checks -------------------------------------------------------------------------------------


def _allowed(media_type: str, allowed: Iterable[str]) -> bool:
    kind = media_type.split("/", 1)[0]
    return any(a in {media_type, f"{kind}/*"} for a in allowed)


def check_media_type(settings: Settings, content_type: str | None) -> str:
    """The media type of a Content-Type value (parameters dropped), if the allow-list has it.

    ``UnsupportedMediaType`` names ``content_type`` and lists the allowed types.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    allowed = ", ".join(settings.evidence_media_types)
    if not _MEDIA_TYPE.match(media_type):
        raise UnsupportedMediaType(
            "send the file's media type as Content-Type, e.g. image/jpeg",
            fields={"content_type": f"missing or malformed; allowed: {allowed}"},
        )
    if not _allowed(media_type, settings.evidence_media_types):
        raise UnsupportedMediaType(
            f"evidence of type {media_type} is not accepted",
            fields={"content_type": f"{media_type} is not allowed; allowed: {allowed}"},
        )
    return media_type


def _upload_target(session: Session, incident_id: str, *, actor: Actor) -> IncidentRow:
    require(actor, Permission.SUBMIT_REPORT)
    row = policy.visible_incident(session, incident_id, actor=actor)
    return row


def _check_report(
    session: Session, incident_id: str, *, report_id: str | None, actor: Actor
) -> None:
    if report_id is None:
        return
    found = session.scalar(
        select(ReportRow.id).where(
            ReportRow.id == report_id,
            ReportRow.incident_id == incident_id,
            policy.visible_reports(session, actor),
        )
    )
    if found is None:
        raise InvalidInput(
            f"no report {report_id} of incident {incident_id}",
            fields={"report_id": "not a report of this incident"},
        )


def check_upload(
    session: Session,
    incident_id: str,
    *,
    meta: EvidenceIn,
    media_type: str | None,
    actor: Actor,
    settings: Settings,
) -> str:
    """Refuse an upload before its bytes are read; returns the normalised media type.

    Needs ``submit_report`` on an incident the actor may see (else 403 / 404).
    """
    _upload_target(session, incident_id, actor=actor)
    _check_report(session, incident_id, report_id=meta.report_id, actor=actor)
    return check_media_type(settings, media_type)


def _safe_filename(name: str, media_type: str) -> str:
    base = _CONTROL.sub("", PurePosixPath(name.replace("\\", "/")).name).strip()
    if base in {"", ".", ".."}:
        base = "evidence" + (mimetypes.guess_extension(media_type) or "")
    return base[:255]


# --- rows and custody ---------------------------------------------------------------------------


def _evidence(row: EvidenceRow, *, sensitive: EvidenceSensitive | None = None) -> Evidence:
    return Evidence(
        **_item(row).model_dump(),
        incident_id=row.incident_id,
        report_id=row.report_id,
        uploader=row.uploader,
        has_exif_gps=row.has_exif_gps,
        exercise=row.is_exercise,
        derivation_params=dict(row.derivation_params or {}),
        sensitive=sensitive,
    )


def _item(row: EvidenceRow) -> EvidenceItem:
    return EvidenceItem(
        id=row.id,
        sha256=row.sha256,
        size=row.size,
        media_type=row.media_type,
        filename=row.filename,
        received_at=row.received_at,
        captured_at=row.captured_at,
        exif_taken_at=row.exif_taken_at,
        derived_from=row.derived_from,
        derivation=row.derivation,
        source_url=row.source_url,
    )


def _record(
    session: Session,
    row: EvidenceRow,
    *,
    act: Act,
    actor: Actor,
    detail: dict[str, Any] | None = None,
    purpose: str | None = None,
) -> None:
    """The custody leaf and the audit event of one act on one evidence file."""
    custody.append(
        session,
        actor,
        act=act,
        entity_type="evidence",
        entity_id=row.id,
        content_sha256=row.sha256,
        detail={"incident_id": row.incident_id, **(detail or {})},
    )
    audit.record(
        session,
        actor,
        action=act.value,
        entity_type="evidence",
        entity_id=row.id,
        detail={"incident_id": row.incident_id, "sha256": row.sha256, **(detail or {})},
        purpose=purpose,
    )


def receive(
    session: Session,
    incident_id: str,
    *,
    meta: EvidenceIn,
    staged: StagedBlob,
    actor: Actor,
    settings: Settings,
) -> Evidence:
    """Store a staged file as evidence of an incident: its row, custody leaf, audit event, blob.

    The checks of ``check_upload`` run again inside the write. The file is
    linked into the store last; the caller still ``discard``\\s the staged file.
    The same bytes sent again by the same uploader for the same incident (a retry, e.g.
    from an offline queue) return the existing record: no second row, no second custody
    leaf. Someone else sending the same bytes is a receipt of its own.
    """
    incident = _upload_target(session, incident_id, actor=actor)
    _check_report(session, incident_id, report_id=meta.report_id, actor=actor)
    media_type = check_media_type(settings, staged.media_type)
    already = session.scalar(  # a retried upload (e.g. from an offline queue): the same record
        select(EvidenceRow).where(
            EvidenceRow.incident_id == incident.id,
            EvidenceRow.sha256 == staged.sha256,
            EvidenceRow.uploader == actor.label,
            EvidenceRow.derived_from.is_(None),
        )
    )
    if already is not None:
        return _evidence(already)
    evidence_id = str(uuid.uuid4())
    exif = staged.exif
    secret = EvidenceSensitive(
        gps=Point(lon=exif.gps.lon, lat=exif.gps.lat) if exif.gps else None,
        camera=exif.camera,
        device_notes=meta.device_notes or None,
    )
    row = EvidenceRow(
        id=evidence_id,
        sha256=staged.sha256,
        size=staged.size,
        media_type=media_type,
        filename=_safe_filename(meta.filename, media_type),
        incident_id=incident.id,
        report_id=meta.report_id,
        uploaded_by=actor.user_id,
        uploader=actor.label,
        received_at=utcnow(),
        captured_at=meta.captured_at,
        exif_taken_at=exif.taken_at,
        has_exif_gps=exif.gps is not None,
        source_url=meta.source_url,
        sensitive=(
            privacy.encrypt(
                session,
                secret.model_dump(mode="json"),
                organisation_id=actor.organisation_id,
                bound_to=f"evidence:{evidence_id}",
            )
            if secret != EvidenceSensitive()
            else None
        ),
        derived_from=None,
        derivation=None,
        derivation_params={},
        is_exercise=incident.is_exercise,
    )
    session.add(row)
    session.flush()
    _record(
        session,
        row,
        act=Act.EVIDENCE_RECEIVED,
        actor=actor,
        detail={"size": row.size, "media_type": media_type, "report_id": meta.report_id},
    )
    evidence_store.place(settings, staged)
    return _evidence(row)


def upload_file(
    db: Any,
    incident_id: str,
    *,
    settings: Settings,
    source: BinaryIO,
    meta: EvidenceIn,
    media_type: str,
    actor: Actor,
) -> Evidence:
    """Check, stream and store one file (``db`` is a ``haven.db.Database``); for CLI and demo."""
    with db.read() as session:
        media_type = check_upload(
            session, incident_id, meta=meta, media_type=media_type, actor=actor, settings=settings
        )
    staged = stage_file(settings, source, media_type=media_type)
    try:
        result: Evidence = db.write(
            lambda s: receive(
                s,
                incident_id,
                meta=meta,
                staged=staged,
                actor=actor,
                settings=settings,
            )
        )
        return result
    finally:
        staged.discard()


def _visible(session: Session, evidence_id: str, *, actor: Actor) -> EvidenceRow:
    require(actor, Permission.READ_INCIDENTS)
    row = session.scalar(
        select(EvidenceRow)
        .join(IncidentRow, IncidentRow.id == EvidenceRow.incident_id)
        .where(EvidenceRow.id == evidence_id, policy.visible_incidents(session, actor))
    )
    if row is None:
        raise NotFound(f"no evidence {evidence_id}", fields={"evidence_id": "unknown"})
    return row


def get(
    session: Session, evidence_id: str, *, actor: Actor, purpose: str | None = None
) -> Evidence:
    """One evidence file's metadata (a custody ``viewed`` act); with ``purpose``, the encrypted
    part too (needs ``read_sensitive``; the read is audited). Run it in a write."""
    row = _visible(session, evidence_id, actor=actor)
    sensitive = None
    if purpose is not None:
        opened = privacy.read_sensitive(
            session, row.sensitive, bound_to=f"evidence:{row.id}", actor=actor, purpose=purpose
        )
        sensitive = EvidenceSensitive.model_validate(opened)
    _record(session, row, act=Act.EVIDENCE_VIEWED, actor=actor, purpose=purpose)
    return _evidence(row, sensitive=sensitive)


def _rows_of(session: Session, incident_id: str) -> list[EvidenceRow]:
    return list(
        session.scalars(
            select(EvidenceRow)
            .where(EvidenceRow.incident_id == incident_id)
            .order_by(EvidenceRow.received_at, EvidenceRow.id)
        )
    )


def list_for_incident(session: Session, incident_id: str, *, actor: Actor) -> list[Evidence]:
    """The evidence of an incident the actor may see, oldest first; each a custody ``viewed`` act.

    Run it in a write. An incident the actor may not see is ``NotFound``.
    """
    require(actor, Permission.READ_INCIDENTS)
    visible = session.scalar(
        select(IncidentRow.id).where(
            IncidentRow.id == incident_id, policy.visible_incidents(session, actor)
        )
    )
    if visible is None:
        raise NotFound(f"no incident {incident_id}", fields={"incident_id": "unknown"})
    rows = _rows_of(session, incident_id)
    for row in rows:
        custody.append(
            session,
            actor,
            act=Act.EVIDENCE_VIEWED,
            entity_type="evidence",
            entity_id=row.id,
            content_sha256=row.sha256,
            detail={"incident_id": incident_id, "listed": True},
        )
    audit.record(
        session,
        actor,
        action="evidence.list",
        entity_type="incident",
        entity_id=incident_id,
        detail={"evidence": [row.id for row in rows]},
    )
    return [_evidence(row) for row in rows]


def for_incident(session: Session, incident_id: str) -> list[EvidenceItem]:
    """Every evidence file of an incident, originals and derived copies, oldest first.

    No access check and no custody act: for callers that made both (e.g. packages).
    """
    return [_item(row) for row in _rows_of(session, incident_id)]


def download(session: Session, evidence_id: str, *, actor: Actor, settings: Settings) -> Download:
    """The stored file to send (a custody ``downloaded`` act); run it in a write.

    ``IntegrityCheckFailed`` if the file is missing or its size is not the recorded one.
    """
    row = _visible(session, evidence_id, actor=actor)
    path = blob_path(settings, row.sha256)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = -1
    if size != row.size:
        raise IntegrityCheckFailed(
            f"the stored file of evidence {row.id} is missing or changed: run `haven verify`",
            fields={"evidence_id": row.id},
        )
    _record(session, row, act=Act.EVIDENCE_DOWNLOADED, actor=actor)
    return Download(
        path=path,
        sha256=row.sha256,
        size=row.size,
        media_type=row.media_type,
        filename=row.filename,
    )


# --- derived copies -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DerivationPlan:
    """What a derivation works from: the source file (original or copy) and its original."""

    source_id: str
    source_sha256: str
    original_id: str
    path: Path
    filename: str


def prepare_derivation(
    session: Session, evidence_id: str, *, actor: Actor, settings: Settings
) -> DerivationPlan:
    """Check that ``actor`` may derive from this file (``verify``, sees it, an image)."""
    require(actor, Permission.VERIFY)
    row = _visible(session, evidence_id, actor=actor)
    if not row.media_type.startswith("image/"):
        raise InvalidInput(
            f"evidence {row.id} is {row.media_type}; copies are made of images only",
            fields={"kind": "thumbnails and redactions are made of images only"},
        )
    return DerivationPlan(
        source_id=row.id,
        source_sha256=row.sha256,
        original_id=row.derived_from or row.id,
        path=blob_path(settings, row.sha256),
        filename=row.filename,
    )


def make_derivative(settings: Settings, plan: DerivationPlan, *, request: DeriveIn) -> StagedBlob:
    """Make the copy with Pillow and stage it (no database: run it outside the writer)."""
    if request.kind is Derivation.THUMBNAIL:
        image = thumbnail(plan.path, side=request.side)
    else:
        image = redact(plan.path, request.rectangles)
    with Staging(settings, media_type=image.media_type) as staging:
        staging.write(image.data)
        staged = staging.finish()
    staged.exif = ExifFacts()  # a derived copy carries no capture metadata
    return staged


def _derived_name(filename: str, kind: Derivation, *, media_type: str) -> str:
    stem = PurePosixPath(filename).stem or "evidence"
    return f"{stem}.{kind.value}{mimetypes.guess_extension(media_type) or ''}"[:255]


def record_derivation(
    session: Session,
    plan: DerivationPlan,
    *,
    request: DeriveIn,
    staged: StagedBlob,
    actor: Actor,
    settings: Settings,
) -> Evidence:
    """Store a derived copy linked to its original; the same copy made again is returned as is."""
    require(actor, Permission.VERIFY)
    source = _visible(session, plan.source_id, actor=actor)
    original = session.get(EvidenceRow, plan.original_id)
    if source.sha256 != plan.source_sha256 or original is None:
        raise IntegrityCheckFailed(
            f"evidence {plan.source_id} changed while the copy was made",
            fields={"evidence_id": plan.source_id},
        )
    existing = session.scalar(
        select(EvidenceRow).where(
            EvidenceRow.derived_from == original.id,
            EvidenceRow.derivation == request.kind.value,
            EvidenceRow.sha256 == staged.sha256,
        )
    )
    if existing is not None:
        return _evidence(existing)
    params: dict[str, Any] = {"source_id": source.id}
    if request.kind is Derivation.THUMBNAIL:
        params["side"] = request.side
    else:
        params["rectangles"] = [r.model_dump() for r in request.rectangles]
    row = EvidenceRow(
        id=str(uuid.uuid4()),
        sha256=staged.sha256,
        size=staged.size,
        media_type=staged.media_type,
        filename=_derived_name(original.filename, request.kind, media_type=staged.media_type),
        incident_id=original.incident_id,
        report_id=original.report_id,
        uploaded_by=actor.user_id,
        uploader=actor.label,
        received_at=utcnow(),
        captured_at=None,
        exif_taken_at=None,
        has_exif_gps=False,
        source_url=None,
        sensitive=None,
        derived_from=original.id,
        derivation=request.kind.value,
        derivation_params=params,
        is_exercise=original.is_exercise,
    )
    session.add(row)
    session.flush()
    _record(
        session,
        row,
        act=Act.EVIDENCE_DERIVED,
        actor=actor,
        detail={
            "derivation": request.kind.value,
            "original_id": original.id,
            "original_sha256": original.sha256,
            "source_sha256": source.sha256,
        },
    )
    evidence_store.place(settings, staged)
    return _evidence(row)


def derive_copy(
    db: Any, evidence_id: str, *, settings: Settings, request: DeriveIn, actor: Actor
) -> Evidence:
    """Make and store a derived copy (``db`` is a ``haven.db.Database``): check, make, record."""
    with db.read() as session:
        plan = prepare_derivation(session, evidence_id, actor=actor, settings=settings)
    staged = make_derivative(settings, plan, request=request)
    try:
        result: Evidence = db.write(
            lambda s: record_derivation(
                s,
                plan,
                request=request,
                staged=staged,
                actor=actor,
                settings=settings,
            )
        )
        return result
    finally:
        staged.discard()


def add_demo_evidence(
    db: Any, incident_id: str, *, settings: Settings, taken_at: datetime, actor: Actor
) -> Evidence:
    """Attach a generated EXERCISE image to an exercise incident and derive its thumbnail.

    Running it again adds nothing: the image's bytes are the same and are found.
    """
    data = exercise_image(taken_at=taken_at, label=f"incident {incident_id}")
    digest = hashlib.sha256(data).hexdigest()
    with db.read() as session:
        incident = session.get(IncidentRow, incident_id)
        if incident is None or not incident.is_exercise:
            raise InvalidInput(
                f"demo evidence goes on exercise incidents only; {incident_id} is not one",
                fields={"incident_id": "not an exercise incident"},
            )
        stored = session.scalar(
            select(EvidenceRow).where(
                EvidenceRow.incident_id == incident_id,
                EvidenceRow.sha256 == digest,
                EvidenceRow.derived_from.is_(None),
            )
        )
        found = _evidence(stored) if stored is not None else None
    original = (
        found
        if found is not None
        else upload_file(
            db,
            incident_id,
            settings=settings,
            source=io.BytesIO(data),
            meta=EvidenceIn(filename="EXERCISE-generated-image.jpg", device_notes="EXERCISE"),
            media_type="image/jpeg",
            actor=actor,
        )
    )
    derive_copy(
        db,
        original.id,
        settings=settings,
        request=DeriveIn(kind=Derivation.THUMBNAIL),
        actor=actor,
    )
    return original


# --- verification -------------------------------------------------------------------------------
