"""The release pipeline on both databases: its three privacy properties, the two-person rule,
exercise data, the publication delay, freezing, withdrawal, DP and the command line."""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from haven import accounts, releases
from haven.accounts import SYSTEM, Actor, Role
from haven.db import Database, open_database
from haven.errors import ConfigurationError, Conflict, InvalidInput, NotFound, PermissionDenied
from haven.geo import h3_centroid, h3_resolution
from haven.models import AuditEventRow, IncidentRow, ReleaseItemRow
from haven.release_policy import PublicField, ReleasePolicy, TimeUnit, cutoff_of, load_policy
from haven.settings import Settings
from haven.taxonomy import Certainty
from tests.support.releases import (
    ASSAULT,
    FIRE,
    HEAVY,
    NOW,
    OBSTRUCTION,
    SECRETS,
    People,
    actor,
    add_incident,
    add_people,
    clear_incidents,
    public_text,
)

# --- generated worlds ----------------------------------------------------------------------------

ADMIN1 = ("Khartoum", "North Gaza", "Kharkiv")

incident_specs = st.fixed_dictionaries(
    {
        "country": st.sampled_from(("SDN", "SDN", "SDN", "PSE", "UKR")),
        "days_before": st.integers(0, 100),
        "attack_types": st.lists(
            st.sampled_from((FIRE, FIRE, FIRE, HEAVY, ASSAULT, OBSTRUCTION)),
            min_size=1,
            max_size=2,
            unique=True,
        ),
        "certainty": st.sampled_from(["rumour", "possible", "probable", "confirmed", "confirmed"]),
        "exercise": st.sampled_from([False, False, False, True]),
        "tlp": st.sampled_from(["clear", "green", "amber", "amber", "amber+strict", "red"]),
        "date_precision": st.sampled_from(["exact", "day", "day", "month", "year"]),
        "where": st.one_of(
            st.none(),
            st.tuples(
                st.floats(-179.9, 179.9), st.floats(-84.0, 84.0), st.sampled_from([1, 2, 3, 4, 6])
            ),
        ),
        "admin1": st.sampled_from(ADMIN1),
        "killed": st.integers(0, 3),
        "injured": st.integers(0, 3),
    }
)
cluster_specs = st.fixed_dictionaries(
    {
        "country": st.just("SDN"),
        "days_before": st.integers(38, 41),  # Tuesday 21 to Friday 24 May 2024
        "attack_types": st.sampled_from(
            [[FIRE], [FIRE], [FIRE], [FIRE, HEAVY], [HEAVY], [HEAVY], [ASSAULT], [OBSTRUCTION]]
        ),
        "certainty": st.just("confirmed"),
        "exercise": st.just(False),
        "tlp": st.just("amber"),
        "date_precision": st.just("day"),
        "where": st.tuples(st.floats(32.0, 33.0), st.floats(15.0, 16.0), st.sampled_from([1, 2])),
        "admin1": st.sampled_from(ADMIN1),
        "killed": st.integers(0, 3),
        "injured": st.integers(0, 3),
    }
)
worlds = st.tuples(
    st.lists(cluster_specs, min_size=2, max_size=25), st.lists(incident_specs, max_size=40)
).map(lambda parts: parts[0] + parts[1])
"""Incidents of every kind, around a busy month in Sudan so that some cells are large."""
policies = st.builds(
    ReleasePolicy,
    fields=st.lists(st.sampled_from(list(PublicField)), unique=True).map(tuple),
    spatial=st.sampled_from(["country", "admin1", *(f"h3:{r}" for r in range(8))]),
    time=st.sampled_from(list(TimeUnit)),
    delay_days=st.integers(0, 45),
    k=st.sampled_from([1, 3, 4, 5]),
    min_certainty=st.sampled_from(list(Certainty)),
)
PROPERTY = hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def store(db: Database, world: list[dict[str, Any]]) -> None:
    """Replace every stored incident with ``world``."""

    def write(session: Session) -> None:
        clear_incidents(session)
        for spec in world:
            where = spec["where"]
            add_incident(
                session,
                occurred_at=NOW - timedelta(days=spec["days_before"], hours=3),
                country=spec["country"],
                attack_types=spec["attack_types"],
                certainty=spec["certainty"],
                exercise=spec["exercise"],
                tlp=spec["tlp"],
                date_precision=spec["date_precision"],
                lon=where[0] if where else None,
                lat=where[1] if where else None,
                geo_precision=where[2] if where else None,
                admin1=spec["admin1"],
                killed=spec["killed"],
                injured=spec["injured"],
            )

    db.write(write)


