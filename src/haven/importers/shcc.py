"""Insecurity Insight / SHCC attacks on health care (XLSX or CSV), mapped through its schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from haven.importers.base import Importer, count, day, text
from haven.importers.files import RawRow, Table, read_table, refuse, require_columns
from haven.importers.insecurity_insight import (
    event_id,
    nonzero,
    schema_columns,
    shared_facts,
)
from haven.taxonomy import (
    SHCC_CASUALTY_COLUMNS,
    CasualtyGroup,
    CasualtyOutcome,
    ContextFlag,
    DatePrecision,
    ShccIndicator,
    SourceType,
    resources_from_shcc,
    ssa_attack_types_from_shcc,
)

__all__ = ["SHCC_HEADER_ALIASES", "ShccImporter"]

DATASET = "insecurity-insight-healthcare-incidents"
"""The schema's name for the health-care incident data."""

SHCC_HEADER_ALIASES = {"Location": "Location of Incident", "SIND Event ID": "SiND Event ID"}
"""Header spellings of the published files → the schema's column names."""

REQUIRED = ("Date", "Country ISO", "Weapon Carried/Used", "SiND Event ID")

FLAG_COLUMNS: dict[str, ContextFlag] = {
    "COVID-19-Related Violence": ContextFlag.EPIDEMIC_RESPONSE,
    "Ebola-Related Violence": ContextFlag.EPIDEMIC_RESPONSE,
    "Vaccination-Related Violence": ContextFlag.VACCINATION_CAMPAIGN,
}
"""Yes/no columns that set a context flag (a value other than ``NotApplicable`` means yes)."""

_INDICATORS = [i.value for i in ShccIndicator]


class ShccImporter(Importer):
    """The 35-column 2016–2023 file and the wider SHCC formats (mapped by header name)."""

    format: ClassVar[str] = "shcc"
    source_name: ClassVar[str] = "Insecurity Insight / SHCC attacks on health care"
    source_type: ClassVar[SourceType | None] = SourceType.SECONDARY
    source_url: ClassVar[str | None] = "https://insecurityinsight.org/"
    description: ClassVar[str] = "Insecurity Insight / SHCC attacks on health care XLSX or CSV"

    _table: Table

    def check_file(self) -> None:
        table = read_table(self.path)
        header = [SHCC_HEADER_ALIASES.get(h, h) for h in table.header]
        require_columns(
            self.path, header, required=REQUIRED, what="an SHCC attacks-on-health-care file"
        )
        known = {name for name, _tags in schema_columns(DATASET)}
        if not any(h in known and h in _INDICATORS for h in header):
            raise refuse(self.path, "no SHCC indicator column: not an SHCC file", where="header")
        renamed = dict(zip(table.header, header, strict=True))
        rows = [
            RawRow(r.number, {renamed.get(k, k): v for k, v in r.values.items()})
            for r in table.rows
        ]
        self._table = Table(header, rows)

    def rows(self) -> Iterator[RawRow]:
        return iter(self._table.rows)

    def row_key(self, row: RawRow) -> str:
        return event_id(row)

    def facts(self, row: RawRow) -> dict[str, Any]:
        indicators = nonzero(row, _INDICATORS)
        flags = [
            flag
            for column, flag in FLAG_COLUMNS.items()
            if (text(row, column) or "NotApplicable") != "NotApplicable"
        ]
        shared = shared_facts(row, location_column="Location of Incident")
        return {
            **shared,
            "occurred_at": day(row.values.get("Date"), column="Date"),
            "date_precision": DatePrecision.DAY,
            "attack_types": ssa_attack_types_from_shcc(
                text(row, "Weapon Carried/Used") or "", indicators=indicators
            ),
            "resources": resources_from_shcc(indicators),
            "casualties": _casualties(row),
            "context_flags": [*shared["context_flags"], *flags],
        }


def _casualties(row: RawRow) -> dict[CasualtyGroup, dict[CasualtyOutcome, int]]:
    found: dict[CasualtyGroup, dict[CasualtyOutcome, int]] = {}
    for column, (group, outcome) in SHCC_CASUALTY_COLUMNS.items():
        if column in row.values and (n := count(row, column)):
            found.setdefault(group, {})[outcome] = n
    return found
