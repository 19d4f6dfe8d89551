"""Evidence store: content addressing, write-once blobs, EXIF, derived copies, custody, access."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import ExifTags, Image
from sqlalchemy import func, select, text, update

from haven import accounts, custody, evidence, evidence_check, reports
from haven.accounts import SYSTEM, Actor, Role
from haven.api.errors import BodySizeLimit
from haven.app import create_app
from haven.db import Database
from haven.errors import (
    IntegrityCheckFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    UnsupportedMediaType,
)
from haven.evidence import EvidenceIn
from haven.evidence_store import Staging, blob_path, store_root
from haven.models import AuditEventRow, EvidenceRow
from haven.settings import Settings

OWN, OTHER = "Alpha Clinic Network", "Beta Relief"
HAVEN = Path(sys.executable).with_name("haven")


@dataclass
class World:
    """Users of both organisations, an incident of the first, and their tokens."""

    db: Database
    settings: Settings
    incident_id: str
    report_id: str
    tokens: dict[str, str]

    def actor(self, username: str) -> Actor:
        with self.db.read() as session:
            return accounts.actor_named(session, username)

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


USERS = {
    "verifier-own": (Role.VERIFIER, OWN),
    "analyst-own": (Role.ANALYST, OWN),
    "reporter-own": (Role.REPORTER, OWN),
    "verifier-other": (Role.VERIFIER, OTHER),
    "admin-other": (Role.ADMIN, OTHER),
}


def _report(*, exercise: bool = False) -> reports.ReportIn:
    return reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "evidence test form", "kind": "form"},
            "occurred_at": "2024-01-15T08:00:00Z",
            "country": "YEM",
            "attack_types": ["Setting fire"],
            "tlp": "amber",
            "narrative": "Fictional account for the evidence tests.",
            "exercise": exercise,
        }
    )


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    tokens: dict[str, str] = {}
    for name, (role, org) in USERS.items():

        def make(session: Any, *, name: str = name, role: Role = role, org: str = org) -> str:
            accounts.add_user(
                session, name, role=role, organisation=org, password=None, actor=SYSTEM
            )
            return accounts.create_token(session, name, name="evidence", actor=SYSTEM)

        tokens[name] = db.write(make)
    with db.read() as session:
        owner = accounts.actor_named(session, "reporter-own")
    receipt = db.write(lambda s: reports.submit(s, _report(), actor=owner))
    return World(db, settings, receipt.incident_id, receipt.report_id, tokens)


def jpeg_with_exif(
    *,
    taken: str = "2024:01:15 08:30:00",
    offset: str | None = "+03:00",
    gps: tuple[str, tuple[float, float, float], str, tuple[float, float, float]] | None = (
        "S",
        (15.0, 21.0, 0.0),
        "W",
        (44.0, 12.0, 36.0),
    ),
    size: tuple[int, int] = (400, 300),
) -> bytes:
    """A JPEG drawn here, with EXIF DateTimeOriginal (and offset), camera and GPS."""
    image = Image.new("RGB", size, (40, 160, 90))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "FictionalCam"
    exif[ExifTags.Base.Model] = "Model 7"
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    exif_ifd[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        exif_ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: gps[0], 2: gps[1], 3: gps[2], 4: gps[3]})
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def upload(
    client: TestClient,
    world: World,
    *,
    data: bytes | Iterator[bytes],
    user: str = "verifier-own",
    media_type: str = "image/jpeg",
    incident_id: str | None = None,
    **params: str,
) -> Any:
    return client.post(
        f"/api/incidents/{incident_id or world.incident_id}/evidence",
        content=data,
        params=params,
        headers={**world.auth(user), "Content-Type": media_type},
    )


def leaves(session: Any, evidence_id: str) -> list[custody.Leaf]:
    return custody.leaves_for(session, entity_type="evidence", entity_id=evidence_id)


def stored_files(settings: Settings) -> list[Path]:
    root = store_root(settings)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def tree_size(db: Database) -> int:
    with db.read() as session:
        return custody.tree_size(session)


# --- content addressing and write-once -------------------------------------------------------


def test_identical_bytes_are_stored_once_under_their_hash(client: TestClient, world: World) -> None:
    data = jpeg_with_exif()
    first = upload(client, world, data=data, filename="a.jpg")
    second = upload(client, world, data=data, filename="b.jpg", user="reporter-own")
    assert (first.status_code, second.status_code) == (201, 201), first.text + second.text
    one, two = first.json(), second.json()
    digest = hashlib.sha256(data).hexdigest()
    assert one["sha256"] == two["sha256"] == digest and one["id"] != two["id"]
    path = blob_path(world.settings, digest)
    assert path == world.settings.data_dir / "evidence/sha256" / digest[:2] / digest[2:4] / digest
    assert stored_files(world.settings) == [path]  # one blob, no temporary file left
    assert path.read_bytes() == data and one["size"] == len(data)
    assert path.stat().st_mode & 0o777 == 0o444
    assert (one["uploader"], two["uploader"]) == ("verifier-own", "reporter-own")


def test_a_retried_upload_returns_the_same_record(client: TestClient, world: World) -> None:
    data = jpeg_with_exif()
    first = upload(client, world, data=data, filename="a.jpg")
    size = tree_size(world.db)
    retry = upload(client, world, data=data, filename="a.jpg")
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json()["id"] == first.json()["id"]
    assert tree_size(world.db) == size  # no second custody leaf
    with world.db.read() as session:
        assert session.scalar(select(func.count()).select_from(EvidenceRow)) == 1


def test_a_stored_blob_is_never_rewritten(client: TestClient, world: World) -> None:
    data = jpeg_with_exif()
    assert upload(client, world, data=data).status_code == 201
    path = blob_path(world.settings, hashlib.sha256(data).hexdigest())
    before = path.stat()
    again = upload(client, world, data=data, user="reporter-own")
    assert again.status_code == 201
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # Someone damages the blob (shorter file): the next identical upload does not repair it
    # silently by replacing it, and is refused without a row.
    path.chmod(0o644)
    path.write_bytes(data[:100])
    with world.db.read() as session:
        rows = session.scalar(select(func.count()).select_from(EvidenceRow))
    response = upload(client, world, data=data, user="analyst-own", filename="again.jpg")
    assert response.status_code == 500 and response.json()["error"]["code"] == (
        "integrity_check_failed"
    )
    assert path.read_bytes() == data[:100]
    with world.db.read() as session:
        assert session.scalar(select(func.count()).select_from(EvidenceRow)) == rows
    assert [p for p in store_root(world.settings).glob(".incoming-*")] == []


def test_upload_is_read_from_a_stream_in_chunks(client: TestClient, world: World) -> None:
    chunks = [os.urandom(65_536) for _ in range(40)]  # 2.5 MiB, more than max_body_bytes
    response = upload(client, world, data=iter(chunks), media_type="video/mp4", filename="clip.mp4")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["size"] == 40 * 65_536
    assert body["sha256"] == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert body["exif_taken_at"] is None and body["has_exif_gps"] is False


# --- capture metadata ------------------------------------------------------------------------


def test_exif_time_and_gps_are_kept_and_gps_is_encrypted(client: TestClient, world: World) -> None:
    response = upload(
        client,
        world,
        data=jpeg_with_exif(),
        filename="../../etc/ward 3.jpg",
        captured_at="2024-01-15T05:31:00Z",
        source_url="https://example.org/post/1",
        device_notes="fictional phone, front camera",
        report_id=world.report_id,
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["exif_taken_at"] == "2024-01-15T08:30:00+03:00"
    assert item["captured_at"] == "2024-01-15T05:31:00Z"
    assert item["filename"] == "ward 3.jpg"  # no path survives
    assert item["has_exif_gps"] is True and item["sensitive"] is None
    assert (item["report_id"], item["source_url"]) == (
        world.report_id,
        "https://example.org/post/1",
    )
    with world.db.read() as session:
        envelope = session.scalar(select(EvidenceRow.sensitive).where(EvidenceRow.id == item["id"]))
    assert envelope and envelope.startswith("hv1.") and "15.35" not in envelope
    assert "fictional phone" not in envelope
    opened = client.get(
        f"/api/evidence/{item['id']}",
        params={"purpose": "verify location"},
        headers=world.auth("verifier-own"),
    )
    assert opened.status_code == 200, opened.text
    secret = opened.json()["sensitive"]
    assert secret["gps"] == {"lon": pytest.approx(-44.21), "lat": pytest.approx(-15.35)}
    assert secret["camera"] == "FictionalCam Model 7"
    assert secret["device_notes"] == "fictional phone, front camera"
    refused = client.get(
        f"/api/evidence/{item['id']}",
        params={"purpose": "verify location"},
        headers=world.auth("analyst-own"),
    )
    assert refused.status_code == 403


def test_exif_without_offset_is_camera_local_time_and_bad_exif_is_ignored(
    client: TestClient, world: World
) -> None:
    plain = upload(client, world, data=jpeg_with_exif(offset=None, gps=None)).json()
    assert (plain["exif_taken_at"], plain["has_exif_gps"]) == ("2024-01-15T08:30:00", False)
    broken = upload(client, world, data=jpeg_with_exif(taken="not a date", gps=None)).json()
    assert broken["exif_taken_at"] is None
    not_an_image = upload(client, world, data=b"\xff\xd8 truncated", filename="x.jpg").json()
    assert not_an_image["exif_taken_at"] is None and not_an_image["size"] == 12


# --- derived copies --------------------------------------------------------------------------


def test_derived_copies_link_to_the_original_and_leave_it_untouched(
    client: TestClient, world: World
) -> None:
    data = jpeg_with_exif(size=(800, 600))
    original = upload(client, world, data=data, filename="scene.jpg").json()
    blob = blob_path(world.settings, original["sha256"])
    before = blob.stat()
    thumb = client.post(
        f"/api/evidence/{original['id']}/derive",
        json={"kind": "thumbnail"},
        headers=world.auth("verifier-own"),
    )
    red = client.post(
        f"/api/evidence/{original['id']}/derive",
        json={
            "kind": "redaction",
            "rectangles": [{"x": 100, "y": 50, "width": 200, "height": 100}],
        },
        headers=world.auth("verifier-own"),
    )
    assert (thumb.status_code, red.status_code) == (201, 201), thumb.text + red.text
    t, r = thumb.json(), red.json()
    assert t["derived_from"] == r["derived_from"] == original["id"]
    assert (t["derivation"], r["derivation"]) == ("thumbnail", "redaction")
    assert t["filename"] == "scene.thumbnail.jpg" and r["filename"] == "scene.redaction.jpg"
    assert blob.read_bytes() == data and hashlib.sha256(data).hexdigest() == original["sha256"]
    assert (blob.stat().st_ino, blob.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    with Image.open(blob_path(world.settings, t["sha256"])) as image:
        assert max(image.size) == 320 and not image.getexif()
    with Image.open(blob_path(world.settings, r["sha256"])) as image:
        assert image.size == (800, 600)
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
        rgb = image.convert("RGB")
        inside, outside = rgb.getpixel((200, 100)), rgb.getpixel((600, 400))
        assert isinstance(inside, tuple) and isinstance(outside, tuple)
        assert max(inside) < 10  # inside the rectangle: black
        assert outside[1] > 120  # outside: the original green
    # The same thumbnail again is the same copy; a copy of a copy still names the original.
    again = client.post(
        f"/api/evidence/{original['id']}/derive",
        json={"kind": "thumbnail"},
        headers=world.auth("verifier-own"),
    )
    assert again.json()["id"] == t["id"]
    nested = client.post(
        f"/api/evidence/{r['id']}/derive",
        json={"kind": "thumbnail", "side": 64},
        headers=world.auth("verifier-own"),
    ).json()
    assert nested["derived_from"] == original["id"]
    assert nested["derivation_params"] == {"source_id": r["id"], "side": 64}
    with world.db.read() as session:
        items = evidence.for_incident(session, world.incident_id)
    assert [i.id for i in items] == [original["id"], t["id"], r["id"], nested["id"]]
    assert isinstance(items[0], evidence.EvidenceItem) and items[0].derived_from is None


def test_deriving_refuses_bad_requests_and_writes_nothing(client: TestClient, world: World) -> None:
    image = upload(client, world, data=jpeg_with_exif(size=(100, 80))).json()
    pdf = upload(client, world, data=b"%PDF-1.4 fictional", media_type="application/pdf").json()
    files, size = stored_files(world.settings), tree_size(world.db)
    headers = world.auth("verifier-own")
    outside = client.post(
        f"/api/evidence/{image['id']}/derive",
        json={"kind": "redaction", "rectangles": [{"x": 90, "y": 0, "width": 20, "height": 10}]},
        headers=headers,
    )
    assert outside.status_code == 422 and "rectangles.0" in outside.json()["error"]["fields"]
    not_image = client.post(
        f"/api/evidence/{pdf['id']}/derive", json={"kind": "thumbnail"}, headers=headers
    )
    assert not_image.status_code == 422 and "kind" in not_image.json()["error"]["fields"]
    stray = client.post(
        f"/api/evidence/{image['id']}/derive",
        json={"kind": "thumbnail", "rectangles": [{"x": 0, "y": 0, "width": 1, "height": 1}]},
        headers=headers,
    )
    assert stray.status_code == 422
    assert stored_files(world.settings) == files and tree_size(world.db) == size


# --- custody ---------------------------------------------------------------------------------


def test_every_custody_act_is_a_leaf(client: TestClient, world: World) -> None:
    data = jpeg_with_exif()
    item = upload(client, world, data=data).json()
    headers = world.auth("verifier-own")
    assert client.get(f"/api/evidence/{item['id']}", headers=headers).status_code == 200
    assert client.get(f"/api/incidents/{world.incident_id}/evidence", headers=headers).json()
    content = client.get(f"/api/evidence/{item['id']}/content", headers=headers)
    assert content.status_code == 200 and content.content == data
    assert content.headers["etag"] == f'"{item["sha256"]}"'
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-disposition"].startswith("attachment")
    thumb = client.post(
        f"/api/evidence/{item['id']}/derive", json={"kind": "thumbnail"}, headers=headers
    ).json()
    with world.db.read() as session:
        acts = leaves(session, item["id"])
        derived = leaves(session, thumb["id"])
        audited = session.scalars(
            select(AuditEventRow.action)
            .where(AuditEventRow.entity_id == item["id"])
            .order_by(AuditEventRow.id)
        ).all()
    assert [leaf.act for leaf in acts] == [
        "evidence.received",
        "evidence.viewed",
        "evidence.viewed",
        "evidence.downloaded",
    ]
    assert {leaf.content_sha256 for leaf in acts} == {item["sha256"]}
    assert {leaf.actor for leaf in acts} == {"verifier-own"}
    assert [leaf.act for leaf in derived] == ["evidence.derived"]
    assert derived[0].content_sha256 == thumb["sha256"]
    assert derived[0].detail["original_sha256"] == item["sha256"]
    assert list(audited) == [
        "evidence.received",
        "evidence.viewed",
        "evidence.downloaded",
    ]


def test_custody_leaf_and_row_roll_back_together(world: World) -> None:
    actor = world.actor("verifier-own")
    with Staging(world.settings, media_type="image/jpeg") as staging:
        staging.write(jpeg_with_exif())
        staged = staging.finish()
    size_before = tree_size(world.db)

    def receive_then_fail(session: Any) -> None:
        item = evidence.receive(
            session,
            world.incident_id,
            meta=EvidenceIn(),
            staged=staged,
            actor=actor,
            settings=world.settings,
        )
        assert leaves(session, item.id)  # written in this transaction ...
        raise RuntimeError("the change fails after its custody leaf was written")

    with pytest.raises(RuntimeError):
        world.db.write(receive_then_fail)
    staged.discard()
    assert tree_size(world.db) == size_before  # ... and gone with it
    with world.db.read() as session:
        assert session.scalar(select(func.count()).select_from(EvidenceRow)) == 0
        assert (
            session.scalar(select(func.count()).where(AuditEventRow.action == "evidence.received"))
            == 0
        )


# --- access ----------------------------------------------------------------------------------


def test_evidence_is_visible_exactly_to_those_who_see_the_incident(
    client: TestClient, world: World
) -> None:
    item = upload(client, world, data=jpeg_with_exif(), user="reporter-own").json()
    assert item["uploader"] == "reporter-own"
    other = world.auth("verifier-other")
    for path in (
        f"/api/incidents/{world.incident_id}/evidence",
        f"/api/evidence/{item['id']}",
        f"/api/evidence/{item['id']}/content",
    ):
        assert client.get(path, headers=other).status_code == 404, path
        assert client.get(path, headers=world.auth("reporter-own")).status_code == 403, path
        assert client.get(path, headers=world.auth("analyst-own")).status_code == 200, path
        assert client.get(path, headers=world.auth("admin-other")).status_code == 200, path
    assert upload(client, world, data=b"x", user="verifier-other").status_code == 404
    derive = f"/api/evidence/{item['id']}/derive"
    assert client.post(derive, json={"kind": "thumbnail"}, headers=other).status_code == 404
    analyst = world.auth("analyst-own")
    assert client.post(derive, json={"kind": "thumbnail"}, headers=analyst).status_code == 403
    with world.db.read() as session:
        assert [leaf.actor for leaf in leaves(session, item["id"])].count("verifier-other") == 0
    with world.db.read() as session, pytest.raises(NotFound):
        evidence.list_for_incident(session, world.incident_id, actor=world.actor("verifier-other"))
    with world.db.read() as session, pytest.raises(PermissionDenied):
        evidence.prepare_derivation(
            session, item["id"], actor=world.actor("analyst-own"), settings=world.settings
        )


# --- bad input -------------------------------------------------------------------------------


def _oversize() -> Iterator[bytes]:
    for _ in range(5):
        yield b"\0" * 1024


BAD_UPLOADS: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown incident", {"incident_id": str(uuid.uuid4())}, 404, "incident_id"),
    ("disallowed type", {"media_type": "application/x-msdownload"}, 415, "content_type"),
    ("malformed type", {"media_type": "jpeg"}, 415, "content_type"),
    ("empty body", {"data": b""}, 422, "body"),
    ("bad captured_at", {"captured_at": "last tuesday"}, 422, "captured_at"),
    ("future captured_at", {"captured_at": "2999-01-01T00:00:00Z"}, 422, "captured_at"),
    ("bad source_url", {"source_url": "javascript:alert(1)"}, 422, "source_url"),
    ("foreign report", {"report_id": str(uuid.uuid4())}, 422, "report_id"),
    ("oversize, declared", {"data": b"\0" * 5000}, 413, "body"),
    ("oversize, streamed", {"data": "stream"}, 413, "body"),
]


@pytest.mark.parametrize(
    ("case", "change", "status", "field"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS]
)
def test_bad_uploads_name_the_field_and_write_nothing(
    world: World, *, case: str, change: dict[str, Any], status: int, field: str
) -> None:
    small = world.settings.model_copy(update={"max_evidence_bytes": 4096})
    with TestClient(create_app(small, db=world.db)) as client:
        size, audit_count = tree_size(world.db), _audit_count(world.db)
        change = dict(change)
        data = change.pop("data", b"fictional bytes")
        response = upload(
            client,
            world,
            data=_oversize() if data == "stream" else data,
            **{"media_type": "image/jpeg", **change},
        )
    assert response.status_code == status, response.text
    assert field in response.json()["error"]["fields"], response.json()
    assert stored_files(world.settings) == []  # no blob, no temporary file
    assert tree_size(world.db) == size and _audit_count(world.db) == audit_count
    with world.db.read() as session:
        assert session.scalar(select(func.count()).select_from(EvidenceRow)) == 0


def _audit_count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEventRow)) or 0)


def test_allow_list_takes_whole_types_and_exact_types(world: World) -> None:
    custom = world.settings.model_copy(update={"evidence_media_types": ("image/png", "audio/*")})
    assert evidence.check_media_type(custom, "Audio/OGG; codecs=opus") == "audio/ogg"
    assert evidence.check_media_type(custom, "image/png") == "image/png"
    with pytest.raises(UnsupportedMediaType) as refused:
        evidence.check_media_type(custom, "image/jpeg")
    assert "image/png, audio/*" in refused.value.fields["content_type"]


def test_evidence_uploads_get_their_own_body_limit(client: TestClient, world: World) -> None:
    guard = BodySizeLimit(
        None,  # type: ignore[arg-type]
        max_bytes=10,
        larger=(("/api/imports", 50), ("/api/incidents/{incident_id}/evidence", 99)),
    )
    assert guard.limit_for("/api/incidents/3f2b-1/evidence") == 99
    assert guard.limit_for("/api/incidents/3f2b-1/evidence/x") == 10
    assert guard.limit_for("/api/incidents/a/b/evidence") == 10
    assert guard.limit_for("/api/incidents//evidence") == 10
    assert guard.limit_for("/api/imports") == 50 and guard.limit_for("/api/reports") == 10
    big = b"\1" * (world.settings.max_body_bytes + 10)
    assert upload(client, world, data=big, media_type="audio/mpeg").status_code == 201
    too_big_elsewhere = client.post(
        "/api/reports", content=big, headers={**world.auth("verifier-own"), "Content-Type": "x/y"}
    )
    assert too_big_elsewhere.status_code == 413


def test_a_wrong_method_names_every_method_of_the_path(client: TestClient, world: World) -> None:
    path = f"/api/incidents/{world.incident_id}/evidence"
    response = client.delete(path, headers=world.auth("verifier-own"))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"  # both routes, not just the first


# --- verification of the store ---------------------------------------------------------------


def test_verify_store_names_changed_bytes_missing_files_and_edited_rows(
    client: TestClient, world: World
) -> None:
    first = upload(client, world, data=jpeg_with_exif(), filename="first.jpg").json()
    second = upload(
        client, world, data=b"fictional audio", media_type="audio/ogg", filename="b.ogg"
    )
    second_item = second.json()
    third = upload(client, world, data=b"fictional text", media_type="text/plain").json()
    with world.db.read() as session:
        assert evidence_check.verify_store(session, world.settings) == []
    changed = blob_path(world.settings, first["sha256"])
    changed.chmod(0o644)
    raw = bytearray(changed.read_bytes())
    raw[200] ^= 0x01
    changed.write_bytes(bytes(raw))
    blob_path(world.settings, second_item["sha256"]).unlink()
    world.db.write(
        lambda s: s.execute(update(EvidenceRow).where(EvidenceRow.id == third["id"]).values(size=3))
    )
    with world.db.read() as session:
        findings = evidence_check.verify_store(session, world.settings)
    named = {(f.subject, f.kind) for f in findings}
    assert named == {
        (f"evidence {first['id']} (first.jpg)", "changed_bytes"),
        (f"evidence {second_item['id']} (b.ogg)", "missing_file"),
        (f"evidence {third['id']} (evidence.txt)", "size_mismatch"),
    }
    assert all(f.message.startswith(f.subject) for f in findings)


def test_verify_store_names_rows_without_their_received_leaf(
    client: TestClient, world: World
) -> None:
    item = upload(client, world, data=b"fictional text", media_type="text/plain").json()
    forged_id = str(uuid.uuid4())

    def forge(session: Any) -> None:
        row = session.get(EvidenceRow, item["id"])
        session.add(
            EvidenceRow(
                id=forged_id,
                sha256=row.sha256,
                size=row.size,
                media_type=row.media_type,
                filename="forged.txt",
                incident_id=row.incident_id,
                uploader="nobody",
            )
        )

    world.db.write(forge)
    other = hashlib.sha256(b"other").hexdigest()
    world.db.write(
        lambda s: s.execute(
            text("UPDATE evidence SET sha256 = :h WHERE id = :i"), {"h": other, "i": item["id"]}
        )
    )
    with world.db.read() as session:
        kinds = {(f.subject, f.kind) for f in evidence_check.verify_store(session, world.settings)}
    assert (f"evidence {forged_id} (forged.txt)", "missing_leaf") in kinds
    assert (f"evidence {item['id']} (evidence.txt)", "row_edited") in kinds
    assert (f"evidence {item['id']} (evidence.txt)", "missing_file") in kinds


# --- demo, CLI -------------------------------------------------------------------------------


def test_demo_evidence_is_a_generated_exercise_image_with_a_thumbnail(world: World) -> None:
    exercise = world.db.write(lambda s: reports.submit(s, _report(exercise=True), actor=SYSTEM))
    taken = datetime(2025, 3, 3, 6, 20, tzinfo=UTC)
    for _ in range(2):  # the second run adds nothing
        original = evidence.add_demo_evidence(
            world.db, exercise.incident_id, settings=world.settings, taken_at=taken, actor=SYSTEM
        )
    with world.db.read() as session:
        items = evidence.for_incident(session, exercise.incident_id)
    assert [(i.derivation, i.derived_from) for i in items] == [
        (None, None),
        ("thumbnail", original.id),
    ]
    assert original.exercise and original.exif_taken_at == "2025-03-03T06:20:00"
    with Image.open(blob_path(world.settings, original.sha256)) as image:
        assert "EXERCISE" in image.getexif()[ExifTags.Base.ImageDescription]
    with pytest.raises(InvalidInput):
        evidence.add_demo_evidence(
            world.db, world.incident_id, settings=world.settings, taken_at=taken, actor=SYSTEM
        )


def test_download_refuses_a_missing_file(client: TestClient, world: World) -> None:
    item = upload(client, world, data=b"fictional text", media_type="text/plain").json()
    blob_path(world.settings, item["sha256"]).unlink()
    response = client.get(f"/api/evidence/{item['id']}/content", headers=world.auth("analyst-own"))
    assert response.status_code == 500 and "haven verify" in response.json()["error"]["message"]
    with world.db.read() as session:
        assert [leaf.act for leaf in leaves(session, item["id"])] == ["evidence.received"]
    with world.db.read() as session, pytest.raises(IntegrityCheckFailed):
        evidence.download(session, item["id"], actor=SYSTEM, settings=world.settings)


def _haven(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HAVEN), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_adds_lists_gets_and_derives(tmp_path: Path) -> None:
    assert _haven(tmp_path, "init").returncode == 0
    report_file = tmp_path / "report.json"
    report_file.write_text(_report().model_dump_json())
    added = _haven(tmp_path, "reports", "add", str(report_file))
    assert added.returncode == 0, added.stderr
    incident_id = added.stdout.split("-> incident ")[1].split()[0]
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_with_exif())
    stored = _haven(
        tmp_path, "evidence", "add", incident_id, str(photo), "--captured-at", "2024-01-15T05:31Z"
    )
    assert stored.returncode == 0, stored.stderr
    evidence_id = stored.stdout.split()[1]
    refused = _haven(tmp_path, "evidence", "add", incident_id, str(report_file))
    assert refused.returncode == 65 and "content_type" in refused.stderr
    bad_time = _haven(tmp_path, "evidence", "add", incident_id, str(photo), "--captured-at", "soon")
    assert bad_time.returncode == 65 and "captured_at" in bad_time.stderr
    derived = _haven(
        tmp_path, "evidence", "derive", evidence_id, "--kind", "redaction", "--rect", "0,0,10,10"
    )
    assert derived.returncode == 0, derived.stderr
    listed = _haven(tmp_path, "evidence", "list", incident_id, "--format", "json")
    items = json.loads(listed.stdout)
    assert [i["derivation"] for i in items] == [None, "redaction"]
    out = tmp_path / "copy.jpg"
    got = _haven(tmp_path, "evidence", "get", evidence_id, "--out", str(out))
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == photo.read_bytes()
    again = _haven(tmp_path, "evidence", "get", evidence_id, "--out", str(out))
    assert again.returncode != 0 and "already exists" in again.stderr
    for command in ("add", "list", "get", "derive"):
        help_text = _haven(tmp_path, "evidence", command, "--help").stdout
        assert "Example:" in help_text, command


def test_upload_service_checks_before_reading(world: World) -> None:
    """The shells refuse before streaming; the service refuses again inside the write."""
    with world.db.read() as session, pytest.raises(NotFound):
        evidence.check_upload(
            session,
            world.incident_id,
            meta=EvidenceIn(),
            media_type="image/jpeg",
            actor=world.actor("verifier-other"),
            settings=world.settings,
        )
