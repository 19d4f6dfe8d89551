"""The shells over notifications: the HTTP API and the ``haven`` commands, with real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from haven import custody, notification_outputs
from haven.accounts import Role
from haven.db import Database
from haven.models import NotificationRow
from haven.settings import Settings
from tests.conftest import make_token

HAVEN = Path(sys.executable).parent / "haven"


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HAVEN), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_commands_from_party_to_export(tmp_path: Path, datasets: Path) -> None:
    hospitals = str(datasets / "gaza_hospitals.geojson")
    assert run(tmp_path, "facilities", "import", hospitals, "--country", "PSE").returncode == 0
    added = run(tmp_path, "parties", "add", "Party Kilo (fictional)", "--site", "1", "--site", "2")
    assert added.returncode == 0, added.stderr
    assert "webhook secret (shown once)" in added.stdout
    bad_mail = run(tmp_path, "parties", "add", "Party Lima (fictional)", "--email", "nope")
    assert bad_mail.returncode == 65 and "email" in bad_mail.stderr
    created = run(tmp_path, "notifications", "create", "--party", "1", "--send")
    assert created.returncode == 0 and ": sent;" in created.stdout, created.stderr
    not_kml = tmp_path / "sites.kml"
    not_kml.write_text("<html><body>a web page</body></html>")
    refused = run(tmp_path, "notifications", "create", "--party", "1", "--sites-kml", str(not_kml))
    assert refused.returncode == 65 and "not a usable KML file" in refused.stderr
    assert "<html>" in refused.stderr and "Traceback" not in refused.stderr
    no_party = run(tmp_path, "notifications", "create", "--party", "42")
    assert no_party.returncode == 66 and "party_id" in no_party.stderr
    listed = run(tmp_path, "notifications", "list")
    assert listed.stdout.count("notification ") == 1  # nothing written by the refused commands
    acked = run(tmp_path, "notifications", "ack", "1", "--by", "Kilo desk", "--channel", "phone")
    assert acked.returncode == 0 and "not approval" in acked.stdout
    for fmt in ("json", "geojson", "kml", "html"):
        out = tmp_path / f"n.{fmt}"
        done = run(tmp_path, "notifications", "export", "1", "--format", fmt, "-o", str(out))
        assert done.returncode == 0, done.stderr
    kml_sites = run(
        tmp_path, "notifications", "create", "--party", "1", "--sites-kml", str(tmp_path / "n.kml")
    )
    assert kml_sites.returncode == 0, kml_sites.stderr
    assert "MGRS" in (tmp_path / "n.html").read_text()
    ticked = run(tmp_path, "notifications", "tick", "--now", "2099-01-01T00:00Z")
    assert ticked.returncode == 0 and "expired 2" in ticked.stdout
    delivered = run(tmp_path, "alerts", "deliver")
    assert delivered.returncode == 0 and "incidents checked" in delivered.stdout


def test_api_notification_flow_and_exports(
    client: TestClient, db: Database, *, settings: Settings, datasets: Path
) -> None:
    token = make_token(db, "coordinator-api", role=Role.COORDINATOR)
    auth = {"Authorization": f"Bearer {token}"}
    imported = client.post(
        "/api/facilities/import",
        params={"format": "geojson", "country": "PSE"},
        content=(datasets / "gaza_hospitals.geojson").read_bytes(),
        headers={**make_admin(db), "Content-Type": "application/geo+json"},
    )
    assert imported.status_code == 200, imported.text
    party = client.post(
        "/api/parties", json={"name": "Party Mike (fictional)", "sites": [1, 2, 3]}, headers=auth
    )
    assert party.status_code == 201 and party.json()["webhook_secret"]
    expires = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    missing = client.post(
        "/api/notifications", json={"kind": "sites", "expires_at": expires}, headers=auth
    )
    assert missing.status_code == 422 and "party_id" in missing.json()["error"]["fields"]
    stale = client.post(
        "/api/notifications",
        json={
            "party_id": party.json()["id"],
            "kind": "sites",
            "expires_at": "2020-01-01T00:00:00Z",
        },
        headers=auth,
    )
    assert stale.status_code == 422 and "expires_at" in stale.json()["error"]["fields"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(NotificationRow)) == 0
    made = client.post(
        "/api/notifications",
        json={"party_id": party.json()["id"], "kind": "sites", "expires_at": expires},
        headers=auth,
    ).json()
    sent = client.post(f"/api/notifications/{made['id']}/send", headers=auth).json()
    assert sent["state"] == "sent" and sent["sent_leaf"] is not None
    acked = client.post(
        f"/api/notifications/{made['id']}/acknowledge",
        json={"by": "Mike desk", "channel": "email"},
        headers=auth,
    ).json()
    assert acked["state"] == "acknowledged" and "not approval" in acked["acknowledgement_meaning"]
    document = client.get(f"/api/notifications/{made['id']}/export", headers=auth).json()
    keys = {k.key_id: k.public_key for k in custody.public_keys(settings)}
    assert notification_outputs.verify_document(document, public_keys=keys)
    assert document["record"]["acknowledged_leaf"] == acked["acknowledged_leaf"]
    kml = client.get(
        f"/api/notifications/{made['id']}/export", params={"format": "kml"}, headers=auth
    )
    assert ET.fromstring(kml.content).tag.endswith("}kml")
    geo = client.get(
        f"/api/notifications/{made['id']}/export", params={"format": "geojson"}, headers=auth
    )
    assert geo.headers["content-type"].startswith("application/geo+json")
    assert len(json.loads(geo.content)["features"]) == 3
    page = client.get(
        f"/api/notifications/{made['id']}/export", params={"format": "html"}, headers=auth
    )
    assert page.headers["content-type"].startswith("text/html") and "Mike desk" in page.text


def make_admin(db: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db, 'admin-api', role=Role.ADMIN)}"}