def preview(db: Database, policy: ReleasePolicy) -> releases.ReleasePreview:
    with db.read() as session:
        return releases.preview(session, policy, actor=SYSTEM, now=NOW)


# --- property 1: nothing outside the policy's public set -----------------------------------------

NEVER_PUBLIC = {
    "id",
    "narrative",
    "sensitive",
    "admin2",
    "location_name",
    "facility_id",
    "facility",
    "lon",
    "lat",
    "casualties",
    "perpetrator_name",
    "source",
    "sources",
    "reporter",
    "victims",
    "occurred_at",
    "exercise",
    "tlp",
    "sensitivity",
}


@PROPERTY
@given(world=worlds, policy=policies)
def test_public_output_never_holds_a_field_outside_the_policy(
    db: Database, *, world: list[dict[str, Any]], policy: ReleasePolicy
) -> None:
    store(db, world)
    built = preview(db, policy)
    for row in built.incidents:
        keys = set(row.public_dict())
        assert keys <= policy.incident_fields(), keys - policy.incident_fields()
        assert not keys & NEVER_PUBLIC
    for cell in built.cells:
        assert set(cell.public_dict()) <= policy.cell_fields()
    text = public_text([built.incidents, built.cells])
    assert not [s for s in SECRETS.values() if s in text]
    if policy.spatial != "admin1":
        assert not [name for name in ADMIN1 if name in text]
    for name in ("killed", "injured", "certainty", "resources", "weapons"):
        if name not in policy.fields:
            assert f'"{name}"' not in public_text(built.incidents)


# --- property 2: no coarsened place or date finer than the policy --------------------------------


@PROPERTY
@given(world=worlds, policy=policies)
def test_coarsened_location_is_never_more_precise_than_the_policy(
    db: Database, *, world: list[dict[str, Any]], policy: ReleasePolicy
) -> None:
    store(db, world)
    built = preview(db, policy)
    cutoff = cutoff_of(NOW, policy).date()
    for row in built.incidents:
        data = row.public_dict()
        if policy.h3_resolution is None:
            assert not {"h3_cell", "location"} & set(data)
        elif row.h3_cell is not None:
            assert h3_resolution(row.h3_cell) <= policy.h3_resolution
            assert row.location is not None
            centre = h3_centroid(row.h3_cell)
            assert (row.location.lon, row.location.lat) == (centre.lon, centre.lat)
        else:
            assert row.location is None
        if policy.spatial != "admin1":
            assert "admin1" not in data
        length = (row.period_end - row.period_start).days + 1
        if policy.time is TimeUnit.WEEK:
            assert row.period_start.weekday() == 0 and length == 7
        else:
            assert row.period_start.day == 1 and length in (28, 29, 30, 31)
        assert row.period_end < cutoff


def test_a_point_is_not_placed_in_a_cell_finer_than_its_own_precision(db: Database) -> None:
    db.write(
        lambda s: [
            add_incident(
                s, occurred_at=NOW - timedelta(days=90), lon=32.5, lat=15.6, geo_precision=p
            )
            for p in (1, 2, 4, 6)
        ]
    )
    built = preview(db, ReleasePolicy(spatial="h3:7", k=1))
    found = [r.h3_cell for r in built.incidents]
    resolutions = sorted(h3_resolution(c) for c in found if c is not None)
    assert resolutions == [1, 4, 7]  # province (250 km), 25 km, exact; country level: no cell
    assert found.count(None) == 1


# --- property 3: a suppressed cell never comes back through a difference -------------------------

CellKey = tuple[str, str | None, str | None]


