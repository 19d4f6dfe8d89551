"""The public risk assessment of one country and period, built from one published release only.

``assess`` gathers what the report says: the release's indicators
(``haven.indicators.public``), facility risk by area (the release's published
admin1 names or H3 cells coarsened to resolution 5 or coarser, never a finer
place), the hotspot cells, notification compliance and the data sources with
their attribution. ``render`` turns it into a self-contained HTML page (figures
embedded) and a PDF (``haven.report_pdf``). Nothing reads a live record, and
every date shown is the release's own, so one release always gives
byte-identical files.
"""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import h3
import pycountry
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from haven import indicators, report_figures
from haven.indicator_release import choose_release
from haven.indicator_scope import Scope, month_label
from haven.indicator_tally import Indicators, Share
from haven.release_policy import ReleasePolicy
from haven.releases import PublicContent, PublicIncident, PublicRelease
from haven.report_figures import MAX_MAP_RESOLUTION
from haven.taxonomy import SsaResource

__all__ = [
    "SOURCE_CREDITS",
    "AreaRisk",
    "Assessment",
    "RenderedReport",
    "SourceCredit",
    "assess",
    "render",
    "write",
]


class SourceCredit(BaseModel):
    """A data source of the release with the attribution its licence asks for."""

    name: str
    incidents: int = Field(description="Released incidents of the country it reported.")
    citation: str
    licence: str
    url: str | None


SOURCE_CREDITS: dict[str, tuple[str, str, str | None]] = {
    "WHO Surveillance System for Attacks on Health Care": (
        "World Health Organization, Surveillance System for Attacks on Health Care (SSA), "
        "public dashboard export",
        "cite WHO SSA",
        "https://extranet.who.int/ssa/",
    ),
    "Insecurity Insight / SHCC attacks on health care": (
        "Insecurity Insight / Safeguarding Health in Conflict Coalition, attacks on health "
        "care incident data, via HDX",
        "CC BY-SA 4.0",
        "https://data.humdata.org/organization/insecurity-insight",
    ),
    "Aid Worker Security Database (Humanitarian Outcomes)": (
        "Humanitarian Outcomes, Aid Worker Security Database (AWSD), via HDX",
        "CC BY",
        "https://www.aidworkersecurity.org/",
    ),
    "Insecurity Insight aid workers KIKA": (
        "Insecurity Insight, aid workers killed, kidnapped, injured or arrested, via HDX",
        "CC BY-SA 4.0",
        "https://data.humdata.org/organization/insecurity-insight",
    ),
}
"""Attribution of each published dataset Haven imports, by its source name."""


class AreaRisk(BaseModel):
    """Released incidents of one area (admin1 name, coarse H3 cell, or the whole country)."""

    area: str
    incidents: int
    facility_incidents: int = Field(description="Of them, affecting health facilities.")
    killed: int | None
    injured: int | None
    facility_types: dict[str, int]


class Assessment(BaseModel):
    """Everything the report shows (released data only)."""

    country: str
    country_name: str
    period: str
    release: PublicRelease
    indicators: Indicators
    area_level: str = Field(description="'admin1', 'h3:<res>' or 'country'.")
    areas: list[AreaRisk]
    map_cells: dict[str, int] = Field(description="H3 cells (resolution <= 5) with incidents.")
    sources: list[SourceCredit]

    @property
    def policy(self) -> ReleasePolicy:
        """The release's policy."""
        return self.release.policy


def _country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_3=code)
    return str(found.name) if found is not None else code


def _area_of(row_admin1: str | None, cell: str | None, *, level: str) -> str:
    if level == "admin1":
        return row_admin1 or "unknown province"
    if level.startswith("h3") and cell is not None:
        resolution = h3.get_resolution(cell)
        coarse = (
            cell
            if resolution <= MAX_MAP_RESOLUTION
            else h3.cell_to_parent(cell, MAX_MAP_RESOLUTION)
        )
        return f"H3 {coarse}"
    if level.startswith("h3"):
        return "no place finer than the country"
    return "whole country"


@dataclass(slots=True)
class _AreaTally:
    incidents: int = 0
    facility: int = 0
    killed: int | None = 0
    injured: int | None = 0
    types: Counter[str] = field(default_factory=Counter)

    def add(self, row: PublicIncident) -> None:
        self.incidents += 1
        if row.resources is not None and SsaResource.FACILITY in row.resources:
            self.facility += 1
        self.killed = (
            None if row.killed is None or self.killed is None else self.killed + row.killed
        )
        self.injured = (
            None if row.injured is None or self.injured is None else self.injured + row.injured
        )
        if row.facility_type is not None:
            self.types[row.facility_type.value] += 1


def _level(policy: ReleasePolicy) -> str:
    if policy.spatial == "admin1":
        return "admin1"
    if policy.h3_resolution is not None:
        return f"h3:{min(policy.h3_resolution, MAX_MAP_RESOLUTION)}"
    return "country"


