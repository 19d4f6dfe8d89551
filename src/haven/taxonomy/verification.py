"""Verification code lists: source types, the admiralty grading, evidence kinds, incident states."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["Credibility", "EvidenceKind", "IncidentState", "Reliability", "SourceType"]


class SourceType(StrEnum):
    """How close a report's source stands to the event (WHO SSA source-of-information types)."""

    EYEWITNESS = "eyewitness"
    PARTNER_SELF_REPORT = "partner_self_report"
    SECONDARY = "secondary"
    MEDIA = "media"
    SOCIAL_MEDIA = "social_media"
    ANONYMOUS = "anonymous"

    @property
    def description(self) -> str:
        """Who the source is."""
        return _SOURCE_TYPE_TEXT[self]

    @property
    def first_hand(self) -> bool:
        """Whether the source saw or suffered the attack itself."""
        return self in {SourceType.EYEWITNESS, SourceType.PARTNER_SELF_REPORT}


_SOURCE_TYPE_TEXT = {
    SourceType.EYEWITNESS: "An identified person who saw the attack (first-hand).",
    SourceType.PARTNER_SELF_REPORT: (
        "The attacked facility, health worker or health partner reporting the attack on itself."
    ),
    SourceType.SECONDARY: (
        "An identified source that learnt of the attack from others (a UN agency, an NGO, "
        "a local authority, a health cluster partner not present)."
    ),
    SourceType.MEDIA: "A news media report (press, radio, television, news website).",
    SourceType.SOCIAL_MEDIA: "A post on social media (X, Facebook, Telegram, WhatsApp groups).",
    SourceType.ANONYMOUS: "A source that is not identified (an anonymous call, a leaflet).",
}


class Reliability(StrEnum):
    """Admiralty (NATO AJP-2.1) source reliability, A (reliable) to F (cannot be judged)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"

    @property
    def meaning(self) -> str:
        """The grade's standard wording."""
        return _RELIABILITY_TEXT[self]


_RELIABILITY_TEXT = {
    Reliability.A: "Completely reliable: no doubt of authenticity, trustworthiness or competency.",
    Reliability.B: "Usually reliable: minor doubt; a history of mostly valid information.",
    Reliability.C: "Fairly reliable: doubt; has provided valid information in the past.",
    Reliability.D: "Not usually reliable: significant doubt; some valid information in the past.",
    Reliability.E: "Unreliable: lacking authenticity, trustworthiness or competency.",
    Reliability.F: "Reliability cannot be judged: no basis to evaluate the source.",
}


class Credibility(IntEnum):
    """Admiralty information credibility, 1 (confirmed) to 6 (cannot be judged)."""

    CONFIRMED = 1
    PROBABLY_TRUE = 2
    POSSIBLY_TRUE = 3
    DOUBTFUL = 4
    IMPROBABLE = 5
    CANNOT_BE_JUDGED = 6

    @property
    def meaning(self) -> str:
        """The grade's standard wording."""
        return _CREDIBILITY_TEXT[self]


_CREDIBILITY_TEXT = {
    Credibility.CONFIRMED: "Confirmed by other independent sources; logical; consistent.",
    Credibility.PROBABLY_TRUE: (
        "Probably true: not confirmed; logical; consistent with other information."
    ),
    Credibility.POSSIBLY_TRUE: "Possibly true: not confirmed; reasonably logical; agrees somewhat.",
    Credibility.DOUBTFUL: (
        "Doubtful: not confirmed; possible but not logical; no other information."
    ),
    Credibility.IMPROBABLE: (
        "Improbable: not confirmed; not logical; contradicted by other information."
    ),
    Credibility.CANNOT_BE_JUDGED: "Truth cannot be judged: no basis to evaluate the information.",
}


class EvidenceKind(StrEnum):
    """Material that comes with a report (held as evidence, not in the report itself)."""

    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    SATELLITE = "satellite"
    DOCUMENT = "document"


class IncidentState(StrEnum):
    """Where an incident stands in verification.

    ``received → in_review → verified | rejected``; ``verified → published →
    withdrawn``; ``rejected → in_review`` reopens (see docs/verification.md).
    """

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    VERIFIED = "verified"
    REJECTED = "rejected"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"
