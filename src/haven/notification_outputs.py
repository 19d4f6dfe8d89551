"""What a party can consume: signed JSON, GeoJSON, KML, a printable page; and reading KML sites.

Every output is made from the notification's *content* (the canonical JSON whose
SHA-256 is the content hash), so all formats say the same thing. Coordinates are
WGS84, longitude first wherever the format allows (GeoJSON, KML), and the
printable page gives latitude/longitude and MGRS (1 m) side by side.

KML is written and read with the standard library's ``xml.etree.ElementTree``:
the KML we need (Placemark, Point, LineString, ExtendedData) is small, the
default namespace comes out as plain ``<kml xmlns=…>`` that every viewer reads,
and no dependency is added. Reading refuses DTDs and entities outright (KML
never needs them), so an XML bomb or external entity never reaches the parser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import jinja2
import mgrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from haven import custody
from haven.errors import InvalidInput
from haven.geo import LonLat
from haven.settings import Settings

__all__ = [
    "KML_NS",
    "KmlPoint",
    "dumps",
    "geojson",
    "html_page",
    "kml",
    "mgrs_of",
    "plain_text",
    "read_kml_points",
    "signed_document",
    "verify_document",
]

KML_NS = "http://www.opengis.net/kml/2.2"
SIGNED_FORMAT = "haven.signed-notification/1"
_mgrs = mgrs.MGRS()


def mgrs_of(point: LonLat) -> str:
    """The MGRS reference of a point at 1 m precision, e.g. ``36RXV9999988888``."""
    return str(_mgrs.toMGRS(point.lat, point.lon, MGRSPrecision=5))


def _canonical(content: dict[str, Any]) -> bytes:
    return custody.canonical(content).encode("utf-8")


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def signed_document(
    settings: Settings, content: dict[str, Any], *, sent_at: datetime
) -> dict[str, Any]:
    """The content with an Ed25519 signature by the instance's custody key.

    The signature covers the canonical JSON of ``content`` (sorted keys, no
    spaces, UTF-8); check it with the key ``key_id`` of ``GET /api/public/custody/keys``.
    """
    key_id, signature = custody.sign_bytes(settings, _canonical(content))
    return {
        "format": SIGNED_FORMAT,
        "content": content,
        "content_sha256": hashlib.sha256(_canonical(content)).hexdigest(),
        "sent_at": _iso(sent_at),
        "signature": {
            "algorithm": "Ed25519",
            "key_id": key_id,
            "value": signature,
            "covers": "canonical JSON of content: sorted keys, no spaces, UTF-8",
        },
    }


def verify_document(document: dict[str, Any], *, public_keys: dict[str, str]) -> bool:
    """Whether a signed document's signature holds for its content (keys: id → base64)."""
    signature = document.get("signature") or {}
    key = public_keys.get(str(signature.get("key_id")))
    if key is None or signature.get("algorithm") != "Ed25519":
        return False
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(key)).verify(
            base64.b64decode(str(signature.get("value"))), _canonical(document["content"])
        )
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


def _site_lines(content: dict[str, Any]) -> list[str]:
    lines = []
    for site in content.get("sites") or []:
        lines.append(
            f"- {site['name']} (facility {site['facility_id']}): lat {site['lat']:.6f}, "
            f"lon {site['lon']:.6f}, MGRS {site['mgrs']}"
        )
    return lines


def plain_text(content: dict[str, Any]) -> str:
    """The content as plain text for an e-mail body (the JSON travels as an attachment)."""
    head = [
        ("EXERCISE - NOT A REAL NOTIFICATION\n" if content.get("exercise") else "")
        + f"Humanitarian notification to {content['party']['name']}, version {content['version']}",
        f"Valid from {content['valid_from']} until {content['expires_at']}"
        + (" (EMERGENCY)" if content.get("emergency") else ""),
    ]
    if content.get("message"):
        head.append(f"Message: {content['message']}")
    body = _site_lines(content)
    movement = content.get("movement")
    if movement:
        body.append(
            f"Movement {movement['movement_id']} ({movement['kind']}, {movement['name']}): "
            f"{movement['starts_at']} to {movement['ends_at']}"
        )
        body.extend(
            f"  waypoint {i + 1}: lat {lat:.6f}, lon {lon:.6f}, MGRS {ref}"
            for i, ((lon, lat), ref) in enumerate(
                zip(movement["route"], movement["route_mgrs"], strict=True)
            )
        )
    tail = [
        f"Content SHA-256: {_content_sha(content)}",
        f"Acknowledgement: {content['acknowledgement']}",
        "Please acknowledge receipt to the sender.",
    ]
    return "\n".join([*head, "", *body, "", *tail]) + "\n"


def _content_sha(content: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(content)).hexdigest()


