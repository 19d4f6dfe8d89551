"""Any HXL-tagged CSV (or XLSX): columns mapped by their HXL hashtags, not their names."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, ClassVar

import orjson

from haven.importers.base import (
    Importer,
    count,
    country,
    day,
    geo_precision,
    number,
    partial_date,
    point,
    text,
)
from haven.importers.files import (
    RawRow,
    is_hxl_row,
    is_xlsx,
    read_csv_table,
    read_xlsx_table,
    refuse,
)
from haven.reports import SourceIn
from haven.taxonomy import (
    CasualtyGroup,
    CasualtyOutcome,
    DatePrecision,
    SsaAttackType,
    parse_ssa_attack_types,
)

__all__ = ["HXL_FIELDS", "HxlImporter", "parse_hashtag"]

HXL_ROW_SEARCH = 25
"""The HXL standard lets the hashtag row be any of the first rows; Haven looks this far."""

HXL_FIELDS: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {
    "date": (("#date", frozenset({"occurred"})), ("#date", frozenset())),
    "year": (("#date", frozenset({"year"})),),
    "month": (("#date", frozenset({"month"})),),
    "day": (("#date", frozenset({"day"})),),
    "country_code": (("#country", frozenset({"code"})), ("#country", frozenset({"iso3"}))),
    "country": (("#country", frozenset()),),
    "lat": (("#geo", frozenset({"lat"})),),
    "lon": (("#geo", frozenset({"lon"})), ("#geo", frozenset({"long"}))),
    "precision": (("#geo", frozenset({"precision"})),),
    "admin1": (("#adm1", frozenset()),),
    "admin2": (("#adm2", frozenset()),),
    "location_name": (("#loc", frozenset({"name"})), ("#adm3", frozenset())),
    "id": (("#event", frozenset({"id"})),),
    "narrative": (("#description", frozenset()),),
    "attack_type": (("#event", frozenset({"type"})), ("#x_attack", frozenset({"type"}))),
    "killed": (("#affected", frozenset({"killed", "total"})), ("#affected", frozenset({"killed"}))),
    "injured": (
        ("#affected", frozenset({"injured", "total"})),
        ("#affected", frozenset({"injured"})),
    ),
}
"""Haven field → (hashtag, attributes it must have), most specific first."""

_EXCLUDE = frozenset({"national", "international", "m", "f", "i"})
_SPECIFIC = {"#date": frozenset({"year", "month", "day", "reported"})}


def parse_hashtag(tag: str) -> tuple[str, frozenset[str]]:
    """``"#affected +killed +total"`` → ``("#affected", {"killed", "total"})`` (lower case)."""
    parts = [p.strip().lower() for p in tag.split("+")]
    return parts[0], frozenset(p for p in parts[1:] if p)


def _columns(tags: dict[str, str]) -> dict[str, str]:
    """Haven field → the header of the first column whose hashtag matches."""
    parsed = {header: parse_hashtag(tag) for header, tag in tags.items() if tag}
    found: dict[str, str] = {}
    for name, wanted in HXL_FIELDS.items():
        for hashtag, attributes in wanted:
            for header, (tag, attrs) in parsed.items():
                extra = attrs - attributes
                if tag != hashtag or not attributes <= attrs or extra & _EXCLUDE:
                    continue
                if not attributes and extra & _SPECIFIC.get(tag, frozenset()):
                    continue
                found.setdefault(name, header)
            if name in found:
                break
    return found


class HxlImporter(Importer):
    """Rows of any HXL-tagged table; attack types read as WHO SSA labels when they are."""

    format: ClassVar[str] = "hxl"
    source_name: ClassVar[str] = "HXL dataset"
    description: ClassVar[str] = "any HXL-tagged CSV or XLSX, mapped by hashtag"

    _rows: list[RawRow]
    _map: dict[str, str]

    def check_file(self) -> None:
        table = (
            read_xlsx_table(self.path, skip_hxl=False)
            if is_xlsx(self.path)
            else read_csv_table(self.path, skip_hxl=False)
        )
        candidates = [RawRow(0, dict(zip(table.header, table.header, strict=True)))]
        candidates += table.rows[: HXL_ROW_SEARCH - 1]
        tag_row = next((r for r in candidates if is_hxl_row(list(r.values.values()))), None)
        if tag_row is None:
            raise refuse(self.path, "no HXL hashtag row in the first rows", where="header")
        tags = {h: str(v or "").strip() for h, v in tag_row.values.items()}
        self._map = _columns(tags)
        missing = [
            f for f in ("country", "date") if f not in self._map and f"{f}_code" not in self._map
        ]
        if "date" in missing and "year" in self._map:
            missing.remove("date")
        if missing:
            raise refuse(
                self.path,
                f"no column tagged for {', '.join(missing)} (e.g. #country+code, #date)",
                where="header",
            )
        after = tag_row.number
        self._rows = [RawRow(r.number - after, r.values) for r in table.rows if r.number > after]

    def rows(self) -> Iterator[RawRow]:
        return iter(self._rows)

    def source(self) -> SourceIn:
        """An HXL file names no dataset: the source is named after the file."""
        return super().source().model_copy(update={"name": f"HXL dataset {self.path.stem}"[:200]})

    def _cell(self, row: RawRow, field: str) -> str | None:
        column = self._map.get(field)
        return text(row, column) if column else None

    def row_key(self, row: RawRow) -> str:
        found = self._cell(row, "id")
        when = self._cell(row, "date") or "-".join(
            self._cell(row, f) or "" for f in ("year", "month", "day")
        )
        if found is None:
            digest = hashlib.sha256(
                orjson.dumps(row.values, default=str, option=orjson.OPT_SORT_KEYS)
            )
            return f"row:{digest.hexdigest()}"
        return f"{found}:{when}"

    def facts(self, row: RawRow) -> dict[str, Any]:
        cols = self._map
        if "date" in cols:
            occurred_at, precision = (
                day(row.values.get(cols["date"]), column=cols["date"]),
                DatePrecision.DAY,
            )
        else:
            parts = [number(row, cols[f]) if f in cols else None for f in ("year", "month", "day")]
            year, month, day_of_month = (int(p) if p is not None else None for p in parts)
            occurred_at, precision = partial_date(
                year,
                month,
                day_of_month=day_of_month,
                columns=[cols.get(f, f) for f in ("year", "month", "day")],
            )
        code_column = cols.get("country_code")
        code = text(row, code_column) if code_column else None
        name_column = cols.get("country", code_column or "country")
        iso3 = country(code or text(row, name_column), column=name_column)
        location = (
            point(row, lat=cols["lat"], lon=cols["lon"])
            if "lat" in cols and "lon" in cols
            else None
        )
        precision_cell = self._cell(row, "precision")
        casualties: dict[CasualtyGroup, dict[CasualtyOutcome, int]] = {}
        for field, outcome in (
            ("killed", CasualtyOutcome.KILLED),
            ("injured", CasualtyOutcome.INJURED),
        ):
            if field in cols and (n := count(row, cols[field])):
                casualties.setdefault(CasualtyGroup.OTHERS, {})[outcome] = n
        return {
            "occurred_at": occurred_at,
            "date_precision": precision,
            "country": iso3,
            "location": location,
            "geo_precision": (
                geo_precision(precision_cell, column=cols["precision"])
                if precision_cell and location
                else None
            ),
            "admin1": self._cell(row, "admin1"),
            "admin2": self._cell(row, "admin2"),
            "location_name": self._cell(row, "location_name"),
            "attack_types": _attack_types(self._cell(row, "attack_type")),
            "casualties": casualties,
            "narrative": self._cell(row, "narrative") or "",
        }


def _attack_types(cell: str | None) -> list[SsaAttackType]:
    """WHO SSA labels when the cell holds them; otherwise ``Unknown`` (the row keeps the text)."""
    if not cell:
        return [SsaAttackType.UNKNOWN]
    try:
        return parse_ssa_attack_types(cell) or [SsaAttackType.UNKNOWN]
    except ValueError:
        return [SsaAttackType.UNKNOWN]
