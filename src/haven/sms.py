"""SMS and messaging intake: the compact ``ATK`` syntax, parsed into a report and answered.

One message is one report::

    ATK <facility> <type>[+<type>...] [K<n>] [I<n>] [D<yyyy-mm-dd>] [free text]

- ``<facility>``: the facility's code in the registry (its external id, any
  case) or its Haven number; the report takes the facility's country and place;
- ``<type>``: two-letter WHO SSA attack-type codes (``HW`` heavy weapons, ``FI``
  setting fire …, see ``ATTACK_TYPE_CODES``), joined by ``+`` for several;
- ``K<n>`` / ``I<n>``: people killed / injured; ``KH``/``IH`` count health
  workers, ``KP``/``IP`` patients, plain ``K``/``I`` other people;
- ``D<date>``: the day it happened (default: the day the message arrived);
- the rest is the account in the sender's words (kept encrypted).

A message that does not parse gets a reply naming exactly what to fix, and
nothing is written. A message is stored once per ``message_id`` from the same
sender (gateways resend), and answered with a confirmation code.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import accounts, dedup, reports
from haven.errors import ConfigurationError, NotFound
from haven.models import FacilityRow, ReportRow
from haven.reports import ReportIn, ReportReceipt
from haven.settings import Settings
from haven.taxonomy import CasualtyGroup, CasualtyOutcome, SsaAttackType

__all__ = [
    "ATTACK_TYPE_CODES",
    "KEYWORD",
    "SMS_NAMESPACE",
    "SmsIn",
    "SmsParsed",
    "SmsReply",
    "confirmation_code",
    "parse",
    "receive",
    "report_id_of",
]

KEYWORD = "ATK"
SMS_NAMESPACE = uuid.UUID("5b0c7a52-7d0e-4a43-9c55-0d5f4a9e6b21")
"""Report ids of messages are UUID5s in this namespace of ``sender + message id``."""

ATTACK_TYPE_CODES: dict[SsaAttackType, str] = {
    SsaAttackType.HEAVY_WEAPONS: "HW",
    SsaAttackType.INDIVIDUAL_WEAPONS: "IW",
    SsaAttackType.CHEMICAL_AGENT: "CH",
    SsaAttackType.SETTING_FIRE: "FI",
    SsaAttackType.ASSAULT: "AS",
    SsaAttackType.SEXUAL_ASSAULT: "SX",
    SsaAttackType.PSYCHOLOGICAL_VIOLENCE: "TH",
    SsaAttackType.ARMED_SEARCH: "SE",
    SsaAttackType.ABDUCTION_ARREST_DETENTION: "AB",
    SsaAttackType.REMOVAL_OF_ASSETS: "RM",
    SsaAttackType.MILITARIZATION: "MI",
    SsaAttackType.OBSTRUCTION: "OB",
    SsaAttackType.CRIMINALIZATION: "CR",
    SsaAttackType.OTHER: "OT",
    SsaAttackType.UNKNOWN: "UN",
}
"""Two-letter codes of the WHO SSA attack types: the SMS syntax and the map legend use them."""


TYPE_BY_CODE = {code: attack for attack, code in ATTACK_TYPE_CODES.items()}
USAGE = "Send: ATK <facility code> <type> K<killed> I<injured> <what happened>"
_COUNT = re.compile(r"^([KI])([HP]?)(\d{1,6})$")
_DATE = re.compile(r"^D(\d{4}-\d{2}-\d{2})$")
_GROUPS = {"H": CasualtyGroup.HEALTH_WORKERS, "P": CasualtyGroup.PATIENTS, "": CasualtyGroup.OTHERS}
_OUTCOMES = {"K": CasualtyOutcome.KILLED, "I": CasualtyOutcome.INJURED}


class SmsIn(BaseModel):
    """One message as the gateway forwards it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sender: str = Field(
        alias="from", min_length=3, max_length=40, description="The sender's number or handle."
    )
    text: str = Field(max_length=1600, description="The message as typed.")
    message_id: str = Field(
        min_length=1, max_length=200, description="The gateway's id (resends keep it)."
    )
    received_at: datetime | None = Field(default=None, description="When the gateway got it.")


class SmsReply(BaseModel):
    """What the webhook answers; the gateway sends ``reply`` back to the sender."""

    ok: bool
    reply: str
    code: str | None = Field(default=None, description="The confirmation code, when recorded.")
    report_id: str | None = None
    incident_id: str | None = None


@dataclass
class SmsParsed:
    """A message's parts, before the facility is looked up."""

    facility: str
    attack_types: list[SsaAttackType]
    casualties: dict[CasualtyGroup, dict[CasualtyOutcome, int]] = field(default_factory=dict)
    day: date | None = None
    narrative: str = ""


class SmsProblem(ValueError):
    """A message that cannot be recorded; the text says what to fix."""


def _types(token: str) -> list[SsaAttackType]:
    codes = [c for c in token.upper().split("+") if c]
    unknown = [c for c in codes if c not in TYPE_BY_CODE]
    if not codes or unknown:
        known = " ".join(ATTACK_TYPE_CODES.values())
        raise SmsProblem(f"unknown attack type {token!r}; use one of: {known}")
    return list(dict.fromkeys(TYPE_BY_CODE[c] for c in codes))


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise SmsProblem(f"bad date D{text}; write it as D2024-05-31") from exc
    if day > datetime.now(UTC).date():
        raise SmsProblem(f"the date D{text} is in the future")
    return day


