"""The risk assessment as a PDF (fpdf2): the same sections and figures as the HTML page.

The document's creation date is the release's publication time and its file
identifier is a hash of its content, so the same release always gives the
same bytes. Text is set in the PDF core font Helvetica (Latin-1); characters
outside it are written with ASCII stand-ins.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from haven.indicator_tally import Share
from haven.report_figures import MAX_MAP_RESOLUTION
from haven.risk_report import Assessment

__all__ = ["render_pdf"]

_STAND_INS = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u00d7": "x",
}


def _latin(text: str) -> str:
    for char, stand_in in _STAND_INS.items():
        text = text.replace(char, stand_in)
    return text.encode("latin-1", "replace").decode("latin-1")


def _percent(share: Share) -> str:
    if share.value is None or share.lower is None or share.upper is None:
        return "not known"
    return (
        f"{100 * share.value:.0f} % ({share.numerator} of {share.denominator}; "
        f"95 % CI {100 * share.lower:.0f} % to {100 * share.upper:.0f} %)"
    )


def _n(value: int | None, *, missing: str = "n/a") -> str:
    return missing if value is None else str(value)


class _Document(FPDF):
    """An A4 document with a running footer."""

    def __init__(self, footer: str) -> None:
        super().__init__(format="A4")
        self._footer_text = _latin(footer)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=7)
        self.set_text_color(110)
        self.cell(0, 5, f"{self._footer_text} - page {self.page_no()}", align="C")
        self.set_text_color(0)

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font("Helvetica", style="B", size=12)
        self.cell(0, 7, _latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("Helvetica", size=9)

    def para(self, text: str, *, size: int = 9) -> None:
        self.set_font("Helvetica", size=size)
        self.multi_cell(0, 4.6, _latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def grid(
        self, rows: Sequence[Sequence[str]], *, widths: Sequence[float], headings: bool = True
    ) -> None:
        self.set_font("Helvetica", size=8)
        with self.table(
            col_widths=tuple(widths),
            text_align="LEFT",
            line_height=4.6,
            first_row_as_headings=headings,
        ) as table:
            for row in rows:
                line = table.row()
                for value in row:
                    line.cell(_latin(value))
        self.ln(2)

    def figure(self, png: bytes | None) -> None:
        if png is not None:
            self.image(io.BytesIO(png), w=self.epw)
            self.ln(2)


def _summary(doc: _Document, a: Assessment) -> None:
    i = a.indicators
    doc.heading("1. Summary")
    total = _n(i.total, missing="not published (small counts suppressed)")
    band = (
        f" (95 % band {i.total_lower:.1f} to {i.total_upper:.1f})"
        if i.total_lower is not None and i.total_upper is not None
        else ""
    )
    lines = [
        f"Incidents in the period: {total}{band}.",
        f"People killed: {_n(i.killed, missing='not published')}; "
        f"injured: {_n(i.injured, missing='not published')}.",
    ]
    if i.by_type and i.by_type[0].total is not None:
        lines.append(f"Most frequent attack type: {i.by_type[0].key} ({i.by_type[0].total}).")
    if i.trend is not None:
        lines.append(
            f"Trend over the {i.trend.months} latest months with a known count: factor "
            f"{i.trend.rate_ratio:.2f} per month "
            f"(95 % CI {i.trend.lower:.2f} to {i.trend.upper:.2f}; p = {i.trend.p_value:.3f})."
        )
    else:
        lines.append("Trend: not estimated (see the notes).")
    lines.append(f"Incidents striking a notified site: {_percent(i.notified_site_strikes)}.")
    lines.append(f"Incidents verified by the release: {_percent(i.verified)}.")
    for line in lines:
        doc.para(f"- {line}")


def _trends(doc: _Document, a: Assessment, *, figures: dict[str, bytes]) -> None:
    i = a.indicators
    doc.heading("2. Trends")
    doc.figure(figures.get("trend"))
    rows = [["Month", "Incidents", "95 % band"]] + [
        [
            m.month,
            _n(m.incidents),
            f"{m.lower:.1f} to {m.upper:.1f}"
            if m.lower is not None and m.upper is not None
            else "",
        ]
        for m in i.trend_months
    ]
    doc.grid(rows, widths=(40, 30, 50))
    doc.figure(figures.get("types"))
    rows = [["Attack type", *i.months, "Total"]] + [
        [b.key, *(_n(v) for v in b.months), _n(b.total)] for b in i.by_type
    ]
    doc.grid(rows, widths=(90, *(18 for _ in i.months), 18))


def _places(doc: _Document, a: Assessment, *, figures: dict[str, bytes]) -> None:
    i = a.indicators
    doc.heading("3. Hotspot map")
    if "hotspots" in figures:
        doc.figure(figures["hotspots"])
        doc.para(
            "Getis-Ord Gi* on the release's published H3 cells coarsened to resolution "
            f"{MAX_MAP_RESOLUTION} or coarser, k-ring weights (k = 1), Benjamini-Hochberg "
            "false-discovery-rate control."
        )
    else:
        doc.para("No hotspot map: the release publishes too few located cells for this period.")
    doc.heading("4. Facility risk by area")
    if not a.areas:
        doc.para("The release publishes no incident rows for this period.")
        return
    rows = [["Area", "Incidents", "Affecting facilities", "Killed", "Injured", "Facility types"]]
    rows += [
        [
            r.area,
            str(r.incidents),
            str(r.facility_incidents),
            _n(r.killed),
            _n(r.injured),
            ", ".join(f"{k} {v}" for k, v in r.facility_types.items()),
        ]
        for r in a.areas
    ]
    doc.grid(rows, widths=(45, 20, 25, 18, 18, 54))
    for title, rows_of in (
        ("Resource affected", i.by_resource),
        ("Facility type", i.by_facility_type),
    ):
        if rows_of is not None:
            doc.grid(
                [[title, "Incidents"]] + [[b.key, _n(b.total)] for b in rows_of], widths=(90, 30)
            )


def _figures_and_methods(doc: _Document, a: Assessment) -> None:
    i = a.indicators
    doc.heading("5. Notification compliance")
    doc.grid(
        [
            ["Incidents that struck a facility", _n(i.facility_struck, missing="not known")],
            ["Struck a site notified to a party beforehand", _percent(i.notified_site_strikes)],
            ["Hit near a notified movement under way", _percent(i.notified_movement_strikes)],
        ],
        widths=(80, 100),
        headings=False,
    )
    doc.para(
        "An acknowledgement records receipt only: it is not approval, and silence never makes "
        "a site safe.",
        size=8,
    )
    doc.heading("6. Indicators")
    median = i.median_days_to_verification
    doc.grid(
        [
            ["Incidents", _n(i.total, missing="not published")],
            ["Verified by the release date", _percent(i.verified)],
            ["Median days to verification", f"{median:.1f}" if median is not None else "not known"],
            ["With an opened investigation", _percent(i.investigated)],
            ["With a remedy", _percent(i.remedied)],
            [
                "Certainty (WHO SSA)",
                ", ".join(f"{k} {v}" for k, v in (i.certainty or {}).items()) or "not published",
            ],
        ],
        widths=(80, 100),
        headings=False,
    )
    doc.para(
        "Verified means verified in Haven's own review; imported datasets keep their "
        "publisher's certainty level, shown above.",
        size=8,
    )
    policy = a.policy
    doc.heading("7. Methodology")
    doc.para(
        f"Release policy: places published as {policy.spatial}, dates as {policy.time.value}s, "
        f"a publication delay of {policy.delay_days} days, counts from 1 to {policy.k - 1} "
        f"suppressed (k = {policy.k}), incidents below {policy.min_certainty.value} certainty "
        "left out; exercise data is never released. Counts are per calendar month (UTC). Bands: "
        "Garwood exact 95 % Poisson intervals for counts, Clopper-Pearson exact 95 % intervals "
        "for shares; trend: Poisson log-linear regression over the latest consecutive months "
        "with a known count, Wald interval widened by the Pearson dispersion. Verification, "
        "notification and case figures were frozen with the release."
    )
    for note in i.notes:
        doc.para(f"Note: {note}", size=8)
    doc.heading("8. Data sources and attribution")
    rows = [["Source", "Incidents", "Licence"]] + [
        [s.citation + (f" <{s.url}>" if s.url else ""), str(s.incidents), s.licence]
        for s in a.sources
    ]
    doc.grid(rows, widths=(130, 20, 30))


def render_pdf(assessment: Assessment, *, figures: dict[str, bytes]) -> bytes:
    """The assessment as PDF bytes (same assessment and figures, same bytes)."""
    a = assessment
    release = a.release
    doc = _Document(f"Haven risk assessment - {a.country} {a.period} - release {release.version}")
    doc.set_creation_date(release.published_at)
    doc.set_producer("Haven")
    doc.set_title(_latin(f"Risk assessment: attacks on health care, {a.country_name}, {a.period}"))
    doc.set_author("Haven (public release)")
    doc.add_page()
    doc.set_font("Helvetica", style="B", size=16)
    doc.cell(0, 9, "Attacks on health care: risk assessment", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font("Helvetica", size=11)
    i = a.indicators
    doc.cell(
        0,
        7,
        _latin(f"{a.country_name} ({a.country}), {a.period} ({i.start} to {i.end})"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    doc.para(
        f'From public release {release.version} "{release.title}", published '
        f"{release.published_at:%Y-%m-%d %H:%M} UTC; content SHA-256 {release.content_sha256}. "
        "Only the release's published data are used.",
        size=8,
    )
    _summary(doc, a)
    _trends(doc, a, figures=figures)
    _places(doc, a, figures=figures)
    _figures_and_methods(doc, a)
    return bytes(doc.output())
