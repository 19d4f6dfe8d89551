"""The real incident datasets import with a summary that matches the files; re-import is a no-op."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from haven import reports
from haven.accounts import SYSTEM
from haven.db import Database, open_database
from haven.importers import RowRejected, run_import
from haven.models import ImportRunRow, ReportRow
from haven.settings import Settings
from haven.taxonomy import Certainty, DatePrecision, SsaAttackType, Tlp
from tests.support.imports import DATASETS, count_rows, dataset_slice, table_counts


@pytest.mark.parametrize("fmt", sorted(DATASETS))
def test_whole_dataset_imports_with_counts_that_match_the_file(
    *, fmt: str, datasets: Path, sqlite_settings: Settings, tmp_path: Path
) -> None:
    path = datasets / DATASETS[fmt]
    rejects_file = tmp_path / "rejects.csv"
    db = open_database(sqlite_settings)
    try:
        summary = run_import(db, fmt, path, actor=SYSTEM, rejects_path=rejects_file)
        assert summary.rows_read == count_rows(fmt, path)
        assert summary.imported + summary.merged + summary.rejected == summary.rows_read
        assert (
            summary.rejected
            == len(summary.rejects)
            == len(rejects_file.read_text().splitlines()) - 1
        )
        assert summary.rejected < summary.rows_read / 100  # the data is good: few rejects
        counts = table_counts(db)
        assert counts["reports"] == counts["incidents"] == summary.imported
        again = run_import(db, fmt, path, actor=SYSTEM)
        assert (again.imported, again.merged, again.unchanged) == (0, 0, summary.imported)
        assert table_counts(db) == {**counts, "import_runs": counts["import_runs"] + 1}
    finally:
        db.close()


@pytest.mark.parametrize("fmt", sorted(DATASETS))
def test_slice_imports_and_reimport_changes_nothing(
    *, fmt: str, datasets: Path, db: Database, tmp_path: Path
) -> None:
    path = dataset_slice(fmt, datasets, tmp_path=tmp_path, rows=300)
    seen: list[tuple[int, int]] = []
    summary = run_import(db, fmt, path, actor=SYSTEM, progress=lambda d, t: seen.append((d, t)))
    assert summary.rows_read == 300
    assert summary.imported + summary.rejected == 300
    assert seen[-1] == (300 - summary.rejected, 300 - summary.rejected)
    before = table_counts(db)
    again = run_import(db, fmt, path, actor=SYSTEM)
    assert again.imported == 0
    assert again.unchanged == summary.imported
    assert table_counts(db) == {**before, "import_runs": before["import_runs"] + 1}
    with db.read() as session:
        run = session.get(ImportRunRow, summary.run_id)
        assert run is not None
        assert (run.rows_read, run.imported, run.rejected) == (
            300,
            summary.imported,
            summary.rejected,
        )
        numbered = session.scalar(
            select(func.count()).where(ReportRow.import_run_id == summary.run_id)
        )
        assert numbered == summary.imported


def _first_report(db: Database, fmt: str, *, path: Path) -> reports.Report:
    summary = run_import(db, fmt, path, actor=SYSTEM)
    with db.read() as session:
        report_id = session.scalar(
            select(ReportRow.id).where(
                ReportRow.import_run_id == summary.run_id, ReportRow.row_number == 1
            )
        )
    assert report_id is not None
    return db.write(lambda s: reports.get(s, report_id, actor=SYSTEM, purpose="import test"))


def test_who_ssa_row_keeps_certainty_attack_types_and_original(
    *, datasets: Path, db: Database, tmp_path: Path
) -> None:
    report = _first_report(
        db, "who_ssa", path=dataset_slice("who_ssa", datasets, tmp_path=tmp_path, rows=6)
    )
    assert report.source == "WHO Surveillance System for Attacks on Health Care"
    assert report.tlp is Tlp.CLEAR
    assert report.exercise is False
    assert report.facts["certainty"] == Certainty.CONFIRMED
    assert report.facts["country"] == "PSE"
    assert report.facts["attack_types"] == [SsaAttackType.INDIVIDUAL_WEAPONS.value]
    assert report.sensitive is not None and report.sensitive.original is not None
    assert report.sensitive.original["Attack ID"] == "oPt010355"


def test_who_ssa_multi_valued_attack_type_is_split(datasets: Path, tmp_path: Path) -> None:
    from haven.importers import importer_for  # noqa: PLC0415

    importer = importer_for(
        "who_ssa", dataset_slice("who_ssa", datasets, tmp_path=tmp_path, rows=6)
    )
    importer.check_file()
    sixth = importer.to_report(list(importer.rows())[5])
    assert sixth.attack_types == [SsaAttackType.PSYCHOLOGICAL_VIOLENCE, SsaAttackType.HEAVY_WEAPONS]


def test_awsd_partial_dates_become_date_precision(datasets: Path, tmp_path: Path) -> None:
    from haven.importers import importer_for  # noqa: PLC0415

    importer = importer_for("awsd", dataset_slice("awsd", datasets, tmp_path=tmp_path, rows=10))
    importer.check_file()
    rows = list(importer.rows())
    assert rows[0].values["Incident ID"] == "35"  # the HXL row was skipped
    by_id = {r.values["Incident ID"]: r for r in rows}
    assert importer.to_report(by_id["1"]).date_precision is DatePrecision.MONTH
    assert importer.to_report(by_id["5"]).date_precision is DatePrecision.DAY
    with pytest.raises(RowRejected) as rejected:
        importer.to_report(by_id["35"])  # known only to the year, and no country
    assert rejected.value.column == "Country"


def test_awsd_year_only_rows_have_year_precision(datasets: Path) -> None:
    from haven.importers import importer_for  # noqa: PLC0415

    importer = importer_for("awsd", datasets / DATASETS["awsd"])
    importer.check_file()
    row = next(r for r in importer.rows() if not r.values["Month"] and r.values["Country"])
    report = importer.to_report(row)
    assert report.date_precision is DatePrecision.YEAR
    assert report.occurred_at.month == report.occurred_at.day == 1


def test_awsd_reused_incident_id_gives_two_reports(datasets: Path) -> None:
    from haven.importers import importer_for  # noqa: PLC0415

    importer = importer_for("awsd", datasets / DATASETS["awsd"])
    importer.check_file()
    twins = [r for r in importer.rows() if r.values["Incident ID"] == "4664"]
    assert len(twins) == 2
    assert importer.report_id(twins[0]) != importer.report_id(twins[1])


def test_shcc_keeps_geo_precision(datasets: Path, tmp_path: Path) -> None:
    from haven.importers import importer_for  # noqa: PLC0415

    importer = importer_for("shcc", dataset_slice("shcc", datasets, tmp_path=tmp_path, rows=3))
    importer.check_file()
    first = importer.to_report(next(importer.rows()))
    assert first.geo_precision == 2
    assert first.country == "PSE"
    assert first.casualties == {"health_workers": {"killed": 1}}