def parse(text: str) -> SmsParsed:
    """Parse one message; ``SmsProblem`` says what to fix (its text is the reply)."""
    words = text.split()
    if not words or words[0].upper() != KEYWORD:
        raise SmsProblem(f"start the message with {KEYWORD}")
    if len(words) < 3:
        raise SmsProblem("give the facility code and the attack type after ATK")
    parsed = SmsParsed(facility=words[1], attack_types=_types(words[2]))
    rest = words[3:]
    while rest:
        token = rest[0].upper()
        count, when = _COUNT.match(token), _DATE.match(token)
        if count is None and when is None:
            break
        rest = rest[1:]
        if when is not None:
            if parsed.day is not None:
                raise SmsProblem("give the date once")
            parsed.day = _day(when.group(1))
            continue
        assert count is not None
        outcome, group = _OUTCOMES[count.group(1)], _GROUPS[count.group(2)]
        by_outcome = parsed.casualties.setdefault(group, {})
        if outcome in by_outcome:
            raise SmsProblem(f"{token[: -len(count.group(3))]} is given twice")
        by_outcome[outcome] = int(count.group(3))
    parsed.narrative = " ".join(rest)
    return parsed


def report_id_of(message: SmsIn) -> uuid.UUID:
    """The report id of a message: the same sender and gateway id give the same report."""
    return uuid.uuid5(SMS_NAMESPACE, f"{message.sender}\n{message.message_id}")


def confirmation_code(report_id: str) -> str:
    """The code the sender gets back: ``HVN-`` and the first 8 hex digits of the report id."""
    return "HVN-" + report_id.replace("-", "")[:8].upper()


def _facility(session: Session, code: str) -> FacilityRow:
    row = session.scalar(
        select(FacilityRow).where(func.lower(FacilityRow.external_id) == code.lower())
    )
    if row is None and code.isdigit() and len(code) < 10:
        row = session.get(FacilityRow, int(code))
    if row is None:
        raise SmsProblem(f"no facility with code {code!r}; check the code on your facility card")
    return row


def _report(message: SmsIn, parsed: SmsParsed, *, site: FacilityRow, now: datetime) -> ReportIn:
    day = parsed.day or (message.received_at or now).astimezone(UTC).date()
    try:
        return _validated(message, parsed, site=site, day=day)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SmsProblem(f"{where} {first['msg']}") from exc


def _validated(message: SmsIn, parsed: SmsParsed, *, site: FacilityRow, day: date) -> ReportIn:
    return ReportIn.model_validate(
        {
            "id": report_id_of(message),
            "source": {"name": "SMS", "kind": "sms"},
            "occurred_at": datetime.combine(day, time.min, tzinfo=UTC),
            "date_precision": "day",
            "location": {"lon": site.lon, "lat": site.lat},
            "geo_precision": site.geo_precision,
            "country": site.country,
            "admin1": site.admin1,
            "location_name": site.name,
            "facility_id": site.id,
            "attack_types": parsed.attack_types,
            "casualties": parsed.casualties,
            "narrative": parsed.narrative,
            "reporter": {"contact": message.sender},
            "original": {"sms": message.text},
            "exercise": site.is_exercise,
        }
    )


def receive(
    session: Session, message: SmsIn, *, settings: Settings, now: datetime | None = None
) -> SmsReply:
    """Record one message as a report of ``settings.sms_reporter``; a bad one writes nothing."""
    if not settings.sms_reporter:
        raise ConfigurationError("SMS intake needs HAVEN_SMS_REPORTER (the reporting account)")
    try:
        actor = accounts.actor_named(session, settings.sms_reporter)
    except NotFound as exc:
        raise ConfigurationError(
            f"HAVEN_SMS_REPORTER names no user: {settings.sms_reporter!r}"
        ) from exc
    report_id = str(report_id_of(message))
    stored = session.get(ReportRow, report_id)
    if stored is not None:  # a resend (perhaps on another day): the same answer, nothing new
        return _recorded(report_id, stored.incident_id)
    try:
        parsed = parse(message.text)
        site = _facility(session, parsed.facility)
        report = _report(message, parsed, site=site, now=now or datetime.now(UTC))
    except SmsProblem as problem:
        return SmsReply(ok=False, reply=f"Not recorded: {problem}. {USAGE}")
    receipt: ReportReceipt
    if settings.dedup_on_submit:
        receipt = dedup.submit(session, report, actor=actor, auto_merge=settings.dedup_auto_merge)
    else:
        receipt = reports.submit(session, report, actor=actor)
    return _recorded(receipt.report_id, receipt.incident_id)


def _recorded(report_id: str, incident_id: str) -> SmsReply:
    code = confirmation_code(report_id)
    return SmsReply(
        ok=True,
        reply=f"Recorded, thank you. Your code: {code}.",
        code=code,
        report_id=report_id,
        incident_id=incident_id,
    )
