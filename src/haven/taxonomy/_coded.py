"""The `_Coded` base of the code lists: label lookup and splitting of multi-valued cells."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from typing import Self

__all__ = [
    "_Coded",
    "_label_index",
    "_norm",
    "_split_known",
]


def _norm(text: str) -> str:
    """Fold case and collapse whitespace, so ``" Host State "`` matches ``"Host state"``."""
    return " ".join(text.split()).casefold()


class _Coded(StrEnum):
    """A code list whose values are the standard's own spelling, read back with ``from_label``."""

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        """Other spellings seen in the sources, mapped to a member's value."""
        return {}

    @classmethod
    def from_label(cls, text: str) -> Self:
        """Return the member a source spells ``text`` (case and spacing are ignored).

        Raises
        ------
        ValueError
            If ``text`` is not a known spelling; the message names the value.
        """
        member = cls._find(text)
        if member is None:
            raise ValueError(f"unknown {cls.__name__} label: {text!r}")
        return member

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        """Accept the other spellings (``from_label``) wherever the enum is built from a value."""
        return cls._find(value) if isinstance(value, str) else None

    @classmethod
    def _find(cls, text: str | None) -> Self | None:
        value = _label_index(cls).get(_norm(text or ""))
        return None if value is None else cls(value)


@cache
def _label_index(cls: type[_Coded]) -> dict[str, str]:
    index = {_norm(alias): value for alias, value in cls._aliases().items()}
    index.update({_norm(member.value): member.value for member in cls})
    return index


def _split_known(text: str, known: Iterable[str]) -> list[str]:
    """Split on commas outside parentheses, keeping any known label whole."""
    labels = sorted(known, key=len, reverse=True)
    parts: list[str] = []
    i = 0
    while i < len(text):
        while i < len(text) and (text[i] == "," or text[i].isspace()):
            i += 1
        if i == len(text):
            break
        for label in labels:
            end = i + len(label)
            if text[i:end].casefold() == label.casefold() and text[end:].lstrip()[:1] in ("", ","):
                parts.append(text[i:end])
                i = end
                break
        else:
            end = _top_level_comma(text, i)
            parts.append(text[i:end].strip())
            i = end
    return parts


def _top_level_comma(text: str, start: int) -> int:
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth = max(depth - 1, 0)
        elif text[j] == "," and depth == 0:
            return j
    return len(text)
