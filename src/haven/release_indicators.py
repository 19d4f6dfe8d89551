"""The quality indicators a release freezes: per country and period, how many of its incidents
were verified (and how fast), struck a notified site, and had an investigation or remedy.

Public data exists only as a release, and a release holds no incident ids, no
verification history and no notifications, so the figures the public dashboard
and the risk assessment show about them are computed when the release is made
(``build``, from ``haven.indicator_facts`` at the release's ``now``) and frozen
with it: they are part of its content and its SHA-256, and the approver sees
them. One ``PublicIndicator`` per country × period of the release, counting the
same incidents as the release's (period, all types) cell, and one per country
for every period together (``period`` null), like the (all periods, all types)
cell; when that cell is suppressed the indicator row is suppressed too and
shows no number. A release
with differential privacy freezes none (exact counts would undo the noise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.accounts import Actor
from haven.indicator_facts import QualityTally, quality_facts
from haven.models import ReportRow, SourceRow
from haven.release_policy import Period, ReleasePolicy

__all__ = ["PublicIndicator", "build"]


class PublicIndicator(BaseModel):
    """The frozen quality figures of one country and period of a release (public schema)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str
    period: str | None = Field(description="Null: every period of the release together.")
    period_start: date | None
    period_end: date | None
    suppressed: bool = Field(description="The period's count cell is suppressed: no figures.")
    incidents: int | None = Field(description="Incidents counted (the period's cell).")
    verified: int | None = Field(description="Of them, reached 'verified' by the release.")
    verification_days: list[float] | None = Field(
        description="Days from first account to 'verified', one per verified incident, sorted."
    )
    facility_struck: int | None = Field(description="Struck a facility (linkage).")
    notified_site_struck: int | None = Field(
        description="Struck a site notified to a party before the incident."
    )
    notified_movement_struck: int | None = Field(
        description="Hit near a notified movement under way."
    )
    investigated: int | None = Field(description="Covered by a case with an investigation.")
    remedied: int | None = Field(description="Covered by a case that obtained a remedy.")
    sources: dict[str, int] | None = Field(
        default=None,
        description=(
            "All-periods row only: incidents per source, a published dataset by its name, "
            "anything else by its kind ('form reports', 'partner reports', …)."
        ),
    )

    def public_dict(self) -> dict[str, Any]:
        """The row as JSON values."""
        return self.model_dump(mode="json")


def _sources(session: Session, ids: Sequence[str]) -> dict[str, set[str]]:
    """Per incident id: the public label of each source that reported it."""
    found: dict[str, set[str]] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(ReportRow.incident_id, SourceRow.name, SourceRow.kind)
            .join(SourceRow, SourceRow.id == ReportRow.source_id)
            .where(ReportRow.incident_id.in_(ids[start : start + 500]))
        )
        for incident_id, name, kind in rows:
            found.setdefault(incident_id, set()).add(
                name if kind == "dataset" else f"{kind} reports"
            )
    return found


def _row(country: str, period: Period | None, *, tally: QualityTally | None) -> PublicIndicator:
    base: dict[str, Any] = {
        "country": country,
        "period": period.label if period else None,
        "period_start": period.start if period else None,
        "period_end": period.end if period else None,
    }
    if tally is None:
        return PublicIndicator(
            **base,
            suppressed=True,
            incidents=None,
            verified=None,
            verification_days=None,
            facility_struck=None,
            notified_site_struck=None,
            notified_movement_struck=None,
            investigated=None,
            remedied=None,
        )
    return PublicIndicator(
        **base,
        suppressed=False,
        incidents=tally.incidents,
        verified=tally.verified,
        verification_days=sorted(tally.verification_days),
        facility_struck=tally.facility_struck,
        notified_site_struck=tally.notified_site_struck,
        notified_movement_struck=tally.notified_movement_struck,
        investigated=tally.investigated,
        remedied=tally.remedied,
    )


def build(
    session: Session,
    placed: Mapping[str, Sequence[tuple[str, Period]]],
    *,
    hidden: Mapping[str, set[str]],
    policy: ReleasePolicy,
    now: datetime,
    actor: Actor,
) -> list[PublicIndicator]:
    """The indicator rows of a release: ``placed`` maps each country to its released incidents
    (id, period); ``hidden`` to the period labels whose (period, all types) cell is suppressed
    (``*``: the all-periods cell).
    """
    if policy.dp_epsilon is not None:
        return []
    ids = [incident_id for items in placed.values() for incident_id, _period in items]
    facts = quality_facts(session, ids, actor=actor, as_of=now)
    labels = _sources(session, ids)
    rows: list[PublicIndicator] = []
    for country in sorted(placed):
        tallies: dict[str, QualityTally] = {}
        periods: dict[str, Period] = {}
        for incident_id, period in placed[country]:
            periods[period.label] = period
            tallies.setdefault(period.label, QualityTally()).add(facts[incident_id])
        hidden_here = hidden.get(country, set())
        for label in sorted(periods):
            shown = None if label in hidden_here else tallies[label]
            rows.append(_row(country, periods[label], tally=shown))
        whole = QualityTally()
        for tally in tallies.values():
            whole.merge(tally)
        whole_row = _row(country, None, tally=None if "*" in hidden_here else whole)
        if not whole_row.suppressed:
            counted: dict[str, int] = {}
            for incident_id, _period in placed[country]:
                for label in labels.get(incident_id, set()):
                    counted[label] = counted.get(label, 0) + 1
            whole_row = whole_row.model_copy(update={"sources": dict(sorted(counted.items()))})
        rows.append(whole_row)
    return rows
