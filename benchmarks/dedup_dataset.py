"""The labelled deduplication set, built from the real WHO SSA, SHCC and AWSD files.

Every real record is one event. Each event is reported once as published and
re-reported 0, 1 or 2 more times with realistic noise within its precision
(see ``re_report``). Hard negatives are the real records themselves (different
attacks close in time and place, often at the same facility or town) plus
synthetic "another attack at the same place on a nearby day" events. Labels:
two reports are one event when they share ``event``.

Run it to calibrate the scoring weights and thresholds on events before
``HOLDOUT_FROM`` and to measure them on the held-out events::

    .venv/bin/python benchmarks/dedup_dataset.py --write-docs
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import pycountry

from haven.dedup_candidates import (
    SLACK_KM,
    TOLERANCE_DAYS,
    DedupFacts,
    DedupRecords,
    candidate_pairs,
)
from haven.dedup_resolve import Choose, resolve
from haven.dedup_score import (
    FEATURES,
    MERGE_MARGIN,
    MERGE_THRESHOLD,
    MODEL,
    SUGGEST_THRESHOLD,
    Model,
    comparable,
    features,
    fit_logistic,
    link,
    score_features,
    structured_only,
)
from haven.geo import LonLat, iso3_country
from haven.taxonomy import (
    DatePrecision,
    GeoPrecision,
    SsaAttackType,
    SsaFacilityType,
    SsaResource,
)
from haven.taxonomy.crosswalk import (
    resources_from_shcc,
    ssa_attack_types_from_awsd,
    ssa_attack_types_from_shcc,
)
from haven.taxonomy.shcc import ShccIndicator
from haven.taxonomy.ssa import split_ssa_multi

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HOLDOUT_FROM = datetime(2023, 1, 1, tzinfo=UTC)
"""Events on or after this date are held out for testing; calibration uses the rest."""
SEED = 20261126
EXTRA_REPORTS = (0.5, 0.35, 0.15)
"""Probability of 0, 1 and 2 re-reports of an event."""
SAME_PLACE_NEGATIVES = 0.15
"""Share of located events that get a synthetic second attack at the same place, 1-3 days on."""
PARTNERS = ("partner-a", "partner-b")
"""The two other organisations' files that carry re-reports (the first and second copy)."""
ARRIVAL = ("awsd", "shcc", "who_ssa", *PARTNERS)
"""The order files are imported in (as ``make demo`` does), partners last."""
_WHO_COUNTRIES = {
    "occupied Palestinian territory": "PSE",
    "Nagorno-Karabakh": "AZE",
    "Democratic Republic of the Congo": "COD",
}


@dataclass(frozen=True, slots=True)
class Labelled:
    """One report of the labelled set."""

    event: int
    source: str
    facts: DedupFacts
    feed: str
    """The published file that carries it: the dataset for a real record, a partner for others."""


def _int(text: object) -> int:
    try:
        return max(0, int(float(str(text))))
    except ValueError:
        return 0


def read_shcc(path: Path) -> Iterator[tuple[str, DedupFacts]]:
    """SHCC rows as facts (``Geo Precision`` kept; dates are days)."""
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(h or "").strip() for h in next(rows)]
    next(rows)
    indicators = {m.value for m in ShccIndicator}
    for values in rows:
        row = dict(zip(header, values, strict=False))
        at, lat, lon = row.get("Date"), row.get("Latitude"), row.get("Longitude")
        if not isinstance(at, datetime) or not row.get("Country ISO"):
            continue
        hits = [k for k in indicators if row.get(k) not in (None, 0, False, "0", "")]
        located = isinstance(lat, float) and isinstance(lon, float)
        precision = row.get("Geo Precision")
        yield (
            "shcc",
            DedupFacts(
                occurred_at=at.replace(tzinfo=UTC),
                date_precision=DatePrecision.DAY,
                location=LonLat(lon, lat) if located else None,  # type: ignore[arg-type]
                geo_precision=GeoPrecision.from_label(str(precision))
                if located and precision
                else None,
                country=str(row["Country ISO"]),
                admin1=str(row.get("Admin 1") or "") or None,
                attack_types=tuple(
                    ssa_attack_types_from_shcc(
                        str(row.get("Weapon Carried/Used") or ""), indicators=hits
                    )
                ),
                resources=tuple(resources_from_shcc(hits)),
                killed=_int(row.get("Health Workers Killed") or 0),
                injured=_int(row.get("Health Workers Injured") or 0),
                name="",  # SHCC "Location" is a kind of place (e.g. "Health Building")
                narrative=str(row.get("Event Description") or ""),
            ),
        )