def geojson(content: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one Point per site, a LineString for a movement's route.

    The notification's identity (party, version, validity, content hash and the
    acknowledgement statement) is in the foreign member ``haven``.
    """
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"]]},
            "properties": {k: v for k, v in site.items() if k not in {"lon", "lat"}},
        }
        for site in content.get("sites") or []
    ]
    movement = content.get("movement")
    if movement:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": movement["route"]},
                "properties": {
                    k: v for k, v in movement.items() if k not in {"route", "route_mgrs"}
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "haven": {
            "format": content["format"],
            "party": content["party"],
            "version": content["version"],
            "valid_from": content["valid_from"],
            "expires_at": content["expires_at"],
            "emergency": content["emergency"],
            "exercise": content["exercise"],
            "content_sha256": _content_sha(content),
            "acknowledgement": content["acknowledgement"],
        },
    }


def _q(tag: str) -> str:
    return f"{{{KML_NS}}}{tag}"


def _text(parent: ET.Element, tag: str, *, value: object) -> ET.Element:
    element = ET.SubElement(parent, _q(tag))
    element.text = str(value)
    return element


def _extended(parent: ET.Element, values: dict[str, object]) -> None:
    data = ET.SubElement(parent, _q("ExtendedData"))
    for name, value in values.items():
        if value is None:
            continue
        item = ET.SubElement(data, _q("Data"), {"name": name})
        _text(item, "value", value=value)


def kml(content: dict[str, Any]) -> bytes:
    """A KML 2.2 document: one Placemark per site, a LineString Placemark for a movement."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(_q("kml"))
    document = ET.SubElement(root, _q("Document"))
    title = f"Humanitarian notification to {content['party']['name']} v{content['version']}"
    _text(document, "name", value=("EXERCISE - " if content.get("exercise") else "") + title)
    _text(
        document,
        "description",
        value=f"Valid {content['valid_from']} to {content['expires_at']}. "
        f"Content SHA-256 {_content_sha(content)}. {content['acknowledgement']}",
    )
    for site in content.get("sites") or []:
        placemark = ET.SubElement(document, _q("Placemark"))
        _text(placemark, "name", value=site["name"])
        _extended(
            placemark,
            {
                "facility_id": site["facility_id"],
                "mgrs": site["mgrs"],
                "type": site["facility_type"],
            },
        )
        point = ET.SubElement(placemark, _q("Point"))
        _text(point, "coordinates", value=f"{site['lon']},{site['lat']}")
    movement = content.get("movement")
    if movement:
        placemark = ET.SubElement(document, _q("Placemark"))
        _text(placemark, "name", value=f"{movement['name']} ({movement['kind']})")
        _extended(
            placemark,
            {
                "movement_id": movement["movement_id"],
                "starts_at": movement["starts_at"],
                "ends_at": movement["ends_at"],
            },
        )
        line = ET.SubElement(placemark, _q("LineString"))
        _text(line, "coordinates", value=" ".join(f"{lon},{lat}" for lon, lat in movement["route"]))
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("haven", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def html_page(content: dict[str, Any], *, record: dict[str, Any] | None = None) -> str:
    """A printable HTML page: every site with lat/lon and MGRS, validity, hash, and the statement
    that acknowledgement is not approval. ``record`` adds what became of it (sent, leaf…)."""
    template = _templates().get_template("notifications/printable.html")
    return template.render(
        content=content, content_sha256=_content_sha(content), record=record or {}
    )


@dataclass(frozen=True)
class KmlPoint:
    """One Placemark of a KML file that holds a Point."""

    name: str
    point: LonLat


def _refuse(reason: str, *, field: str = "file") -> InvalidInput:
    return InvalidInput("not a usable KML file", fields={field: reason})


def _coordinates(text: str | None, *, where: str) -> LonLat:
    parts = (text or "").strip().split(",")
    try:
        if len(parts) not in (2, 3):
            raise ValueError("expected lon,lat or lon,lat,alt")
        return LonLat(float(parts[0]), float(parts[1]))
    except ValueError as exc:
        raise _refuse(f"bad coordinates {text!r}: {exc}", field=where) from exc


def read_kml_points(data: bytes) -> list[KmlPoint]:
    """Every Point Placemark of a KML 2.2 file (``InvalidInput`` naming what is wrong).

    A file that is not XML, whose root is not ``<kml>`` in the KML 2.2 namespace,
    that has a DTD, or that holds no Point Placemark is refused.
    """
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise _refuse("a DTD or entity declaration (KML never needs one)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise _refuse(f"not XML ({exc})") from exc
    if root.tag != _q("kml"):
        raise _refuse(f"the root element is <{root.tag}>, not <kml> in namespace {KML_NS}")
    found = []
    for index, placemark in enumerate(root.iter(_q("Placemark"))):
        where = f"Placemark[{index}]"
        name = (placemark.findtext(_q("name")) or "").strip() or where
        point = placemark.find(f"{_q('Point')}/{_q('coordinates')}")
        if point is None:
            raise _refuse(f"{name!r} has no Point (only point sites are read)", field=where)
        found.append(KmlPoint(name=name, point=_coordinates(point.text, where=f"{where}.Point")))
    if not found:
        raise _refuse("no Placemark with a Point")
    return found


def dumps(document: dict[str, Any]) -> str:
    """JSON text of an output document (UTF-8, indented for people)."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
