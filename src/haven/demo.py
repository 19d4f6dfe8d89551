"""The demo instance: real Gaza hospitals plus a small EXERCISE scenario, clearly labelled."""

from __future__ import annotations

import os
import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import (
    accountability_demo,
    accounts,
    corridor_demo,
    evidence,
    facilities,
    facility_status,
    notifications,
    package,
    reports,
)
from haven.accounts import SYSTEM, Role
from haven.db import Database
from haven.errors import NotAuthenticated
from haven.facts import Point
from haven.models import FacilityRow, UserRow
from haven.routing import demo as routing_demo
from haven.settings import Settings
from haven.taxonomy import (
    CasualtyGroup,
    CasualtyOutcome,
    Certainty,
    Sensitivity,
    SsaAttackType,
    SsaFacilityType,
    SsaResource,
    Tlp,
)

__all__ = ["DEMO_USER", "DemoSummary", "ensure_demo_token", "exercise_reports", "load"]

DEMO_USER = "demo-analyst"
DEMO_ORG = "Haven demo (EXERCISE)"
HOSPITALS_SOURCE = "Gaza hospitals (OCHA oPt / Ministry of Health lists)"
EXERCISE_SOURCE = "EXERCISE scenario generator"
EXERCISE_NAMESPACE = uuid.UUID("6b1d3c1e-2f0a-4c8e-9a57-0e0e0e0e0e0e")
EXERCISE_REPORTS = 12
EXERCISE_START = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class DemoSummary:
    """What loading the demo did."""

    facilities_added: int
    facilities_unchanged: int
    reports_added: int
    reports_unchanged: int


def exercise_reports(
    hospitals: list[tuple[int, str, Point]], *, seed: int
) -> list[reports.ReportIn]:
    """A deterministic EXERCISE scenario of attacks near the given hospitals.

    Every report is flagged ``exercise`` and its narrative starts with "EXERCISE";
    names in it are obviously fictional. Same seed, same reports (so re-loading
    the demo is a no-op).
    """
    rng = random.Random(seed)
    attack_types = [
        t for t in SsaAttackType if t not in {SsaAttackType.OTHER, SsaAttackType.UNKNOWN}
    ]
    resources = [
        SsaResource.FACILITY,
        SsaResource.PERSONNEL,
        SsaResource.PATIENTS,
        SsaResource.TRANSPORT,
    ]
    made: list[reports.ReportIn] = []
    for index in range(EXERCISE_REPORTS):
        facility_id, name, point = hospitals[rng.randrange(len(hospitals))]
        jitter = Point(
            lon=round(point.lon + rng.uniform(-0.002, 0.002), 6),
            lat=round(point.lat + rng.uniform(-0.002, 0.002), 6),
        )
        made.append(
            reports.ReportIn(
                id=uuid.uuid5(EXERCISE_NAMESPACE, f"{seed}-{index}"),
                source=reports.SourceIn(name=EXERCISE_SOURCE, kind=reports.SourceKind.OTHER),
                exercise=True,
                occurred_at=EXERCISE_START + timedelta(days=3 * index, hours=rng.randrange(18)),
                location=jitter,
                country="PSE",
                location_name=f"near {name} (EXERCISE)",
                facility_id=facility_id,
                facility_type=SsaFacilityType.SECONDARY,
                attack_types=rng.sample(attack_types, k=rng.choice([1, 1, 2])),
                resources=rng.sample(resources, k=rng.choice([1, 2])),
                casualties={
                    CasualtyGroup.HEALTH_WORKERS: {CasualtyOutcome.INJURED: rng.randrange(4)},
                    CasualtyGroup.PATIENTS: {CasualtyOutcome.KILLED: rng.randrange(3)},
                },
                narrative=(
                    f"EXERCISE - not a real event. Simulated report {index + 1} by the fictional "
                    f"nurse 'Exercise Reporter {chr(65 + index)}' for training verifiers."
                ),
                certainty=rng.choice([None, Certainty.POSSIBLE, Certainty.PROBABLE]),
                sensitivity=Sensitivity.MODERATE,
                tlp=Tlp.GREEN,
            )
        )
    return made


