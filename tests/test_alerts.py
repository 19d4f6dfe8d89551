"""Proximity alerts: raised once, redacted by label, delivered once with retries, CAP 1.2."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from haven import alert_cap, alerts, custody, facilities, outbox, parties, reports
from haven.accounts import SYSTEM, Role
from haven.app import create_app
from haven.db import Database
from haven.facts import Point
from haven.models import AlertRow, FacilityRow, OutboxRow
from haven.parties import PartyIn
from haven.settings import Settings
from tests.conftest import make_token
from tests.support.receivers import smtp_sink, webhook_server

CAP = f"{{{alert_cap.CAP_NS}}}"


@pytest.fixture
def hospital(db: Database, datasets: Path) -> tuple[int, float, float]:
    db.write(
        lambda s: facilities.load_geojson(
            s,
            datasets / "gaza_hospitals.geojson",
            source_name="Gaza hospitals (alerts test)",
            country="PSE",
            facility_type="Secondary",
            actor=SYSTEM,
        )
    )
    with db.read() as session:
        row = session.scalars(select(FacilityRow).order_by(FacilityRow.id)).first()
        assert row is not None
        return row.id, row.lon, row.lat


def _incident(db: Database, *, lon: float, lat: float, at: datetime, **labels: Any) -> str:
    report = reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "alerts test", "kind": "form"},
            "occurred_at": at.isoformat(),
            "country": "PSE",
            "location": Point(lon=lon, lat=lat).model_dump(),
            "attack_types": ["Setting fire"],
            "narrative": "SECRET NARRATIVE of a fictional nurse",
            **labels,
        }
    )
    return db.write(lambda s: reports.submit(s, report, actor=SYSTEM)).incident_id


def _add_party(db: Database, data: PartyIn) -> None:
    db.write(lambda s: parties.add(s, data, actor=SYSTEM))


def _north(lat: float, metres: float) -> float:
    return lat + metres / 111_195.0


def test_alert_raised_once_and_webhook_retried_until_delivered(
    db: Database, settings: Settings, *, hospital: tuple[int, float, float]
) -> None:
    facility_id, lon, lat = hospital
    fast = settings.model_copy(update={"delivery_backoff_seconds": 10.0})
    with webhook_server(fail_first=2) as hook:
        party = db.write(
            lambda s: parties.add(
                s,
                PartyIn(
                    name="Focal point Alpha (fictional)", webhook_url=hook.url, sites=[facility_id]
                ),
                actor=SYSTEM,
            )
        )
        now = datetime.now(UTC)
        incident_id = _incident(
            db, lon=lon, lat=_north(lat, 300), at=now, tlp="green", sensitivity="moderate"
        )
        first = alerts.deliver_due(db, fast, now=now)
        assert first.alerts and len(first.delivery.retrying) == 1  # one recipient, one channel
        assert alerts.deliver_due(db, fast, now=now + timedelta(seconds=5)).delivery.retrying == []
        second = alerts.deliver_due(db, fast, now=now + timedelta(seconds=10))
        assert second.alerts == [] and second.delivery.retrying  # backoff doubled: 20 s now
        assert (
            alerts.deliver_due(db, fast, now=now + timedelta(seconds=25)).delivery.delivered == []
        )
        third = alerts.deliver_due(db, fast, now=now + timedelta(seconds=31))
        assert third.delivery.delivered and hook.answered == 3
        assert alerts.deliver_due(db, fast, now=now + timedelta(hours=2)).delivery.delivered == []
    assert len(hook.requests) == 1
    headers, body = hook.requests[0]
    message = json.loads(body)
    assert message["subject"]["facility_id"] == facility_id and message["detail"] == "standard"
    assert message["incident"]["distance_m_at_most"] == 300
    assert "SECRET" not in body.decode() and str(round(_north(lat, 300), 6)) not in body.decode()
    signed = headers["X-Haven-Timestamp"].encode() + b"." + body
    expected = hmac.new(party.webhook_secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Haven-Signature"], f"sha256={expected}")
    assert headers["Idempotency-Key"]
    key_id = headers["X-Haven-Signature-Ed25519"].split(",")[0].removeprefix("keyid=")
    assert key_id in {k.key_id for k in custody.public_keys(settings)}
    with db.read() as session:
        mine = select(func.count()).select_from(AlertRow).where(AlertRow.facility_id == facility_id)
        assert session.scalar(mine) == 1
        listed = [a for a in alerts.list_alerts(session, actor=SYSTEM) if a.deliveries]
    assert len(listed) == 1 and listed[0].incident_id == incident_id
    assert listed[0].deliveries[0].attempts == 3 and listed[0].deliveries[0].delivered_at


def test_detail_follows_the_sharing_label(
    db: Database, settings: Settings, *, hospital: tuple[int, float, float]
) -> None:
    facility_id, lon, lat = hospital
    for name, tlp in (("Green party (fictional)", "green"), ("Red party (fictional)", "red")):
        data = PartyIn(name=name, email=f"{tlp}@example.org", max_tlp=tlp, sites=[facility_id])
        _add_party(db, data)
    now = datetime.now(UTC)
    _incident(db, lon=lon, lat=_north(lat, 150), at=now, tlp="amber", sensitivity="high")
    _incident(db, lon=lon, lat=_north(lat, 160), at=now, tlp="red", sensitivity="high")
    _incident(db, lon=lon, lat=_north(lat, 5000), at=now, tlp="green", sensitivity="low")
    _incident(db, lon=lon, lat=_north(lat, 100), at=now - timedelta(days=30), tlp="green")
    checked, _ = db.write(lambda s: alerts.scan(s, settings, now=now))
    assert checked == 3  # the 30-day-old incident is past alert_max_age_hours
    with db.read() as session:
        near = session.scalars(
            select(AlertRow.incident_id).where(AlertRow.facility_id == facility_id)
        )
        assert len(list(near)) == 2  # the incident 5 km away is outside the radius
    with db.read() as session:
        rows = session.execute(select(OutboxRow.body, OutboxRow.party_id, OutboxRow.alert_id)).all()
    by_party = {(party_id, alert_id): body["json"] for body, party_id, alert_id in rows}
    assert len(by_party) == 3  # the RED incident goes to the RED-cleared party only
    details = sorted(m["detail"] for m in by_party.values())
    assert details == ["restricted", "standard", "standard"]
    for message in by_party.values():
        text = json.dumps(message)
        assert "SECRET" not in text and '"narrative"' not in text
        if message["detail"] == "restricted":
            assert set(message["incident"]) == {"occurred_hour"}


def test_same_key_is_queued_once(db: Database) -> None:
    created = db.write(
        lambda s: parties.add(
            s, PartyIn(name="Once (fictional)", email="once@example.org"), actor=SYSTEM
        )
    )

    def queue_twice(session: Any) -> int:
        from haven.models import PartyRow  # noqa: PLC0415

        party = session.get(PartyRow, created.id)
        now = datetime.now(UTC)
        first = outbox.enqueue(
            session,
            outbox.Recipient.of_party(party),
            key="alert:x",
            subject="s",
            payload={},
            text="t",
            now=now,
        )
        again = outbox.enqueue(
            session,
            outbox.Recipient.of_party(party),
            key="alert:x",
            subject="s",
            payload={},
            text="t",
            now=now,
        )
        return first * 10 + again

    assert db.write(queue_twice) == 10


def test_email_through_smtp_sink(
    db: Database, settings: Settings, *, hospital: tuple[int, float, float]
) -> None:
    facility_id, lon, lat = hospital
    with smtp_sink() as box:
        mail = settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": box.port,
                "smtp_from": "haven@example.org",
            }
        )
        db.write(
            lambda s: parties.add(
                s,
                PartyIn(
                    name="Mail party (fictional)", email="focal@example.org", sites=[facility_id]
                ),
                actor=SYSTEM,
            )
        )
        now = datetime.now(UTC)
        _incident(db, lon=lon, lat=_north(lat, 200), at=now, tlp="green", sensitivity="low")
        work = alerts.deliver_due(db, mail, now=now)
        assert len(work.delivery.delivered) == 1
    assert len(box.messages) == 1
    sender, recipients, raw = box.messages[0]
    assert sender == "haven@example.org" and recipients == ["focal@example.org"]
    parsed = message_from_bytes(raw)
    assert "incident near" in parsed["Subject"]
    assert "SECRET" not in raw.decode(errors="replace")


def test_cap_message_and_feed_structure(
    settings: Settings, db: Database, *, hospital: tuple[int, float, float]
) -> None:
    facility_id, lon, lat = hospital
    db.write(
        lambda s: parties.add(
            s, PartyIn(name="CAP party (fictional)", sites=[facility_id]), actor=SYSTEM
        )
    )
    now = datetime.now(UTC)
    _incident(
        db,
        lon=lon,
        lat=_north(lat, 150),
        at=now,
        tlp="green",
        sensitivity="moderate",
        exercise=True,
    )
    _incident(db, lon=lon, lat=_north(lat, 150), at=now, tlp="green", sensitivity="moderate")
    near = settings.model_copy(update={"alert_radius_m": 200, "alert_worker_interval_seconds": 0})
    db.write(lambda s: alerts.scan(s, near, now=now))
    token = make_token(db, "cap-reader", role=Role.ANALYST)
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(near, db=db)) as client:
        _check_api(client, auth, lat=lat, lon=lon)


def _check_api(client: TestClient, auth: dict[str, str], *, lat: float, lon: float) -> None:
    listed = client.get("/api/alerts", headers=auth).json()
    assert sorted(a["exercise"] for a in listed) == [False, True]  # exercise uses real sites too
    assert all(a["deliveries"] == [] for a in listed)  # analysts do not see who was messaged
    drill = next(a for a in listed if a["exercise"])
    drill_cap = ET.fromstring(client.get(f"/api/alerts/{drill['id']}/cap", headers=auth).content)
    assert drill_cap.findtext(f"{CAP}status") == "Exercise"
    listed = [a for a in listed if not a["exercise"]]
    one = client.get(f"/api/alerts/{listed[0]['id']}/cap", headers=auth)
    assert one.status_code == 200 and one.headers["content-type"].startswith("application/cap+xml")
    _check_cap(ET.fromstring(one.content), lat=lat, lon=lon)
    feed = client.get("/api/alerts.cap", headers=auth)
    assert feed.status_code == 200
    entries = ET.fromstring(feed.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 2
    _check_cap(
        entries[0].find(f"{{http://www.w3.org/2005/Atom}}content/{CAP}alert"), lat=lat, lon=lon
    )
    assert client.get("/api/alerts.cap").status_code == 401


def _check_cap(alert: ET.Element | None, *, lat: float, lon: float) -> None:
    assert alert is not None and alert.tag == f"{CAP}alert"
    order = [child.tag.removeprefix(CAP) for child in alert]
    assert order[:6] == ["identifier", "sender", "sent", "status", "msgType", "scope"]
    assert alert.findtext(f"{CAP}status") in {"Actual", "Exercise"}
    assert alert.findtext(f"{CAP}msgType") == "Alert"
    assert alert.findtext(f"{CAP}scope") == "Restricted" and alert.findtext(f"{CAP}restriction")
    sent = alert.findtext(f"{CAP}sent") or ""
    assert datetime.fromisoformat(sent).tzinfo is not None and sent.endswith("+00:00")
    info = alert.find(f"{CAP}info")
    assert info is not None
    for tag in ("category", "event", "urgency", "severity", "certainty"):
        assert info.findtext(f"{CAP}{tag}"), tag
    circle = info.findtext(f"{CAP}area/{CAP}circle") or ""
    centre, radius = circle.split(" ")
    clat, clon = (float(v) for v in centre.split(","))
    assert abs(clat - lat) < 1e-4 and abs(clon - lon) < 1e-4 and float(radius) == 0.2
    assert "SECRET" not in ET.tostring(alert).decode()


def test_incident_on_a_notified_movement_route_alerts_its_party(
    db: Database, settings: Settings
) -> None:
    from haven import movements, notifications  # noqa: PLC0415

    now = datetime.now(UTC)
    route = [[34.30, 31.30], [34.35, 31.35], [34.40, 31.40]]
    move = movements.MovementIn(
        kind=movements.MovementKind.CONVOY,
        name="Convoy EXERCISE-3 (fictional)",
        route=route,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=5),
    )
    movement_id = db.write(lambda s: movements.create(s, move, actor=SYSTEM)).id
    told = db.write(
        lambda s: parties.add(
            s, PartyIn(name="Convoy desk (fictional)", email="convoy@example.org"), actor=SYSTEM
        )
    )
    data = notifications.NotificationIn(
        party_id=told.id, kind=notifications.NotificationKind.MOVEMENT, movement_id=movement_id
    )
    earlier = now - timedelta(days=3)  # notified three days ahead: the 48 h lead time holds
    made = db.write(
        lambda s: notifications.create(s, data, actor=SYSTEM, settings=settings, now=earlier)
    )
    db.write(lambda s: notifications.send(s, made.id, actor=SYSTEM, settings=settings, now=earlier))
    _incident(db, lon=34.35, lat=31.3505, at=now, tlp="green", sensitivity="low")
    _, raised = db.write(lambda s: alerts.scan(s, settings, now=now))
    with db.read() as session:
        rows = session.scalars(select(AlertRow).where(AlertRow.id.in_(raised))).all()
        subjects = {row.subject: row.distance_m for row in rows}
        bodies = session.scalars(
            select(OutboxRow.body).where(OutboxRow.message_key.startswith("alert:"))
        ).all()
    assert subjects[f"movement:{movement_id}"] < 100
    assert [b["json"]["subject"]["kind"] for b in bodies] == ["movement"]


def test_webhook_ed25519_signature_verifies(settings: Settings) -> None:
    import base64  # noqa: PLC0415

    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PublicKey,
    )

    body = b'{"type":"alert"}'
    headers = outbox.webhook_headers(
        settings, body, secret="s3cret", idempotency_key="k-1", timestamp="1700000000"
    )
    fields = dict(part.split("=", 1) for part in headers["X-Haven-Signature-Ed25519"].split(","))
    keys = {k.key_id: k.public_key for k in custody.public_keys(settings)}
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(keys[fields["keyid"]]))
    key.verify(base64.b64decode(fields["sig"]), b"1700000000." + body)  # raises when wrong
    assert headers["Idempotency-Key"] == "k-1"


def test_facility_focal_points_are_mailed(db: Database, settings: Settings) -> None:
    from tests.support.facilities import add_facility  # noqa: PLC0415

    people = [
        {"name": "Dr Fictional Director", "role": "director", "email": "director@example.org"},
        {"name": "No Mail Person", "role": "nurse"},
    ]
    site = add_facility(db, focal_points=people, location={"lon": 10.0, "lat": 10.0})
    add_facility(db, focal_points=people, location={"lon": 10.001, "lat": 10.0}, exercise=True)
    with smtp_sink() as box:
        mail = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": box.port})
        now = datetime.now(UTC)
        _incident(db, lon=10.0, lat=10.002, at=now, tlp="green", sensitivity="low")
        work = alerts.deliver_due(db, mail, now=now)
        assert len(work.delivery.delivered) == 1  # the exercise site's people get nothing
    assert [m[1] for m in box.messages] == [["director@example.org"]]
    assert "Dr Fictional" not in box.messages[0][2].decode(errors="replace")
    with db.read() as session:
        alert = next(a for a in alerts.list_alerts(session, actor=SYSTEM) if a.facility_id == site)
    assert alert.deliveries[0].recipient == f"facility:{site}:focal:0"
    assert "Dr" not in alert.deliveries[0].recipient_name
