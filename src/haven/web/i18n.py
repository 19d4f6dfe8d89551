"""Languages of the web pages: gettext catalogues (Babel), negotiation, localised dates and numbers.

The catalogues are the ``.po`` files under ``web/locale/<lang>/LC_MESSAGES/``;
they are compiled in memory (Babel's ``write_mo``) the first time a language is
used, so there is no ``.mo`` file to build or to forget. English is the source
language (the ``msgid`` s themselves).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from pathlib import Path

from babel import Locale, dates, numbers
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = [
    "LANGUAGES",
    "LANG_COOKIE",
    "RTL_LANGUAGES",
    "Localiser",
    "catalogue_path",
    "countries_by_name",
    "negotiate",
    "translations",
]

LANGUAGES: dict[str, str] = {"en": "English", "ar": "العربية", "fr": "Français", "uk": "Українська"}
"""The languages of the pages, each named in itself (as the language switcher shows it)."""

RTL_LANGUAGES = frozenset({"ar"})
"""Languages written right to left: their pages get ``dir="rtl"``."""

LANG_COOKIE = "haven_lang"
"""Cookie that keeps the language a user chose (over the browser's ``Accept-Language``)."""

LOCALE_DIR = Path(__file__).parent / "locale"


def catalogue_path(lang: str) -> Path:
    """The ``.po`` file of ``lang``."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The compiled gettext translations of ``lang`` (no-op translations for English)."""
    if lang == "en" or lang not in LANGUAGES:
        return NullTranslations()
    with catalogue_path(lang).open("rb") as po:
        catalogue = read_po(po, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(fp=compiled)


def _accepted(header: str) -> list[str]:
    """Language tags of an ``Accept-Language`` header, best first (``q`` honoured)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip().replace("-", "_")))
    return [tag for _q, _p, tag in sorted(weighted)]


def negotiate(*, cookie: str | None, accept_language: str | None) -> str:
    """The page language: the cookie's if it names one, else the browser's best, else English."""
    if cookie in LANGUAGES:
        return cookie
    preferred = _accepted(accept_language or "")
    found = negotiate_locale(preferred, list(LANGUAGES), sep="_")
    if found is None:  # "ar_SY" against "ar": compare the language part
        found = next((t.split("_")[0] for t in preferred if t.split("_")[0] in LANGUAGES), None)
    return found or "en"


class Localiser:
    """Dates and numbers written the way a language writes them (Babel's CLDR data)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.locale = Locale.parse(lang)
        self.rtl = lang in RTL_LANGUAGES

    def datetime(self, value: dt.datetime | None) -> str:
        """A date and time, medium length, in UTC (``""`` for none)."""
        if value is None:
            return ""
        return dates.format_datetime(value, "medium", tzinfo=dates.UTC, locale=self.locale)

    def date(self, value: dt.datetime | None) -> str:
        """A date, medium length (``""`` for none)."""
        return "" if value is None else dates.format_date(value, "medium", locale=self.locale)

    def number(self, value: float | None) -> str:
        """A number with the language's digits and separators (``""`` for none)."""
        return "" if value is None else numbers.format_decimal(value, locale=self.locale)

    def country(self, iso3: str) -> str:
        """A country's name in the language (the ISO3 code when CLDR has no name for it)."""
        return _country_names(self.lang).get(iso3, iso3)

    def countries(self) -> list[tuple[str, str]]:
        """``(iso3, name)`` of every country, sorted by name."""
        return countries_by_name(self.lang)


@functools.cache
def _country_names(lang: str) -> dict[str, str]:
    import pycountry  # noqa: PLC0415 - only the report form and filters need it

    territories = Locale.parse(lang).territories
    return {
        c.alpha_3: territories.get(c.alpha_2, c.name)
        for c in pycountry.countries
        if c.alpha_2 in territories
    }


def countries_by_name(lang: str) -> list[tuple[str, str]]:
    """``(iso3, name)`` of every country, sorted by its name in ``lang``."""
    return sorted(_country_names(lang).items(), key=lambda pair: pair[1].casefold())