def read_awsd(path: Path) -> Iterator[tuple[str, DedupFacts]]:
    """AWSD rows as facts (partial dates give month or year precision)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        next(reader)  # HXL row
        for row in reader:
            country = pycountry.countries.get(alpha_2=row["Country Code"] or "--")
            if country is None or not row["Year"]:
                continue
            month, day = _int(row["Month"]), _int(row["Day"])
            precision = (
                DatePrecision.DAY
                if day and month
                else DatePrecision.MONTH
                if month
                else DatePrecision.YEAR
            )
            at = datetime(int(row["Year"]), month or 1, day or 1, tzinfo=UTC)
            try:
                point = LonLat(float(row["Longitude"]), float(row["Latitude"]))
            except ValueError:
                point = None
            yield (
                "awsd",
                DedupFacts(
                    occurred_at=at,
                    date_precision=precision,
                    location=point,
                    geo_precision=GeoPrecision.NEAR_25KM if point else None,
                    country=str(country.alpha_3),
                    admin1=row["Region"] or None,
                    attack_types=tuple(ssa_attack_types_from_awsd(row["Means of attack"])),
                    killed=_int(row["Total killed"]),
                    injured=_int(row["Total wounded"]),
                    name=row["City"] or row["District"],
                    narrative=row["Details"],
                ),
            )


_CLOCK = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")
_DETAINED = (
    "HW Abduction",
    "HW Arrest",
    "HW Detention",
    "Patient Abduction",
    "Patient Arrest",
    "Patient Detention",
)


def _who_when(row: dict[str, str]) -> tuple[datetime, DatePrecision]:
    """The day, and the exact time when ``Attack Time`` is ``HH:MM`` (as the importer reads it)."""
    at = datetime.strptime(row["Attack Date"], "%m/%d/%y %I:%M %p").replace(tzinfo=UTC)
    match = _CLOCK.match(row.get("Attack Time") or "")
    if match is None:  # "Time Unknown", or a band such as 12:00-18:00: the importer keeps the day
        return at, DatePrecision.DAY
    clock = timedelta(hours=int(match.group(1)), minutes=int(match.group(2)))
    return at.replace(hour=0, minute=0) + clock, DatePrecision.EXACT


def read_who_ssa(path: Path) -> Iterator[tuple[str, DedupFacts]]:
    """WHO SSA rows as facts: country, day (and time when exact), facility type, counts."""
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = row["Country / Territory"]
            try:
                country = _WHO_COUNTRIES.get(name) or iso3_country(name)
            except ValueError:
                continue
            at, precision = _who_when(row)
            types = []
            for label in split_ssa_multi(row["Attack Type"]):
                found = SsaAttackType._find(label)
                if found is not None:
                    types.append(found)
            yield (
                "who_ssa",
                DedupFacts(
                    occurred_at=at,
                    date_precision=precision,
                    location=None,
                    geo_precision=None,
                    country=country,
                    attack_types=tuple(types),
                    resources=tuple(r for r in SsaResource if row.get(r.value) == "YES"),
                    killed=_int(row["Total Death"] or 0),
                    injured=_int(row["Total Injured"] or 0),
                    facility_type=_facility_type(row.get("Type of Facility") or ""),
                    detained=sum(_int(row.get(c) or 0) for c in _DETAINED),
                ),
            )


def _facility_type(label: str) -> str | None:
    found = SsaFacilityType._find(label) if label.strip() else None
    return found.value if found is not None else None


def real_records(data: Path = DATA) -> list[tuple[str, DedupFacts]]:
    """Every usable record of the three files."""
    return [
        *read_who_ssa(data / "who_ssa_attacks_2017_2024.csv"),
        *read_shcc(data / "shcc_attacks_on_health_care_2016_2023.xlsx"),
        *read_awsd(data / "awsd_security_incidents_1997_2025.csv"),
    ]


_SYNONYMS = {
    "killed": "shot dead",
    "injured": "wounded",
    "attacked": "targeted",
    "hospital": "medical facility",
    "ambulance": "emergency vehicle",
    "health": "medical",
    "workers": "staff",
    "armed": "gunmen",
    "men": "individuals",
    "staff": "personnel",
    "were": "had been",
    "by": "reportedly by",
}


def reword(text: str, rng: random.Random) -> str:
    """A retelling: synonyms, a few words dropped, sentences reordered, sometimes cut short."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
    rng.shuffle(sentences)
    words = " ".join(sentences).split()
    out = []
    for word in words:
        bare = word.lower().strip(".,;:")
        if rng.random() < 0.1:
            continue
        out.append(_SYNONYMS.get(bare, word) if rng.random() < 0.7 else word)
    if len(out) > 30 and rng.random() < 0.3:
        out = out[: rng.randint(20, len(out))]
    return " ".join(out)


def _jitter(point: LonLat, radius_km: float, *, rng: random.Random) -> LonLat:
    distance = min(abs(rng.gauss(0, radius_km / 3)), radius_km)
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = distance * math.cos(bearing) / 111.2
    dlon = distance * math.sin(bearing) / (111.2 * max(0.1, math.cos(math.radians(point.lat))))
    return LonLat(max(-180, min(180, point.lon + dlon)), max(-90, min(90, point.lat + dlat)))


CLOCK_NOISE = (0.4, 0.2)
"""An exact time is dropped (the day kept), or moved 1-2 hours, with these probabilities."""
FACILITY_NOISE = (0.35, 0.1)
"""A facility type is dropped, or replaced by another type, with these probabilities."""
DETAIL_ADDED = 0.1
"""A time or facility type the first record lacks is given (at random) with this probability."""
DETAINED_NOISE = (0.2, 0.15)
"""A non-zero abducted/arrested/detained count moves by one, or is dropped, with these."""