def cell_key(data: dict[str, Any]) -> CellKey:
    return (data["country"], data["period"], data.get("attack_type"))


def lines_of(keys: set[CellKey]) -> Iterator[tuple[CellKey, list[CellKey]]]:
    """Each total and the published cells that add up to it (rows and columns, per country)."""
    for country in {k[0] for k in keys}:
        mine = [k for k in keys if k[0] == country]
        for period in {k[1] for k in mine}:
            parts = [k for k in mine if k[1] == period and k[2] is not None]
            if parts:
                yield (country, period, None), parts
        for attack_type in {k[2] for k in mine}:
            parts = [k for k in mine if k[2] == attack_type and k[1] is not None]
            if parts:
                yield (country, None, attack_type), parts


def row_keys(data: dict[str, Any]) -> list[CellKey]:
    types = data.get("attack_types") or [None]
    keys = [(data["country"], data["period"], None), (data["country"], None, None)]
    for t in types:
        if t is not None:
            keys += [(data["country"], data["period"], t), (data["country"], None, t)]
    return keys


@PROPERTY
@given(world=worlds, policy=policies.filter(lambda p: p.k >= 3))
def test_a_suppressed_cell_never_reappears_through_a_difference_of_published_totals(
    db: Database, *, world: list[dict[str, Any]], policy: ReleasePolicy
) -> None:
    store(db, world)
    built = preview(db, policy)
    exact = {
        cell_key(c.public_dict()): c.incidents
        for c in preview(db, policy.model_copy(update={"k": 1})).cells
    }
    cells = {cell_key(c.public_dict()): c for c in built.cells}
    assert set(cells) == set(exact)
    hidden = {key for key, cell in cells.items() if cell.suppressed}
    event(f"some cells hidden: {bool(hidden)}; some shown: {len(hidden) < len(cells)}")
    event(f"rows published: {bool(built.incidents)}")
    for key, cell in cells.items():
        true = exact[key]
        assert true is not None
        if true < policy.k:
            assert cell.suppressed, key
        if not cell.suppressed:
            assert cell.incidents == true
        else:
            assert cell.incidents is None and cell.killed is None and cell.injured is None
    for total, parts in lines_of(set(cells)):
        members = [*parts, total]
        assert sum(m in hidden for m in members) != 1, (total, parts)
        hidden_parts = [exact[p] or 0 for p in parts if p in hidden]
        if total not in hidden and hidden_parts:
            # published total - published parts = the hidden parts' sum: it must not pin them
            assert sum(hidden_parts) > len(hidden_parts)
            assert not (
                all(v < policy.k for v in hidden_parts)
                and sum(hidden_parts) == len(hidden_parts) * (policy.k - 1)
            )
    shown: Counter[CellKey] = Counter()
    for row in built.incidents:
        shown.update(row_keys(row.public_dict()))
    for key, count in shown.items():
        assert key not in hidden, f"a published row falls in suppressed cell {key}"
        assert count <= (cells[key].incidents or 0)


# --- what is released --------------------------------------------------------------------------


def test_exercise_data_is_never_released(db: Database) -> None:
    def write(session: Session) -> None:
        for days in range(40, 100, 3):
            add_incident(
                session, occurred_at=NOW - timedelta(days=days), country="UKR", exercise=True
            )
        add_incident(session, occurred_at=NOW - timedelta(days=50), country="SDN")

    db.write(write)
    policy = ReleasePolicy(k=1, min_certainty=Certainty.RUMOUR, spatial="admin1")
    built = preview(db, policy)
    assert built.summary.excluded["exercise"] == 20
    assert {r.country for r in built.incidents} == {"SDN"}
    assert {c.country for c in built.cells} == {"SDN"}
    assert "UKR" not in public_text([built.incidents, built.cells])


