"""Need-to-know: which incidents and reports an actor may see, as one SQL condition.

One rule, applied by every listing, read and export (never per route):

- the system (the operator's CLI) and admins see everything;
- an actor limited to countries (a country focal point) sees only those countries;
- an organisation sees its own records;
- every organisation sees community records: TLP:CLEAR or TLP:GREEN that are
  not of *severe* sensitivity, and records no organisation owns that are
  (published datasets, the operator's imports);
- beyond that, an organisation sees what another shares with it (or with all)
  through a share rule, up to the rule's TLP label and sensitivity class and,
  if the rule names countries, only in those countries.

Records an actor may not see are answered as "not found", never "forbidden",
so their existence does not leak.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from haven.accounts import Actor, Role
from haven.errors import NotFound
from haven.models import IncidentRow, ReportRow, ShareRuleRow
from haven.taxonomy import Sensitivity, Tlp

__all__ = [
    "COMMUNITY_SENSITIVITY",
    "COMMUNITY_TLP",
    "add_share_rule",
    "sees_everything",
    "visible_incident",
    "visible_incidents",
    "visible_reports",
]

TLP_ORDER = [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED]
SENSITIVITY_ORDER = [Sensitivity.LOW, Sensitivity.MODERATE, Sensitivity.HIGH, Sensitivity.SEVERE]
COMMUNITY_TLP = frozenset({Tlp.CLEAR, Tlp.GREEN})
"""Labels every organisation of the instance may see (TLP 2.0: community-wide)."""
COMMUNITY_SENSITIVITY = frozenset({Sensitivity.LOW, Sensitivity.MODERATE, Sensitivity.HIGH})
"""Classes that community labels may carry; *severe* is never community-wide."""


def sees_everything(actor: Actor) -> bool:
    """The operator's system actor and admins without a country limit."""
    return actor.role is Role.ADMIN and not actor.countries


def _upto(order: list[Any], limit: str) -> list[str]:
    values = [str(v) for v in order]
    return values[: values.index(limit) + 1] if limit in values else []


class _Columns:
    def __init__(self, model: type[IncidentRow] | type[ReportRow]) -> None:
        self.organisation_id: InstrumentedAttribute[int | None] = model.organisation_id
        self.tlp: InstrumentedAttribute[str] = model.tlp
        self.sensitivity: InstrumentedAttribute[str] = model.sensitivity
        self.country: InstrumentedAttribute[str] = model.country


def _condition(session: Session, actor: Actor, *, columns: _Columns) -> ColumnElement[bool]:
    if sees_everything(actor):
        return true()
    country_ok = columns.country.in_(sorted(actor.countries)) if actor.countries else true()
    if actor.role is Role.ADMIN:
        return country_ok
    community = and_(
        columns.tlp.in_(sorted(COMMUNITY_TLP)),
        columns.sensitivity.in_(sorted(COMMUNITY_SENSITIVITY)),
    )
    unowned = and_(columns.organisation_id.is_(None), columns.sensitivity != Sensitivity.SEVERE)
    allowed = [community, unowned]
    if actor.organisation_id is not None:
        allowed.append(columns.organisation_id == actor.organisation_id)
        rules = session.scalars(
            select(ShareRuleRow).where(
                or_(
                    ShareRuleRow.to_organisation_id == actor.organisation_id,
                    ShareRuleRow.to_organisation_id.is_(None),
                )
            )
        ).all()
        for rule in rules:
            shared = [
                columns.organisation_id == rule.from_organisation_id,
                columns.tlp.in_(_upto(TLP_ORDER, rule.max_tlp)),
                columns.sensitivity.in_(_upto(SENSITIVITY_ORDER, rule.max_sensitivity)),
            ]
            if rule.countries:
                shared.append(columns.country.in_(list(rule.countries)))
            allowed.append(and_(*shared))
    return and_(country_ok, or_(*allowed)) if allowed else false()


def visible_incidents(session: Session, actor: Actor) -> ColumnElement[bool]:
    """The condition on ``IncidentRow`` that selects what ``actor`` may see."""
    return _condition(session, actor, columns=_Columns(IncidentRow))


def visible_incident(session: Session, incident_id: str, *, actor: Actor) -> IncidentRow:
    """The live (not merged away) incident ``incident_id`` if ``actor`` may see it;
    ``NotFound`` otherwise, the same answer whether it is hidden or does not exist."""
    row = session.scalar(
        select(IncidentRow).where(
            IncidentRow.id == incident_id,
            IncidentRow.merged_into.is_(None),
            visible_incidents(session, actor),
        )
    )
    if row is None:
        raise NotFound(f"no incident {incident_id}", fields={"incident_id": "unknown"})
    return row


def visible_reports(session: Session, actor: Actor) -> ColumnElement[bool]:
    """The condition on ``ReportRow`` that selects what ``actor`` may see."""
    return _condition(session, actor, columns=_Columns(ReportRow))


def add_share_rule(
    session: Session,
    from_organisation_id: int,
    *,
    to_organisation_id: int | None,
    max_tlp: Tlp,
    max_sensitivity: Sensitivity,
    countries: tuple[str, ...] = (),
) -> int:
    """Share an organisation's records with another (or with all, ``None``); returns its id."""
    row = ShareRuleRow(
        from_organisation_id=from_organisation_id,
        to_organisation_id=to_organisation_id,
        max_tlp=max_tlp.value,
        max_sensitivity=max_sensitivity.value,
        countries=list(countries),
    )
    session.add(row)
    session.flush()
    return row.id
