"""Facility risk: each part from constructed incidents, the weighted score, one alert a month."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from haven import facility_risk, facility_status, notifications, parties, reports
from haven.accounts import SYSTEM, Actor, Role
from haven.db import Database
from haven.errors import NotFound
from haven.models import AuditEventRow, FacilityRiskAlertRow, OutboxRow
from haven.settings import Settings
from tests.conftest import make_token
from tests.support.facilities import add_facility

SENT = datetime(2025, 1, 5, 9, 0, tzinfo=UTC)
AS_OF = date(2025, 3, 31)


def _report(when: datetime, *, lon: float, lat: float, precision: int, **extra: Any) -> Any:
    return reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "facility risk test form (fictional)", "kind": "form"},
            "occurred_at": when.isoformat(),
            "country": "PSE",
            "location": {"lon": lon, "lat": lat},
            "geo_precision": precision,
            "attack_types": ["Setting fire"],
            "tlp": "green",
            "sensitivity": "moderate",
            "narrative": "fictional test incident",
            **extra,
        }
    )


def _scene(db: Database, settings: Settings) -> tuple[int, int]:
    """A notified clinic struck twice nearby, one coarse incident, and a quiet clinic far off."""
    site = add_facility(db, location={"lon": 34.40, "lat": 31.40})
    quiet = add_facility(db, location={"lon": 35.20, "lat": 31.90}, name="Quiet Clinic (fictional)")
    party = db.write(
        lambda s: parties.add(
            s,
            parties.PartyIn(
                name=f"Risk party {uuid.uuid4().hex[:6]} (fictional)",
                sites=[site],
                email="liaison@example.org",
            ),
            actor=SYSTEM,
        )
    )
    data = notifications.NotificationIn.model_validate(
        {"party_id": party.id, "kind": "sites", "expires_at": (SENT + timedelta(days=180))}
    )
    made = db.write(
        lambda s: notifications.create(s, data, actor=SYSTEM, settings=settings, now=SENT)
    )
    db.write(lambda s: notifications.send(s, made.id, actor=SYSTEM, settings=settings, now=SENT))
    february = datetime(2025, 2, 10, 8, 0, tzinfo=UTC)

    def add(session: Any) -> None:
        near = {"lon": 34.402, "lat": 31.401, "precision": 1}  # ~200 m away, exact
        reports.submit(session, _report(february, **near, facility_id=site), actor=SYSTEM)  # type: ignore[arg-type]
        reports.submit(session, _report(february + timedelta(days=3), **near), actor=SYSTEM)  # type: ignore[arg-type]
        coarse = _report(february, lon=34.43, lat=31.40, precision=2)  # 3 km, but 25 km blur
        reports.submit(session, coarse, actor=SYSTEM)
        old = _report(datetime(2024, 6, 1, tzinfo=UTC), lon=34.40, lat=31.40, precision=1)
        reports.submit(session, old, actor=SYSTEM)  # outside the 90-day window
        facility_status.add_status(
            session, site, entry=facility_status.StatusIn(status="not_functioning"), actor=SYSTEM,
            now=february,
        )  # fmt: skip

    db.write(add)
    return site, quiet


def test_score_parts_from_constructed_incidents(db: Database, settings: Settings) -> None:
    site, quiet = _scene(db, settings)
    with db.read() as session:
        risk = facility_risk.facility_risk(
            session, site, actor=SYSTEM, settings=settings, as_of=AS_OF
        )
        calm = facility_risk.facility_risk(
            session, quiet, actor=SYSTEM, settings=settings, as_of=AS_OF
        )
    parts = {p.name: p for p in risk.parts}
    assert risk.month == date(2025, 4, 1)
    assert parts["recent_incidents"].detail == {
        "within_1_km": 2, "within_5_km": 0, "within_25_km": 1, "days": 90,
    }  # fmt: skip
    assert parts["recent_incidents"].value == pytest.approx(1 - math.exp(-2.05), abs=1e-4)
    assert parts["notified_sites_struck"].value == 1.0
    assert parts["status"].value == 1.0 and parts["status"].detail["status"] == "not_functioning"
    forecast_part = parts["forecast"]
    assert 0 < forecast_part.value <= 1
    assert forecast_part.detail["method"] in {"model", "conflictology", "decayed"}
    expected = sum(facility_risk.WEIGHTS[n] * parts[n].value for n in facility_risk.WEIGHTS)
    assert risk.score == pytest.approx(expected, abs=1e-3)
    assert all(p.contribution == pytest.approx(p.value * p.weight, abs=1e-4) for p in risk.parts)
    assert risk.above_threshold
    assert calm.score < risk.score
    assert {p.name: p.value for p in calm.parts}["recent_incidents"] == 0.0


def test_threshold_raises_one_alert_a_month_to_the_party(db: Database, settings: Settings) -> None:
    site, quiet = _scene(db, settings)
    raised = db.write(lambda s: facility_risk.raise_alerts(s, settings, as_of=AS_OF))
    assert [r.facility_id for r in raised] == [site]  # the quiet clinic stays below
    assert db.write(lambda s: facility_risk.raise_alerts(s, settings, as_of=AS_OF)) == []
    strict = settings.model_copy(update={"facility_risk_alert_threshold": 1.0})
    later = date(2025, 4, 30)
    assert db.write(lambda s: facility_risk.raise_alerts(s, strict, as_of=later)) == []
    with db.read() as session:
        stored = session.scalars(select(FacilityRiskAlertRow)).all()
        assert [(a.facility_id, a.month) for a in stored] == [(site, "2025-04")]
        assert set(stored[0].parts) == set(facility_risk.WEIGHTS)
        queued = session.scalars(
            select(OutboxRow).where(OutboxRow.message_key == f"facility-risk:{stored[0].id}")
        ).all()
        assert [(q.recipient.split(":")[0], q.channel) for q in queued] == [("party", "email")]
        assert "incident" not in queued[0].body  # no incident details leave Haven
        audited = session.scalar(
            select(func.count()).where(AuditEventRow.action == "facility_risk.alert")
        )
        assert audited == 1
    assert quiet != site


def test_facility_risk_api_shows_the_parts(
    *, client: TestClient, db: Database, settings: Settings
) -> None:
    site, _ = _scene(db, settings)
    token = make_token(db, "risk-analyst")
    auth = {"Authorization": f"Bearer {token}"}
    one = client.get(
        f"/api/forecast/facilities/{site}", params={"as_of": "2025-03-31"}, headers=auth
    )
    assert one.status_code == 200
    assert [p["name"] for p in one.json()["parts"]] == list(facility_risk.WEIGHTS)
    listed = client.get("/api/forecast/facilities", params={"as_of": "2025-03-31"}, headers=auth)
    assert listed.status_code == 200
    assert listed.json()[0]["facility_id"] == site  # highest score first
    assert client.get("/api/forecast/facilities/999999", headers=auth).status_code == 404
    drill = client.get(
        f"/api/forecast/facilities/{site}",
        params={"as_of": "2025-03-31", "exercise": "true"},
        headers=auth,
    )
    parts = {p["name"]: p["value"] for p in drill.json()["parts"]}
    assert drill.json()["exercise"] and parts["recent_incidents"] == 0.0  # real data kept out


def test_an_actor_limited_to_countries_sees_only_their_facilities_risk(
    db: Database, settings: Settings
) -> None:
    site, _ = _scene(db, settings)  # both clinics are in PSE
    elsewhere = Actor("fictional-focal-point", Role.ANALYST, countries=frozenset({"YEM"}))
    local = Actor("fictional-gaza-analyst", Role.ANALYST, countries=frozenset({"PSE"}))
    with db.read() as session:
        assert facility_risk.list_risks(session, settings, actor=elsewhere, as_of=AS_OF) == []
        with pytest.raises(NotFound):
            facility_risk.facility_risk(
                session, site, actor=elsewhere, settings=settings, as_of=AS_OF
            )
        seen = facility_risk.list_risks(session, settings, actor=local, as_of=AS_OF)
        assert site in {r.facility_id for r in seen}
        one = facility_risk.facility_risk(
            session, site, actor=local, settings=settings, as_of=AS_OF
        )
        assert one.facility_id == site
