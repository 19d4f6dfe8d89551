"""Deconfliction notifications: lead times, validity, states, custody leaves, clocks, outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from haven import custody, facilities, movements, notification_outputs, notifications, parties
from haven.accounts import SYSTEM
from haven.db import Database
from haven.errors import Conflict, InvalidInput, NotFound
from haven.models import NotificationRow, OutboxRow, PartyRow
from haven.notifications import AckChannel, NotificationIn, NotificationState, NotificationUpdate
from haven.parties import PartyIn
from haven.settings import Settings

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _hospitals(db: Database, datasets: Path) -> list[int]:
    db.write(
        lambda s: facilities.load_geojson(
            s,
            datasets / "gaza_hospitals.geojson",
            source_name="Gaza hospitals (test)",
            country="PSE",
            facility_type="Secondary",
            actor=SYSTEM,
        )
    )
    with db.read() as session:
        return [f.id for f in facilities.list_facilities(session, country="PSE")]


def _party(db: Database, name: str, *, sites: list[int], **extra: Any) -> int:
    data = PartyIn(
        name=name, focal_point="Officer Fictional", phone="+000 0000", sites=sites, **extra
    )
    return db.write(lambda s: parties.add(s, data, actor=SYSTEM)).id


def _count(db: Database, model: type[Any]) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def sites(db: Database, datasets: Path) -> list[int]:
    return _hospitals(db, datasets)


def _create(
    db: Database, settings: Settings, *, data: dict[str, Any], now: datetime = T0
) -> notifications.Notification:
    body = NotificationIn.model_validate(data)
    return db.write(
        lambda s: notifications.create(s, body, actor=SYSTEM, settings=settings, now=now)
    )


def test_party_contact_is_encrypted_and_read_is_audited(db: Database, sites: list[int]) -> None:
    party_id = _party(db, "Party Alpha liaison (fictional)", sites=sites[:3])
    with db.read() as session:
        row = session.get(PartyRow, party_id)
        assert row is not None and row.contact is not None
        assert row.contact.startswith("hv1.") and "Officer Fictional" not in row.contact
    opened = db.write(lambda s: parties.contact(s, party_id, actor=SYSTEM, purpose="chase ack"))
    assert opened.focal_point == "Officer Fictional"


def test_sites_notification_send_ack_are_custody_leaves(
    db: Database, settings: Settings, *, sites: list[int]
) -> None:
    party_id = _party(
        db, "Party Alpha (fictional)", sites=sites[:5], webhook_url="http://127.0.0.1:9/hook"
    )
    draft = _create(
        db,
        settings,
        data={
            "party_id": party_id,
            "kind": "sites",
            "expires_at": (T0 + timedelta(days=30)).isoformat(),
        },
    )
    assert draft.state is NotificationState.DRAFT and draft.facility_ids == sorted(sites[:5])
    assert draft.content_sha256 == notifications.content_hash(draft.content)
    assert all(site["mgrs"] for site in draft.content["sites"])
    sent = db.write(
        lambda s: notifications.send(s, draft.id, actor=SYSTEM, settings=settings, now=T0)
    )
    assert sent.state is NotificationState.SENT and sent.sent_leaf is not None
    acked = db.write(
        lambda s: notifications.acknowledge(
            s,
            draft.id,
            by="Duty officer",
            channel=AckChannel.EMAIL,
            at=T0 + timedelta(hours=2),
            actor=SYSTEM,
            now=T0 + timedelta(hours=3),
        )
    )
    assert acked.state is NotificationState.ACKNOWLEDGED
    assert "not approval" in acked.acknowledgement_meaning
    with db.read() as session:
        leaves = custody.leaves_for(session, entity_type="notification", entity_id=str(draft.id))
        assert [leaf.act for leaf in leaves] == ["notification.sent", "notification.acknowledged"]
        assert {leaf.content_sha256 for leaf in leaves} == {draft.content_sha256}
        assert [leaf.index for leaf in leaves] == [sent.sent_leaf, acked.acknowledged_leaf]
        proofs = notifications.proof_for_site(session, sites[0], at=T0 + timedelta(days=1))
        assert len(proofs) == 1 and proofs[0].acknowledged_before
        assert (
            proofs[0].leaf_index == sent.sent_leaf
            and proofs[0].ack_leaf_index == acked.acknowledged_leaf
        )
        assert notifications.proof_for_site(session, sites[0], at=T0 - timedelta(minutes=1)) == []
        early = notifications.proof_for_site(session, sites[0], at=T0 + timedelta(hours=1))
        assert len(early) == 1 and not early[0].acknowledged_before
        assert notifications.proof_for_site(session, sites[10], at=T0 + timedelta(days=1)) == []
    assert _count(db, OutboxRow) == 1  # the send queued the webhook


def _movement(db: Database, *, starts_at: datetime) -> int:
    data = movements.MovementIn(
        kind=movements.MovementKind.MEDICAL_EVACUATION,
        name="Evacuation EXERCISE-7 (fictional)",
        route=[[34.44, 31.52], [34.40, 31.45], [34.30, 31.35]],
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=6),
        vehicles=[movements.Vehicle(description="Type B ambulance", markings="red crescent")],
        personnel_count=4,
    )
    return db.write(lambda s: movements.create(s, data, actor=SYSTEM)).id


def test_movement_lead_time_refused_unless_emergency(
    db: Database, settings: Settings, *, sites: list[int]
) -> None:
    party_id = _party(db, "Party Bravo (fictional)", sites=[])
    movement_id = _movement(db, starts_at=T0 + timedelta(hours=30))
    before = _count(db, NotificationRow)
    with pytest.raises(InvalidInput) as refused:
        _create(
            db,
            settings,
            data={"party_id": party_id, "kind": "movement", "movement_id": movement_id},
        )
    assert "movement_id" in refused.value.fields and "48 h" in refused.value.fields["movement_id"]
    assert _count(db, NotificationRow) == before
    emergency = _create(
        db,
        settings,
        data={
            "party_id": party_id,
            "kind": "movement",
            "movement_id": movement_id,
            "emergency": True,
        },
    )
    assert emergency.content["movement"]["route_mgrs"][0]
    assert emergency.expires_at == T0 + timedelta(hours=36)
    late = _movement(db, starts_at=T0 + timedelta(hours=10))
    with pytest.raises(InvalidInput) as too_late:
        _create(
            db,
            settings,
            data={"party_id": party_id, "kind": "movement", "movement_id": late, "emergency": True},
        )
    assert "24 h" in too_late.value.fields["movement_id"]


def test_bad_input_names_the_field_and_writes_nothing(
    db: Database, settings: Settings, *, sites: list[int]
) -> None:
    party_id = _party(db, "Party Charlie (fictional)", sites=sites[:2])
    before = (_count(db, NotificationRow), _count(db, OutboxRow))
    with pytest.raises(Exception) as no_party:
        NotificationIn.model_validate({"kind": "sites", "expires_at": "2025-04-01T00:00:00Z"})
    assert "party_id" in str(no_party.value)
    with pytest.raises(NotFound) as unknown:
        _create(
            db,
            settings,
            data={"party_id": 99999, "kind": "sites", "expires_at": "2025-04-01T00:00:00Z"},
        )
    assert "party_id" in unknown.value.fields
    with pytest.raises(InvalidInput) as expired:
        _create(
            db,
            settings,
            data={
                "party_id": party_id,
                "kind": "sites",
                "expires_at": (T0 - timedelta(days=1)).isoformat(),
            },
        )
    assert "expires_at" in expired.value.fields
    with pytest.raises(InvalidInput) as outside:
        _create(
            db,
            settings,
            data={
                "party_id": party_id,
                "kind": "sites",
                "facility_ids": [sites[20]],
                "expires_at": "2025-04-01T00:00:00Z",
            },
        )
    assert "facility_ids" in outside.value.fields
    assert (_count(db, NotificationRow), _count(db, OutboxRow)) == before


def test_update_supersedes_and_withdraw(
    db: Database, settings: Settings, *, sites: list[int]
) -> None:
    party_id = _party(db, "Party Delta (fictional)", sites=sites[:4])
    first = _create(
        db,
        settings,
        data={
            "party_id": party_id,
            "kind": "sites",
            "facility_ids": sites[:2],
            "expires_at": "2025-04-01T00:00:00Z",
        },
    )
    db.write(lambda s: notifications.send(s, first.id, actor=SYSTEM, settings=settings, now=T0))
    later = T0 + timedelta(days=2)
    second = db.write(
        lambda s: notifications.update(
            s,
            first.id,
            changes=NotificationUpdate(facility_ids=sites[:4], reason="two more sites opened"),
            actor=SYSTEM,
            settings=settings,
            now=later,
        )
    )
    assert (
        second.version == 2
        and second.series_id == first.id
        and second.state is NotificationState.SENT
    )
    assert second.content["supersedes"]["content_sha256"] == first.content_sha256
    with db.read() as session:
        old = notifications.get(session, first.id, actor=SYSTEM)
        assert old.state is NotificationState.SUPERSEDED and old.end_leaf == second.sent_leaf
        acts = [
            leaf.act
            for leaf in custody.leaves_for(
                session, entity_type="notification", entity_id=str(second.id)
            )
        ]
        assert acts == ["notification.updated"]
        at = later + timedelta(hours=1)
        assert [
            p.notification_id for p in notifications.proof_for_site(session, sites[0], at=at)
        ] == [second.id]
        assert [
            p.notification_id
            for p in notifications.proof_for_site(session, sites[0], at=T0 + timedelta(days=1))
        ] == [first.id]
    gone = db.write(
        lambda s: notifications.withdraw(
            s,
            second.id,
            reason="site evacuated",
            actor=SYSTEM,
            settings=settings,
            now=later + timedelta(days=1),
        )
    )
    assert gone.state is NotificationState.WITHDRAWN and gone.end_leaf is not None
    with pytest.raises(Conflict):
        db.write(
            lambda s: notifications.acknowledge(
                s, second.id, by="x", channel=AckChannel.PHONE, actor=SYSTEM
            )
        )


def test_expiry_reminders_chases_and_escalation_with_injected_clock(
    db: Database, settings: Settings, *, sites: list[int]
) -> None:
    chasing = settings.model_copy(
        update={
            "notification_chase_every_hours": 12,
            "notification_escalate_after_chases": 2,
            "notification_revalidate_before_hours": 24,
        }
    )
    party_id = _party(
        db,
        "Party Echo (fictional)",
        sites=sites[:1],
        email="echo@example.org",
        escalation_email="echo-boss@example.org",
    )
    made = _create(
        db,
        chasing,
        data={
            "party_id": party_id,
            "kind": "sites",
            "expires_at": (T0 + timedelta(days=3)).isoformat(),
        },
    )
    db.write(lambda s: notifications.send(s, made.id, actor=SYSTEM, settings=chasing, now=T0))

    def tick(at: datetime) -> notifications.DueWork:
        return db.write(lambda s: notifications.run_due(s, chasing, now=at))

    assert tick(T0 + timedelta(hours=11)).total == 0
    assert tick(T0 + timedelta(hours=12)).chases == [made.id]
    assert tick(T0 + timedelta(hours=13)).total == 0  # not chased again before 12 h pass
    second = tick(T0 + timedelta(hours=24))
    assert second.chases == [made.id] and second.escalations == [made.id]
    third = tick(T0 + timedelta(hours=48, minutes=1))
    assert third.reminders == [made.id] and third.escalations == []
    expired = tick(T0 + timedelta(days=3))
    assert expired.expired == [made.id] and expired.chases == []
    assert tick(T0 + timedelta(days=4)).total == 0
    with db.read() as session:
        final = notifications.get(session, made.id, actor=SYSTEM)
        keys = sorted(
            session.scalars(
                select(OutboxRow.message_key).where(OutboxRow.notification_id == made.id)
            )
        )
    assert final.state is NotificationState.EXPIRED and final.chase_count == 3
    assert keys == [
        f"notification:{made.id}:chase:1",
        f"notification:{made.id}:chase:2",
        f"notification:{made.id}:chase:3",
        f"notification:{made.id}:escalation",
        f"notification:{made.id}:sent",
    ]


def test_acknowledged_notifications_are_not_chased(
    db: Database, settings: Settings, *, sites: list[int]
) -> None:
    party_id = _party(db, "Party Foxtrot (fictional)", sites=sites[:1])
    made = _create(
        db,
        settings,
        data={"party_id": party_id, "kind": "sites", "expires_at": "2025-06-01T00:00:00Z"},
    )
    db.write(lambda s: notifications.send(s, made.id, actor=SYSTEM, settings=settings, now=T0))
    db.write(
        lambda s: notifications.acknowledge(
            s,
            made.id,
            by="Desk",
            channel=AckChannel.PHONE,
            at=T0 + timedelta(hours=1),
            actor=SYSTEM,
            now=T0 + timedelta(hours=1),
        )
    )
    assert (
        db.write(lambda s: notifications.run_due(s, settings, now=T0 + timedelta(days=5))).chases
        == []
    )


def _sent(db: Database, settings: Settings, *, sites: list[int]) -> notifications.Notification:
    party_id = _party(db, "Party Golf (fictional)", sites=sites[:3])
    made = _create(
        db,
        settings,
        data={"party_id": party_id, "kind": "sites", "expires_at": "2025-06-01T00:00:00Z"},
    )
    return db.write(
        lambda s: notifications.send(s, made.id, actor=SYSTEM, settings=settings, now=T0)
    )


def test_signed_json_verifies_with_the_public_key(
    db: Database, settings: Settings, *, sites: list[int]
) -> None:
    sent = _sent(db, settings, sites=sites)
    document = notification_outputs.signed_document(settings, sent.content, sent_at=T0)
    keys = {k.key_id: k.public_key for k in custody.public_keys(settings)}
    assert notification_outputs.verify_document(document, public_keys=keys)
    tampered = json.loads(json.dumps(document))
    tampered["content"]["sites"][0]["lat"] += 0.001
    assert not notification_outputs.verify_document(tampered, public_keys=keys)


def test_geojson_kml_and_printable_page(
    db: Database, settings: Settings, *, sites: list[int]
) -> None:
    sent = _sent(db, settings, sites=sites)
    collection = notification_outputs.geojson(sent.content)
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 3
    assert collection["haven"]["content_sha256"] == sent.content_sha256
    lon, lat = collection["features"][0]["geometry"]["coordinates"]
    assert 34.0 < lon < 35.0 and 31.0 < lat < 32.0
    kml = notification_outputs.kml(sent.content)
    root = ET.fromstring(kml)
    assert root.tag == f"{{{notification_outputs.KML_NS}}}kml"
    back = notification_outputs.read_kml_points(kml)
    assert [(p.point.lon, p.point.lat) for p in back] == [
        (s["lon"], s["lat"]) for s in sent.content["sites"]
    ]
    page = notification_outputs.html_page(sent.content)
    site = sent.content["sites"][0]
    assert site["mgrs"] in page and f"{site['lat']:.6f}" in page
    assert "not approval" in page and sent.content_sha256 in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"<html><body>not kml</body></html>", "file"),
        (b"this is not xml at all", "file"),
        (b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x "y">]><kml/>', "file"),
        (b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>', "file"),
        (
            b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>A</name>'
            b"<Point><coordinates>200,31</coordinates></Point></Placemark></kml>",
            "Placemark[0].Point",
        ),
    ],
)
def test_kml_that_is_not_kml_is_refused(data: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        notification_outputs.read_kml_points(data)
    assert field in refused.value.fields


def test_sites_from_kml_match_registered_facilities(
    db: Database, settings: Settings, *, sites: list[int]
) -> None:
    sent = _sent(db, settings, sites=sites)
    kml = notification_outputs.kml(sent.content)
    with db.read() as session:
        assert notifications.sites_from_kml(session, kml) == sorted(sites[:3])
    far = b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>Nowhere</name><Point><coordinates>10,10</coordinates></Point></Placemark></kml>'
    with db.read() as session, pytest.raises(InvalidInput) as refused:
        notifications.sites_from_kml(session, far)
    assert "Placemark[0]" in refused.value.fields


def test_send_and_its_custody_leaf_commit_together(
    db: Database, settings: Settings, *, sites: list[int]
) -> None:
    party_id = _party(db, "Party Hotel (fictional)", sites=sites[:2])
    made = _create(
        db,
        settings,
        data={"party_id": party_id, "kind": "sites", "expires_at": "2025-06-01T00:00:00Z"},
    )
    with db.read() as session:
        size = custody.tree_size(session)

    def send_then_fail(session: Any) -> None:
        notifications.send(session, made.id, actor=SYSTEM, settings=settings, now=T0)
        raise InvalidInput("a later step of the same write failed", fields={"x": "test"})

    with pytest.raises(InvalidInput):
        db.write(send_then_fail)
    with db.read() as session:
        assert custody.tree_size(session) == size
        assert notifications.get(session, made.id, actor=SYSTEM).state is NotificationState.DRAFT
    assert _count(db, OutboxRow) == 0
    late = T0 + timedelta(days=200)
    with pytest.raises(InvalidInput) as expired:
        db.write(
            lambda s: notifications.send(s, made.id, actor=SYSTEM, settings=settings, now=late)
        )
    assert "expires_at" in expired.value.fields
    with db.read() as session:
        assert custody.tree_size(session) == size