def re_report_details(facts: DedupFacts, rng: random.Random) -> DedupFacts:
    """Noise on the time of day, facility type and detention counts of a re-report.

    Partners often omit a time or a facility type, give a time an hour or two off
    or another facility type, and sometimes know what the first record lacks (given
    here at random, as nothing says what it was). Drawn from their own random stream
    so that the other noise of ``re_report`` stays as it was.
    """
    at, precision = facts.occurred_at, facts.date_precision
    roll = rng.random()
    if precision is DatePrecision.EXACT:
        if roll < CLOCK_NOISE[0]:
            at, precision = at.replace(hour=0, minute=0), DatePrecision.DAY
        elif roll < sum(CLOCK_NOISE):
            at += timedelta(hours=rng.choice((-2, -1, 1, 2)))
    elif precision is DatePrecision.DAY and roll < DETAIL_ADDED:
        at, precision = at + timedelta(hours=rng.randrange(24)), DatePrecision.EXACT
    kinds = [t.value for t in SsaFacilityType]
    facility, roll = facts.facility_type, rng.random()
    if facility is not None:
        if roll < FACILITY_NOISE[0]:
            facility = None
        elif roll < sum(FACILITY_NOISE):
            facility = rng.choice([k for k in kinds if k != facility])
    elif roll < DETAIL_ADDED:
        facility = rng.choice(kinds)
    detained, roll = facts.detained, rng.random()
    if detained and roll < DETAINED_NOISE[0]:
        detained = max(0, detained + rng.choice((-1, 1)))
    elif detained and roll < sum(DETAINED_NOISE):
        detained = 0
    return replace(
        facts, occurred_at=at, date_precision=precision, facility_type=facility, detained=detained
    )


def re_report(facts: DedupFacts, rng: random.Random) -> DedupFacts:
    """The same event told by another source, with noise within its precision."""
    at, precision = facts.occurred_at, facts.date_precision
    if precision in (DatePrecision.DAY, DatePrecision.EXACT):
        roll = rng.random()
        if roll < 0.3:
            at += timedelta(days=rng.choice((-1, 1)))
        elif roll < 0.4:
            precision = DatePrecision.MONTH
    location, geo = facts.location, facts.geo_precision
    if location is not None and geo is not None:
        if rng.random() < 0.15:
            location, geo = None, None
        else:
            location = _jitter(location, geo.radius_km or 25.0, rng=rng)
    killed, injured = facts.killed, facts.injured
    if rng.random() < 0.3:
        killed = max(0, killed + rng.choice((-1, 1)))
    if rng.random() < 0.2:
        injured = max(0, injured + rng.randint(-2, 3))
    if rng.random() < 0.1:
        killed, injured = 0, 0
    types = facts.attack_types
    if len(types) > 1 and rng.random() < 0.15:
        types = types[:-1]
    elif rng.random() < 0.05:
        types = (SsaAttackType.UNKNOWN,)
    narrative = reword(facts.narrative, rng) if facts.narrative and rng.random() > 0.2 else ""
    name = facts.name if rng.random() > 0.3 else ""
    if name and rng.random() < 0.2:
        name = name.upper() if rng.random() < 0.5 else name[:-1]
    return replace(
        facts,
        occurred_at=at,
        date_precision=precision,
        location=location,
        geo_precision=geo,
        killed=killed,
        injured=injured,
        attack_types=types,
        narrative=narrative,
        name=name,
        admin1=facts.admin1 if rng.random() > 0.2 else None,
    )


def same_place_attack(facts: DedupFacts, other: DedupFacts, *, rng: random.Random) -> DedupFacts:
    """A different attack at the same place 1-3 days later: another record's story and toll."""
    return replace(
        facts,
        occurred_at=facts.occurred_at + timedelta(days=rng.randint(1, 3)),
        killed=other.killed,
        injured=other.injured,
        attack_types=other.attack_types or facts.attack_types,
        narrative=other.narrative,
        detained=other.detained,
    )


Noise = Callable[[DedupFacts, random.Random], DedupFacts]


def build(
    records: Sequence[tuple[str, DedupFacts]],
    *,
    seed: int = SEED,
    extra: Sequence[float] = EXTRA_REPORTS,
    noise: Noise = re_report,
    details: Noise = re_report_details,
) -> list[Labelled]:
    """The labelled reports: each real record, its re-reports, and same-place negatives.

    ``noise`` and ``details`` make a re-report (``benchmarks/dedup_noise.py`` swaps them).
    """
    rng, detail_rng = random.Random(seed), random.Random(seed + 1)
    out: list[Labelled] = []
    by_source: dict[str, list[DedupFacts]] = {}
    for source, facts in records:
        by_source.setdefault(source, []).append(facts)
    for event, (source, facts) in enumerate(records):
        out.append(Labelled(event, source, facts, source))
        copies = rng.choices(range(len(extra)), weights=extra)[0]
        out.extend(
            Labelled(
                event,
                f"{source}+noise",
                details(noise(facts, rng), detail_rng),
                PARTNERS[k],
            )
            for k in range(copies)
        )
    next_event = len(records)
    for source, facts in records:
        if facts.location is not None and rng.random() < SAME_PLACE_NEGATIVES:
            other = rng.choice(by_source[source])
            attack = same_place_attack(facts, other, rng=rng)
            out.append(Labelled(next_event, f"{source}+same-place", attack, rng.choice(PARTNERS)))
            next_event += 1
    return out


@dataclass(frozen=True, slots=True)
class Split:
    """One split in arrival order: its reports, candidate pairs, features and labels."""

    chosen: list[Labelled]
    matrix: np.ndarray
    labels: np.ndarray
    left: np.ndarray
    right: np.ndarray

    @property
    def events(self) -> np.ndarray:
        return np.array([r.event for r in self.chosen])

    @property
    def feeds(self) -> list[str]:
        return [r.feed for r in self.chosen]

    @property
    def cross_feed(self) -> np.ndarray:
        """Pairs from two different files: the only pairs the database ever compares."""
        feeds = np.array(self.feeds)
        return np.asarray(feeds[self.left] != feeds[self.right])