def test_rejected_withdrawn_and_merged_incidents_are_never_released(db: Database) -> None:
    def write(session: Session) -> None:
        kept = add_incident(session, occurred_at=NOW - timedelta(days=60), country="SDN")
        for state, country in (("rejected", "UKR"), ("withdrawn", "YEM")):
            row = session.get(
                IncidentRow,
                add_incident(session, occurred_at=NOW - timedelta(days=60), country=country),
            )
            assert row is not None
            row.state = state
        merged = session.get(
            IncidentRow, add_incident(session, occurred_at=NOW - timedelta(days=60), country="MLI")
        )
        assert merged is not None
        merged.merged_into = kept

    db.write(write)
    built = preview(db, ReleasePolicy(k=1, min_certainty=Certainty.RUMOUR))
    assert {r.country for r in built.incidents} == {"SDN"}
    assert {c.country for c in built.cells} == {"SDN"}


def test_publication_delay_is_respected(db: Database) -> None:
    def write(session: Session) -> None:
        add_incident(session, occurred_at=NOW - timedelta(days=10), country="SDN")  # June 21
        add_incident(session, occurred_at=NOW - timedelta(days=45), country="PSE")  # May 17
        add_incident(session, occurred_at=NOW - timedelta(days=100), country="UKR")  # March 23

    db.write(write)
    built = preview(db, ReleasePolicy(k=1))  # 30 days, by month: June waits
    assert built.summary.cutoff.date() == date(2024, 6, 1)
    assert sorted(r.country for r in built.incidents) == ["PSE", "UKR"]
    assert built.summary.excluded == {"publication_delay": 1}
    weekly = preview(db, ReleasePolicy(k=1, time=TimeUnit.WEEK, delay_days=0))
    assert weekly.summary.cutoff.date() == date(2024, 7, 1)  # a Monday
    assert len(weekly.incidents) == 3
    late = preview(db, ReleasePolicy(k=1, delay_days=120))
    assert late.incidents == [] and late.summary.excluded == {"publication_delay": 3}


def test_weak_certainty_strict_labels_and_coarse_dates_stay_out(db: Database) -> None:
    def write(session: Session) -> None:
        at = NOW - timedelta(days=60)
        add_incident(session, occurred_at=at, certainty="rumour")
        add_incident(session, occurred_at=at, certainty="possible")
        add_incident(session, occurred_at=at, tlp="red")
        add_incident(session, occurred_at=at, date_precision="month")
        add_incident(session, occurred_at=at, date_precision="year")

    db.write(write)
    by_month = preview(db, ReleasePolicy(k=1))
    assert by_month.summary.released == 2  # the possible one and the month-precise one
    assert by_month.summary.excluded == {
        "below_min_certainty": 1,
        "date_too_coarse": 1,
        "sharing_label": 1,
    }
    by_week = preview(db, ReleasePolicy(k=1, time=TimeUnit.WEEK))
    assert by_week.summary.excluded["date_too_coarse"] == 2
    green_only = preview(db, ReleasePolicy(k=1, max_tlp="green"))
    assert green_only.incidents == []


def test_rows_in_suppressed_cells_are_withheld_and_big_cells_published(db: Database) -> None:
    def write(session: Session) -> None:
        for day in range(5):
            add_incident(session, occurred_at=NOW - timedelta(days=40 + day), killed=1)
        for day in range(2):
            add_incident(session, occurred_at=NOW - timedelta(days=41 + day), attack_types=(HEAVY,))
        add_incident(session, occurred_at=NOW - timedelta(days=42), attack_types=(ASSAULT,))

    db.write(write)
    built = preview(db, ReleasePolicy())
    cells = {(c.period, c.attack_type): c for c in built.cells}
    assert cells[("2024-05", FIRE)].incidents == 5 and cells[("2024-05", FIRE)].killed == 5
    assert cells[("2024-05", HEAVY)].suppressed and cells[("2024-05", ASSAULT)].suppressed
    assert cells[("2024-05", None)].incidents == 8
    assert len(built.incidents) == 5 and built.summary.withheld_by_suppression == 3
    assert {tuple(r.attack_types or ()) for r in built.incidents} == {(FIRE,)}


