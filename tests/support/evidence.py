"""Evidence files for tests of other modules (the authorisation matrix)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from haven import evidence
from haven.evidence import EvidenceIn

__all__ = ["MATRIX_IMAGE", "evidence_of", "png_bytes"]


def png_bytes(*, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small generated PNG (no photograph)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


MATRIX_IMAGE = png_bytes()


def evidence_of(world: Any) -> str:
    """Store a generated image as evidence of ``world.incident_id``, uploaded by its reporter.

    ``world`` has ``db``, ``settings``, ``incident_id`` and ``actor(username)``; returns the id.
    """
    return evidence.upload_file(
        world.db,
        world.incident_id,
        settings=world.settings,
        source=io.BytesIO(MATRIX_IMAGE),
        meta=EvidenceIn(filename="matrix.png"),
        media_type="image/png",
        actor=world.actor("reporter-own"),
    ).id
