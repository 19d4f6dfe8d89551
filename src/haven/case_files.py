"""Case files: a case's evidence packages, notification trail and history in one verifiable zip.

``build`` makes the evidence package of each incident of the case
(``haven.package.build``: originals, incident record, the notifications that
covered the struck site or movement), adds the whole *notification trail* of
those notifications (every sent version's exact content and every custody leaf
of the series: sent, acknowledged, updated, withdrawn) and the *case history*
(each case event's canonical record, the bytes its custody leaf covers), then
records a ``case.exported`` leaf covering ``case.json`` and signs one tree head
over everything. ``write_zip`` writes::

    case.json                          the case, its events, trail and attributions
    case/events/<id>.json              each event's canonical record
    incidents/<id>/incident.json       each incident's record
    incidents/<id>/evidence/…          the evidentiary originals, byte for byte
    notifications/<id>-v<n>.json       each notification version sent
    manifest.json                      every file's SHA-256 and size, every custody event
    custody/tree-head.json, public-keys.json, proofs.json
    custody_verifier.py, README.md

The standalone verifier checks it like any evidence package: the head's
signature, every leaf's inclusion, every file's hash against the manifest and a
custody leaf. Nothing in it names a victim: case events carry references only,
personal details stay encrypted in Haven.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import attributions, audit, cases, custody, evidence, package
from haven.accounts import Actor, Permission, require
from haven.attributions import REPORTED_PERPETRATOR
from haven.case_events import iso, record_bytes
from haven.custody import Act
from haven.errors import IntegrityCheckFailed, NotFound
from haven.models import CaseEventRow, IncidentRow, NotificationRow, PartyRow
from haven.notification_content import canonical_bytes
from haven.settings import Settings

__all__ = ["CaseFileSummary", "build", "write_zip"]

_README = """# Case file {case} (Haven)

Made by Haven on {made} (UTC): case "{title}", {incidents} incident(s).
Everything in here can be checked without Haven, without a network and without
installing anything but Python 3.11 or newer.

## Verify it

    python3 custody_verifier.py {name}

It prints one line per check and ends with `VERIFIED` or `NOT VERIFIED`
(exit status 0 or 1): the signed tree head, the inclusion of every custody event
in it, and every file's SHA-256 against `manifest.json` and a custody event.

## Contents

- `case.json`: the case, its history, the notification trail and the reported
  perpetrators; its SHA-256 is the `content_sha256` of the `case.exported` event.
- `case/events/`: each step of the case (referrals, investigation, sanctions,
  claims, support referrals, deadlines) as recorded; each file's SHA-256 is the
  `content_sha256` of its `case.opened` / `case.updated` custody event. Victims and
  families appear only as references; personal details are not in this file.
- `incidents/<id>/`: each incident's record and evidence originals (as in an
  evidence package).
- `notifications/`: every version of each notification that told a party of a
  struck site or movement, exactly as sent; `case.json` → `notification_trail`
  says when each was sent, acknowledged (receipt, not approval), updated or withdrawn.
- `manifest.json`, `custody/`: hashes, custody events, proofs, signed head, keys.

Attribution: {attribution}
"""


class CaseFileSummary(BaseModel):
    """What a case file holds."""

    case_id: int
    incidents: int
    files: int
    custody_events: int
    tree_size: int
    root_hash: str
    sha256: str


def _live_incidents(session: Session, incident_ids: list[str]) -> list[str]:
    """The case's incidents, each merged-away one replaced by the one it was merged into."""
    merged = dict(
        session.execute(
            select(IncidentRow.id, IncidentRow.merged_into).where(IncidentRow.id.in_(incident_ids))
        ).all()
    )
    return list(dict.fromkeys(merged.get(i) or i for i in incident_ids))


def _notification_ids(notified: dict[str, Any] | None) -> set[int]:
    if not notified:
        return set()
    proofs = list((notified.get("site") or {}).get("proofs", []))
    for movement in notified.get("movements", []):
        proofs += movement.get("proofs", [])
    return {int(p["notification_id"]) for p in proofs}