def test_complementary_suppression_hides_a_cell_that_would_pin_the_others(db: Database) -> None:
    def write(session: Session) -> None:
        for day in range(5):
            add_incident(session, occurred_at=NOW - timedelta(days=40 + day))
        add_incident(session, occurred_at=NOW - timedelta(days=41), attack_types=(HEAVY,))
        add_incident(session, occurred_at=NOW - timedelta(days=42), attack_types=(ASSAULT,))

    db.write(write)
    cells = {(c.period, c.attack_type): c for c in preview(db, ReleasePolicy()).cells}
    # 7 in May minus 5 fires would leave 2 for two hidden cells: both 1. So fires hide too.
    assert cells[("2024-05", FIRE)].suppressed
    assert cells[("2024-05", None)].incidents == 7


# --- the two-person rule and the life of a release --------------------------------------------


@pytest.fixture
def people(db: Database) -> People:
    return add_people(db)


def some_incidents(db: Database) -> None:
    db.write(
        lambda s: [
            add_incident(s, occurred_at=NOW - timedelta(days=40 + d), country="SDN")
            for d in range(4)
        ]
    )


def test_two_person_rule(db: Database, people: People) -> None:
    some_incidents(db)
    policy = ReleasePolicy()
    made = db.write(
        lambda s: releases.create(
            s, policy, title="Q2", actor=actor(s, people.coordinator), now=NOW
        )
    )
    with pytest.raises(PermissionDenied, match="two-person"):
        db.write(lambda s: releases.approve(s, made.version, actor=actor(s, people.coordinator)))
    with pytest.raises(PermissionDenied, match="may not approve"):
        db.write(lambda s: releases.approve(s, made.version, actor=actor(s, people.analyst)))
    with pytest.raises(PermissionDenied, match="named person"):
        db.write(lambda s: releases.create(s, policy, title="by nobody", actor=SYSTEM, now=NOW))
    with pytest.raises(PermissionDenied):
        db.write(lambda s: releases.create(s, policy, title="x", actor=actor(s, people.reporter)))
    other = db.write(
        lambda s: releases.create(s, policy, title="Q2b", actor=actor(s, people.analyst), now=NOW)
    )
    approved = db.write(
        lambda s: releases.approve(s, other.version, actor=actor(s, people.coordinator))
    )
    assert approved.status == "approved"
    assert (approved.created_by, approved.approved_by) == (people.analyst, people.coordinator)


def audit_actions(db: Database, version: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(AuditEventRow.action)
                .where(
                    AuditEventRow.entity_type == "release", AuditEventRow.entity_id == str(version)
                )
                .order_by(AuditEventRow.id)
            )
        )


def test_life_of_a_release_is_audited_step_by_step(db: Database, people: People) -> None:
    some_incidents(db)
    made = db.write(
        lambda s: releases.create(
            s, ReleasePolicy(k=1), title="May", actor=actor(s, people.analyst), now=NOW
        )
    )
    assert (made.version, made.status, made.row_count) == (1, "draft", 4)
    with pytest.raises(Conflict, match="only an approved"):
        db.write(lambda s: releases.publish(s, 1, actor=actor(s, people.analyst)))
    db.write(lambda s: releases.approve(s, 1, actor=actor(s, people.coordinator)))
    with pytest.raises(Conflict, match="only a draft"):
        db.write(lambda s: releases.approve(s, 1, actor=actor(s, people.coordinator)))
    db.write(lambda s: releases.publish(s, 1, actor=actor(s, people.analyst)))
    with db.read() as session:
        assert [r.version for r in releases.list_published(session)] == [1]
    with pytest.raises(InvalidInput):
        db.write(lambda s: releases.withdraw(s, 1, reason=" ", actor=actor(s, people.analyst)))
    gone = db.write(
        lambda s: releases.withdraw(
            s, 1, reason="row 3 can be matched to a clinic", actor=actor(s, people.coordinator)
        )
    )
    assert (gone.status, gone.withdrawn_by) == ("withdrawn", people.coordinator)
    with pytest.raises(Conflict):
        db.write(lambda s: releases.withdraw(s, 1, reason="again", actor=actor(s, people.analyst)))
    assert audit_actions(db, 1) == [
        "release.create",
        "release.approve",
        "release.publish",
        "release.withdraw",
    ]
    with db.read() as session:
        assert releases.list_published(session) == []
        with pytest.raises(NotFound):
            releases.get_public_items(session, 1)
        assert releases.get(session, 1, actor=actor(session, people.analyst)).withdraw_reason


