"""The outbox: messages to parties by webhook and e-mail, each delivered once, retried with backoff.

A message is queued in the same transaction as the change it reports (an alert,
a notification sent, a chase) as one ``outbox`` row per recipient (a party, or a
facility's focal point) and channel. The unique key ``(message_key, recipient,
channel)`` makes queuing idempotent: the same alert is never queued twice for
the same recipient. ``deliver`` then

1. claims due rows in a short write (pushing their next attempt a lease ahead,
   so a second worker does not send them at the same time),
2. sends them with no transaction open (network time never holds the writer),
3. records each outcome in a second write: delivered, or retried after
   ``delivery_backoff_seconds × 2^(attempts-1)`` (at most an hour), or given up
   after ``delivery_max_attempts``.

A webhook is a ``POST`` of the JSON body with the headers ``Idempotency-Key``
(the same on every retry: receivers drop repeats), ``X-Haven-Timestamp`` and
``X-Haven-Signature: sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>``
under the party's webhook secret, and ``X-Haven-Signature-Ed25519:
keyid=<id>,sig=<base64>``, the instance's custody key over the same bytes
(verify with ``GET /api/public/custody/keys``). An e-mail carries the text, the
JSON as an attachment and ``Message-ID: <idempotency key@haven>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import custody, parties
from haven.db import Database
from haven.models import OutboxRow, PartyRow, utcnow
from haven.settings import Settings

__all__ = [
    "Channel",
    "Delivery",
    "DeliveryReport",
    "Recipient",
    "deliver",
    "enqueue",
    "list_deliveries",
    "signature_message",
    "webhook_headers",
]

LEASE = timedelta(minutes=2)
"""How long a claimed message is left to the worker that claimed it before another may retry."""
MAX_BACKOFF = timedelta(hours=1)


class Channel(StrEnum):
    """How a message reaches a party."""

    WEBHOOK = "webhook"
    EMAIL = "email"


class Delivery(BaseModel):
    """One queued message to one recipient over one channel, and how its delivery went."""

    id: int
    message_key: str
    recipient: str = Field(description="party:<id> or facility:<id>:focal:<n>")
    recipient_name: str
    party_id: int | None
    channel: Channel
    subject: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    gave_up_at: datetime | None
    last_error: str | None


@dataclass
class DeliveryReport:
    """What one ``deliver`` run did, by outbox id."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    gave_up: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to, and where."""

    key: str
    """``party:<id>`` or ``facility:<id>:focal:<n>``."""
    label: str
    """A name to show staff (never a person's name)."""
    party_id: int | None = None
    webhook_url: str | None = None
    email: str | None = None
    escalation_email: str | None = None

    @classmethod
    def of_party(cls, party: PartyRow) -> Recipient:
        """A party, by its webhook and e-mail."""
        return cls(
            key=f"party:{party.id}",
            label=party.name,
            party_id=party.id,
            webhook_url=party.webhook_url,
            email=party.email,
            escalation_email=party.escalation_email,
        )


def enqueue(  # noqa: PLR0913 - one keyword per part of the message
    session: Session,
    to: Recipient,
    *,
    key: str,
    subject: str,
    payload: dict[str, Any],
    text: str,
    now: datetime,
    alert_id: int | None = None,
    notification_id: int | None = None,
    escalation: bool = False,
) -> int:
    """Queue one message to ``to`` on each of its channels; returns how many rows were added.

    ``escalation`` sends only to the escalation e-mail. A key already queued for the
    recipient and channel is not queued again.
    """
    targets: list[tuple[Channel, str]] = []
    if escalation:
        if to.escalation_email:
            targets.append((Channel.EMAIL, to.escalation_email))
    else:
        if to.webhook_url:
            targets.append((Channel.WEBHOOK, to.webhook_url))
        if to.email:
            targets.append((Channel.EMAIL, to.email))
    added = 0
    for channel, address in targets:
        exists = session.scalar(
            select(OutboxRow.id).where(
                OutboxRow.message_key == key,
                OutboxRow.recipient == to.key,
                OutboxRow.channel == channel.value,
            )
        )
        if exists is not None:
            continue
        session.add(
            OutboxRow(
                message_key=key,
                recipient=to.key,
                party_id=to.party_id,
                channel=channel.value,
                idempotency_key=str(uuid.uuid4()),
                alert_id=alert_id,
                notification_id=notification_id,
                subject=subject[:300],
                body={"to": address, "label": to.label, "json": payload, "text": text},
                created_at=now,
                next_attempt_at=now,
            )
        )
        added += 1
    session.flush()
    return added


def list_deliveries(
    session: Session, *, alert_id: int | None = None, notification_id: int | None = None
) -> list[Delivery]:
    """The messages queued for an alert or a notification, oldest first."""
    query = select(OutboxRow).order_by(OutboxRow.id)
    if alert_id is not None:
        query = query.where(OutboxRow.alert_id == alert_id)
    if notification_id is not None:
        query = query.where(OutboxRow.notification_id == notification_id)
    return [
        Delivery(
            id=row.id,
            message_key=row.message_key,
            recipient=row.recipient,
            recipient_name=str(row.body.get("label") or row.recipient),
            party_id=row.party_id,
            channel=Channel(row.channel),
            subject=row.subject,
            created_at=row.created_at,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
            gave_up_at=row.gave_up_at,
            last_error=row.last_error,
        )
        for row in session.scalars(query)
    ]


