"""The instance's Ed25519 signing keys for custody tree heads, kept in a file outside the database.

``DATA_DIR/keys/custody-keys.json`` (mode 0600) holds the log id, the current
private key and every public key the instance has used, with when it was made
and retired. ``rotate`` makes a new key current and forgets the old private key
but keeps its public key, so heads signed before a rotation still verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel

from haven.errors import ConfigurationError
from haven.settings import Settings

__all__ = ["PublicKey", "SigningKeys", "key_file", "load", "rotate"]


class PublicKey(BaseModel):
    """A public key the instance signs (or signed) tree heads with."""

    key_id: str
    algorithm: str = "ed25519"
    public_key: str
    """Raw 32-byte Ed25519 public key, base64."""
    created_at: datetime
    retired_at: datetime | None = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


@dataclass
class SigningKeys:
    """The key file's content: the log id, the current private key, all public keys."""

    path: Path
    log_id: str
    current_id: str
    private: Ed25519PrivateKey
    public_keys: list[PublicKey]

    def sign(self, data: bytes) -> tuple[str, str]:
        """Sign ``data`` with the current key: ``(key_id, signature in base64)``."""
        return self.current_id, _b64(self.private.sign(data))

    def save(self) -> None:
        """Write the file atomically, readable by its owner only."""
        raw = self.private.private_bytes_raw()
        payload: dict[str, Any] = {
            "log_id": self.log_id,
            "current": {"key_id": self.current_id, "private_key": _b64(raw)},
            "public_keys": [key.model_dump(mode="json") for key in self.public_keys],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)


def key_file(settings: Settings) -> Path:
    """Where the custody signing keys live."""
    return settings.data_dir / "keys" / "custody-keys.json"


def _fresh(path: Path) -> SigningKeys:
    private = Ed25519PrivateKey.generate()
    public = _raw_public(private)
    key_id = _key_id(public)
    now = datetime.now(UTC)
    return SigningKeys(
        path=path,
        log_id=f"haven-{key_id}",
        current_id=key_id,
        private=private,
        public_keys=[PublicKey(key_id=key_id, public_key=_b64(public), created_at=now)],
    )


def load(settings: Settings, *, create: bool = True) -> SigningKeys:
    """Read the key file; make it (a new log id and key) when ``create`` and it is missing."""
    path = key_file(settings)
    if not path.exists():
        if not create:
            raise ConfigurationError(
                f"custody key file {path} not found: run `haven init` or restore it",
                fields={"custody_key_file": str(path)},
            )
        keys = _fresh(path)
        keys.save()
        return keys
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        private = Ed25519PrivateKey.from_private_bytes(
            base64.b64decode(data["current"]["private_key"], validate=True)
        )
        public_keys = [PublicKey.model_validate(item) for item in data["public_keys"]]
        current_id = str(data["current"]["key_id"])
        log_id = str(data["log_id"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"custody key file {path} is unreadable: {exc}", fields={"custody_key_file": str(path)}
        ) from exc
    if _key_id(_raw_public(private)) != current_id or current_id not in {
        key.key_id for key in public_keys
    }:
        raise ConfigurationError(
            f"custody key file {path} is inconsistent: the current key's id does not match",
            fields={"custody_key_file": str(path)},
        )
    return SigningKeys(path, log_id, current_id, private, public_keys)


def rotate(settings: Settings) -> SigningKeys:
    """Make a new current key; the old one is retired (its public key kept, private forgotten)."""
    keys = load(settings)
    now = datetime.now(UTC)
    private = Ed25519PrivateKey.generate()
    public = _raw_public(private)
    retired = [
        key.model_copy(update={"retired_at": key.retired_at or now}) for key in keys.public_keys
    ]
    new_id = _key_id(public)
    keys.public_keys = [*retired, PublicKey(key_id=new_id, public_key=_b64(public), created_at=now)]
    keys.private, keys.current_id = private, new_id
    keys.save()
    return keys
