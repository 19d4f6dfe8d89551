"""Field encryption at rest: AES-256-GCM envelopes under per-organisation data keys.

Sensitive fields (reporter identity and contact, victims, narratives, original
rows, exact coordinates of sensitive sites) are stored as envelopes::

    hv1.<data key id>.<nonce, base64url>.<ciphertext, base64url>

Each organisation has data keys (AES-256) stored in the database only
*wrapped* (encrypted) by a master key that lives in a file outside the
database (``settings.master_key_file``). The envelope is bound to its row by
associated data (e.g. ``report:<id>``), so a ciphertext moved to another row
does not decrypt. Rotation re-wraps data keys under a new master key without
re-encrypting any data and without stopping servers: running servers keep the
data keys they already unwrapped.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.accounts import Actor, Permission, require
from haven.errors import ConfigurationError, InvalidInput, StorageUnavailable
from haven.models import DataKeyRow, utcnow

__all__ = [
    "ENVELOPE_PREFIX",
    "Keyring",
    "MasterKeys",
    "RotationSummary",
    "decrypt",
    "encrypt",
    "keyring_of",
    "read_sensitive",
    "rotate_data_keys",
    "rotate_master_key",
]

ENVELOPE_PREFIX = "hv1"
_NONCE = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class MasterKeys:
    """The master keys file: every master key by id, and which one wraps new data keys."""

    path: Path
    active: str
    keys: dict[str, bytes]

    @classmethod
    def load(cls, path: Path, *, create: bool) -> MasterKeys:
        """Read the file; create it with a fresh key when ``create`` and it does not exist."""
        if not path.exists():
            if not create:
                raise ConfigurationError(
                    f"master key file {path} not found: run `haven init` or restore it",
                    fields={"master_key_file": str(path)},
                )
            made = cls(path=path, active="", keys={})
            made.add_new()
            made.save()
            return made
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            keys = {kid: _unb64(value) for kid, value in data["keys"].items()}
            active = str(data["active"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"master key file {path} is unreadable: {exc}",
                fields={"master_key_file": str(path)},
            ) from exc
        if active not in keys or any(len(k) != 32 for k in keys.values()):
            raise ConfigurationError(
                f"master key file {path} is malformed", fields={"master_key_file": str(path)}
            )
        return cls(path=path, active=active, keys=keys)

    def add_new(self) -> str:
        """Add a fresh 256-bit master key and make it the active one; returns its id."""
        key_id = "mk-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)
        self.keys[key_id] = AESGCM.generate_key(bit_length=256)
        self.active = key_id
        return key_id

    def save(self) -> None:
        """Write the file atomically, readable by its owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"active": self.active, "keys": {k: _b64(v) for k, v in self.keys.items()}}
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)


def _wrap(master: bytes, data_key: bytes, *, aad: bytes) -> str:
    nonce = secrets.token_bytes(_NONCE)
    return _b64(nonce + AESGCM(master).encrypt(nonce, data_key, aad))


def _unwrap(master: bytes, wrapped: str, *, aad: bytes) -> bytes:
    raw = _unb64(wrapped)
    return AESGCM(master).decrypt(raw[:_NONCE], raw[_NONCE:], aad)


def _wrap_aad(organisation_id: int | None, version: int) -> bytes:
    return f"haven-data-key:{organisation_id}:{version}".encode()


PENDING = "haven_pending_keys"
"""``session.info`` key of data keys seen in a write transaction that has not committed yet."""

CURRENT_KEY_TTL = 60.0
"""Seconds a process trusts its cached current data key (bounds the lag after a rotation)."""


