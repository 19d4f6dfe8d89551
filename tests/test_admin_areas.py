"""Admin1 names from the real sources become one stable key per area, or None for placeholders."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from haven import admin_areas
from haven.admin_areas import admin1_key, admin1_unit


@pytest.mark.parametrize(
    ("country", "names", "unit"),
    [
        ("LBY", ["Tripoli", "TrÃ­poli", "Trípoli"], "LBY:tripoli"),  # mojibake, accents
        ("CAF", ["Nana-Grébizi", "Nana-GrÃ©bizi", "Nana-Grebizi"], "CAF:nana grebizi"),
        ("UKR", ["Donetsk", "Donetsk Oblast", "Oblast de Donetsk"], "UKR:donetsk"),  # area words
        ("SYR", ["Ar-Raqqah Governorate", "Al-Raqqah Governorate", "Raqqa"], "SYR:raqqah"),
        ("SYR", ["Rural Damascus", "Rif Dimashq governorate"], "SYR:rif dimashq"),  # alias
        ("UKR", ["Kiev", "Kyiv Oblast", "Pecherskyi district"], "UKR:kyiv"),
        ("PSE", ["Khan Younis", "Northern Gaza", "Gaza Strip"], "PSE:gaza strip"),
        ("SDN", ["Khartoum State", "Khartoum"], "SDN:khartoum"),
        ("YEM", ["Sa'dah", "Sa’dah Governorate"], "YEM:sadah"),  # apostrophes
        ("AFG", ["Kunar Province", "Konar"], "AFG:konar"),  # spelling variants
    ],
)
def test_spellings_of_one_area_share_a_key(country: str, names: list[str], *, unit: str) -> None:
    assert {admin1_unit(country, name) for name in names} == {unit}


@pytest.mark.parametrize(
    ("country", "name"),
    [
        ("SYR", "No Information"),  # SHCC: a country-precision row
        ("MMR", "unknown"),
        ("PSE", "Palestinian Territories"),  # the whole territory, not an area of it
        ("SDN", "Sudan"),  # AWSD names the country as its own province
        ("UKR", ""),
        ("UKR", "Oblast"),  # nothing left once the area word goes
        ("UKR", None),
    ],
)
def test_placeholders_have_no_unit(country: str, name: str | None) -> None:
    assert admin1_unit(country, name) is None


def test_a_placeholder_in_one_country_is_a_place_in_another() -> None:
    assert admin1_unit("SSD", "Sudan") == "SSD:sudan"  # only SDN's "Sudan" is a placeholder


def test_areas_of_different_countries_never_merge() -> None:
    north = {admin1_unit(c, "North") for c in ("LBN", "ISR", "HTI")}
    assert north == {"LBN:north", "ISR:north", "HTI:north"}
    assert admin1_unit("UKR", "Kiev") != admin1_unit("RUS", "Kiev")
    assert admin1_unit("RUS", "Kiev") == "RUS:kiev"  # aliases hold only in their country


def test_generic_key_drops_articles_and_area_words_only() -> None:
    assert admin1_key("Al-Anbar Governorate") == "anbar"
    assert admin1_key("Département du Sud-Est") == "sud est"
    assert admin1_key("Mount Lebanon") == "mount lebanon"
    assert admin1_key("HormozgÄ\x81n") == "hormozgan"


def test_alias_table_is_data_and_every_row_resolves() -> None:
    text = resources.files("haven").joinpath("data/admin1_aliases.csv").read_text("utf-8")
    assert text.startswith("# ")  # the header comment says what the table is
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert rows and set(rows[0]) == {"country", "name", "unit"}
    for row in rows:
        country = "AFG" if row["country"] == "*" else row["country"]
        expected = f"{country}:{admin1_key(row['unit'])}" if row["unit"] else None
        assert admin1_unit(country, row["name"]) == expected, row
    assert len(admin_areas.aliases()) == len(rows)  # no row shadows another
