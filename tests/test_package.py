"""Evidence packages verify offline with the standalone verifier; any changed byte fails them."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from haven import custody_check, evidence, package, reports, verification
from haven.accounts import SYSTEM, Role
from haven.db import Database
from haven.errors import NotFound
from haven.evidence import EvidenceIn
from haven.settings import Settings
from haven.taxonomy import IncidentState
from tests.conftest import make_token
from tests.support.verifier import standalone_verifier

PHOTO = b"\xff\xd8\xff\xe0" + b"fictional exercise photo bytes " * 200 + b"\xff\xd9"


def _incident(db: Database, *, publish: bool) -> str:
    report = reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "package test", "kind": "form"},
            "occurred_at": "2024-03-01T10:00:00Z",
            "country": "PSE",
            "attack_types": ["Setting fire"],
            "narrative": "Fictional narrative for a package test.",
        }
    )
    incident_id = db.write(lambda s: reports.submit(s, report, actor=SYSTEM)).incident_id
    states = [IncidentState.IN_REVIEW, IncidentState.VERIFIED, IncidentState.PUBLISHED]
    for state in states if publish else []:
        db.write(
            lambda s, to=state: verification.transition(
                s, incident_id, to_state=to, note="", actor=SYSTEM
            )
        )
    return incident_id


def _package(db: Database, settings: Settings, *, tmp_path: Path, publish: bool = True) -> Path:
    incident_id = _incident(db, publish=publish)
    evidence.upload_file(
        db,
        incident_id,
        settings=settings,
        source=io.BytesIO(PHOTO),
        meta=EvidenceIn(filename="ward entrance.jpg"),
        media_type="image/jpeg",
        actor=SYSTEM,
    )
    contents = db.write(lambda s: package.build(s, settings, incident_id=incident_id, actor=SYSTEM))
    out = tmp_path / "case.zip"
    package.write_zip(settings, contents, out=out)
    return out


@pytest.mark.parametrize("publish", [True, False], ids=["published", "in-review"])
def test_a_package_verifies_offline(
    db: Database, settings: Settings, *, tmp_path: Path, publish: bool
) -> None:
    zip_path = _package(db, settings, tmp_path=tmp_path, publish=publish)
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        readme = archive.read("README.md").decode()
    assert {"manifest.json", "incident.json", "custody/tree-head.json", "README.md"} <= names
    assert any(name.startswith("evidence/") for name in names)
    assert "python3 custody_verifier.py" in readme
    acts = {event["act"] for event in manifest["custody_events"]}
    assert {"evidence.received", "evidence.exported", "package.exported"} <= acts
    assert ("incident.published" in acts) is publish
    run = standalone_verifier(zip_path, tmp_path / "fresh")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("VERIFIED")
    with db.read() as session:  # packaging itself leaves the log intact
        assert custody_check.verify(session, settings).ok


def _rewrite(zip_path: Path, target: Path, *, name: str, change: int) -> None:
    """Copy the package with one byte of member ``name`` changed at offset ``change``."""
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            data = bytearray(source.read(info.filename))
            if info.filename == name:
                data[change % len(data)] ^= 0x01
            out.writestr(info, bytes(data))


@pytest.mark.parametrize(
    ("member", "offset", "says"),
    [
        ("evidence", 40, "does NOT match the manifest"),
        ("incident.json", 10, "does NOT match the manifest"),
        ("custody/tree-head.json", 60, "tree-head.json"),
        ("custody/proofs.json", 300, "custody entry"),
    ],
)
def test_one_changed_byte_fails_the_package(
    db: Database, settings: Settings, *, tmp_path: Path, member: str, offset: int, says: str
) -> None:
    zip_path = _package(db, settings, tmp_path=tmp_path)
    with zipfile.ZipFile(zip_path) as archive:
        name = next(n for n in archive.namelist() if n.startswith(member))
    broken = tmp_path / "broken.zip"
    _rewrite(zip_path, broken, name=name, change=offset)
    run = standalone_verifier(broken, tmp_path / "fresh")
    assert run.returncode == 1
    assert "NOT VERIFIED" in run.stdout
    assert says in run.stdout, run.stdout


def test_package_over_http_needs_verify_and_a_visible_incident(
    client: TestClient, db: Database, *, settings: Settings, tmp_path: Path
) -> None:
    incident_id = _incident(db, publish=True)
    verifier = {"Authorization": f"Bearer {make_token(db, 'pkg-verifier', role=Role.VERIFIER)}"}
    analyst = {"Authorization": f"Bearer {make_token(db, 'pkg-analyst', role=Role.ANALYST)}"}
    assert client.post(f"/api/incidents/{incident_id}/package", headers=analyst).status_code == 403
    missing = client.post(f"/api/incidents/{uuid.uuid4()}/package", headers=verifier)
    assert missing.status_code == 404
    response = client.post(f"/api/incidents/{incident_id}/package", headers=verifier)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    zip_path = tmp_path / "http.zip"
    zip_path.write_bytes(response.content)
    run = standalone_verifier(zip_path, tmp_path / "fresh")
    assert run.returncode == 0, run.stdout
    with pytest.raises(NotFound):
        db.write(lambda s: package.build(s, settings, incident_id=str(uuid.uuid4()), actor=SYSTEM))