def _trail(
    session: Session, notification_ids: set[int]
) -> tuple[list[dict[str, Any]], dict[str, bytes], set[int]]:
    """Every sent version of the notifications' series: summary rows, content files, leaves."""
    if not notification_ids:
        return [], {}, set()
    series = set(
        session.scalars(
            select(NotificationRow.series_id).where(NotificationRow.id.in_(notification_ids))
        )
    )
    rows = session.execute(
        select(NotificationRow, PartyRow.name)
        .join(PartyRow, PartyRow.id == NotificationRow.party_id)
        .where(NotificationRow.series_id.in_(series), NotificationRow.sent_leaf.is_not(None))
        .order_by(NotificationRow.series_id, NotificationRow.version)
    ).all()
    summary, contents, leaves = [], {}, set()
    for row, party_name in rows:
        name = f"notifications/{row.id}-v{row.version}.json"
        contents[name] = canonical_bytes(row.content)
        found = custody.leaves_for(session, entity_type="notification", entity_id=str(row.id))
        leaves |= {leaf.index for leaf in found}
        summary.append(
            {
                "notification_id": row.id,
                "series_id": row.series_id,
                "version": row.version,
                "party_id": row.party_id,
                "party_name": party_name,
                "state": row.state,
                "sent_at": iso(row.sent_at),
                "acknowledged_at": iso(row.acknowledged_at),
                "acknowledged_by_channel": row.ack_channel,
                "ended_at": iso(row.ended_at),
                "end_reason": row.end_reason,
                "content_sha256": row.content_sha256,
                "file": name,
                "custody_leaves": [leaf.index for leaf in found],
                "acknowledgement_meaning": "receipt, not approval",
            }
        )
    return summary, contents, leaves


def _history(session: Session, case_id: int) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Each event's canonical record (checked against its stored hash) and a summary row."""
    rows = session.scalars(
        select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
    )
    history, contents = [], {}
    for row in rows:
        data = record_bytes(row)
        if hashlib.sha256(data).hexdigest() != row.content_sha256:
            raise IntegrityCheckFailed(
                f"case {case_id} event {row.id} no longer matches its custody leaf "
                f"{row.custody_leaf}: it was changed after it was recorded"
            )
        name = f"case/events/{row.id}.json"
        contents[name] = data
        history.append(
            {
                "event_id": row.id,
                **json.loads(data),
                "done_at": iso(row.done_at),
                "custody_leaf": row.custody_leaf,
                "file": name,
            }
        )
    return history, contents


def _case_json(case: cases.Case, *, attributed: dict[str, Any], extra: dict[str, Any]) -> str:
    """The case, its history and notification trail (``extra``), and the reported
    perpetrators of its incidents (``attributed``), as canonical JSON."""
    return custody.canonical(
        {
            "case": case.model_dump(mode="json", exclude={"events"}),
            "incidents": sorted(attributed),
            "history": extra["history"],
            "notification_trail": extra["trail"],
            "reported_perpetrators": attributed,
            "attribution_meaning": REPORTED_PERPETRATOR,
        }
    )


def build(session: Session, settings: Settings, *, case_id: int, actor: Actor) -> dict[str, Any]:
    """Record the case file's export in the custody log and gather what the zip holds (write
    it with ``write_zip`` after the transaction commits)."""
    require(actor, Permission.VERIFY)
    case = cases.get(session, case_id, actor=actor)
    parts: dict[str, Any] = {}
    for incident_id in _live_incidents(session, case.incident_ids):
        try:
            parts[incident_id] = package.build(
                session, settings, incident_id=incident_id, actor=actor
            )
        except NotFound as exc:
            raise NotFound(
                f"case {case_id} names incident {incident_id}, which you may not see",
                fields={"incident_ids": incident_id},
            ) from exc
    notification_ids: set[int] = set()
    for part in parts.values():
        notification_ids |= _notification_ids(part["notified"])
    trail, notices, trail_leaves = _trail(session, notification_ids)
    history, events = _history(session, case_id)
    attributed = {
        incident_id: [
            a.model_dump(mode="json", exclude={"meaning", "created_by"})
            for a in attributions.list_for_incident(session, incident_id, actor=actor)
        ]
        for incident_id in parts
    }
    case_json = _case_json(case, attributed=attributed, extra={"history": history, "trail": trail})
    custody.append(
        session,
        actor,
        act=Act.CASE_EXPORTED,
        entity_type="case",
        entity_id=case_id,
        content_sha256=hashlib.sha256(case_json.encode("utf-8")).hexdigest(),
        detail={"incidents": len(parts), "events": len(history)},
    )
    head = custody.sign_head(session, settings)
    own = custody.leaves_for(session, entity_type="case", entity_id=str(case_id))
    indexes = {leaf.index for leaf in own}
    indexes |= trail_leaves
    for part in parts.values():
        indexes |= {int(event["index"]) for event in part["events"]}
    leaves = [custody.leaf(session, index) for index in sorted(indexes)]
    audit.record(
        session,
        actor,
        action="case.export",
        entity_type="case",
        entity_id=case_id,
        detail={"incidents": len(parts), "events": len(history), "tree_size": head.tree_size},
    )
    return {
        "case_id": case_id,
        "title": case.title,
        "case_json": case_json,
        "events": events,
        "notices": notices,
        "parts": parts,
        "head": head,
        "proofs": [
            custody.inclusion_proof(session, leaf.index, tree_size=head.tree_size).model_dump()
            for leaf in leaves
        ],
        "custody_events": [leaf.model_dump(mode="json", exclude={"entry"}) for leaf in leaves],
        "keys": [key.model_dump(mode="json") for key in custody.public_keys(settings)],
    }


