"""Issue 6 acceptance: notified Gaza hospitals, an incident 150 m from one, proof and alerts.

Register the 36 Gaza hospitals, notify them to two parties with different
subsets, acknowledge one party's notification, report an incident 150 m from a
hospital both were told of: the incident shows "notified site struck" with the
proof chain, and a real webhook receiver and a real SMTP sink each get exactly
one alert within 5 s from the app's own delivery thread.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from haven import custody, facilities, notifications, package, parties
from haven.accounts import SYSTEM, Role
from haven.app import create_app
from haven.db import Database
from haven.geo import LonLat, haversine_km
from haven.models import FacilityRow
from haven.notifications import AckChannel, NotificationIn
from haven.parties import PartyIn
from haven.settings import Settings
from tests.conftest import make_token
from tests.support.receivers import smtp_sink, wait_for, webhook_server
from tests.support.verifier import standalone_verifier

RADIUS_M = 2000


def _register_hospitals(db: Database, datasets: Path) -> dict[int, LonLat]:
    loaded = db.write(
        lambda s: facilities.load_geojson(
            s,
            datasets / "gaza_hospitals.geojson",
            source_name="Gaza hospitals (acceptance)",
            country="PSE",
            facility_type="Secondary",
            actor=SYSTEM,
        )
    )
    assert loaded.added == 36
    with db.read() as session:
        rows = session.execute(select(FacilityRow.id, FacilityRow.lon, FacilityRow.lat)).all()
    return {r.id: LonLat(r.lon, r.lat) for r in rows}


def _subsets(hospitals: dict[int, LonLat], *, target: int) -> tuple[list[int], list[int]]:
    """Two different subsets that share ``target`` and hold no other hospital within the alert
    radius of it (each nearby site would raise an alert of its own)."""
    near = {
        h
        for h, p in hospitals.items()
        if h != target and haversine_km(p, hospitals[target]) * 1000 <= RADIUS_M + 400
    }
    ids = sorted(set(hospitals) - near - {target})
    half = len(ids) // 2
    first, second = sorted([target, *ids[: half + 3]]), sorted([target, *ids[half - 3 :]])
    assert first != second and len(first) > 5 and len(second) > 5
    return first, second


def _notify(db: Database, settings: Settings, *, party_id: int) -> notifications.Notification:
    data = NotificationIn(
        party_id=party_id,
        kind=notifications.NotificationKind.SITES,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        message="EXERCISE acceptance test: static sites of fictional coordination",
    )
    made = db.write(lambda s: notifications.create(s, data, actor=SYSTEM, settings=settings))
    return db.write(lambda s: notifications.send(s, made.id, actor=SYSTEM, settings=settings))


def test_incident_near_acknowledged_hospital_shows_proof_and_alerts_once(
    db: Database, settings: Settings, *, datasets: Path, tmp_path: Path
) -> None:
    hospitals = _register_hospitals(db, datasets)
    target = sorted(hospitals)[5]
    first_sites, second_sites = _subsets(hospitals, target=target)
    with webhook_server() as hook, smtp_sink() as box:
        live = settings.model_copy(
            update={
                "alert_radius_m": RADIUS_M,
                "alert_worker_interval_seconds": 0.2,
                "smtp_host": "127.0.0.1",
                "smtp_port": box.port,
                "smtp_from": "haven@example.org",
            }
        )
        alpha = db.write(
            lambda s: parties.add(
                s,
                PartyIn(
                    name="Party Alpha liaison (fictional)", webhook_url=hook.url, sites=first_sites
                ),
                actor=SYSTEM,
            )
        )
        bravo = db.write(
            lambda s: parties.add(
                s,
                PartyIn(
                    name="Party Bravo liaison (fictional)",
                    email="bravo@example.org",
                    sites=second_sites,
                ),
                actor=SYSTEM,
            )
        )
        to_alpha = _notify(db, live, party_id=alpha.id)
        to_bravo = _notify(db, live, party_id=bravo.id)
        assert to_alpha.facility_ids == first_sites and to_bravo.facility_ids == second_sites
        acked = db.write(
            lambda s: notifications.acknowledge(
                s, to_alpha.id, by="Alpha duty officer", channel=AckChannel.EMAIL, actor=SYSTEM
            )
        )
        token = make_token(db, "e2e-reporter", role=Role.ANALYST)
        auth = {"Authorization": f"Bearer {token}"}
        spot = hospitals[target]
        with TestClient(create_app(live, db=db)) as client:
            # the notifications themselves went out first: one webhook, one e-mail
            assert wait_for(lambda: len(hook.requests) == 1 and len(box.messages) == 1, within=5)
            sent_doc = json.loads(hook.requests[0][1])["document"]
            assert sent_doc["content_sha256"] == to_alpha.content_sha256
            report = {
                "id": str(uuid.uuid4()),
                "source": {"name": "acceptance test", "kind": "form"},
                "occurred_at": datetime.now(UTC).isoformat(),
                "country": "PSE",
                "location": {"lon": spot.lon, "lat": spot.lat + 150 / 111_195},
                "attack_types": ["Setting fire"],
                "tlp": "green",
                "sensitivity": "moderate",
                "narrative": "EXERCISE narrative that must never leave Haven",
            }
            posted = client.post("/api/reports", json=report, headers=auth)
            assert posted.status_code == 201, posted.text
            incident_id = posted.json()["incident_id"]
            delivered = wait_for(
                lambda: len(hook.requests) >= 2 and len(box.messages) >= 2, within=5
            )
            assert delivered, (len(hook.requests), len(box.messages))
            wait_for(lambda: len(hook.requests) > 2 or len(box.messages) > 2, within=1)
            notified = client.get(f"/api/incidents/{incident_id}/notified", headers=auth).json()
        assert len(hook.requests) == 2 and len(box.messages) == 2  # exactly one alert each
    alert = json.loads(hook.requests[1][1])
    assert alert["type"] == "alert" and alert["subject"]["facility_id"] == target
    assert "never leave" not in hook.requests[1][1].decode()
    mail = message_from_bytes(box.messages[1][2])
    assert "incident near" in mail["Subject"] and box.messages[1][1] == ["bravo@example.org"]

    assert notified["labels"] == ["notified site struck"]
    site = notified["site"]
    assert site["facility"]["facility_id"] == target and site["struck"]
    assert 140 <= site["facility"]["distance_m"] <= 160
    proofs = {p["party_name"]: p for p in site["proofs"]}
    assert set(proofs) == {alpha.name, bravo.name}
    assert (
        proofs[alpha.name]["acknowledged_before"] and not proofs[bravo.name]["acknowledged_before"]
    )
    assert proofs[alpha.name]["ack_leaf_index"] == acked.acknowledged_leaf
    assert "not approval" in notified["acknowledgement_meaning"]
    with db.read() as session:
        for proof in proofs.values():
            leaf = custody.leaf(session, proof["leaf_index"])
            assert leaf.act == "notification.sent"
            assert leaf.content_sha256 == proof["content_sha256"]
            assert leaf.entity_id == str(proof["notification_id"])

    _check_exported_proof(
        db,
        settings,
        incident_id=incident_id,
        leaves={p["leaf_index"] for p in proofs.values()} | {acked.acknowledged_leaf},
        tmp_path=tmp_path,
    )


def _check_exported_proof(
    db: Database, settings: Settings, *, incident_id: str, leaves: set[int], tmp_path: Path
) -> None:
    """The proof of notification, exported in the incident's evidence package, verifies with
    the standalone verifier in a fresh process that has no Haven and no database."""
    contents = db.write(lambda s: package.build(s, settings, incident_id=incident_id, actor=SYSTEM))
    zip_path = tmp_path / "notified-site.zip"
    package.write_zip(settings, contents, out=zip_path)
    run = standalone_verifier(zip_path, tmp_path / "investigator")
    assert run.returncode == 0, run.stdout
    with zipfile.ZipFile(zip_path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        entries = json.loads(archive.read("custody/proofs.json"))["entries"]
        notices = [n for n in archive.namelist() if n.startswith("notifications/")]
    assert manifest["notified"]["labels"] == ["notified site struck"]
    assert len(notices) == 2
    assert leaves <= {e["leaf_index"] for e in entries}
