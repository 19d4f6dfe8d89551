"""Insecurity Insight aid workers killed, injured, kidnapped or arrested (KIKA), API JSON."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from haven.importers.base import Importer, count, day, text
from haven.importers.files import RawRow, read_json, refuse, require_columns
from haven.importers.insecurity_insight import event_id, shared_facts
from haven.taxonomy import (
    CasualtyGroup,
    CasualtyOutcome,
    DatePrecision,
    SourceType,
    SsaAttackType,
    SsaResource,
    ssa_attack_types_from_shcc,
)

__all__ = ["KikaImporter"]

REQUIRED = ("Date", "Country ISO", "Aid Workers Killed", "SiND Event ID")

OUTCOMES = {
    "Killed": CasualtyOutcome.KILLED,
    "Injured": CasualtyOutcome.INJURED,
    "Kidnapped": CasualtyOutcome.KIDNAPPED,
    "Arrested": CasualtyOutcome.ARRESTED,
}
"""KIKA count columns ``[National|International] Aid Workers <Outcome>``."""


class KikaImporter(Importer):
    """The KIKA API export: a JSON list of objects, one per incident."""

    format: ClassVar[str] = "kika"
    source_name: ClassVar[str] = "Insecurity Insight aid workers KIKA"
    source_type: ClassVar[SourceType | None] = SourceType.SECONDARY
    source_url: ClassVar[str | None] = "https://insecurityinsight.org/"
    description: ClassVar[str] = "Insecurity Insight aid workers killed/injured/kidnapped JSON"

    _rows: list[RawRow]

    def check_file(self) -> None:
        data = read_json(self.path)
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise refuse(self.path, "expected a JSON list of incident objects", where="file")
        self._rows = [RawRow(n, item) for n, item in enumerate(data, start=1)]
        if self._rows:
            header = list(self._rows[0].values)
            require_columns(self.path, header, required=REQUIRED, what="a KIKA aid-worker export")
        for row in self._rows:
            missing = [c for c in REQUIRED if c not in row.values]
            if missing:
                raise refuse(
                    self.path,
                    f"row {row.number} lacks {missing[0]!r}: not a KIKA record",
                    where=f"row {row.number}, column {missing[0]}",
                )

    def rows(self) -> Iterator[RawRow]:
        return iter(self._rows)

    def row_key(self, row: RawRow) -> str:
        return event_id(row)

    def facts(self, row: RawRow) -> dict[str, Any]:
        casualties = _casualties(row)
        types = ssa_attack_types_from_shcc(text(row, "Weapon Carried/Used") or "")
        held = any(
            CasualtyOutcome.KIDNAPPED in by or CasualtyOutcome.ARRESTED in by
            for by in casualties.values()
        )
        if held:
            types = [t for t in types if t is not SsaAttackType.OTHER]
            types.append(SsaAttackType.ABDUCTION_ARREST_DETENTION)
        health = (text(row, "Programme Focus") or "").casefold() == "health"
        return {
            **shared_facts(row, location_column="Location of Incident"),
            "occurred_at": day(row.values.get("Date"), column="Date"),
            "date_precision": DatePrecision.DAY,
            "attack_types": types or [SsaAttackType.UNKNOWN],
            "resources": [SsaResource.PERSONNEL] if health else [],
            "casualties": casualties,
        }


def _casualties(row: RawRow) -> dict[CasualtyGroup, dict[CasualtyOutcome, int]]:
    """National and international counts; the rest of the total (nationality unknown): others."""
    found: dict[CasualtyGroup, dict[CasualtyOutcome, int]] = {}
    for label, outcome in OUTCOMES.items():
        national = count(row, f"National Aid Workers {label}")
        international = count(row, f"International Aid Workers {label}")
        rest = count(row, f"Aid Workers {label}") - national - international
        for group, n in (
            (CasualtyGroup.AID_WORKERS_NATIONAL, national),
            (CasualtyGroup.AID_WORKERS_INTERNATIONAL, international),
            (CasualtyGroup.OTHERS, rest),
        ):
            if n > 0:
                found.setdefault(group, {})[outcome] = n
    return found
