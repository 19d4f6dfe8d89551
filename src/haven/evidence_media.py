"""Image work on evidence files with Pillow: EXIF capture facts, thumbnails, redacted copies.

Nothing here touches the database. Derived images are built from decoded
pixels only, so they carry no EXIF, GPS, ICC profile or text chunk of the
original. Rectangles are in pixels of the image *as displayed* (after the EXIF
orientation is applied), origin at the top-left corner.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageDraw, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from haven.errors import InvalidInput
from haven.geo import LonLat

__all__ = [
    "THUMBNAIL_SIDE",
    "DerivedImage",
    "ExifFacts",
    "Rectangle",
    "exercise_image",
    "read_exif",
    "redact",
    "thumbnail",
]

THUMBNAIL_SIDE = 320
"""Default longest side of a thumbnail, in pixels."""

_EXIF_TIME = "%Y:%m:%d %H:%M:%S"
_KEEP_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True, slots=True)
class ExifFacts:
    """What an image's EXIF says about its capture; each part ``None`` when absent or unreadable.

    ``taken_at`` is EXIF DateTimeOriginal as ISO 8601: with its offset when
    OffsetTimeOriginal gives one, otherwise the camera's local time (no offset).
    ``gps`` is WGS84, longitude first. ``camera`` is make, model and serial number.
    """

    taken_at: str | None = None
    gps: LonLat | None = None
    camera: str | None = None


class Rectangle(BaseModel):
    """A rectangle to black out, in pixels of the displayed image (origin top-left)."""

    model_config = ConfigDict(extra="forbid")

    x: int = Field(ge=0, description="Left edge.")
    y: int = Field(ge=0, description="Top edge.")
    width: int = Field(ge=1)
    height: int = Field(ge=1)


@dataclass(frozen=True, slots=True)
class DerivedImage:
    """The encoded bytes of a derived image, its media type and pixel size."""

    data: bytes
    media_type: str
    width: int
    height: int


def _taken_at(exif_ifd: dict[int, Any]) -> str | None:
    raw = exif_ifd.get(ExifTags.Base.DateTimeOriginal)
    if not isinstance(raw, str):
        return None
    try:
        taken = datetime.strptime(raw.strip("\x00 "), _EXIF_TIME)
    except ValueError:
        return None
    offset = exif_ifd.get(ExifTags.Base.OffsetTimeOriginal)
    if isinstance(offset, str):
        try:
            return datetime.fromisoformat(taken.isoformat() + offset.strip("\x00 ")).isoformat()
        except ValueError:
            pass
    return taken.isoformat()


def _degrees(value: Any) -> float | None:
    try:
        parts = [float(p) for p in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if len(parts) != 3 or not all(math.isfinite(p) for p in parts):
        return None
    return parts[0] + parts[1] / 60 + parts[2] / 3600


def _gps(gps_ifd: dict[int, Any]) -> LonLat | None:
    lat = _degrees(gps_ifd.get(ExifTags.GPS.GPSLatitude))
    lon = _degrees(gps_ifd.get(ExifTags.GPS.GPSLongitude))
    if lat is None or lon is None:
        return None
    if str(gps_ifd.get(ExifTags.GPS.GPSLatitudeRef, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps_ifd.get(ExifTags.GPS.GPSLongitudeRef, "E")).upper().startswith("W"):
        lon = -lon
    try:
        return LonLat(lon=round(lon, 7), lat=round(lat, 7))
    except ValueError:
        return None


def _camera(exif: Image.Exif, exif_ifd: dict[int, Any]) -> str | None:
    parts = [
        exif.get(ExifTags.Base.Make),
        exif.get(ExifTags.Base.Model),
        exif_ifd.get(ExifTags.Base.BodySerialNumber),
    ]
    text = " ".join(str(p).strip("\x00 ") for p in parts if isinstance(p, str) and p.strip())
    return text[:300] or None


def read_exif(path: Path) -> ExifFacts:
    """The capture facts in an image file's EXIF; empty facts for other files or bad EXIF.

    Only the header is read: the pixels are not decoded.
    """
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            exif_ifd = dict(exif.get_ifd(ExifTags.IFD.Exif))
            gps_ifd = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return ExifFacts()
    return ExifFacts(
        taken_at=_taken_at(exif_ifd), gps=_gps(gps_ifd), camera=_camera(exif, exif_ifd)
    )


def _open_pixels(path: Path) -> tuple[Image.Image, str | None]:
    """The decoded image, turned as EXIF orientation says, in RGB or RGBA; and its format."""
    try:
        with Image.open(path) as image:
            source_format = image.format
            turned = ImageOps.exif_transpose(image)
            has_alpha = "A" in turned.getbands() or "transparency" in turned.info
            pixels = turned.convert("RGBA" if has_alpha else "RGB")
    except Image.DecompressionBombError as exc:
        raise InvalidInput(
            "the image has too many pixels to process safely", fields={"evidence_id": str(exc)}
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(
            "the original is not an image Haven can read (JPEG, PNG, WebP, GIF, TIFF, BMP)",
            fields={"kind": "thumbnails and redactions are made of images only"},
        ) from exc
    # A fresh image from the pixels alone: no EXIF, GPS, ICC profile or text survives.
    clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    return clean, source_format


def _encode(image: Image.Image, *, source_format: str | None) -> DerivedImage:
    if image.mode == "RGBA":
        fmt = "PNG" if source_format != "WEBP" else "WEBP"
    else:
        fmt = source_format if source_format in _KEEP_FORMAT else "PNG"
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": 90} if fmt in {"JPEG", "WEBP"} else {}
    image.save(buffer, format=fmt, **options)
    return DerivedImage(
        data=buffer.getvalue(),
        media_type=_KEEP_FORMAT[fmt],
        width=image.width,
        height=image.height,
    )


def thumbnail(path: Path, *, side: int = THUMBNAIL_SIDE) -> DerivedImage:
    """A copy at most ``side`` pixels on its longest side, without any metadata."""
    image, source_format = _open_pixels(path)
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return _encode(image, source_format=source_format)


def redact(path: Path, rectangles: list[Rectangle]) -> DerivedImage:
    """A full-size copy with every rectangle filled black and all metadata stripped.

    ``InvalidInput`` names the rectangle (``rectangles.N``) that does not fit in the image.
    """
    image, source_format = _open_pixels(path)
    bad = {
        f"rectangles.{n}": f"must lie within the image ({image.width} x {image.height} pixels)"
        for n, r in enumerate(rectangles)
        if r.x + r.width > image.width or r.y + r.height > image.height
    }
    if bad:
        raise InvalidInput("a rectangle lies outside the image", fields=bad)
    draw = ImageDraw.Draw(image)
    fill = (0, 0, 0, 255) if image.mode == "RGBA" else (0, 0, 0)
    for r in rectangles:
        draw.rectangle((r.x, r.y, r.x + r.width - 1, r.y + r.height - 1), fill=fill)
    return _encode(image, source_format=source_format)


def exercise_image(*, taken_at: datetime, label: str) -> bytes:
    """A generated JPEG that says EXERCISE, with a synthetic EXIF DateTimeOriginal.

    Drawn here, never a real photograph; the same arguments give the same bytes.
    """
    image = Image.new("RGB", (640, 400), (236, 232, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 619, 379), outline=(150, 30, 30), width=8)
    for offset in range(-400, 640, 40):
        draw.line((offset, 400, offset + 400, 0), fill=(222, 214, 196), width=6)
    draw.text((60, 120), "EXERCISE", fill=(150, 30, 30), font_size=96)
    draw.text((60, 250), "generated image, not a photograph", fill=(60, 60, 60), font_size=24)
    draw.text((60, 290), label[:60], fill=(60, 60, 60), font_size=20)
    exif = Image.Exif()
    exif[ExifTags.Base.ImageDescription] = "EXERCISE: generated by Haven's demo, not a photograph"
    exif[ExifTags.Base.Software] = "Haven demo"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken_at.strftime(_EXIF_TIME)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, exif=exif)
    return buffer.getvalue()
