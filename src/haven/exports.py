"""Public exports of a published release: CSV with an HXL hashtag row, GeoJSON and XLSX.

Every function takes a ``PublicContent`` (public models only, from
``releases.public_content``), so an export can hold nothing that the release
does not publish. Columns follow the release's policy: a field the policy does
not publish has no column. Multi-valued cells (attack types, resources,
weapons) are joined with ``"; "`` because the WHO SSA attack-type labels
contain commas. Text that a spreadsheet would run as a formula is defused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from haven.releases import PublicContent

__all__ = [
    "CELL_COLUMNS",
    "INCIDENT_COLUMNS",
    "Column",
    "Export",
    "ExportFormat",
    "ExportTable",
    "cell_columns",
    "export",
    "incident_columns",
    "to_csv",
    "to_geojson",
    "to_xlsx",
]


class ExportFormat(StrEnum):
    """The public export formats."""

    CSV = "csv"
    GEOJSON = "geojson"
    XLSX = "xlsx"


class ExportTable(StrEnum):
    """Which table a CSV export holds (an XLSX export holds both)."""

    INCIDENTS = "incidents"
    AGGREGATES = "aggregates"


@dataclass(frozen=True, slots=True)
class Column:
    """One export column: the public key it comes from, its header and its HXL hashtag."""

    key: str
    header: str
    hxl: str


INCIDENT_COLUMNS: tuple[Column, ...] = (
    Column("n", "n", "#meta+row"),
    Column("country", "country", "#country+code"),
    Column("period", "period", "#date+period"),
    Column("period_start", "period_start", "#date+start"),
    Column("period_end", "period_end", "#date+end"),
    Column("admin1", "admin1", "#adm1+name"),
    Column("h3_cell", "h3_cell", "#loc+code+h3"),
    Column("location", "lon", "#geo+lon"),
    Column("location", "lat", "#geo+lat"),
    Column("attack_types", "attack_types", "#event+type"),
    Column("resources", "resources", "#impact+type"),
    Column("facility_type", "facility_type", "#loc+type"),
    Column("killed", "killed", "#affected+killed"),
    Column("injured", "injured", "#affected+injured"),
    Column("certainty", "certainty", "#status+certainty"),
    Column("perpetrator_category", "perpetrator_category", "#group+perp"),
    Column("weapons", "weapons", "#event+means"),
)
"""Every column an incident table can have, in order; a policy keeps the ones it publishes."""

CELL_COLUMNS: tuple[Column, ...] = (
    Column("country", "country", "#country+code"),
    Column("period", "period", "#date+period"),
    Column("period_start", "period_start", "#date+start"),
    Column("period_end", "period_end", "#date+end"),
    Column("attack_type", "attack_type", "#event+type"),
    Column("incidents", "incidents", "#event+num"),
    Column("killed", "killed", "#affected+killed"),
    Column("injured", "injured", "#affected+injured"),
    Column("suppressed", "suppressed", "#meta+suppressed"),
)
"""Every column an aggregate table can have. An empty period or attack type marks a total."""


def incident_columns(content: PublicContent) -> list[Column]:
    """The incident columns this release publishes."""
    keys = content.release.policy.incident_fields()
    return [c for c in INCIDENT_COLUMNS if c.key in keys]


def cell_columns(content: PublicContent) -> list[Column]:
    """The aggregate columns this release publishes."""
    keys = content.release.policy.cell_fields()
    return [c for c in CELL_COLUMNS if c.key in keys]


def _value(data: Mapping[str, Any], column: Column) -> Any:
    """The cell value of ``column`` in a public row (``None`` when empty)."""
    value = data.get(column.key)
    if column.key == "location":
        return value[column.header] if isinstance(value, dict) else None
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defused(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _table(content: PublicContent, table: ExportTable) -> tuple[list[Column], list[dict[str, Any]]]:
    if table is ExportTable.INCIDENTS:
        return incident_columns(content), [r.public_dict() for r in content.incidents]
    return cell_columns(content), [c.public_dict() for c in content.cells]


def to_csv(content: PublicContent, *, table: ExportTable = ExportTable.INCIDENTS) -> str:
    """One table as CSV: a header row, then the HXL hashtag row, then the data."""
    columns, rows = _table(content, table)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.header for c in columns])
    writer.writerow([c.hxl for c in columns])
    for data in rows:
        writer.writerow(["" if (v := _defused(_value(data, c))) is None else v for c in columns])
    return out.getvalue()


def _release_member(content: PublicContent) -> dict[str, Any]:
    release = content.release
    return release.model_dump(
        mode="json",
        include={"version", "title", "published_at", "content_sha256", "epsilon", "policy"},
    )


def to_geojson(content: PublicContent) -> dict[str, Any]:
    """The incident rows as a GeoJSON FeatureCollection (RFC 7946, ``[lon, lat]``).

    A row has a point only when the policy publishes H3 cells: the point is the
    centre of the row's cell, never the incident's own location. Under a
    country or admin1 policy every geometry is null.
    """
    features = []
    for row in content.incidents:
        properties = row.public_dict()
        location = properties.pop("location", None)
        geometry = (
            {"type": "Point", "coordinates": [location["lon"], location["lat"]]}
            if location
            else None
        )
        features.append(
            {"type": "Feature", "id": row.n, "geometry": geometry, "properties": properties}
        )
    return {"type": "FeatureCollection", "release": _release_member(content), "features": features}


def _append(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> None:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # text, never a formula
        cells.append(cell)
    sheet.append(cells)


def _sheet(
    workbook: Workbook, *, title: str, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]
) -> None:
    sheet = workbook.create_sheet(title)
    _append(sheet, [c.header for c in columns])
    _append(sheet, [c.hxl for c in columns])
    for data in rows:
        _append(sheet, [_value(data, c) for c in columns])


def to_xlsx(content: PublicContent) -> bytes:
    """An XLSX workbook: ``incidents`` and ``aggregates`` sheets (header, HXL row, data) and
    an ``about`` sheet with the release's version, hash and policy."""
    workbook = Workbook(write_only=True)
    _sheet(
        workbook,
        title="incidents",
        columns=incident_columns(content),
        rows=(r.public_dict() for r in content.incidents),
    )
    _sheet(
        workbook,
        title="aggregates",
        columns=cell_columns(content),
        rows=(c.public_dict() for c in content.cells),
    )
    about = workbook.create_sheet("about")
    member = _release_member(content)
    for key in ("version", "title", "published_at", "content_sha256", "epsilon"):
        _append(about, [key, member[key]])
    _append(about, ["policy", orjson.dumps(member["policy"], option=orjson.OPT_SORT_KEYS).decode()])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Export:
    """A rendered export: its bytes, media type and a file name to offer."""

    data: bytes
    media_type: str
    filename: str


def export(
    content: PublicContent, *, fmt: ExportFormat, table: ExportTable = ExportTable.INCIDENTS
) -> Export:
    """Render a published release in ``fmt`` (CSV holds one ``table``)."""
    version = content.release.version
    if fmt is ExportFormat.CSV:
        suffix = "" if table is ExportTable.INCIDENTS else f"-{table.value}"
        return Export(
            to_csv(content, table=table).encode("utf-8"),
            "text/csv; charset=utf-8",
            f"haven-release-{version}{suffix}.csv",
        )
    if fmt is ExportFormat.GEOJSON:
        return Export(
            orjson.dumps(to_geojson(content)),
            "application/geo+json",
            f"haven-release-{version}.geojson",
        )
    return Export(
        to_xlsx(content),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"haven-release-{version}.xlsx",
    )
