"""The public risk assessment: rendered for a real country-period of the WHO SSA export through
``haven report``, PDF text checked against counts taken from the file, byte-identical on
re-rendering, and built from the release only."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import delete

from haven import demo_release, releases, risk_report
from haven.accounts import SYSTEM
from haven.db import Database, open_database
from haven.errors import InvalidInput, NotFound
from haven.importers import run_import
from haven.models import CaseIncidentRow, IncidentAttackTypeRow, IncidentRow, VerificationNoteRow
from haven.release_policy import ReleasePolicy
from haven.settings import Settings
from tests.support.imports import WHO_SSA
from tests.support.indicators import build_scenario
from tests.support.releases import People, add_people, publish

HAVEN = Path(sys.executable).parent / "haven"
COUNTRY, PERIOD = "SDN", "2023-Q2"
"""Sudan, April to June 2023 (the first months of the war): 50 incidents in the WHO SSA export."""


def _sudan_2023(datasets: Path, target: Path) -> list[dict[str, str]]:
    """The Sudan rows of 2023 from the WHO SSA export, written as a CSV slice; the rows."""
    with (datasets / WHO_SSA).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    country, day = header.index("Country / Territory"), header.index("Attack Date")
    kept = [r for r in rows[1:] if r[country] == "Sudan" and r[day].split("/")[2][:2] == "23"]
    with target.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([header, *kept])
    return [dict(zip(header, r, strict=True)) for r in kept]


def _month(row: dict[str, str]) -> str:
    return datetime.strptime(row["Attack Date"].split()[0], "%m/%d/%y").strftime("%Y-%m")


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


@pytest.fixture
def people(db: Database) -> People:
    return add_people(db)


def test_real_country_period_renders_from_the_release_through_the_command(
    *, datasets: Path, sqlite_settings: Settings, tmp_path: Path
) -> None:
    rows = _sudan_2023(datasets, tmp_path / "sudan-2023.csv")
    in_period = [r for r in rows if _month(r) in ("2023-04", "2023-05", "2023-06")]
    by_month = Counter(_month(r) for r in in_period)
    killed = sum(int(float(r["Total Death"] or 0)) for r in in_period)
    injured = sum(int(float(r["Total Injured"] or 0)) for r in in_period)
    db = open_database(sqlite_settings)
    try:
        summary = run_import(db, "who_ssa", tmp_path / "sudan-2023.csv", actor=SYSTEM)
        assert (summary.imported, summary.merged, summary.rejected) == (len(rows), 0, 0)
        version = publish(db, ReleasePolicy(k=3), people=add_people(db), title="Sudan 2023")
    finally:
        db.close()
    out = tmp_path / "reports"
    args = ["--data-dir", str(tmp_path), "report", "--country", COUNTRY, "--period", PERIOD]
    done = subprocess.run(
        [str(HAVEN), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    stem = f"risk-assessment-{COUNTRY}-{PERIOD}-release-{version}"
    html, pdf = out / f"{stem}.html", out / f"{stem}.pdf"
    assert done.stdout.split() == [str(html), str(pdf)]
    text = _pdf_text(pdf)
    assert f"Incidents in the period: {len(in_period)} " in text
    assert f"People killed: {killed}; injured: {injured}." in text
    for month, count in by_month.items():
        assert f"{month} {count} " in text  # the monthly table: month, count, band
    assert "World Health Organization, Surveillance System for Attacks on Health Care" in text
    assert f"Sudan (SDN), {PERIOD}" in text
    page = html.read_text(encoding="utf-8")
    assert f"<strong>{len(in_period)}</strong>" in page
    first_html, first_pdf = html.read_bytes(), pdf.read_bytes()
    again = subprocess.run(
        [str(HAVEN), *args, "--out", str(out), "--release", str(version)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert html.read_bytes() == first_html and pdf.read_bytes() == first_pdf
    metadata = PdfReader(pdf).metadata
    assert metadata is not None and metadata.creation_date is not None


def test_the_same_release_gives_the_same_bytes_whatever_changes_live(
    db: Database, people: People
) -> None:
    build_scenario(db)
    publish(db, ReleasePolicy(k=1, spatial="h3:5"), people=people)
    with db.read() as session:
        first = risk_report.render(risk_report.assess(session, country="SDN", period="2024-Q1"))

    def wipe(session: object) -> None:
        for table in (VerificationNoteRow, CaseIncidentRow, IncidentAttackTypeRow, IncidentRow):
            session.execute(delete(table))  # type: ignore[attr-defined]

    db.write(wipe)
    with db.read() as session:
        second = risk_report.render(risk_report.assess(session, country="SDN", period="2024-Q1"))
    assert second.html == first.html
    assert second.pdf == first.pdf
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(first.pdf)).pages)
    assert "Incidents in the period: 6 " in text
    assert "Struck a site notified to a party beforehand 17 % (1 of 6;" in text
    assert "With an opened investigation 33 % (2 of 6;" in text


def test_areas_are_never_finer_than_resolution_five(db: Database, people: People) -> None:
    build_scenario(db)
    publish(db, ReleasePolicy(k=1, spatial="h3:7"), people=people)
    with db.read() as session:
        found = risk_report.assess(session, country="SDN", period="2024-Q1")
    assert found.area_level == "h3:5"
    cells = [a.area.removeprefix("H3 ") for a in found.areas if a.area.startswith("H3 ")]
    assert cells, "the located incident F should give one cell"
    import h3  # noqa: PLC0415

    assert all(h3.get_resolution(c) <= 5 for c in cells)
    assert all(h3.get_resolution(c) <= 5 for c in found.map_cells)
    assert sum(a.incidents for a in found.areas) == 6


def test_bad_requests_are_clear(db: Database, people: People) -> None:
    with db.read() as session, pytest.raises(NotFound):
        risk_report.assess(session, country="SDN", period="2024-Q1")
    build_scenario(db)
    publish(db, ReleasePolicy(k=1), people=people)
    with db.read() as session:
        with pytest.raises(InvalidInput) as caught:
            risk_report.assess(session, country="SDN", period="2024-Q7")
        assert "period" in caught.value.fields
        with pytest.raises(NotFound):
            risk_report.assess(session, country="SDN", period="2024-Q1", version=99)


def test_the_demo_release_is_made_once_by_two_people(
    db: Database, *, settings: Settings, tmp_path: Path
) -> None:
    from haven import demo, sessions  # noqa: PLC0415

    demo.ensure_demo_token(db, token_file=tmp_path / "token.txt")
    demo.ensure_demo_people(
        db,
        credentials_file=tmp_path / "credentials.txt",
        hasher=sessions.password_hasher(
            settings.model_copy(update={"argon2_time_cost": 1, "argon2_memory_kib": 64})
        ),
    )
    build_scenario(db)
    first = db.write(lambda s: demo_release.ensure_demo_release(s, countries=("SDN",)))
    again = db.write(lambda s: demo_release.ensure_demo_release(s, countries=("SDN",)))
    assert first == again == 1
    with db.read() as session:
        made = releases.get(session, first, actor=SYSTEM)
        found = risk_report.assess(session, country="SDN", period="2024-Q1")
    assert made.status is releases.ReleaseStatus.PUBLISHED
    assert (made.created_by, made.approved_by) == ("demo-analyst", "demo-coordinator")
    assert made.policy.countries == ("SDN",)
    assert found.indicators.total == 6  # the suppressed months sum to the whole release
