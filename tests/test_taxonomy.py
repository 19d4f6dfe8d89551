"""Tests for the code lists and crosswalks in ``haven.taxonomy``, checked against the real data."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from haven import taxonomy as tx
from haven.taxonomy import (
    AcledEventType,
    AcledSubEventType,
    AttackTimeBin,
    AwsdActorType,
    AwsdAttackContext,
    AwsdLocation,
    AwsdMeansOfAttack,
    AwsdMotive,
    Certainty,
    ContextFlag,
    GeoPrecision,
    PerpetratorCategory,
    ProhibitedConduct,
    ShccIndicator,
    ShccLocation,
    SsaAttackType,
    SsaFacilityType,
    SsaResource,
    Tlp,
    Weapon,
    certainty_rank,
    classify_conduct,
)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
WHO_CSV = DATA / "who_ssa_attacks_2017_2024.csv"
AWSD_CSV = DATA / "awsd_security_incidents_1997_2025.csv"
KIKA_JSON = DATA / "insecurity_insight_aid_worker_kika_2020_2024.json"
SCHEMA_CSV = DATA / "insecurity_insight_schema.csv"

P = ProhibitedConduct
A = SsaAttackType
R = SsaResource


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real dataset not found at {path} (shared/data must sit beside the repo)")
    return path


@pytest.fixture(scope="module")
def who_rows() -> list[dict[str, str]]:
    with _need(WHO_CSV).open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def awsd_rows() -> list[dict[str, str]]:
    with _need(AWSD_CSV).open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        next(reader)  # the HXL hashtag row
        return list(reader)


@pytest.fixture(scope="module")
def kika_rows() -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = json.loads(_need(KIKA_JSON).read_text(encoding="utf-8"))
    return rows


def _distinct(rows: list[dict[str, str]], column: str) -> Iterator[str]:
    yield from sorted({row[column] for row in rows if row[column].strip()})


# --- WHO SSA ------------------------------------------------------------------------------------


def test_every_ssa_attack_type_part_in_the_who_export_parses(
    who_rows: list[dict[str, str]],
) -> None:
    seen = {t for row in who_rows for t in tx.parse_ssa_attack_types(row["Attack Type"])}
    assert seen == set(SsaAttackType)
    assert len(SsaAttackType) == 15


def test_who_certainty_facility_and_time_values_parse(who_rows: list[dict[str, str]]) -> None:
    assert {Certainty.from_label(v) for v in _distinct(who_rows, "Certainty Level")} == {
        Certainty.CONFIRMED,
        Certainty.PROBABLE,
        Certainty.POSSIBLE,
    }
    assert {SsaFacilityType.from_label(v) for v in _distinct(who_rows, "Type of Facility")} == set(
        SsaFacilityType
    )
    bins = {tx.ssa_attack_time_bin(v) for v in _distinct(who_rows, "Attack Time")}
    assert bins == set(AttackTimeBin)


def test_ssa_resource_and_casualty_columns_are_real_headers(
    who_rows: list[dict[str, str]],
) -> None:
    headers = set(who_rows[0])
    assert {r.value for r in SsaResource} <= headers
    assert set(tx.SSA_CASUALTY_COLUMNS) <= headers
    assert all(v in {"YES", "NO", "Unknown"} for v in _distinct(who_rows, R.FACILITY.value))


def test_ssa_resources_from_row() -> None:
    row = {"HC Facilities": "YES", "HC Personnel": "Unknown", "HC Patients": "YES", "HC Other": ""}
    assert tx.ssa_resources_from_row(row) == [R.FACILITY, R.PATIENTS]
    assert tx.ssa_resources_from_row({"HC Other": "pharmacy"}) == [R.OTHER]


def test_split_ssa_multi_respects_parentheses_and_known_labels() -> None:
    text = (
        "Armed or violent search of health care personnel, facility or transport, "
        "Removal of health care assets (e.g. transport, supplies, materials), "
        "Violence with individual weapons (knives, bricks, clubs, guns, grenades and "
        "improvised explosive devices (IED), Setting fire"
    )
    assert tx.parse_ssa_attack_types(text) == [
        A.ARMED_SEARCH,
        A.REMOVAL_OF_ASSETS,
        A.INDIVIDUAL_WEAPONS,
        A.SETTING_FIRE,
    ]
    assert tx.split_ssa_multi("New type (a, b), Other (c), x") == [
        "New type (a, b)",
        "Other (c)",
        "x",
    ]
    assert tx.split_ssa_multi("") == []


def test_ssa_short_and_balanced_spellings_are_accepted() -> None:
    assert A.from_label("Violence with heavy weapons") is A.HEAVY_WEAPONS
    assert A.from_label(A.INDIVIDUAL_WEAPONS.value + ")") is A.INDIVIDUAL_WEAPONS
    assert A.from_label("  setting   FIRE ") is A.SETTING_FIRE


def test_attack_time_bins() -> None:
    assert tx.ssa_attack_time_bin("05:59") is AttackTimeBin.NIGHT
    assert tx.ssa_attack_time_bin("12:00") is AttackTimeBin.AFTERNOON
    assert tx.ssa_attack_time_bin("23:55") is AttackTimeBin.EVENING
    assert tx.ssa_attack_time_bin("Time Unknown") is AttackTimeBin.UNKNOWN
    with pytest.raises(ValueError, match="25:00"):
        tx.ssa_attack_time_bin("25:00")


# --- Certainty, TLP, precision --------------------------------------------------------------------


def test_certainty_labels_and_rank() -> None:
    assert Certainty.from_label("Rumor") is Certainty.RUMOUR
    assert Certainty.from_label("RUMOUR") is Certainty.RUMOUR
    assert [certainty_rank(c) for c in Certainty] == [0, 1, 2, 3]
    assert max(Certainty, key=certainty_rank) is Certainty.CONFIRMED
    with pytest.raises(ValueError, match="'Verified'"):
        Certainty.from_label("Verified")


def test_tlp_labels() -> None:
    assert Tlp.AMBER_STRICT.label == "TLP:AMBER+STRICT"
    assert Tlp.from_label("TLP:AMBER+STRICT") is Tlp.AMBER_STRICT
    assert Tlp.from_label("TLP:WHITE") is Tlp.CLEAR


def test_geo_precision_labels_and_radius(kika_rows: list[dict[str, str | None]]) -> None:
    shcc_labels = [
        "(2) 25 km Precision ",
        "(5) Linear Feature e.g. Along Road/River ",
        "(6) Country",
    ]
    assert [GeoPrecision.from_label(v) for v in shcc_labels] == [2, 5, 6]
    assert {GeoPrecision.from_label(row["Geo Precision"] or "") for row in kika_rows} <= set(
        GeoPrecision
    )
    radii = [p.radius_km for p in GeoPrecision if p.radius_km is not None]
    assert radii == sorted(radii)
    assert GeoPrecision.COUNTRY.radius_km is None
    assert all(p.description for p in GeoPrecision)
    with pytest.raises(ValueError, match="'9'"):
        GeoPrecision.from_label("9")


# --- Insecurity Insight / SHCC ----------------------------------------------------------------


def test_every_kika_weapon_perpetrator_and_location_parses(
    kika_rows: list[dict[str, str | None]],
) -> None:
    for row in kika_rows:
        assert tx.parse_shcc_weapons(row["Weapon Carried/Used"] or "")
        PerpetratorCategory.from_label(row["Reported Perpetrator"] or "")
        ShccLocation.from_label(row["Location of Incident"] or "")


def test_shcc_spellings_from_the_2016_2023_file() -> None:
    # Distinct values copied from the SHCC XLSX (not read here: no spreadsheet dependency).
    assert tx.parse_shcc_weapons("Firearms, Tasers, Live and Rubber Bullets") == [
        Weapon.FIREARMS,
        Weapon.TASERS_LIVE_RUBBER_BULLETS,
    ]
    assert tx.parse_shcc_weapons("Firearms, Stones, Sticks and Gravel")[1] is (
        Weapon.STONES_STICKS_GRAVEL
    )
    assert tx.parse_shcc_weapons("Remote-controlled IED") == [Weapon.RCIED]
    for label in ("Armed Forces of Government/Self-Declared Government", "NSA", "Protestors"):
        PerpetratorCategory.from_label(label)
    for label in ("Compound/Office Building", "IDP/Refugee Camp", "Ship/Water"):
        ShccLocation.from_label(label)


def test_shcc_columns_are_in_the_insecurity_insight_schema() -> None:
    with _need(SCHEMA_CSV).open(encoding="utf-8", newline="") as f:
        fields = {
            row["field_name"]
            for row in csv.DictReader(f)
            if row["dataset_name"] == "insecurity-insight-healthcare-incidents"
        }
    assert {i.value for i in ShccIndicator} <= fields
    assert set(tx.SHCC_CASUALTY_COLUMNS) <= fields


def test_ssa_from_shcc() -> None:
    assert tx.ssa_attack_types_from_shcc(
        "Aerial Bomb: Plane, Firearms", indicators=["Access Denied or Obstructed"]
    ) == [A.HEAVY_WEAPONS, A.INDIVIDUAL_WEAPONS, A.OBSTRUCTION]
    assert tx.ssa_attack_types_from_shcc(
        "Firearms", indicators=["Health Workers Assaulted", "Health Workers Kidnapped"]
    ) == [A.INDIVIDUAL_WEAPONS, A.ABDUCTION_ARREST_DETENTION]
    assert tx.ssa_attack_types_from_shcc(
        "Unarmed Perpetrator", indicators=["Health Workers Injured"]
    ) == [A.ASSAULT]
    assert tx.ssa_attack_types_from_shcc(
        "No Information on the Weapon Used", indicators=["Occupation of Health Facility"]
    ) == [A.MILITARIZATION]
    assert tx.ssa_attack_types_from_shcc("No Information on the Weapon Used") == [A.UNKNOWN]
    assert tx.ssa_attack_types_from_shcc("Not Applicable: No Direct Violence") == [A.OTHER]
    assert tx.ssa_attack_types_from_shcc(["Laser"]) == [A.OTHER]


def test_resources_from_shcc() -> None:
    columns = ["Health Transportation Stolen/Hijacked", "Health Workers Killed", "Unknown col"]
    assert tx.resources_from_shcc(columns) == [R.PERSONNEL, R.TRANSPORT]


def test_every_weapon_has_a_crosswalk_row() -> None:
    assert set(tx.WEAPON_TO_SSA) == set(Weapon)
    assert set(tx.SHCC_INDICATOR_TO_RESOURCES) | set(tx.SHCC_INDICATOR_TO_SSA) <= set(ShccIndicator)


# --- AWSD ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        ("Means of attack", AwsdMeansOfAttack),
        ("Attack context", AwsdAttackContext),
        ("Location", AwsdLocation),
        ("Motive", AwsdMotive),
        ("Actor type", AwsdActorType),
    ],
)
def test_every_awsd_value_parses(awsd_rows: list[dict[str, str]], case: tuple[str, Any]) -> None:
    column, enum = case
    assert {enum.from_label(v) for v in _distinct(awsd_rows, column)} == set(enum)


def test_every_awsd_means_of_attack_maps(awsd_rows: list[dict[str, str]]) -> None:
    assert set(tx.AWSD_MEANS_TO_SSA) == set(AwsdMeansOfAttack)
    for value in _distinct(awsd_rows, "Means of attack"):
        types = tx.ssa_attack_types_from_awsd(value)
        assert types
        assert A.OTHER not in types, value
    assert tx.ssa_attack_types_from_awsd("Drone swarm") == [A.OTHER]


def test_awsd_casualty_columns_are_real_headers(awsd_rows: list[dict[str, str]]) -> None:
    assert set(tx.AWSD_CASUALTY_COLUMNS) <= set(awsd_rows[0])
    assert len(tx.AWSD_CASUALTY_COLUMNS) == 8


def test_context_flags() -> None:
    assert tx.context_flags_from_awsd(attack_context="Combat/Crossfire", location="Custody") == [
        ContextFlag.ACTIVE_HOSTILITIES,
        ContextFlag.CROSSFIRE,
        ContextFlag.DETENTION_SETTING,
    ]
    assert tx.context_flags_from_awsd(attack_context="Unknown", location="nowhere") == []
    assert tx.context_flags_from_shcc("IDP Refugee Camp") == [ContextFlag.DISPLACEMENT_SITE]
    assert tx.context_flags_from_shcc(None) == []
    assert all(flag.description and flag.value.islower() for flag in ContextFlag)


# --- ACLED --------------------------------------------------------------------------------------


def test_acled_has_6_event_types_and_25_sub_event_types() -> None:
    assert len(AcledEventType) == 6
    assert len(AcledSubEventType) == 25
    assert set(tx.ACLED_SUB_EVENT_EVENT_TYPE) == set(AcledSubEventType)
    counts = {e: 0 for e in AcledEventType}
    for sub in AcledSubEventType:
        counts[sub.event_type] += 1
    assert list(counts.values()) == [3, 6, 3, 3, 2, 8]
    assert AcledSubEventType.GRENADE.event_type is AcledEventType.EXPLOSIONS_REMOTE_VIOLENCE
    assert AcledSubEventType.ARRESTS.event_type is AcledEventType.STRATEGIC_DEVELOPMENTS


def test_acled_crosswalk() -> None:
    assert set(tx.ACLED_SUB_EVENT_TO_SSA) == set(AcledSubEventType)
    assert tx.ssa_attack_types_from_acled("Air/drone strike") == [A.HEAVY_WEAPONS]
    assert tx.ssa_attack_types_from_acled("Agreement") == []
    assert tx.ssa_attack_types_from_acled("Alien invasion") == [A.OTHER]


# --- Prohibited conduct -------------------------------------------------------------------------


def test_every_conduct_has_a_label_and_ihl_references() -> None:
    for conduct in ProhibitedConduct:
        assert conduct.label
        assert conduct.ihl_references
    refs = P.ATTACK_ON_MEDICAL_UNITS.ihl_references
    assert "GC I art. 19" in refs
    assert "Customary IHL (ICRC study) rule 28" in refs
    assert "Customary IHL (ICRC study) rule 59" in P.EMBLEM_MISUSE.ihl_references


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"attack_types": [A.HEAVY_WEAPONS], "resources": [R.FACILITY]},
            [P.ATTACK_ON_MEDICAL_UNITS],
        ),
        (
            {"attack_types": [A.INDIVIDUAL_WEAPONS], "resources": [R.TRANSPORT, R.PERSONNEL]},
            [P.ATTACK_ON_MEDICAL_TRANSPORT, P.ATTACK_ON_MEDICAL_PERSONNEL],
        ),
        (
            {"attack_types": [A.OBSTRUCTION], "resources": [R.FACILITY]},
            [P.OBSTRUCTION_OF_MEDICAL_ACCESS],
        ),
        (
            {"attack_types": [A.REMOVAL_OF_ASSETS], "resources": [R.SUPPLIES]},
            [P.INTERFERENCE_WITH_RELIEF],
        ),
        ({"attack_types": [A.MILITARIZATION], "resources": [R.FACILITY]}, [P.MILITARISATION]),
        (
            {"attack_types": [A.OTHER], "resources": [], "military_use_alleged": True},
            [P.MILITARISATION],
        ),
        (
            {"attack_types": [A.CRIMINALIZATION], "resources": [R.PERSONNEL]},
            [P.ATTACK_ON_MEDICAL_PERSONNEL],
        ),
        (
            {"attack_types": [A.SETTING_FIRE], "resources": [R.WAREHOUSE]},
            [P.ATTACK_ON_MEDICAL_UNITS, P.INTERFERENCE_WITH_RELIEF],
        ),
        (
            {"attack_types": [A.UNKNOWN], "resources": [], "emblem_misuse": True},
            [P.EMBLEM_MISUSE],
        ),
        (
            {"attack_types": [A.INDIVIDUAL_WEAPONS], "resources": [], "aid_workers_affected": True},
            [P.INTERFERENCE_WITH_RELIEF],
        ),
        ({"attack_types": [A.HEAVY_WEAPONS], "resources": []}, []),
    ],
)
def test_classify_conduct(kwargs: dict[str, object], expected: list[ProhibitedConduct]) -> None:
    assert classify_conduct(**kwargs) == expected  # type: ignore[arg-type]


def test_classify_conduct_is_order_free_and_without_repeats() -> None:
    one = classify_conduct(
        attack_types=[A.HEAVY_WEAPONS, A.SETTING_FIRE, A.HEAVY_WEAPONS],
        resources=[R.PATIENTS, R.FACILITY, R.PERSONNEL],
    )
    two = classify_conduct(
        attack_types=[A.SETTING_FIRE, A.HEAVY_WEAPONS], resources=[R.FACILITY, R.PATIENTS]
    )
    assert one == two == [P.ATTACK_ON_MEDICAL_UNITS, P.ATTACK_ON_MEDICAL_PERSONNEL]


# --- Whole-module checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "enum",
    [SsaAttackType, SsaResource, Weapon, PerpetratorCategory, ShccLocation, AwsdActorType],
)
def test_unknown_label_raises_naming_the_value(enum: Any) -> None:
    with pytest.raises(ValueError, match=r"unknown \w+ label: 'Nonsense value'"):
        enum.from_label("Nonsense value")


def test_every_public_name_exists() -> None:
    assert all(hasattr(tx, name) for name in tx.__all__)


def test_every_code_list_value_is_documented() -> None:
    docs = (REPO / "docs" / "taxonomy.md").read_text(encoding="utf-8")
    enums = [getattr(tx, n) for n in tx.__all__ if isinstance(getattr(tx, n), type)]
    missing = [
        f"{enum.__name__}.{member.name}"
        for enum in enums
        if issubclass(enum, Enum)
        for member in enum
        if f"`{member.value}`" not in docs
    ]
    assert not missing
