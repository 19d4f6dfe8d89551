"""The content-addressed, write-once file store of evidence: receive, hash, place, re-hash.

A file's bytes are stored once under their SHA-256::

    DATA_DIR/evidence/sha256/ab/cd/abcd…(64 hex)

They arrive streamed into a temporary ``.incoming-*.part`` file in
``DATA_DIR/evidence/sha256`` (the same file system as their final place),
hashed on the way and flushed to disk (``fsync``); the file is made read-only
(0444) and hard-linked to its final name. A link never replaces an existing
file, so a stored blob is never rewritten, and identical bytes share one blob.
Nothing here touches the database (``haven.evidence`` does).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Self

from haven.errors import IntegrityCheckFailed, InvalidInput, PayloadTooLarge, StorageUnavailable
from haven.evidence_media import ExifFacts, read_exif
from haven.settings import Settings

__all__ = [
    "CHUNK",
    "StagedBlob",
    "Staging",
    "blob_path",
    "check_blob",
    "hash_file",
    "place",
    "stage_file",
    "store_root",
]

CHUNK = 1 << 20
"""Bytes read or written at a time when streaming a file (1 MiB)."""

_HEX = re.compile(r"^[0-9a-f]{64}$")


def store_root(settings: Settings) -> Path:
    """The folder of the content-addressed store (and of files being received)."""
    return settings.data_dir / "evidence" / "sha256"


def blob_path(settings: Settings, sha256: str) -> Path:
    """Where the file with this SHA-256 (64 lowercase hex) is stored: ``…/ab/cd/<hex>``."""
    if not _HEX.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return store_root(settings) / sha256[:2] / sha256[2:4] / sha256


@dataclass
class StagedBlob:
    """A received file in its temporary place: flushed to disk and hashed, not yet stored."""

    path: Path
    sha256: str
    size: int
    media_type: str
    exif: ExifFacts = field(default_factory=ExifFacts)

    def discard(self) -> None:
        """Remove the temporary file (once it is stored, its link in the store remains)."""
        self.path.unlink(missing_ok=True)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the file is larger than {limit} bytes", fields={"body": f"at most {limit} bytes"}
    )


class Staging:
    """A file being received: written to a temporary file in the store while it is hashed.

    Use as a context manager: the temporary file is removed if anything fails.
    """

    def __init__(self, settings: Settings, *, media_type: str, limit: int | None = None) -> None:
        root = store_root(settings)
        root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=root, prefix=".incoming-", suffix=".part")
        self.path = Path(name)
        self.media_type = media_type
        self.limit = settings.max_evidence_bytes if limit is None else limit
        self.size = 0
        self._fd: int | None = fd
        self._hash = hashlib.sha256()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        if kind is not None:
            self.discard()

    def write(self, chunk: bytes) -> None:
        """Append a chunk; ``PayloadTooLarge`` once the file passes the limit."""
        if self._fd is None:
            raise ValueError("staging is closed")
        self.size += len(chunk)
        if self.size > self.limit:
            raise _too_large(self.limit)
        self._hash.update(chunk)
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]

    def finish(self) -> StagedBlob:
        """Flush to disk and close; ``InvalidInput`` naming ``body`` if nothing was sent."""
        if self._fd is None:
            raise ValueError("staging is closed")
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        if self.size == 0:
            raise InvalidInput("the file is empty", fields={"body": "is empty"})
        self.path.chmod(0o444)
        exif = read_exif(self.path) if self.media_type.startswith("image/") else ExifFacts()
        return StagedBlob(
            path=self.path,
            sha256=self._hash.hexdigest(),
            size=self.size,
            media_type=self.media_type,
            exif=exif,
        )

    def discard(self) -> None:
        """Close and remove the temporary file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.path.unlink(missing_ok=True)


def stage_file(
    settings: Settings, source: BinaryIO, *, media_type: str, limit: int | None = None
) -> StagedBlob:
    """Stream an open binary file into the store's temporary area, ``CHUNK`` bytes at a time."""
    with Staging(settings, media_type=media_type, limit=limit) as staging:
        while chunk := source.read(CHUNK):
            staging.write(chunk)
        return staging.finish()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def place(settings: Settings, staged: StagedBlob) -> bool:
    """Link the staged file to its name in the store; ``False`` if that blob was already there.

    A hard link never replaces an existing file, so a stored blob is never rewritten.
    """
    target = blob_path(settings, staged.sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(staged.path, target)
    except FileExistsError:
        if target.stat().st_size != staged.size:
            raise IntegrityCheckFailed(
                f"stored file {target} has changed (its size is not {staged.size}): "
                "run `haven verify`",
                fields={"sha256": staged.sha256},
            ) from None
        return False
    except OSError as exc:
        raise StorageUnavailable(f"cannot store evidence file {target}: {exc}") from exc
    _fsync_dir(target.parent)
    return True


def hash_file(path: Path) -> tuple[str, int]:
    """The SHA-256 (hex) and size of a file, read ``CHUNK`` bytes at a time."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def check_blob(
    settings: Settings, sha256: str, *, size: int, cache: dict[str, tuple[str, int] | None]
) -> list[tuple[str, str]]:
    """Re-hash the blob a row names and compare; ``(kind, message)`` per problem, none if intact.

    Kinds: ``missing_file``, ``changed_bytes``, ``size_mismatch``, ``row_edited`` (the
    row's hash is not a SHA-256). ``cache`` keeps each blob's hash so a blob shared by
    several rows is read once.
    """
    try:
        path = blob_path(settings, sha256)
    except ValueError:
        return [("row_edited", f"its recorded hash {sha256!r} is not a SHA-256")]
    if sha256 not in cache:
        try:
            cache[sha256] = hash_file(path)
        except FileNotFoundError:
            cache[sha256] = None
    found = cache[sha256]
    if found is None:
        return [("missing_file", f"file {path} is missing")]
    actual, actual_size = found
    problems = []
    if actual != sha256:
        problems.append(("changed_bytes", f"file {path} has changed: its bytes hash to {actual}"))
    if actual_size != size:
        problems.append(
            ("size_mismatch", f"the row says {size} bytes but file {path} has {actual_size}")
        )
    return problems