def test_frozen_content_is_the_preview_and_its_hash_guards_it(db: Database, people: People) -> None:
    some_incidents(db)
    policy = ReleasePolicy(k=1, spatial="admin1")
    shown = preview(db, policy)
    made = db.write(
        lambda s: releases.create(s, policy, title="May", actor=actor(s, people.analyst), now=NOW)
    )
    with db.read() as session:
        content = releases.get_content(
            session, made.version, actor=actor(session, people.coordinator)
        )
        stored = session.execute(
            select(ReleaseItemRow.kind, ReleaseItemRow.data)
            .where(ReleaseItemRow.release_id == 1)
            .order_by(ReleaseItemRow.seq)
        ).all()
    assert content.incidents == shown.incidents and content.cells == shown.cells
    canonical = orjson.dumps([[k, d] for k, d in stored], option=orjson.OPT_SORT_KEYS)
    assert made.content_sha256 == hashlib.sha256(canonical).hexdigest()
    db.write(
        lambda s: add_incident(s, occurred_at=NOW - timedelta(days=50))
    )  # later data: no effect
    db.write(
        lambda s: s.execute(
            update(ReleaseItemRow)
            .where(ReleaseItemRow.release_id == 1, ReleaseItemRow.seq == 1)
            .values(data={**stored[0][1], "admin1": "Edited"})
        )
    )
    with pytest.raises(Conflict, match="SHA-256"):
        db.write(lambda s: releases.approve(s, 1, actor=actor(s, people.coordinator)))
    assert audit_actions(db, 1) == ["release.create"]  # the refused step left no audit event


def test_need_to_know_limits_what_someone_may_release(db: Database, people: People) -> None:
    some_incidents(db)
    with db.read() as session:
        base = actor(session, people.analyst)
    limited = Actor(
        label=base.label,
        role=Role.ANALYST,
        user_id=base.user_id,
        organisation_id=base.organisation_id,
        countries=frozenset({"SDN"}),
    )
    with db.read() as session:
        with pytest.raises(PermissionDenied, match="SDN"):
            releases.preview(session, ReleasePolicy(), actor=limited, now=NOW)
        ok = releases.preview(session, ReleasePolicy(countries=("SDN",)), actor=limited, now=NOW)
    assert ok.summary.released == 4


def test_a_release_holds_only_what_its_creator_may_see(db: Database, people: People) -> None:
    def write(session: Session) -> None:
        other = accounts.ensure_organisation(session, "Another Partner")
        for day in range(3):
            add_incident(session, occurred_at=NOW - timedelta(days=40 + day), organisation_id=other)
            add_incident(
                session,
                occurred_at=NOW - timedelta(days=40 + day),
                organisation_id=other,
                tlp="green",
                country="PSE",
            )

    db.write(write)
    with db.read() as session:
        mine = releases.preview(
            session, ReleasePolicy(), actor=actor(session, people.analyst), now=NOW
        )
    assert {r.country for r in mine.incidents} == {"PSE"}  # the partner's TLP:AMBER stays out
    assert {r.country for r in preview(db, ReleasePolicy()).incidents} == {"PSE", "SDN"}


# --- differential privacy ------------------------------------------------------------------------


def test_dp_noise_is_recorded_and_only_counts_are_published(db: Database, people: People) -> None:
    pytest.importorskip("opendp")
    some_incidents(db)
    policy = ReleasePolicy(publish_incidents=False, dp_epsilon=1.0, since=date(2024, 4, 1))
    made = db.write(
        lambda s: releases.create(s, policy, title="DP", actor=actor(s, people.analyst), now=NOW)
    )
    assert made.epsilon == 1.0 and made.row_count == 0
    with db.read() as session:
        content = releases.get_content(session, 1, actor=actor(session, people.coordinator))
    periods = {c.period for c in content.cells}
    assert periods == {"2024-04", "2024-05", None}  # the whole domain, zeros included
    assert len(content.cells) == 3 * 16
    for cell in content.cells:
        assert set(cell.public_dict()) <= policy.cell_fields()
        assert "killed" not in cell.public_dict()
        assert cell.suppressed or (cell.incidents or 0) >= policy.k