def fit(part: Split) -> Model:
    """Both weight sets, fitted on the cross-file pairs of ``part`` (the calibration split)."""
    cross = part.cross_feed
    structured = structured_only(part.matrix)
    general = fit_logistic(part.matrix[cross & ~structured], part.labels[cross & ~structured])
    alone = fit_logistic(part.matrix[cross & structured], part.labels[cross & structured])
    return Model(
        weights=general[0], bias=general[1], structured_weights=alone[0], structured_bias=alone[1]
    )


def split(labelled: Sequence[Labelled], *, held_out: bool) -> Split:
    """Candidate pairs of the reports of events in (or before) the held-out period."""
    chosen = sorted(
        (r for r in labelled if (r.facts.occurred_at >= HOLDOUT_FROM) == held_out),
        key=lambda r: ARRIVAL.index(r.feed),
    )
    records = DedupRecords.from_facts([r.facts for r in chosen])
    i, j = candidate_pairs(records)
    events = np.array([r.event for r in chosen])
    return Split(
        chosen=chosen,
        matrix=features(records, (i, j)),
        labels=(events[i] == events[j]).astype(np.float64),
        left=i,
        right=j,
    )


def cluster_metrics(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of a clustering against the true events."""

    def pairs(*labels: np.ndarray) -> int:
        if not len(labels[0]):
            return 0
        keys = np.stack(labels, axis=1)
        counts = np.unique(keys, axis=0, return_counts=True)[1].astype(np.int64)
        return int((counts * (counts - 1) // 2).sum())

    tp, pred, true = pairs(predicted, truth), pairs(predicted), pairs(truth)
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall or 1.0)


def incidents(
    part: Split,
    scores: np.ndarray,
    *,
    threshold: float = MERGE_THRESHOLD,
    margin: float = MERGE_MARGIN,
    choose: Choose | None = None,
) -> np.ndarray:
    """The incident each report ends in, as the database would decide (``dedup_resolve``).

    ``choose`` replays another merge rule through the same code (``benchmarks/dedup_rules.py``).
    """
    return resolve(
        len(part.chosen),
        (part.left, part.right),
        score=scores,
        comparable=comparable(part.matrix),
        feed=part.feeds,
        threshold=threshold,
        margin=margin,
        choose=choose,
    )


def queued(part: Split, *, scores: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which reports are re-reports, and which of those reached their event's incident.

    Reached: merged into the incident that holds its event's first report, or suggested
    with it (that incident's score, as ``dedup_resolve.best_by_incident`` takes it over
    the members it held when the re-report arrived, at least ``SUGGEST_THRESHOLD``).
    """
    events = part.events.tolist()
    first: dict[int, int] = {}
    for k, event in enumerate(events):
        first.setdefault(event, k)
    fullness = comparable(part.matrix)
    against: dict[int, list[tuple[int, int, float]]] = {}
    for a, b, c, s in zip(
        part.left.tolist(), part.right.tolist(), fullness.tolist(), scores.tolist(), strict=True
    ):
        later_one, earlier = max(a, b), min(a, b)
        against.setdefault(later_one, []).append((earlier, c, s))
    later = np.array([first[event] != k for k, event in enumerate(events)], dtype=bool)
    hit = np.zeros(len(events), dtype=bool)
    for k in np.flatnonzero(later).tolist():
        incident = label[first[events[k]]]
        if label[k] == incident:
            hit[k] = True
            continue
        members = [(c, s) for m, c, s in against.get(k, []) if label[m] == incident]
        hit[k] = bool(members) and max(members)[1] >= SUGGEST_THRESHOLD
    return later, hit


MERGE_PRECISION = 0.95
"""Automatic merges must be at least this precise on the calibration split."""
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
MARGINS = (0.0, 0.05, 0.1, 0.2, 0.3)


def choose_rule(part: Split, scores: np.ndarray) -> tuple[float, float, tuple[float, ...]]:
    """The merge threshold and margin with the best F1 whose precision reaches MERGE_PRECISION."""
    best: tuple[float, float, tuple[float, ...]] = (THRESHOLDS[-1], MARGINS[-1], (0.0, 0.0, 0.0))
    for threshold in THRESHOLDS:
        for margin in MARGINS:
            label = incidents(part, scores, threshold=threshold, margin=margin)
            found = cluster_metrics(label, part.events)
            if found[0] >= MERGE_PRECISION and found[2] > best[2][2]:
                best = (threshold, margin, found)
    return best


DOCS = Path(__file__).resolve().parents[1] / "docs" / "methodology.md"
BEGIN, END = "<!-- dedup:begin", "<!-- dedup:end -->"


STRATA = (("who_ssa", "WHO SSA events"), ("shcc", "SHCC events"), ("awsd", "AWSD events"))


@dataclass(frozen=True, slots=True)
class Stratum:
    """The figures of one row of the accuracy table."""

    reports: int
    true_pairs: int
    precision: float
    recall: float
    f1: float
    reached: float
    twinned: float
    """Share of re-reports with a twin (``twins``)."""
    ceiling_recall: float
    ceiling_f1: float
    """Of a perfect matcher that leaves re-reports with a twin alone (``oracle``)."""


def strata(part: Split, *, scores: np.ndarray, label: np.ndarray) -> dict[str | None, Stratum]:
    """Figures for the whole split (key None), then for the reports of each dataset's events."""
    origin = np.array([r.source.split("+")[0] for r in part.chosen])
    later, hit = queued(part, scores=scores, label=label)
    _, tied = twins(part)
    best = oracle(part, tied=tied)
    found: dict[str | None, Stratum] = {}
    for source in (None, *(s for s, _ in STRATA)):
        mask = np.ones(len(origin), dtype=bool) if source is None else origin == source
        events = part.events[mask]
        sizes = np.unique(events, return_counts=True)[1]
        p, r, f = cluster_metrics(label[mask], events)
        some = bool((mask & later).any())
        top = cluster_metrics(best[mask], events)
        found[source] = Stratum(
            reports=int(mask.sum()),
            true_pairs=int((sizes * (sizes - 1) // 2).sum()),
            precision=p,
            recall=r,
            f1=f,
            reached=float(hit[mask & later].mean()) if some else 1.0,
            twinned=float(tied[mask & later].mean()) if some else 0.0,
            ceiling_recall=top[1],
            ceiling_f1=top[2],
        )
    return found


def table_rows(found: dict[str | None, Stratum], *, name: str) -> list[str]:
    """Markdown rows of ``strata``' figures."""
    titles = dict([(None, "all reports"), *STRATA])
    return [
        f"| {name}: {titles[k]} | {v.reports:,} | {v.true_pairs:,} | {v.precision:.3f} "
        f"| {v.recall:.3f} | {v.f1:.3f} | {v.reached:.3f} | {v.twinned:.3f} "
        f"| {v.ceiling_recall:.3f} | {v.ceiling_f1:.3f} |"
        for k, v in found.items()
    ]


def cross_links(records: Sequence[tuple[str, DedupFacts]], *, country: str, month: str) -> str:
    """Real records of one country-month from every file, linked as they are (no noise)."""
    chosen = sorted(
        ((s, f) for s, f in records if f.country == country and f"{f.occurred_at:%Y-%m}" == month),
        key=lambda pair: ARRIVAL.index(pair[0]),
    )
    sources = [s for s, _ in chosen]
    scored = link(DedupRecords.from_facts([f for _, f in chosen]))
    label = resolve(
        len(chosen),
        (scored.left, scored.right),
        score=scored.score,
        comparable=comparable(scored.features),
        feed=sources,
    )
    feeds = np.array(sources)
    cross = feeds[scored.left] != feeds[scored.right]
    later = np.maximum(scored.left, scored.right)
    counts = {s: sources.count(s) for s in ("who_ssa", "shcc", "awsd")}
    merged = int((label != np.arange(len(chosen))).sum())
    suggested = int((cross & (scored.score >= SUGGEST_THRESHOLD) & (label[later] == later)).sum())
    return (
        f"| {country} {month} | {counts['who_ssa']} | {counts['shcc']} | {counts['awsd']} "
        f"| {int(cross.sum()):,} | {merged} | {suggested} |"
    )


def _seen(facts: DedupFacts, *, by: DedupFacts) -> tuple[object, ...]:
    """What of ``facts`` a matcher comparing it with the re-report ``by`` can observe."""
    located = by.location is not None and facts.location is not None
    return (
        facts.occurred_at.date() if by.date_precision.value in ("exact", "day") else None,
        f"{facts.occurred_at:%H:%M}" if _exact(by) and _exact(facts) else None,
        (round(facts.location.lon, 4), round(facts.location.lat, 4)) if located else None,  # type: ignore[union-attr]
        facts.narrative if by.narrative else None,
        facts.name.lower() if by.name else None,
        facts.admin1 if by.admin1 else None,
        facts.facility_type if by.facility_type else None,
        frozenset(facts.attack_types),
        frozenset(facts.resources),
        facts.killed,
        facts.injured,
        facts.detained,
    )


def _exact(facts: DedupFacts) -> bool:
    return facts.date_precision is DatePrecision.EXACT


def twins(part: Split) -> tuple[np.ndarray, np.ndarray]:
    """Which reports are re-reports, and which of those have a twin among their candidates.

    A twin is another published record that the re-report's blocking reaches and
    that agrees with the re-report's own event record on everything the re-report
    lets a matcher observe (same day and time, point, narrative, names, facility
    type, attack types, resources and counts). Between the two, no matcher can
    choose: a re-report with a twin can only be guessed or left to a verifier.
    """
    chosen = part.chosen
    published = np.array([r.feed not in PARTNERS for r in chosen])
    opener = {r.event: k for k, r in enumerate(chosen) if published[k]}
    later = np.array([r.source.endswith("+noise") for r in chosen])
    reached: dict[int, list[int]] = {}
    for a, b in zip(part.left.tolist(), part.right.tolist(), strict=True):
        for q, other in ((a, b), (b, a)):
            if later[q] and published[other]:
                reached.setdefault(q, []).append(other)
    tied = np.zeros(len(chosen), dtype=bool)
    for q in np.flatnonzero(later).tolist():
        own = opener.get(chosen[q].event)
        if own is None:
            continue
        by = chosen[q].facts
        key = _seen(chosen[own].facts, by=by)
        tied[q] = any(_seen(chosen[s].facts, by=by) == key for s in reached.get(q, []) if s != own)
    return later, tied


def oracle(part: Split, *, tied: np.ndarray) -> np.ndarray:
    """Incidents of a perfect matcher that leaves every re-report with a twin on its own."""
    first: dict[int, int] = {}
    for k, event in enumerate(part.events.tolist()):
        first.setdefault(event, k)
    return np.array([k if tied[k] else first[e] for k, e in enumerate(part.events.tolist())])


OTHER_SEEDS = (1, 2, 3)
"""Noise seeds of the spread check: the same records and weights, other re-reports."""


def seed_spread(records: Sequence[tuple[str, DedupFacts]]) -> str:
    """Held-out precision and F1 over all reports with other noise seeds (weights unchanged)."""
    found = []
    for seed in OTHER_SEEDS:
        part = split(build(records, seed=seed), held_out=True)
        scores = score_features(part.matrix)
        found.append(cluster_metrics(incidents(part, scores), part.events))
    precision = [p for p, _, _ in found]
    f1 = [f for _, _, f in found]
    return (
        f"with noise seeds {', '.join(map(str, OTHER_SEEDS))} instead (same records and weights),"
        f" held-out precision is {min(precision):.3f}–{max(precision):.3f} and F1"
        f" {min(f1):.3f}–{max(f1):.3f}"
    )


def _pc(share: float) -> str:
    return f"{share * 100:.0f} %"


def time_bands(data: Path = DATA) -> float:
    """Share of WHO SSA rows whose ``Attack Time`` is a band such as ``12:00-18:00``."""
    with (data / "who_ssa_attacks_2017_2024.csv").open(newline="", encoding="utf-8") as handle:
        times = [row["Attack Time"] for row in csv.DictReader(handle)]
    return sum(1 for t in times if re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", t)) / len(times)


def intrinsic_twins(records: Sequence[tuple[str, DedupFacts]], *, held_out: bool) -> float:
    """Share of WHO SSA rows that another row of the file matches on everything it publishes.

    Before any noise: a copy of such a row, however faithful, fits the other row as
    well as its own, so these twins come from the export, not from the labelled set.
    """
    by_day: dict[tuple[str, object], list[DedupFacts]] = {}
    for feed, facts in records:
        if feed == "who_ssa" and (facts.occurred_at >= HOLDOUT_FROM) == held_out:
            by_day.setdefault((facts.country, facts.occurred_at.date()), []).append(facts)
    rows = twinned = 0
    for group in by_day.values():
        for k, facts in enumerate(group):
            key = _seen(facts, by=facts)
            rows += 1
            twinned += any(_seen(o, by=facts) == key for j, o in enumerate(group) if j != k)
    return twinned / rows if rows else 0.0


def who_ssa_ambiguity(part: Split) -> float:
    """Median number of WHO SSA file rows a re-report of a WHO SSA row is compared with."""
    feeds = np.array(part.feeds)
    source = np.array([r.source for r in part.chosen])
    copies = source == "who_ssa+noise"
    seen = copies[part.right] & (feeds[part.left] == "who_ssa")
    counts = np.bincount(part.right[seen], minlength=len(source))
    return float(np.median(counts[copies])) if copies.any() else 0.0


def section(
    records: Sequence[tuple[str, DedupFacts]],
    labelled: Sequence[Labelled],
    *,
    calibration: Split,
    test: Split,
) -> str:
    """The "Deduplication" section of docs/methodology.md."""
    rows = []
    held: dict[str | None, Stratum] = {}
    for name, part in (("calibration", calibration), ("held-out", test)):
        scores = score_features(part.matrix)
        held = strata(part, scores=scores, label=incidents(part, scores))
        rows += table_rows(held, name=name)
    who, shcc, every = held["who_ssa"], held["shcc"], held[None]
    weights = ", ".join(f"`{n}` {w:+.2f}" for n, w in zip(FEATURES, MODEL.weights, strict=True))
    structured = ", ".join(
        f"`{n}` {w:+.2f}"
        for n, w in zip(FEATURES, MODEL.structured_weights, strict=True)
        if abs(w) >= 0.005
    )
    samples = [("PSE", "2023-11"), ("UKR", "2022-03"), ("SYR", "2019-05"), ("AFG", "2021-08")]
    sizes = Counter(r.source.split("+")[0] for r in labelled)
    ambiguity = who_ssa_ambiguity(test)
    intrinsic = intrinsic_twins(records, held_out=True)
    spread = seed_spread(records)
    by_origin = ", ".join(f"{k} {v:,}" for k, v in sorted(sizes.items()))
    return "\n".join(
        [
            f"{BEGIN} (written by benchmarks/dedup_dataset.py; edits here are overwritten) -->",
            "## Deduplication",
            "",
            "Code: `haven.dedup_candidates` (blocking), `haven.dedup_score` (features, weights,",
            "thresholds), `haven.dedup_resolve` (the merge rule), `haven.dedup` (consolidate,",
            "merge, undo, suggestions). Tests: `tests/test_dedup*.py`. Figures:",
            "`.venv/bin/python benchmarks/dedup_dataset.py --write-docs`.",
            "",
            "**Candidates.** Two records are compared only when they are of the same country and",
            "the same kind (real or exercise), their date intervals (a day, a month or a year,",
            f"by date precision) are at most {TOLERANCE_DAYS:g} days apart, their points are no",
            f"further apart than the sum of their precision radii plus {SLACK_KM:g} km (found",
            "through the k=1 ring of an H3 cell sized by precision: resolution 5 for exact, 2",
            "for 25 km, 1 for district; a record without a usable point meets every record of",
            "its country and time window; so does a point known only to the province), and",
            "their WHO SSA attack types share a family",
            "(violence, deprivation; `Other`/`Unknown` match both).",
            "",
            "**Score.** A logistic model over the features documented in",
            "`haven.dedup_score.FEATURES` (time, distance, attack types, resources, casualties,",
            "place name, narrative similarity by rapidfuzz `token_set_ratio` and by content-word",
            "overlap, numbers in the narrative, admin1, and the WHO SSA fields: time of day when",
            "both give an exact time, facility type, health workers and patients abducted,",
            f"arrested or detained). Weights: {weights}; bias {MODEL.bias:+.2f}.",
            "*Structured-only* pairs, which can compare neither a place nor a narrative (a WHO",
            "SSA row, or any report without both), have their own weights, as their evidence is",
            f"of another kind: {structured}; bias {MODEL.structured_bias:+.2f} (features not",
            "listed: 0). Both sets were fitted (`fit_logistic`, L2 1.0) on the calibration split",
            "only, each on its kind of pairs among those the database ever compares: pairs of",
            "reports from two different files.",
            "Times of day are compared as stored. The WHO SSA importer stores a row's clock time",
            "as if it were UTC; if those are local times, a partner giving true UTC for an event",
            "in a country hours off UTC disagrees with it, which the labelled set's noise (a time",
            "moved 1–2 hours) does not model.",
            "",
            "**Decision** (`haven.dedup_resolve`, the same rule in the database and here). Reports",
            "arrive file by file (AWSD, SHCC, WHO SSA, then the partners' files). A report is",
            "compared with every report of the open incidents of its candidates, except incidents",
            "that already hold a report of the same file (a publisher lists each event once), and",
            "an incident scores as its best report among those the pair can compare most fully",
            "(narrative and place: `dedup_score.comparable`), so a member without a narrative",
            "does not outvote one whose narrative disagrees. The best incident is",
            f"merged with automatically when its score is at least {MERGE_THRESHOLD} and at least",
            f"{MERGE_MARGIN} above every other candidate's: when two incidents fit about equally",
            f"well, nothing merges. Every candidate from {SUGGEST_THRESHOLD} up that was not",
            "merged goes to the verifiers' queue. Threshold and margin were chosen on the",
            "calibration split as the best F1 whose precision reaches "
            f"{MERGE_PRECISION} (grid: thresholds {', '.join(map(str, THRESHOLDS))};",
            f"margins {', '.join(map(str, MARGINS))}). Merges chain through members: an SHCC",
            "row merged into an AWSD incident lets in a WHO SSA row that matches the SHCC row",
            "but not the AWSD one. Chaining costs precision (more members, more chances of a",
            "chance match), which the margin, chosen with chaining on, pays for in recall. This",
            "set cannot reward a three-file incident: every real record is its own event here,",
            "so linking two real records counts as a wrong merge (see the full import below).",
            "Two rules that weigh the whole candidate list instead of a fixed margin (a",
            "posterior over candidates, a second-stage classifier) were tried and not adopted:",
            'see "Choosing among competing candidates" below.',
            "Automatic merging is still **off by default**",
            "(`HAVEN_DEDUP_AUTO_MERGE=false`): with it off the same rule decides which candidates",
            "are shown first, and a verifier merges; see below for why.",
            "",
            "**Labelled set.** Every usable record of the WHO SSA export, the SHCC file and the",
            f"AWSD file is one event ({len(records):,} records), published in its own file. Each",
            "is re-reported 0, 1 or 2 more times (probabilities "
            f"{', '.join(str(x) for x in EXTRA_REPORTS)}) by two partner organisations' files",
            "(the first copy in one, the second in the other) with noise within its precision: the",
            "date moved a day (30 %) or known only to the month (10 %); the point jittered",
            "(half-normal, sigma a third of the precision radius, capped at the radius) or",
            "dropped (15 %); killed ±1 (30 %), injured −2..+3 (20 %), both unknown (10 %); one",
            "attack type dropped (15 %) or `Unknown` (5 %); the narrative retold (sentences",
            "reordered, 10 % of words dropped, synonyms, sometimes cut short) or missing (20 %);",
            "the place name dropped (30 %) or misspelt; admin1 dropped (20 %). The WHO SSA",
            "fields have their own noise (`re_report_details`, its own random stream): an exact",
            f"time dropped ({_pc(CLOCK_NOISE[0])}) or moved 1–2 hours ({_pc(CLOCK_NOISE[1])}); a",
            f"facility type dropped ({_pc(FACILITY_NOISE[0])}) or another one"
            f" ({_pc(FACILITY_NOISE[1])}); a time or facility type the record lacks given at",
            f"random ({_pc(DETAIL_ADDED)}: the partner knew it); a non-zero count of people",
            f"abducted, arrested or detained ±1 ({_pc(DETAINED_NOISE[0])}) or dropped"
            f" ({_pc(DETAINED_NOISE[1])}). WHO SSA times given as a band (`12:00-18:00`,",
            f"{_pc(time_bands())} of rows) count as unknown, as the importer keeps only the day",
            "for them. Hard negatives:",
            "every other real record (different attacks close in time and place, often the same",
            f"town or facility), plus, for {SAME_PLACE_NEGATIVES:.0%} of located events, a",
            "synthetic second attack at the same place 1–3 days later with another record's",
            "narrative and toll, in a partner's file. Seed "
            f"{SEED}; {len(labelled):,} reports ({by_origin} by origin).",
            f"Events on or after {HOLDOUT_FROM:%Y-%m-%d} are held out; weights,",
            "threshold and margin were chosen on the events before.",
            "",
            "**Accuracy.** The incidents the rule makes, scored pairwise against the true events:",
            "precision is the share of report pairs put in one incident that are one event;",
            "recall the share of true pairs put in one incident (pairs blocking never compared",
            "count as missed). *Reached* is the share of re-reports that were merged into their",
            "event's incident or had it suggested (what reaches either the incident or a",
            "verifier's queue). Strata: the reports of events first published in each file.",
            "",
            "**Ceiling.** A re-report has a *twin* when blocking brings it another published",
            "record that agrees with its own event's record on everything the re-report lets a",
            "matcher observe (day, time, point, narrative, names, facility type, attack types,",
            "resources and counts, each only where the re-report gives it). Between the two no",
            "matcher can choose; *twinned* is their share of re-reports. *Ceiling recall / F1*:",
            "a perfect matcher that merges every other re-report correctly and leaves those",
            "alone (precision 1). It is an upper bound for any honest rule, and a loose one:",
            "near-twins (differing only where the noise blurs) are not counted.",
            "",
            "| split and stratum | reports | true pairs | precision | recall | F1 | reached "
            "| twinned | ceiling recall | ceiling F1 |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            f"**The aim (F1 ≥ 0.95) is not met overall** (held-out F1 {every.f1:.3f}, precision",
            f"{every.precision:.3f}); it is met or nearly met for records that carry a place and",
            "a narrative (AWSD). The gap is WHO SSA: its public export has a country, a day and",
            "a few structured fields but no place, no narrative and no facility name, and a",
            f"re-report of one of its rows meets a median of {ambiguity:g} other rows of that",
            "file in its country and time window (held-out split), many with the same attack",
            f"type and counts. {_pc(who.twinned)} of its held-out re-reports have a twin, so",
            f"even a perfect matcher stays at recall {who.ceiling_recall:.3f} there; the rule",
            "reaches",
            f"{who.recall:.3f} (precision {who.precision:.3f}) and leaves most of the rest to",
            f"verifiers (reached {who.reached:.3f}). SHCC rows are often written from one template",
            '("in an unspecified location, a health facility was…") with the same town-level',
            f"point: {_pc(shcc.twinned)} of its held-out re-reports have a twin, and the rule's",
            f"recall there is {shcc.recall:.3f}. Over all held-out reports the ceiling F1 is",
            f"{every.ceiling_f1:.3f}, below the aim: a matcher that does not guess between twins",
            "cannot reach 0.95 on this set. Part of that is the export itself, before any",
            f"noise: {_pc(intrinsic)} of its held-out WHO SSA rows (events from 2023 on) match",
            "another row of the file on every field Haven keeps from it (same country, day, time,",
            "attack types, resources, facility type and counts), so even a faithful copy of",
            "one fits the other as well. The figures move with the noise:",
            f"{spread}.",
            "Automatic merging stays off by default because the WHO SSA stratum's held-out",
            f"precision is {who.precision:.3f} and nobody has yet checked real cross-file merges",
            "by hand (see below); turning it on is one setting.",
            "",
            "**Cross-dataset linking on the real files** (no noise, no labels: the same event in",
            "two files should link). WHO SSA rows have no place or narrative, so a WHO SSA × SHCC",
            "link rests on day, attack type, resources and casualties only. *Merged*: reports the",
            "rule would merge into another file's incident; *suggested*: cross-file pairs sent",
            "to verifiers instead.",
            "",
            "| country-month | WHO SSA | SHCC | AWSD | cross-file pairs compared "
            "| merged | suggested |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            *(cross_links(records, country=c, month=m) for c, m in samples),
            "",
            "Without labels for real cross-file pairs, their precision is not measured here.",
            END,
        ]
    )


def write_docs(text: str) -> None:
    """Replace (or append) the section between the markers, keeping everything else."""
    page = DOCS.read_text(encoding="utf-8")
    if BEGIN in page:
        page = page[: page.index(BEGIN)] + text + page[page.index(END) + len(END) :]
    else:
        page = page.rstrip("\n") + "\n\n" + text + "\n"
    DOCS.write_text(page, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="print weights fitted on calibration")
    parser.add_argument("--write-docs", action="store_true", help="write docs/methodology.md")
    args = parser.parse_args()
    started = time.perf_counter()
    records = real_records()
    labelled = build(records)
    calibration, test = split(labelled, held_out=False), split(labelled, held_out=True)
    if args.fit:
        model = fit(calibration)
        scores = score_features(calibration.matrix, model=model)
        for name, weights, bias in (
            ("weights", model.weights, model.bias),
            ("structured_weights", model.structured_weights, model.structured_bias),
        ):
            print(name, dict(zip(FEATURES, np.round(weights, 2).tolist(), strict=True)))
            print(f"{name} literal", ", ".join(f"{w:.2f}" for w in weights), "bias", round(bias, 2))
        threshold, margin, found = choose_rule(calibration, scores)
        print(f"merge threshold {threshold}, margin {margin}: P/R/F1 {np.round(found, 3)}")
        return
    print(f"{len(records)} real records, {len(labelled)} labelled reports")
    for name, part in (("calibration", calibration), ("held-out", test)):
        scores = score_features(part.matrix)
        p, r, f = cluster_metrics(incidents(part, scores), part.events)
        print(
            f"{name}: {len(part.chosen)} reports, {len(part.labels)} candidate pairs; "
            f"precision {p:.3f} recall {r:.3f} F1 {f:.3f}"
        )
    print(f"{time.perf_counter() - started:.1f} s")
    if args.write_docs:
        write_docs(section(records, labelled, calibration=calibration, test=test))


if __name__ == "__main__":
    main()