@dataclass
class Keyring:
    """Master keys plus caches of unwrapped data keys, shared by one process.

    Only keys known to be committed are cached for the process: keys read by a
    read session, or promoted by the writer after its commit (``promote``). A
    key made or read inside a write transaction waits in ``session.info``, and
    a rolled-back savepoint forgets it (``forget_pending``), so a key whose row
    was rolled back, and whose id may be reused, is never used.
    """

    master: MasterKeys
    _by_id: dict[int, AESGCM] = field(default_factory=dict)
    _current: dict[int | None, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current_key(self, session: Session, organisation_id: int | None) -> tuple[int, AESGCM]:
        """The data key new envelopes of this organisation use; made on first use."""
        cached = self._current.get(organisation_id)
        if cached is not None and cached[1] > time.monotonic() and cached[0] in self._by_id:
            return cached[0], self._by_id[cached[0]]
        pending = session.info.setdefault(PENDING, {})
        if ("org", organisation_id) in pending:
            key_id = pending[("org", organisation_id)]
            return key_id, self.data_key(session, key_id)
        row = session.execute(
            select(DataKeyRow.id)
            .where(_org_is(organisation_id), DataKeyRow.retired_at.is_(None))
            .order_by(DataKeyRow.version.desc())
            .limit(1)
        ).first()
        key_id = (
            row.id
            if row is not None
            else self._new_data_key(session, organisation_id, version=1).id
        )
        key = self.data_key(session, key_id)
        pending[("org", organisation_id)] = key_id
        return key_id, key

    def data_key(self, session: Session, key_id: int) -> AESGCM:
        """The unwrapped data key ``key_id``."""
        cached = self._by_id.get(key_id)
        if cached is not None:
            return cached
        pending = session.info.setdefault(PENDING, {})
        if ("id", key_id) in pending:
            key: AESGCM = pending[("id", key_id)]
            return key
        row = session.get(DataKeyRow, key_id)
        if row is None:
            raise StorageUnavailable(f"data key {key_id} is missing from the database")
        master = self.master.keys.get(row.master_key_id)
        if master is None:
            raise ConfigurationError(
                f"master key {row.master_key_id} is not in {self.master.path}",
                fields={"master_key_file": str(self.master.path)},
            )
        key = AESGCM(
            _unwrap(master, row.wrapped_key, aad=_wrap_aad(row.organisation_id, row.version))
        )
        if session.info.get("writer"):
            pending[("id", key_id)] = key
        else:
            with self._lock:
                self._by_id[key_id] = key
        return key

    def promote(self, session: Session) -> None:
        """After the writer's commit: the keys its transaction saw are committed; cache them."""
        pending = session.info.pop(PENDING, None)
        if not pending:
            return
        expires = time.monotonic() + CURRENT_KEY_TTL
        with self._lock:
            for (kind, name), value in pending.items():
                if kind == "id":
                    self._by_id[name] = value
            for (kind, name), value in pending.items():
                if kind == "org" and value in self._by_id:
                    self._current[name] = (value, expires)

    @staticmethod
    def forget_pending(session: Session) -> None:
        """After a rolled-back savepoint: what the transaction saw may be gone."""
        session.info.pop(PENDING, None)

    def forget(self) -> None:
        """Drop every cached key (after a rotation in this process)."""
        with self._lock:
            self._by_id.clear()
            self._current.clear()

    def _new_data_key(
        self, session: Session, organisation_id: int | None, *, version: int
    ) -> DataKeyRow:
        raw = AESGCM.generate_key(bit_length=256)
        row = DataKeyRow(
            organisation_id=organisation_id,
            version=version,
            wrapped_key=_wrap(
                self.master.keys[self.master.active],
                raw,
                aad=_wrap_aad(organisation_id, version),
            ),
            master_key_id=self.master.active,
        )
        session.add(row)
        session.flush()
        return row


def _org_is(organisation_id: int | None) -> Any:
    if organisation_id is None:
        return DataKeyRow.organisation_id.is_(None)
    return DataKeyRow.organisation_id == organisation_id


def keyring_of(session: Session) -> Keyring:
    """The keyring of the database this session belongs to."""
    keyring = session.info.get("keyring")
    if not isinstance(keyring, Keyring):
        raise ConfigurationError("this session has no keyring: open it through haven.db")
    return keyring


def encrypt(
    session: Session, payload: dict[str, Any], *, organisation_id: int | None, bound_to: str
) -> str:
    """Encrypt ``payload`` (JSON-able) for ``organisation_id``; ``bound_to`` names its row."""
    keyring = keyring_of(session)
    key_id, key = keyring.current_key(session, organisation_id)
    nonce = secrets.token_bytes(_NONCE)
    aad = f"{bound_to}:{key_id}".encode()
    sealed = key.encrypt(nonce, orjson.dumps(payload), aad)
    return f"{ENVELOPE_PREFIX}.{key_id}.{_b64(nonce)}.{_b64(sealed)}"


def decrypt(session: Session, envelope: str, *, bound_to: str) -> dict[str, Any]:
    """Open an envelope made by ``encrypt`` for the same row; tampering raises."""
    try:
        prefix, key_text, nonce_text, sealed_text = envelope.split(".")
        if prefix != ENVELOPE_PREFIX:
            raise ValueError(prefix)
        key_id = int(key_text)
    except ValueError as exc:
        raise StorageUnavailable(f"malformed encrypted field on {bound_to}") from exc
    key = keyring_of(session).data_key(session, key_id)
    try:
        plain = key.decrypt(
            _unb64(nonce_text), _unb64(sealed_text), f"{bound_to}:{key_id}".encode()
        )
    except InvalidTag as exc:
        raise StorageUnavailable(
            f"encrypted field on {bound_to} fails its integrity check"
        ) from exc
    value = orjson.loads(plain)
    assert isinstance(value, dict)
    return value


@dataclass(frozen=True)
class RotationSummary:
    """What a rotation changed."""

    master_key_id: str
    rewrapped: int
    new_data_keys: int


def rotate_master_key(session: Session) -> RotationSummary:
    """Make a new master key active and re-wrap every data key under it.

    The master key file is written first with the new key added (old keys kept,
    so servers that have not reloaded still start); the re-wrap then commits
    with the caller's transaction. Old master keys can be deleted from the file
    once no data key names them (``haven keys rotate`` reports that).
    """
    keyring = keyring_of(session)
    master = keyring.master
    new_id = master.add_new()
    master.save()
    rows = session.scalars(select(DataKeyRow)).all()
    for row in rows:
        old = master.keys[row.master_key_id]
        raw = _unwrap(old, row.wrapped_key, aad=_wrap_aad(row.organisation_id, row.version))
        row.wrapped_key = _wrap(
            master.keys[new_id], raw, aad=_wrap_aad(row.organisation_id, row.version)
        )
        row.master_key_id = new_id
    return RotationSummary(master_key_id=new_id, rewrapped=len(rows), new_data_keys=0)


def rotate_data_keys(session: Session) -> RotationSummary:
    """Give every organisation a new data key version for new envelopes (old ones still read)."""
    keyring = keyring_of(session)
    live = session.scalars(select(DataKeyRow).where(DataKeyRow.retired_at.is_(None))).all()
    now = utcnow()
    made = 0
    for row in live:
        row.retired_at = now
        keyring._new_data_key(session, row.organisation_id, version=row.version + 1)
        made += 1
    keyring.forget()
    return RotationSummary(master_key_id=keyring.master.active, rewrapped=0, new_data_keys=made)


def read_sensitive(
    session: Session,
    envelope: str | None,
    *,
    bound_to: str,
    actor: Actor,
    purpose: str,
) -> dict[str, Any]:
    """Open an encrypted field for ``actor``, who must say why; the read is audited.

    Run it in a write transaction (``Database.write``): the audit event and the
    disclosure stand or fall together.
    """
    require(actor, Permission.READ_SENSITIVE)
    purpose = purpose.strip()
    if not 3 <= len(purpose) <= 300:
        raise InvalidInput(
            "say why you need the sensitive fields",
            fields={"purpose": "3 to 300 characters, e.g. 'verification of case'"},
        )
    entity_type, _, entity_id = bound_to.partition(":")
    audit.record(
        session,
        actor,
        action="sensitive.read",
        entity_type=entity_type,
        entity_id=entity_id,
        detail={"purpose": purpose},
    )
    return decrypt(session, envelope, bound_to=bound_to) if envelope else {}