def test_dp_without_opendp_is_a_one_line_install_hint(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "opendp", None)
    monkeypatch.setitem(sys.modules, "opendp.prelude", None)
    policy = ReleasePolicy(publish_incidents=False, dp_epsilon=0.5)
    with pytest.raises(ConfigurationError) as caught:
        preview(db, policy)
    line = caught.value.cli_line()
    assert "\n" not in line and "haven[dp]" in line


# --- policies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"k": 2}, "k=2"),
        ({"dp_epsilon": 1.0}, "publish_incidents"),
        ({"spatial": "h3:8"}, "H3 resolution"),
        ({"spatial": "city"}, "spatial"),
        ({"fields": ["narrative"]}, "fields"),
        ({"countries": ["XYZ"]}, "countries"),
        ({"gps": True}, "gps"),
    ],
)
def test_unsafe_or_unknown_policies_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ReleasePolicy.model_validate(changes)


def test_default_policy_is_the_who_ssa_rule() -> None:
    policy = ReleasePolicy()
    assert policy.incident_fields() == {
        "n",
        "country",
        "period",
        "period_start",
        "period_end",
        "attack_types",
        "resources",
        "facility_type",
        "killed",
        "injured",
        "certainty",
    }
    assert (policy.spatial, policy.time, policy.k, policy.delay_days) == ("country", "month", 3, 30)
    assert policy.dp_epsilon is None and policy.min_certainty == "possible"


def test_policy_files_in_json_and_toml(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"spatial": "h3:5", "time": "week", "k": 5}')
    (tmp_path / "p.toml").write_text('spatial = "admin1"\nfields = ["attack_types", "killed"]\n')
    (tmp_path / "bad.json").write_text('{"k": 0}')
    assert load_policy(tmp_path / "p.json").h3_resolution == 5
    assert load_policy(tmp_path / "p.toml").fields == (PublicField.ATTACK_TYPES, PublicField.KILLED)
    with pytest.raises(InvalidInput) as caught:
        load_policy(tmp_path / "bad.json")
    assert "policy.k" in caught.value.fields


# --- the command line ----------------------------------------------------------------------------

HAVEN = Path(sys.executable).parent / "haven"


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HAVEN), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_release_flow(tmp_path: Path) -> None:
    database = open_database(Settings(data_dir=tmp_path))
    try:
        add_people(database)
        some_incidents(database)
    finally:
        database.close()
    shown = run(tmp_path, "release", "preview")
    assert shown.returncode == 0, shown.stderr
    assert "count cells" in shown.stdout
    nobody = run(tmp_path, "release", "create", "--title", "May")
    assert nobody.returncode == 2  # --as is required
    made = run(tmp_path, "release", "create", "--title", "May", "--as", "rel-analyst")
    assert made.returncode == 0, made.stderr
    assert "release 1 is a draft" in made.stdout
    same = run(tmp_path, "release", "approve", "1", "--as", "rel-analyst")
    assert same.returncode == 77 and same.stderr.startswith("error: ")
    assert run(tmp_path, "release", "approve", "1", "--as", "rel-coordinator").returncode == 0
    assert run(tmp_path, "release", "publish", "1").returncode == 0
    out = tmp_path / "r1.csv"
    exported = run(tmp_path, "release", "export", "1", "--format", "csv", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[1][0].startswith("#") and len(rows) == 2 + 4
    assert "withdrawn" not in run(tmp_path, "release", "list").stdout
    gone = run(tmp_path, "release", "withdraw", "1", "--reason", "test")
    assert gone.returncode == 0, gone.stderr
    again = run(tmp_path, "release", "export", "1", "--format", "xlsx", "--out", str(out))
    assert again.returncode == 66 and "no published release 1" in again.stderr