def signature_message(timestamp: str, body: bytes) -> bytes:
    """The bytes both webhook signatures cover: ``<timestamp>.<body>``."""
    return timestamp.encode("ascii") + b"." + body


def webhook_headers(
    settings: Settings, body: bytes, *, secret: str | None, idempotency_key: str, timestamp: str
) -> dict[str, str]:
    """The headers of one webhook request: idempotency key, HMAC and Ed25519 signatures."""
    message = signature_message(timestamp, body)
    key_id, signature = custody.sign_bytes(settings, message)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Haven-Webhook/1",
        "Idempotency-Key": idempotency_key,
        "X-Haven-Timestamp": timestamp,
        "X-Haven-Signature-Ed25519": f"keyid={key_id},sig={signature}",
    }
    if secret:
        digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
        headers["X-Haven-Signature"] = f"sha256={digest}"
    return headers


@dataclass(frozen=True)
class _Claimed:
    id: int
    channel: Channel
    subject: str
    body: dict[str, Any]
    idempotency_key: str
    secret: str | None
    attempts: int


def _claim(session: Session, *, now: datetime, limit: int) -> list[_Claimed]:
    rows = session.scalars(
        select(OutboxRow)
        .where(
            OutboxRow.delivered_at.is_(None),
            OutboxRow.gave_up_at.is_(None),
            OutboxRow.next_attempt_at <= now,
        )
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(limit)
    ).all()
    claimed = []
    secrets: dict[int | None, str | None] = {None: None}
    for row in rows:
        row.next_attempt_at = now + LEASE
        if row.party_id not in secrets:
            party = session.get(PartyRow, row.party_id)
            assert party is not None
            secrets[row.party_id] = parties.webhook_secret(session, party)
        claimed.append(
            _Claimed(
                id=row.id,
                channel=Channel(row.channel),
                subject=row.subject,
                body=dict(row.body),
                idempotency_key=row.idempotency_key,
                secret=secrets[row.party_id],
                attempts=row.attempts,
            )
        )
    return claimed


def _post(settings: Settings, item: _Claimed, *, now: datetime) -> None:
    body = json.dumps(item.body["json"], sort_keys=True, ensure_ascii=False).encode("utf-8")
    headers = webhook_headers(
        settings,
        body,
        secret=item.secret,
        idempotency_key=item.idempotency_key,
        timestamp=str(int(now.timestamp())),
    )
    request = urllib.request.Request(item.body["to"], data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=settings.webhook_timeout_seconds) as response:
        status = response.status
    if not 200 <= status < 300:
        raise OSError(f"webhook answered HTTP {status}")


def _mail(settings: Settings, item: _Claimed) -> None:
    if not settings.smtp_host:
        raise OSError("e-mail is off: set HAVEN_SMTP_HOST")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = item.body["to"]
    message["Subject"] = item.subject
    message["Message-ID"] = f"<{item.idempotency_key}@haven>"
    message.set_content(item.body["text"])
    attachment = json.dumps(item.body["json"], sort_keys=True, ensure_ascii=False, indent=2)
    message.add_attachment(
        attachment.encode("utf-8"), maintype="application", subtype="json", filename="haven.json"
    )
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.webhook_timeout_seconds
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        smtp.send_message(message)


def _send(settings: Settings, item: _Claimed, *, now: datetime) -> str | None:
    """Send one message; the error text, or ``None`` when it was delivered."""
    try:
        if item.channel is Channel.WEBHOOK:
            _post(settings, item, now=now)
        else:
            _mail(settings, item)
    except urllib.error.HTTPError as exc:
        return f"webhook answered HTTP {exc.code}"
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


def _record(
    session: Session,
    outcomes: list[tuple[_Claimed, str | None]],
    *,
    settings: Settings,
    now: datetime,
) -> DeliveryReport:
    report = DeliveryReport()
    for item, error in outcomes:
        row = session.get(OutboxRow, item.id)
        if row is None or row.delivered_at is not None:
            continue
        row.attempts += 1
        if error is None:
            row.delivered_at = now
            row.last_error = None
            report.delivered.append(row.id)
        elif row.attempts >= settings.delivery_max_attempts:
            row.gave_up_at = now
            row.last_error = error
            report.gave_up.append(row.id)
        else:
            delay = timedelta(seconds=settings.delivery_backoff_seconds * 2 ** (row.attempts - 1))
            row.next_attempt_at = now + min(delay, MAX_BACKOFF)
            row.last_error = error
            report.retrying.append(row.id)
    return report


def deliver(
    db: Database, settings: Settings, *, now: datetime | None = None, limit: int = 100
) -> DeliveryReport:
    """Send every due message (claim, send with no transaction open, record the outcomes).

    ``now`` is the clock used to pick due messages and to schedule retries (tests inject it).
    """
    now = now or utcnow()
    claimed = db.write(lambda s: _claim(s, now=now, limit=limit))
    if not claimed:
        return DeliveryReport()
    outcomes = [(item, _send(settings, item, now=now)) for item in claimed]
    return db.write(lambda s: _record(s, outcomes, settings=settings, now=now))
