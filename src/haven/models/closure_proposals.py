"""Dismissed road-closure proposals: obstruction incidents a coordinator decided not to act on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from haven.models.base import Base, utcnow

__all__ = ["ClosureProposalDismissalRow"]


class ClosureProposalDismissalRow(Base):
    """A coordinator's written decision not to close a road for an obstruction incident."""

    __tablename__ = "closure_proposal_dismissals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), unique=True)
    """The incident no longer proposed (one dismissal per incident)."""
    reason: Mapped[str] = mapped_column(Text)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    dismissed_by: Mapped[str] = mapped_column(String(120))
    dismissed_at: Mapped[datetime] = mapped_column(default=utcnow)
