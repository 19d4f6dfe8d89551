"""Evidence files and the custody log (Merkle leaves, stored subtrees, signed heads)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from haven.models.base import Base, utcnow

__all__ = [
    "CustodyLeafRow",
    "CustodyNodeRow",
    "CustodyStateRow",
    "CustodyTreeHeadRow",
    "EvidenceRow",
]


class EvidenceRow(Base):
    """One evidence file (an original or a derived copy): its SHA-256, capture metadata, lineage.

    The bytes live in the content-addressed store (``haven.evidence.blob_path``);
    precise EXIF GPS, camera and device notes are in the ``sensitive`` envelope.
    """

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_incident_id_received_at", "incident_id", "received_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(127))
    filename: Mapped[str] = mapped_column(String(255))
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    report_id: Mapped[str | None] = mapped_column(ForeignKey("reports.id"))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploader: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    captured_at: Mapped[datetime | None] = mapped_column()
    exif_taken_at: Mapped[str | None] = mapped_column(String(40))
    """EXIF DateTimeOriginal as ISO 8601; without an offset it is the camera's local time."""
    has_exif_gps: Mapped[bool] = mapped_column(Boolean, default=False)
    source_url: Mapped[str | None] = mapped_column(String(2000))
    sensitive: Mapped[str | None] = mapped_column(Text)
    """Encrypted envelope: EXIF GPS (lon/lat), camera make/model/serial, device notes."""
    derived_from: Mapped[str | None] = mapped_column(ForeignKey("evidence.id"), index=True)
    derivation: Mapped[str | None] = mapped_column(String(20))
    derivation_params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)


class CustodyLeafRow(Base):
    """One custody act: a leaf of the append-only RFC 9162 Merkle tree (see custody.py)."""

    __tablename__ = "custody_leaves"
    __table_args__ = (Index("ix_custody_leaves_entity", "entity_type", "entity_id", "idx"),)

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """0-based position in the tree."""
    at: Mapped[datetime] = mapped_column()
    act: Mapped[str] = mapped_column(String(40), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(100))
    content_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    entry: Mapped[str] = mapped_column(Text)
    """The exact canonical JSON the leaf hash covers."""
    leaf_hash: Mapped[str] = mapped_column(String(64))


class CustodyNodeRow(Base):
    """The hash of one perfect subtree (level >= 1) of the custody tree."""

    __tablename__ = "custody_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class CustodyStateRow(Base):
    """The custody tree's size and right edge (one row, locked by every append)."""

    __tablename__ = "custody_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[list[Any]] = mapped_column()


class CustodyTreeHeadRow(Base):
    """A signed tree head: the root of the first ``tree_size`` leaves, signed by the instance."""

    __tablename__ = "custody_tree_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    log_id: Mapped[str] = mapped_column(String(80))
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    """Milliseconds since 1970-01-01 UTC, as signed."""
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(100))