def _entry(name: str, data: bytes) -> dict[str, Any]:
    return {
        "path": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "media_type": "application/json",
    }


def _evidence_name(incident_id: str, item: evidence.EvidenceItem) -> str:
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in (item.filename or "file"))
    return f"incidents/{incident_id}/evidence/{item.sha256[:16]}-{stem[:80]}"


def _write_members(
    archive: zipfile.ZipFile, settings: Settings, *, contents: dict[str, Any]
) -> list[dict[str, Any]]:
    """Write the JSON files and evidence originals; return their manifest entries."""
    written: dict[str, bytes] = {"case.json": contents["case_json"].encode("utf-8")}
    written |= contents["events"]
    for incident_id, part in sorted(contents["parts"].items()):
        written[f"incidents/{incident_id}/incident.json"] = part["incident"].encode("utf-8")
        written |= dict(part["notices"])
    written |= contents["notices"]
    manifest = []
    for name, data in written.items():
        archive.writestr(name, data)
        manifest.append(_entry(name, data))
    for incident_id, part in sorted(contents["parts"].items()):
        for item in part["originals"]:
            name = _evidence_name(incident_id, item)
            with (
                evidence.blob_path(settings, item.sha256).open("rb") as source,
                archive.open(name, "w", force_zip64=True) as target,
            ):
                shutil.copyfileobj(source, target, 1 << 20)
            manifest.append(
                {"path": name, **item.model_dump(mode="json", exclude={"id"}), "id": item.id}
            )
    return manifest


def write_zip(settings: Settings, contents: dict[str, Any], *, out: Path) -> CaseFileSummary:
    """Write the case file atomically to ``out`` (a temporary file renamed at the end)."""
    head = contents["head"]
    made_at = datetime.now(UTC).isoformat()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=".case-file-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            manifest_files = _write_members(archive, settings, contents=contents)
            manifest = {
                "case_id": contents["case_id"],
                "made_at": made_at,
                "files": manifest_files,
                "custody_events": contents["custody_events"],
                "notified": {i: p["notified"] for i, p in sorted(contents["parts"].items())},
                "tree_head": head.model_dump(),
            }
            package.write_custody_parts(
                archive,
                manifest=manifest,
                head=head,
                keys=contents["keys"],
                proofs=contents["proofs"],
            )
            archive.writestr(
                "README.md",
                _README.format(
                    case=contents["case_id"],
                    made=made_at,
                    title=contents["title"],
                    incidents=len(contents["parts"]),
                    name=out.name,
                    attribution=REPORTED_PERPETRATOR,
                ),
            )
        digest = package.file_sha256(Path(temporary))
        Path(temporary).replace(out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return CaseFileSummary(
        case_id=contents["case_id"],
        incidents=len(contents["parts"]),
        files=len(manifest_files),
        custody_events=len(contents["proofs"]),
        tree_size=head.tree_size,
        root_hash=head.root_hash,
        sha256=digest,
    )
