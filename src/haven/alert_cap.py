"""OASIS CAP 1.2 for alerts: one ``<alert>`` per Haven alert, and an Atom feed of them.

The CAP message carries exactly what ``alerts.message_for`` gives a recipient
cleared for TLP:GREEN (never the narrative or the exact point): the site's
registered position as a circle of the alert radius, the hour, and, when the
incident's labels allow, attack types and certainty. Exercise alerts have
``<status>Exercise</status>``. The feed is for signed-in staff and systems
(``scope`` Restricted): near-real-time incidents next to protected sites are not public.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

__all__ = ["CAP_NS", "alert_xml", "feed_xml"]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
_CERTAINTY = {
    "confirmed": "Observed",
    "probable": "Likely",
    "possible": "Possible",
    "rumour": "Unknown",
}


def _cap_time(text: str) -> str:
    """CAP wants ``2025-03-03T06:00:00+00:00`` (no ``Z``, no fraction)."""
    return text.replace("Z", "+00:00").split(".")[0].split("+")[0] + "+00:00"


def _add(parent: ET.Element, tag: str, *, text: object, ns: str = CAP_NS) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ns}}}{tag}")
    element.text = str(text)
    return element


def _alert_element(message: dict[str, Any], *, sender: str, instance: str) -> ET.Element:
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _add(root, "identifier", text=f"{instance}-alert-{message['alert_id']}")
    _add(root, "sender", text=sender)
    _add(root, "sent", text=_cap_time(message["sent"]))
    _add(root, "status", text="Exercise" if message["exercise"] else "Actual")
    _add(root, "msgType", text="Alert")
    _add(root, "scope", text="Restricted")
    _add(root, "restriction", text="Humanitarian focal points; do not redistribute.")
    info = ET.SubElement(root, f"{{{CAP_NS}}}info")
    told, subject = message["incident"], message["subject"]
    _add(info, "language", text="en")
    _add(info, "category", text="Security")
    _add(info, "category", text="Health")
    _add(info, "event", text="Attack on health care reported near a protected site")
    _add(info, "urgency", text="Immediate")
    _add(info, "severity", text="Severe")
    _add(info, "certainty", text=_CERTAINTY.get(str(told.get("certainty")), "Unknown"))
    _add(info, "senderName", text="Haven")
    _add(info, "headline", text=f"Incident within {message['radius_m']} m of {subject['name']}")
    detail = [f"Hour (UTC): {told['occurred_hour']}."]
    if message["detail"] == "standard":
        types = ", ".join(told.get("attack_types") or []) or "not stated"
        detail.append(f"Type: {types}. Distance at most {told['distance_m_at_most']} m.")
    detail.append(message["note"])
    _add(info, "description", text=" ".join(detail))
    _add(info, "instruction", text="Review the safety of staff, patients and movements nearby.")
    area = ET.SubElement(info, f"{{{CAP_NS}}}area")
    _add(area, "areaDesc", text=f"{message['radius_m']} m around {subject['name']}")
    if "lat" in subject and "lon" in subject:
        radius_km = message["radius_m"] / 1000.0
        _add(area, "circle", text=f"{subject['lat']:.5f},{subject['lon']:.5f} {radius_km:g}")
    elif message["detail"] == "standard" and "area" in told:
        _add(area, "circle", text=f"{told['area']['lat']},{told['area']['lon']} 2")
    return root


def alert_xml(message: dict[str, Any], *, sender: str, instance: str) -> bytes:
    """One CAP 1.2 ``<alert>`` document."""
    ET.register_namespace("", CAP_NS)
    body: bytes = ET.tostring(_alert_element(message, sender=sender, instance=instance))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def feed_xml(
    messages: list[dict[str, Any]], *, sender: str, instance: str, self_url: str, updated: str
) -> bytes:
    """An Atom feed whose entries each hold one CAP 1.2 alert (newest first)."""
    ET.register_namespace("", ATOM_NS)
    ET.register_namespace("cap", CAP_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _add(feed, "id", text=self_url, ns=ATOM_NS)
    _add(feed, "title", text="Haven proximity alerts (CAP 1.2)", ns=ATOM_NS)
    _add(feed, "updated", text=updated, ns=ATOM_NS)
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", {"rel": "self", "href": self_url})
    for message in messages:
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _add(entry, "id", text=f"{instance}-alert-{message['alert_id']}", ns=ATOM_NS)
        _add(entry, "title", text=f"Incident near {message['subject']['name']}", ns=ATOM_NS)
        _add(entry, "updated", text=message["sent"], ns=ATOM_NS)
        content = ET.SubElement(entry, f"{{{ATOM_NS}}}content", {"type": "application/cap+xml"})
        content.append(_alert_element(message, sender=sender, instance=instance))
    body: bytes = ET.tostring(feed)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
