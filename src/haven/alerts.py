"""Proximity alerts: a new incident near a facility or an active movement's route warns its parties.

``scan`` looks once at each incident that happened within ``alert_max_age_hours``
(imports of past events raise nothing) and, for every facility within
``alert_radius_m`` and every movement under way whose route passes that close,
stores an alert (one per incident and facility or movement) and queues one
message per recipient and channel in the outbox (``haven.outbox``): exactly once
per alert and recipient. Recipients are the facility's focal points that have an
e-mail (at TLP:GREEN detail; real facilities only for real incidents) and the
parties that receive the facility (``party_sites``) or were sent a live
notification of the movement, with alerts on; exercise incidents alert exercise
parties only, real incidents real ones.

What a recipient is told depends on the incident's labels (``message_for``):

- never the narrative, names, casualties' details or the exact point;
- ``standard`` detail (TLP up to the party's ``max_tlp``, sensitivity not
  severe): the hour, WHO SSA attack types, certainty, the distance rounded up
  to 100 m and the H3 cell (resolution 7, ~5 km²; 6 for high sensitivity);
- ``restricted`` detail (a stricter label, or severe sensitivity): only that an
  incident was reported within the alert radius of the site, and the hour;
- TLP:RED incidents are not sent to any party not cleared for RED (staff see
  them in ``GET /api/alerts``).

``deliver_due`` is the worker: scan, then deliver due outbox messages. The
server runs it in a background thread every ``alert_worker_interval_seconds``
(``AlertWorker``); ``haven alerts deliver`` runs it once.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from haven import audit, linkage, notification_schedule, outbox, policy, privacy
from haven.accounts import SYSTEM, Actor, Permission, require
from haven.db import Database
from haven.errors import NotFound
from haven.geo import LonLat, h3_cell, h3_centroid
from haven.models import (
    AlertCheckRow,
    AlertRow,
    FacilityRow,
    IncidentAttackTypeRow,
    IncidentRow,
    MovementRow,
    NotificationRow,
    PartyRow,
    PartySiteRow,
    utcnow,
)
from haven.notification_content import LIVE, iso
from haven.outbox import Delivery, DeliveryReport
from haven.settings import Settings
from haven.taxonomy import Sensitivity, Tlp

__all__ = [
    "Alert",
    "AlertWorker",
    "WorkReport",
    "deliver_due",
    "get",
    "list_alerts",
    "message_for",
    "notify_facility",
    "scan",
]

log = logging.getLogger(__name__)
_TLP_ORDER = list(Tlp)
SCAN_BATCH = 500


class Alert(BaseModel):
    """A stored alert as staff see it (the recipients' messages are coarser: ``message_for``)."""

    id: int
    incident_id: str
    subject: str = Field(description="facility:<id> or movement:<id>")
    facility_id: int | None
    facility_name: str | None
    movement_id: int | None
    movement_name: str | None
    distance_m: float
    radius_m: int
    created_at: datetime
    occurred_at: datetime
    exercise: bool
    deliveries: list[Delivery] = Field(
        default_factory=list, description="Messages to parties (shown to roles that notify)."
    )


@dataclass
class WorkReport:
    """What one worker run did."""

    incidents_checked: int = 0
    alerts: list[int] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    notifications: notification_schedule.DueWork | None = None


def _detail_level(incident: IncidentRow, party_max_tlp: str) -> str | None:
    """``standard``, ``restricted``, or ``None`` (send nothing) for one recipient."""
    tlp = Tlp(incident.tlp)
    cleared = Tlp(party_max_tlp)
    if tlp is Tlp.RED and cleared is not Tlp.RED:
        return None
    if incident.sensitivity == Sensitivity.SEVERE.value:
        return "restricted"
    return "standard" if _TLP_ORDER.index(tlp) <= _TLP_ORDER.index(cleared) else "restricted"


def _subject(session: Session, alert: AlertRow) -> dict[str, Any]:
    if alert.facility_id is not None:
        facility = session.get(FacilityRow, alert.facility_id)
        assert facility is not None
        return {
            "kind": "facility",
            "facility_id": facility.id,
            "name": facility.name,
            "lon": facility.lon,
            "lat": facility.lat,
        }
    movement = session.get(MovementRow, alert.movement_id)
    assert movement is not None
    return {"kind": "movement", "movement_id": movement.id, "name": movement.name}


def message_for(
    session: Session, alert: AlertRow, *, incident: IncidentRow, max_tlp: str
) -> dict[str, Any] | None:
    """The alert as a recipient cleared up to ``max_tlp`` may see it (``None``: not at all)."""
    level = _detail_level(incident, max_tlp)
    return None if level is None else _message(session, alert, incident=incident, level=level)


def _message(
    session: Session, alert: AlertRow, *, incident: IncidentRow, level: str
) -> dict[str, Any]:
    hour = incident.occurred_at.replace(minute=0, second=0, microsecond=0)
    told: dict[str, Any] = {"occurred_hour": iso(hour)}
    if level == "standard" and incident.lon is not None and incident.lat is not None:
        resolution = 6 if incident.sensitivity == Sensitivity.HIGH.value else 7
        cell = h3_cell(LonLat(incident.lon, incident.lat), resolution=resolution)
        centre = h3_centroid(cell)
        told |= {
            "attack_types": sorted(
                session.scalars(
                    select(IncidentAttackTypeRow.attack_type).where(
                        IncidentAttackTypeRow.incident_id == incident.id
                    )
                )
            ),
            "certainty": incident.certainty,
            "distance_m_at_most": int(math.ceil(alert.distance_m / 100.0) * 100),
            "area": {"h3_cell": cell, "lon": round(centre.lon, 4), "lat": round(centre.lat, 4)},
        }
    return {
        "type": "alert",
        "alert_id": alert.id,
        "exercise": alert.is_exercise,
        "sent": iso(alert.created_at),
        "detail": level,
        "radius_m": alert.radius_m,
        "subject": _subject(session, alert),
        "incident": told,
        "note": (
            "An incident was reported within the alert radius. Details are limited to what the "
            "incident's sharing label allows; no narrative or exact location is sent."
        ),
    }


def _text(message: dict[str, Any]) -> str:
    subject, told = message["subject"], message["incident"]
    lines = [
        ("EXERCISE - NOT A REAL EVENT\n" if message["exercise"] else "")
        + f"Haven alert {message['alert_id']}: an incident was reported within "
        f"{message['radius_m']} m of {subject['name']} ({subject['kind']}).",
        f"Time (hour, UTC): {told['occurred_hour']}",
    ]
    if message["detail"] == "standard":
        lines += [
            f"Type: {', '.join(told['attack_types']) or 'not stated'}",
            f"Certainty: {told['certainty']}",
            f"Distance: at most {told['distance_m_at_most']} m",
            f"Area: H3 cell {told['area']['h3_cell']}",
        ]
    lines.append(message["note"])
    return "\n".join(lines) + "\n"


def _recipients(session: Session, alert: AlertRow, *, exercise: bool) -> list[PartyRow]:
    query = select(PartyRow).where(
        PartyRow.alerts_enabled.is_(True), PartyRow.is_exercise.is_(exercise)
    )
    if alert.facility_id is not None:
        query = query.where(
            exists().where(
                PartySiteRow.party_id == PartyRow.id,
                PartySiteRow.facility_id == alert.facility_id,
            )
        )
    else:
        query = query.where(
            exists().where(
                NotificationRow.party_id == PartyRow.id,
                NotificationRow.movement_id == alert.movement_id,
                NotificationRow.state.in_(LIVE),
            )
        )
    return list(session.scalars(query.order_by(PartyRow.id)))


def _focal_points(session: Session, facility_id: int, *, exercise: bool) -> list[outbox.Recipient]:
    """The facility's focal points that have an e-mail (real sites for real incidents only)."""
    facility = session.get(FacilityRow, facility_id)
    if facility is None or facility.is_exercise != exercise or not facility.sensitive:
        return []
    opened = privacy.decrypt(session, facility.sensitive, bound_to=f"facility:{facility.id}")
    return [
        outbox.Recipient(
            key=f"facility:{facility.id}:focal:{index}",
            label=f"{facility.name}, focal point {index + 1}",
            email=str(person["email"]),
        )
        for index, person in enumerate(opened.get("focal_points") or [])
        if isinstance(person, dict) and person.get("email")
    ]


def notify_facility(
    session: Session,
    facility_id: int,
    *,
    key: str,
    subject: str,
    payload: dict[str, Any],
    text: str,
    exercise: bool,
    now: datetime,
) -> int:
    """Queue a message about a facility (not about one incident) to those its alerts reach.

    The parties that receive the facility (alerts on, same exercise flag) and its
    focal points; once per ``key`` and recipient. Used by ``haven.facility_risk``.
    Returns how many outbox rows were added.
    """
    parties = session.scalars(
        select(PartyRow)
        .where(
            PartyRow.alerts_enabled.is_(True),
            PartyRow.is_exercise.is_(exercise),
            exists().where(
                PartySiteRow.party_id == PartyRow.id, PartySiteRow.facility_id == facility_id
            ),
        )
        .order_by(PartyRow.id)
    )
    recipients = [outbox.Recipient.of_party(p) for p in parties]
    recipients += _focal_points(session, facility_id, exercise=exercise)
    return sum(
        outbox.enqueue(session, to, key=key, subject=subject, payload=payload, text=text, now=now)
        for to in recipients
    )


def _raise(
    session: Session,
    incident: IncidentRow,
    *,
    subject: str,
    facility_id: int | None,
    movement_id: int | None,
    distance_m: float,
    settings: Settings,
    now: datetime,
) -> AlertRow:
    alert = AlertRow(
        incident_id=incident.id,
        subject=subject,
        facility_id=facility_id,
        movement_id=movement_id,
        distance_m=distance_m,
        radius_m=settings.alert_radius_m,
        created_at=now,
        is_exercise=incident.is_exercise,
    )
    session.add(alert)
    session.flush()
    for party in _recipients(session, alert, exercise=incident.is_exercise):
        message = message_for(session, alert, incident=incident, max_tlp=party.max_tlp)
        if message is None:
            continue
        outbox.enqueue(
            session,
            outbox.Recipient.of_party(party),
            key=f"alert:{alert.id}",
            subject=("EXERCISE " if alert.is_exercise else "")
            + f"Haven alert: incident near {message['subject']['name']}",
            payload=message,
            text=_text(message),
            alert_id=alert.id,
            now=now,
        )
    if alert.facility_id is not None:
        community = message_for(session, alert, incident=incident, max_tlp=Tlp.GREEN.value)
        for to in _focal_points(session, alert.facility_id, exercise=incident.is_exercise):
            if community is None:
                break
            outbox.enqueue(
                session,
                to,
                key=f"alert:{alert.id}",
                subject=("EXERCISE " if alert.is_exercise else "")
                + f"Haven alert: incident near {community['subject']['name']}",
                payload=community,
                text=_text(community),
                alert_id=alert.id,
                now=now,
            )
    audit.record(
        session,
        SYSTEM,
        action="alert.raise",
        entity_type="alert",
        entity_id=alert.id,
        detail={"incident_id": incident.id, "subject": subject},
    )
    return alert


def _check(
    session: Session, incident: IncidentRow, *, settings: Settings, now: datetime
) -> list[int]:
    raised: list[int] = []
    if incident.lon is not None and incident.lat is not None:
        point = LonLat(incident.lon, incident.lat)
        radius = float(settings.alert_radius_m)
        for hit in linkage.nearest_facilities(
            session, point, radius_m=radius, limit=50, exercise=incident.is_exercise
        ):
            raised.append(
                _raise(
                    session,
                    incident,
                    subject=f"facility:{hit.facility_id}",
                    facility_id=hit.facility_id,
                    movement_id=None,
                    distance_m=hit.distance_m,
                    settings=settings,
                    now=now,
                ).id
            )
        for move in linkage.movements_near(
            session, point, at=incident.occurred_at, radius_m=radius, exercise=incident.is_exercise
        ):
            raised.append(
                _raise(
                    session,
                    incident,
                    subject=f"movement:{move.movement_id}",
                    facility_id=None,
                    movement_id=move.movement_id,
                    distance_m=move.distance_m,
                    settings=settings,
                    now=now,
                ).id
            )
    session.add(AlertCheckRow(incident_id=incident.id, checked_at=now, alerts=len(raised)))
    return raised


def scan(session: Session, settings: Settings, *, now: datetime) -> tuple[int, list[int]]:
    """Look at incidents not yet checked that happened within ``alert_max_age_hours`` of ``now``.

    Returns how many incidents were checked and the ids of the alerts raised.
    """
    since = now - timedelta(hours=settings.alert_max_age_hours)
    incidents = session.scalars(
        select(IncidentRow)
        .where(
            IncidentRow.occurred_at >= since,
            IncidentRow.merged_into.is_(None),
            ~exists().where(AlertCheckRow.incident_id == IncidentRow.id),
        )
        .order_by(IncidentRow.occurred_at, IncidentRow.id)
        .limit(SCAN_BATCH)
    ).all()
    raised: list[int] = []
    for incident in incidents:
        raised.extend(_check(session, incident, settings=settings, now=now))
    return len(incidents), raised


def deliver_due(
    db: Database, settings: Settings, *, now: datetime | None = None, notifications: bool = False
) -> WorkReport:
    """The worker: raise alerts for new incidents, then deliver every due outbox message.

    With ``notifications``, also run ``notifications.run_due`` (expiry, reminders,
    chases) first. Network sends happen outside any transaction (see ``haven.outbox``).
    """
    now = now or utcnow()
    report = WorkReport()
    if notifications:
        report.notifications = db.write(
            lambda s: notification_schedule.run_due(s, settings, now=now)
        )
    report.incidents_checked, report.alerts = db.write(lambda s: scan(s, settings, now=now))
    report.delivery = outbox.deliver(db, settings, now=now)
    return report


def _model(session: Session, alert: AlertRow, *, occurred_at: datetime, actor: Actor) -> Alert:
    facility = session.get(FacilityRow, alert.facility_id) if alert.facility_id else None
    movement = session.get(MovementRow, alert.movement_id) if alert.movement_id else None
    return Alert(
        id=alert.id,
        incident_id=alert.incident_id,
        subject=alert.subject,
        facility_id=alert.facility_id,
        facility_name=facility.name if facility else None,
        movement_id=alert.movement_id,
        movement_name=movement.name if movement else None,
        distance_m=alert.distance_m,
        radius_m=alert.radius_m,
        created_at=alert.created_at,
        occurred_at=occurred_at,
        exercise=alert.is_exercise,
        deliveries=(
            outbox.list_deliveries(session, alert_id=alert.id)
            if actor.can(Permission.NOTIFY)
            else []
        ),
    )


def list_alerts(
    session: Session, *, actor: Actor, since: datetime | None = None, limit: int = 200
) -> list[Alert]:
    """Alerts on incidents ``actor`` may see, newest first."""
    require(actor, Permission.READ_INCIDENTS)
    query = (
        select(AlertRow, IncidentRow.occurred_at)
        .join(IncidentRow, IncidentRow.id == AlertRow.incident_id)
        .where(policy.visible_incidents(session, actor))
        .order_by(AlertRow.created_at.desc(), AlertRow.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(AlertRow.created_at >= since)
    return [
        _model(session, a, occurred_at=occurred, actor=actor)
        for a, occurred in session.execute(query)
    ]


def get(session: Session, alert_id: int, *, actor: Actor) -> tuple[Alert, dict[str, Any]]:
    """One alert ``actor`` may see, and its message at community detail (TLP:GREEN)."""
    require(actor, Permission.READ_INCIDENTS)
    found = session.execute(
        select(AlertRow, IncidentRow)
        .join(IncidentRow, IncidentRow.id == AlertRow.incident_id)
        .where(AlertRow.id == alert_id, policy.visible_incidents(session, actor))
    ).first()
    if found is None:
        raise NotFound(f"no alert {alert_id}", fields={"alert_id": "unknown"})
    alert, incident = found
    level = _detail_level(incident, Tlp.GREEN.value) or "restricted"
    message = _message(session, alert, incident=incident, level=level)
    return _model(session, alert, occurred_at=incident.occurred_at, actor=actor), message


class AlertWorker:
    """The server's background thread: ``deliver_due`` every ``alert_worker_interval_seconds``."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="haven-alerts", daemon=True)

    def start(self) -> None:
        """Start the thread (once)."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._settings.webhook_timeout_seconds + 5)

    def _run(self) -> None:
        interval = self._settings.alert_worker_interval_seconds
        while not self._stop.is_set():
            try:
                deliver_due(self._db, self._settings, notifications=True)
            except Exception:  # the worker must outlive one failed run
                log.exception("alert worker run failed; retrying in %.1f s", interval)
            self._stop.wait(interval)
