"""Admin areas: a source's first-level admin area (admin1) name as a stable unit key.

The sources spell one province many ways: "Kyiv Oblast" and "Kiev", "Ar-Raqqah
Governorate" and "Raqqa", "Nana-GrÃ©bizi" (UTF-8 read as Latin-1) and
"Nana-Grébizi". ``admin1_unit`` turns a country and an admin1 name into one key,
``"SYR:raqqah"``, by generic rules (mojibake repaired with ``ftfy``, accents
folded with ``unicodedata``, case and punctuation dropped, words that only say
what kind of area a name is, such as Oblast, Governorate, Province or State, and
Arabic, French and Spanish articles left out), then by the alias table
``haven/data/admin1_aliases.csv``.

The alias table was written by reading every admin1 name in the real SHCC, AWSD
and KIKA files imported as ``make demo`` does (1,241 country and name pairs; a
throw-away review on 2026-11-27): spelling variants that the generic rules leave
apart ("Kunar" and "Konar"), other names for one area ("Rural Damascus" for Rif
Dimashq; Gaza governorates for the Gaza Strip; Kyiv city districts for Kyiv) and
placeholders (SHCC's "No Information" and "Palestinian Territories", AWSD's
"Sudan" as an admin1 of Sudan) whose rows are known only to their country. No
boundary data was used: a key names an area, it does not draw it. Names never
merge across countries (the country is part of the key).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources

import ftfy

__all__ = ["ALIASES_FILE", "admin1_key", "admin1_unit", "aliases"]

ALIASES_FILE = "admin1_aliases.csv"
"""The alias table in ``haven/data``: country (ISO3, or ``*`` for any), name, unit."""

AREA_WORDS = frozenset(
    {
        "administrative", "area", "baladiyah", "county", "department", "departement",
        "distrito", "district", "division", "estado", "governorate", "muhafazat",
        "municipal", "oblast", "oblasti", "of", "prefecture", "province", "provincia",
        "regiao", "region", "special", "state", "territory", "union", "wilayat",
    }
)  # fmt: skip
"""Words that only say what kind of area a name is (left out of the key)."""
ARTICLES = frozenset(
    {
        "ad", "al", "an", "ar", "as", "ash", "at", "az", "d", "de", "del", "des", "du", "ed",
        "el", "es", "ez", "l", "la", "le", "y",
    }
)  # fmt: skip
"""Arabic, French and Spanish articles and joining words (left out of the key)."""


def admin1_key(name: str) -> str | None:
    """The generic key of an admin1 name ("Ar-Raqqah Governorate" → "raqqah"), no aliases.

    None when nothing is left (an empty name, or only area words and articles).
    """
    text = unicodedata.normalize("NFKD", ftfy.fix_text(name))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"['’`]", "", text)
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    kept = [w for w in words if w not in AREA_WORDS and w not in ARTICLES]
    return " ".join(kept) or None


@cache
def aliases() -> dict[tuple[str, str], str | None]:
    """The alias table: (country or ``*``, generic key) → unit key (None: a placeholder)."""
    table: dict[tuple[str, str], str | None] = {}
    text = resources.files("haven").joinpath(f"data/{ALIASES_FILE}").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    for number, row in enumerate(csv.DictReader(lines), start=2):
        key = admin1_key(row["name"])
        if key is None:
            raise ValueError(f"{ALIASES_FILE} row {number}: name {row['name']!r} has no key")
        table[(row["country"], key)] = admin1_key(row["unit"]) if row["unit"] else None
    return table


@lru_cache(maxsize=8192)
def admin1_unit(country: str, name: str | None) -> str | None:
    """The unit key ``"ISO3:key"`` of ``name`` in ``country``, or None for a placeholder.

    ``country`` is the ISO3 code the incident already carries; two countries'
    areas never share a key. Cached: a panel asks once per incident, and the real
    files hold about 1,250 distinct names.
    """
    if name is None:
        return None
    key = admin1_key(name)
    if key is None:
        return None
    table = aliases()
    for scope in (country, "*"):
        if (scope, key) in table:
            found = table[(scope, key)]
            return None if found is None else f"{country}:{found}"
    return f"{country}:{key}"
