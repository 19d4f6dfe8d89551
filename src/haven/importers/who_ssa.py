"""The WHO Surveillance System for Attacks on Health Care (SSA) public export, CSV or XLSX."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any, ClassVar

from haven.importers.base import Importer, RowRejected, count, country, text
from haven.importers.files import RawRow, Table, read_table, require_columns
from haven.taxonomy import (
    SSA_CASUALTY_COLUMNS,
    CasualtyGroup,
    CasualtyOutcome,
    Certainty,
    DatePrecision,
    SsaFacilityType,
    parse_ssa_attack_types,
    ssa_resources_from_row,
)

__all__ = ["WhoSsaImporter"]

REQUIRED = ("Attack ID", "Attack Date", "Country / Territory", "Certainty Level", "Attack Type")

_TIME = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")
_DATE_FORMATS = ("%m/%d/%y %I:%M %p", "%m/%d/%Y %I:%M %p", "%m/%d/%y", "%m/%d/%Y", "%Y-%m-%d")


def _attack_date(row: RawRow) -> datetime:
    value = row.values.get("Attack Date")
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    cell = (text(row, "Attack Date") or "").strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cell, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise RowRejected("Attack Date", f"{cell!r} is not a date (M/D/YY)")


def _when(row: RawRow) -> tuple[datetime, DatePrecision]:
    """The date, and the exact time when ``Attack Time`` is ``HH:MM`` rather than a bin."""
    occurred = _attack_date(row)
    match = _TIME.match(text(row, "Attack Time") or "")
    if match is None:
        return occurred, DatePrecision.DAY
    clock = time(int(match.group(1)), int(match.group(2)))
    return datetime.combine(occurred.date(), clock, tzinfo=UTC), DatePrecision.EXACT


def _casualties(row: RawRow) -> dict[CasualtyGroup, dict[CasualtyOutcome, int]]:
    """Grouped SSA counts; ``Total Death`` and ``Total Injured`` name no group: others."""
    found: dict[CasualtyGroup, dict[CasualtyOutcome, int]] = {}
    columns = {
        **SSA_CASUALTY_COLUMNS,
        "Total Death": (CasualtyGroup.OTHERS, CasualtyOutcome.KILLED),
        "Total Injured": (CasualtyGroup.OTHERS, CasualtyOutcome.INJURED),
    }
    for column, (group, outcome) in columns.items():
        if column in row.values and (n := count(row, column)):
            found.setdefault(group, {})[outcome] = n
    return found


class WhoSsaImporter(Importer):
    """WHO SSA export rows: multi-valued ``Attack Type`` split; SSA certainty kept."""

    format: ClassVar[str] = "who_ssa"
    source_name: ClassVar[str] = "WHO Surveillance System for Attacks on Health Care"
    source_url: ClassVar[str | None] = "https://extranet.who.int/ssa/"
    description: ClassVar[str] = "WHO SSA public export, CSV or XLSX"

    _table: Table

    def check_file(self) -> None:
        self._table = read_table(self.path)
        require_columns(self.path, self._table.header, required=REQUIRED, what="a WHO SSA export")

    def rows(self) -> Iterator[RawRow]:
        return iter(self._table.rows)

    def row_key(self, row: RawRow) -> str:
        found = text(row, "Attack ID")
        if found is None:
            raise RowRejected("Attack ID", "no attack id")
        return found

    def facts(self, row: RawRow) -> dict[str, Any]:
        occurred_at, precision = _when(row)
        try:
            attack_types = parse_ssa_attack_types(text(row, "Attack Type") or "")
        except ValueError as exc:
            raise RowRejected("Attack Type", str(exc)) from None
        if not attack_types:
            raise RowRejected("Attack Type", "no attack type")
        certainty = Certainty._find(text(row, "Certainty Level"))
        if certainty is None:
            raise RowRejected("Certainty Level", f"unknown {text(row, 'Certainty Level')!r}")
        return {
            "occurred_at": occurred_at,
            "date_precision": precision,
            "country": country(text(row, "Country / Territory"), column="Country / Territory"),
            "attack_types": attack_types,
            "resources": ssa_resources_from_row(
                {k: text(row, k) for k in row.values if k.startswith("HC ")}
            ),
            "facility_type": SsaFacilityType._find(text(row, "Type of Facility")),
            "casualties": _casualties(row),
            "certainty": certainty,
        }
