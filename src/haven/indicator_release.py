"""Public indicators read from a published release only: which release, and its counts as a tally.

Nothing here reads an incident row. The counts come from the release's count
cells (country × period × attack type, small counts suppressed), the
breakdowns by resource, facility type and certainty from its published
incident rows, and the quality figures from the indicator rows frozen with it
(``haven.release_indicators``). A weekly release's weeks are counted in the
month holding their Thursday (the ISO 8601 rule for weeks across a month end).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from haven import releases
from haven.errors import NotFound
from haven.indicator_facts import QualityTally
from haven.indicator_scope import Scope, Window, month_label, month_of, months_between, parse_period
from haven.indicator_tally import ReleaseRef, Tally, add_known
from haven.release_policy import PublicField
from haven.releases import PublicContent

__all__ = ["choose_release", "release_ref", "release_window", "tally_release"]


def _month(start: date, end: date) -> str:
    """The month a published period counts in: its own, or a week's Thursday's."""
    if start.day == 1 and (end + timedelta(days=1)).day == 1:
        return month_label(start)
    return month_label(start + timedelta(days=3))


def choose_release(
    session: Session, *, country: str | None, version: int | None = None
) -> PublicContent:
    """The named published release, or the newest one holding counts for ``country``."""
    if version is not None:
        return releases.public_content(session, version)
    for found in releases.list_published(session):
        if country is None or not found.policy.countries or country in found.policy.countries:
            content = releases.public_content(session, found.version)
            if country is None or any(c.country == country for c in content.cells):
                return content
    where = f" for {country}" if country else ""
    raise NotFound(f"no published release{where}", fields={"country": country or "any"})


def release_ref(content: PublicContent) -> ReleaseRef:
    """Which release the figures come from."""
    made = content.release
    return ReleaseRef(
        version=made.version,
        title=made.title,
        published_at=made.published_at,
        content_sha256=made.content_sha256,
    )


def _covered(content: PublicContent, country: str | None) -> list[str]:
    """Months between the first and last month with a count cell (of ``country``)."""
    months = sorted(
        _month(c.period_start, c.period_end)
        for c in content.cells
        if c.period_start is not None
        and c.period_end is not None
        and (country is None or c.country == country)
    )
    if not months:
        return []
    return months_between(month_of(months[0]), month_of(months[-1]))


def release_window(content: PublicContent, scope: Scope) -> Window:
    """The scope's window; with no period, the months the release covers."""
    if scope.period is not None:
        first, last = parse_period(scope.period)
        return Window.of(scope.period, first=first, last=last, trend_months=scope.trend_months)
    covered = _covered(content, scope.country)
    if not covered:
        where = f" for {scope.country}" if scope.country else ""
        raise NotFound(
            f"release {content.release.version} holds no counts{where}",
            fields={"country": scope.country or "any"},
        )
    first = month_of(covered[0])
    last = (month_of(covered[-1]) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    label = covered[0] if len(covered) == 1 else f"{covered[0]}/{covered[-1]}"
    return Window.of(label, first=first, last=last, trend_months=scope.trend_months)


def _whole_release(tally: Tally, content: PublicContent, *, country: str | None) -> bool:
    """Whether the scope's period holds every month the release covers (for ``country``)."""
    covered = _covered(content, country)
    return bool(covered) and set(covered) <= set(tally.window.months)


def _cells(tally: Tally, content: PublicContent, *, country: str | None) -> None:
    window = tally.window
    casualties = content.release.epsilon is None
    killed: list[int | None] = []
    injured: list[int | None] = []
    whole: dict[str, list[int | None]] = {}
    for cell in content.cells:
        if country is not None and cell.country != country:
            continue
        if cell.period_start is None or cell.period_end is None:
            kind = "*" if cell.attack_type is None else cell.attack_type.value
            whole.setdefault(kind, []).append(cell.incidents)
            continue
        month = _month(cell.period_start, cell.period_end)
        if month not in window.trend:
            continue
        if cell.attack_type is None:
            key = (cell.country, month)
            tally.totals[key] = add_known([tally.totals.get(key, 0), cell.incidents])
            if month in window.months:
                killed.append(cell.killed)
                injured.append(cell.injured)
        elif month in window.months:
            key = (cell.attack_type.value, month)
            tally.types[key] = add_known([tally.types.get(key, 0), cell.incidents])
    if _whole_release(tally, content, country=country):
        tally.whole = {kind: add_known(values) for kind, values in whole.items()}
    fields = content.release.policy.fields
    tally.killed = add_known(killed) if casualties and PublicField.KILLED in fields else None
    tally.injured = add_known(injured) if casualties and PublicField.INJURED in fields else None
    if any(v is None for v in tally.totals.values()):
        tally.notes.append(
            f"counts below {content.release.policy.k} are suppressed in the release: "
            "months or types holding one show no number"
        )


def _rows(tally: Tally, content: PublicContent, *, country: str | None) -> None:
    policy = content.release.policy
    window = tally.window
    rows = [
        r
        for r in content.incidents
        if (country is None or r.country == country)
        and _month(r.period_start, r.period_end) in window.months
    ]
    fields = policy.fields
    if not policy.publish_incidents:
        tally.resources = tally.facility_types = tally.certainty = None
        tally.notes.append(
            "the release publishes counts only: no breakdown by resource, "
            "facility type or certainty"
        )
        return
    if PublicField.RESOURCES not in fields:
        tally.resources = None
    if PublicField.FACILITY_TYPE not in fields:
        tally.facility_types = None
    if PublicField.CERTAINTY not in fields:
        tally.certainty = None
    for row in rows:
        month = _month(row.period_start, row.period_end)
        if tally.resources is not None:
            for resource in row.resources or []:
                tally.resources[(resource.value, month)] += 1
        if tally.facility_types is not None and row.facility_type is not None:
            tally.facility_types[(row.facility_type.value, month)] += 1
        if tally.certainty is not None and row.certainty is not None:
            tally.certainty[row.certainty.value] += 1
    counted = add_known(tally.totals.get((c, m)) for (c, m) in tally.totals if m in window.months)
    if counted is not None and counted > len(rows):
        tally.notes.append(
            f"resource, facility type and certainty count the {len(rows)} published incident "
            f"rows; {counted - len(rows)} rows in suppressed cells are withheld"
        )


def _quality(tally: Tally, content: PublicContent, *, country: str | None) -> None:
    window = tally.window
    mine = [i for i in content.indicators if country is None or i.country == country]
    rows = [
        i
        for i in mine
        if i.period_start is not None
        and i.period_end is not None
        and _month(i.period_start, i.period_end) in window.months
    ]
    whole = [i for i in mine if i.period is None]
    if (
        any(r.suppressed for r in rows)
        and whole
        and not any(w.suppressed for w in whole)
        and _whole_release(tally, content, country=country)
    ):
        rows = whole  # the period is the whole release: its all-periods figures are exact
    if not content.indicators:
        tally.notes.append(
            "the release holds no quality figures (verification, notification, investigation)"
        )
        return
    suppressed = 0
    for row in rows:
        if row.suppressed or row.incidents is None:
            suppressed += 1
            continue
        tally.quality.merge(
            QualityTally(
                incidents=row.incidents,
                verified=row.verified or 0,
                verification_days=list(row.verification_days or []),
                facility_struck=row.facility_struck or 0,
                notified_site_struck=row.notified_site_struck or 0,
                notified_movement_struck=row.notified_movement_struck or 0,
                investigated=row.investigated or 0,
                remedied=row.remedied or 0,
            )
        )
    if suppressed:
        tally.notes.append(
            f"quality figures leave out {suppressed} suppressed country-periods of the release"
        )


def tally_release(content: PublicContent, scope: Scope) -> Tally:
    """The counts of ``scope`` in a published release's content."""
    window = release_window(content, scope)
    tally = Tally(window=window)
    covered = set(_covered(content, scope.country))
    tally.covered = {m for m in window.trend if m in covered}
    missing = [m for m in window.trend if m not in covered]
    if missing:
        tally.notes.append(
            f"release {content.release.version} does not cover {', '.join(missing)}: "
            "those months show no number"
        )
    _cells(tally, content, country=scope.country)
    _rows(tally, content, country=scope.country)
    _quality(tally, content, country=scope.country)
    return tally
