"""SMS intake: every example of docs/web.md is recorded, every documented mistake is explained."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from haven import accounts
from haven.accounts import SYSTEM, Role
from haven.api.sms_routes import SIGNATURE_HEADER, sign
from haven.app import create_app
from haven.db import Database
from haven.models import ReportRow
from haven.settings import Settings
from haven.sms import SmsProblem, parse
from haven.taxonomy import CasualtyGroup, CasualtyOutcome, SsaAttackType
from tests.support.facilities import add_facility

DOC = Path(__file__).resolve().parents[1] / "docs" / "web.md"
SECRET = "exercise-gateway-secret"


def _examples() -> list[str]:
    text = DOC.read_text()
    block = text.split("<!-- sms-examples -->", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def _mistakes() -> list[tuple[str, str]]:
    table = DOC.read_text().split("<!-- sms-bad -->", 1)[1]
    rows = re.findall(r"^\| `([^`]*)` \| (.+?) \|$", table, flags=re.MULTILINE)
    return [(message, fix) for message, fix in rows]


def test_the_docs_hold_examples_and_mistakes() -> None:
    assert len(_examples()) >= 5
    assert len(_mistakes()) >= 7


@pytest.mark.parametrize("message", _examples())
def test_every_documented_example_parses(message: str) -> None:
    parsed = parse(message)
    assert parsed.attack_types


def test_parse_reads_counts_groups_dates_and_text() -> None:
    parsed = parse("ATK EX-HOSP-1 HW+FI KH2 IP5 K1 D2024-05-31 shelling hit the ward")
    assert parsed.facility == "EX-HOSP-1"
    assert parsed.attack_types == [SsaAttackType.HEAVY_WEAPONS, SsaAttackType.SETTING_FIRE]
    assert parsed.casualties == {
        CasualtyGroup.HEALTH_WORKERS: {CasualtyOutcome.KILLED: 2},
        CasualtyGroup.PATIENTS: {CasualtyOutcome.INJURED: 5},
        CasualtyGroup.OTHERS: {CasualtyOutcome.KILLED: 1},
    }
    assert parsed.day is not None and parsed.day.isoformat() == "2024-05-31"
    assert parsed.narrative == "shelling hit the ward"
    assert parse("ATK 12 hw k3 Kids were hurt").narrative == "Kids were hurt"


@pytest.mark.parametrize(("message", "fix"), _mistakes())
def test_every_documented_mistake_says_what_to_fix(message: str, fix: str) -> None:
    if "NO-SUCH-SITE" in message:  # needs the registry: checked through the webhook below
        parse(message)
        return
    with pytest.raises(SmsProblem) as problem:
        parse(message)
    assert str(problem.value) == fix


@pytest.fixture
def gateway(settings: Settings, db: Database) -> Iterator[TestClient]:
    """The app with SMS intake on, a gateway account, and the docs' fictional facilities."""
    configured = settings.model_copy(
        update={"sms_webhook_secret": SecretStr(SECRET), "sms_reporter": "sms.gateway"}
    )
    db.write(
        lambda s: accounts.add_user(
            s,
            "sms.gateway",
            role=Role.REPORTER,
            organisation="Exercise Clinic",
            password=None,
            actor=SYSTEM,
        )
    )
    add_facility(db, external_id="EX-HOSP-1", name="Exercise Hospital (fictional)")
    add_facility(db, external_id="EX-CLINIC-7", name="Exercise Clinic 7 (fictional)")
    with TestClient(create_app(configured, db=db)) as client:
        yield client


def _send(
    client: TestClient, text: str, *, message_id: str, secret: str = SECRET
) -> dict[str, Any]:
    body = orjson.dumps({"from": "+000 555 0100", "text": text, "message_id": message_id})
    answer = client.post(
        "/api/sms",
        content=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)},
    )
    assert answer.status_code == 200, answer.text
    reply: dict[str, Any] = answer.json()
    return reply


def _count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ReportRow)) or 0


def test_the_webhook_records_every_example_once(gateway: TestClient, db: Database) -> None:
    examples = _examples()
    codes = []
    for n, text in enumerate(examples):
        reply = _send(gateway, text, message_id=f"m-{n}")
        assert reply["ok"], reply
        assert re.fullmatch(r"HVN-[0-9A-F]{8}", reply["code"])
        assert reply["code"] in reply["reply"]
        codes.append(reply["code"])
    assert _count(db) == len(examples)
    again = _send(gateway, examples[0], message_id="m-0")
    assert again["code"] == codes[0]
    body = {"from": "+000 555 0100", "text": examples[0], "message_id": "m-0"}
    later = {**body, "received_at": "2030-01-01T00:00:00Z"}  # a resend days later
    raw = orjson.dumps(later)
    resent = gateway.post(
        "/api/sms",
        content=raw,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(SECRET, raw)},
    )
    assert resent.status_code == 200 and resent.json()["code"] == codes[0]
    assert _count(db) == len(examples)
    incident = gateway.get(
        f"/api/reports/{again['report_id']}",
        headers={"Authorization": "Bearer none"},
    )
    assert incident.status_code == 401  # the webhook's secret opens nothing else
    with db.read() as session:
        facts = session.scalar(select(ReportRow.facts).where(ReportRow.id == again["report_id"]))
    assert facts is not None
    assert facts["country"] == "PSE"
    assert facts["location_name"] == "Exercise Hospital (fictional)"
    assert facts["casualties"] == {"health_workers": {"killed": 2}, "patients": {"injured": 5}}


def test_the_webhook_explains_mistakes_and_writes_nothing(
    gateway: TestClient, db: Database
) -> None:
    for n, (message, fix) in enumerate(_mistakes()):
        reply = _send(gateway, message, message_id=f"bad-{n}")
        assert not reply["ok"]
        assert reply["code"] is None
        assert reply["reply"].startswith(f"Not recorded: {fix}. Send: ATK ")
    assert _count(db) == 0


def test_the_webhook_needs_the_signature(gateway: TestClient, db: Database) -> None:
    body = orjson.dumps({"from": "+000 555 0100", "text": _examples()[0], "message_id": "x"})
    headers = {"Content-Type": "application/json"}
    assert gateway.post("/api/sms", content=body, headers=headers).status_code == 401
    forged = {**headers, SIGNATURE_HEADER: sign("not-the-secret", body)}
    assert gateway.post("/api/sms", content=body, headers=forged).status_code == 401
    signed = {**headers, SIGNATURE_HEADER: sign(SECRET, b"{}")}
    assert gateway.post("/api/sms", content=body, headers=signed).status_code == 401
    assert _count(db) == 0
    bad_json = b'{"from": "+000"'
    answer = gateway.post(
        "/api/sms", content=bad_json, headers={**headers, SIGNATURE_HEADER: sign(SECRET, bad_json)}
    )
    assert answer.status_code == 422


def test_without_a_secret_the_webhook_is_off(client: TestClient) -> None:
    body = b'{"from": "+000 555 0100", "text": "ATK 1 HW", "message_id": "1"}'
    answer = client.post("/api/sms", content=body, headers={SIGNATURE_HEADER: sign("", body)})
    assert answer.status_code == 404