def load(
    db: Database, *, datasets: Path, seed: int, settings: Settings | None = None
) -> DemoSummary:
    """Load the Gaza hospitals and the EXERCISE reports; running it again changes nothing.

    With ``settings``, the first exercise incident also gets a generated EXERCISE image
    as evidence, and its thumbnail (``haven.evidence.add_demo_evidence``); it is then
    published and packaged for investigators (``haven.package.add_demo_package``).
    """
    hospitals_file = datasets / "gaza_hospitals.geojson"
    loaded = db.write(
        lambda s: facilities.load_geojson(
            s,
            hospitals_file,
            source_name=HOSPITALS_SOURCE,
            country="PSE",
            facility_type=SsaFacilityType.SECONDARY.value,
            actor=SYSTEM,
        )
    )
    with db.read() as session:
        rows = session.execute(
            select(FacilityRow.id, FacilityRow.name, FacilityRow.lon, FacilityRow.lat)
            .where(FacilityRow.external_id.startswith(HOSPITALS_SOURCE + ":"))
            .order_by(FacilityRow.id)
        ).all()
    hospitals = [(r.id, r.name, Point(lon=r.lon, lat=r.lat)) for r in rows]
    scenario = exercise_reports(hospitals, seed=seed)

    def submit_all(session: Session) -> list[reports.ReportReceipt]:
        return [reports.submit(session, r, actor=SYSTEM) for r in scenario]

    receipts = db.write(submit_all)
    if settings is not None and receipts:
        evidence.add_demo_evidence(
            db,
            receipts[0].incident_id,
            settings=settings,
            taken_at=scenario[0].occurred_at + timedelta(minutes=20),
            actor=SYSTEM,
        )
        package.add_demo_package(db, receipts[0].incident_id, settings=settings)
    facility_status.load_demo_exercise(db, seed=seed)
    notifications.load_demo(db, settings=settings)
    accountability_demo.load_demo(db, organisation=DEMO_ORG)
    routing_demo.load_demo(db, settings=settings, datasets=datasets)
    corridor_demo.load_demo(db, settings=settings, datasets=datasets)
    added = sum(r.created for r in receipts)
    return DemoSummary(
        facilities_added=loaded.added,
        facilities_unchanged=loaded.unchanged,
        reports_added=added,
        reports_unchanged=len(receipts) - added,
    )


def ensure_demo_token(db: Database, *, token_file: Path) -> str:
    """The demo analyst's API token: the one in ``token_file`` if still valid, else a new one."""
    if token_file.exists():
        kept = token_file.read_text(encoding="utf-8").strip()
        try:
            with db.read() as session:
                accounts.authenticate_token(session, kept)
            return kept
        except NotAuthenticated:
            pass

    def make(session: Session) -> str:
        if session.scalar(select(UserRow.id).where(UserRow.username == DEMO_USER)) is None:
            accounts.add_user(
                session,
                DEMO_USER,
                role=Role.ANALYST,
                organisation=DEMO_ORG,
                password=None,
                actor=SYSTEM,
            )
        return accounts.create_token(session, DEMO_USER, name="demo", actor=SYSTEM)

    token = db.write(make)
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    return token


DEMO_PEOPLE = {
    "demo-verifier": Role.VERIFIER,
    "demo-coordinator": Role.COORDINATOR,
}
"""Demo users who sign in with a password (kept in DATA_DIR/demo-credentials.txt)."""


def ensure_demo_people(db: Database, *, credentials_file: Path, hasher: PasswordHasher) -> None:
    """Create the demo verifier and coordinator with random passwords, once.

    The passwords are written to ``credentials_file`` (mode 0600) and nowhere else;
    running the demo again keeps them.
    """
    if credentials_file.exists():
        return
    passwords = {name: secrets.token_urlsafe(12) for name in DEMO_PEOPLE}

    def make(session: Session) -> None:
        for name, role in DEMO_PEOPLE.items():
            if session.scalar(select(UserRow.id).where(UserRow.username == name)) is None:
                accounts.add_user(
                    session,
                    name,
                    role=role,
                    organisation=DEMO_ORG,
                    password=passwords[name],
                    actor=SYSTEM,
                    hasher=hasher,
                )

    db.write(make)
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for name, password in passwords.items():
            handle.write(f"{name} {password}\n")