def _areas(
    content: PublicContent, found: Indicators, *, country: str
) -> tuple[str, list[AreaRisk]]:
    level = _level(content.release.policy)
    months = set(found.months)
    tallies: dict[str, _AreaTally] = defaultdict(_AreaTally)
    for row in content.incidents:
        if row.country == country and month_label(row.period_start) in months:
            tallies[_area_of(row.admin1, row.h3_cell, level=level)].add(row)
    areas = [
        AreaRisk(
            area=area,
            incidents=t.incidents,
            facility_incidents=t.facility,
            killed=t.killed,
            injured=t.injured,
            facility_types=dict(sorted(t.types.items())),
        )
        for area, t in tallies.items()
    ]
    areas.sort(key=lambda a: (-a.incidents, a.area))
    return level, areas


def _sources(content: PublicContent, *, country: str) -> list[SourceCredit]:
    counted: dict[str, int] = {}
    for row in content.indicators:
        if row.country == country and row.period is None and row.sources:
            counted = dict(row.sources)
    credits = []
    for name, count in sorted(counted.items()):
        citation, licence, url = SOURCE_CREDITS.get(
            name, (f"{name} (accounts to Haven; not published individually)", "-", None)
        )
        credits.append(
            SourceCredit(name=name, incidents=count, citation=citation, licence=licence, url=url)
        )
    return credits


def assess(
    session: Session, *, country: str, period: str, version: int | None = None
) -> Assessment:
    """What the report of ``country`` and ``period`` shows, from one published release (the
    newest holding the country's counts, or ``version``)."""
    scope = Scope.parse(country=country, period=period, trend_months=12)
    assert scope.country is not None and scope.period is not None
    content = choose_release(session, country=scope.country, version=version)
    found = indicators.public(session, scope, version=content.release.version)
    level, areas = _areas(content, found, country=scope.country)
    months = set(found.months)
    cells = report_figures.map_cells(
        r.h3_cell
        for r in content.incidents
        if r.country == scope.country and r.h3_cell and month_label(r.period_start) in months
    )
    return Assessment(
        country=scope.country,
        country_name=_country_name(scope.country),
        period=scope.period,
        release=content.release,
        indicators=found,
        area_level=level,
        areas=areas,
        map_cells=dict(sorted(cells.items())),
        sources=_sources(content, country=scope.country),
    )


# --- rendering ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderedReport:
    """The report as files: HTML (figures embedded), PDF, and the figures themselves."""

    stem: str
    html: str
    pdf: bytes
    figures: dict[str, bytes]


def _percent(share: Share) -> str:
    if share.value is None or share.lower is None or share.upper is None:
        return "not known"
    return (
        f"{share.value:.0%} ({share.numerator} of {share.denominator}; "
        f"95 % CI {share.lower:.0%} to {share.upper:.0%})"
    ).replace("%", " %")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("haven", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["percent"] = _percent
    return env


def figures_of(assessment: Assessment) -> dict[str, bytes]:
    """The report's PNG figures by name (the map only when there are enough cells)."""
    found = assessment.indicators
    figures = {"trend": report_figures.trend_png(found), "types": report_figures.types_png(found)}
    hotspots = report_figures.hotspot_png(
        Counter(assessment.map_cells),
        title=(
            f"Hotspots, {assessment.country_name}, {assessment.period} "
            f"(H3 res <= {MAX_MAP_RESOLUTION})"
        ),
    )
    if hotspots is not None:
        figures["hotspots"] = hotspots
    return figures


def render(assessment: Assessment) -> RenderedReport:
    """The HTML and PDF of an assessment (the same assessment gives the same bytes)."""
    from haven import report_pdf  # noqa: PLC0415 -- report_pdf imports this module's models

    figures = figures_of(assessment)
    embedded = {name: base64.b64encode(data).decode("ascii") for name, data in figures.items()}
    html = (
        _environment()
        .get_template("report/assessment.html")
        .render(
            a=assessment,
            i=assessment.indicators,
            figures=embedded,
            max_resolution=MAX_MAP_RESOLUTION,
        )
    )
    pdf = report_pdf.render_pdf(assessment, figures=figures)
    stem = (
        f"risk-assessment-{assessment.country}-{assessment.period}"
        f"-release-{assessment.release.version}"
    )
    return RenderedReport(stem=stem, html=html, pdf=pdf, figures=figures)


def write(report: RenderedReport, folder: Path) -> list[Path]:
    """Write ``<stem>.html`` and ``<stem>.pdf`` into ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / f"{report.stem}.html"
    pdf = folder / f"{report.stem}.pdf"
    html.write_text(report.html, encoding="utf-8")
    pdf.write_bytes(report.pdf)
    return [html, pdf]
