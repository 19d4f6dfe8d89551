"""Evidence packages: one zip per incident that an investigator verifies offline, without Haven.

``build`` records the export in the custody log (one ``package.exported`` leaf
whose hash covers ``incident.json``, one ``evidence.exported`` leaf per file),
signs a tree head covering them, and writes a zip holding:

- ``evidence/…`` the evidentiary originals, byte for byte;
- ``incident.json`` the incident's record as it stood (canonical JSON);
- ``notifications/…`` the exact content of each notification that had told a party of
  the site (or movement) the incident struck, when there was one;
- ``manifest.json`` every file's SHA-256, size and capture metadata, the incident's
  custody events and its linkage ("notified site struck" and the proof chain);
- ``custody/proofs.json`` an RFC 9162 inclusion proof for each custody event,
  ``custody/tree-head.json`` the signed head, ``custody/public-keys.json``;
- ``custody_verifier.py`` the standalone verifier and ``README.md`` saying how
  to run it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit, custody, evidence, notification_proofs, policy
from haven.accounts import Actor, Permission, require
from haven.custody import Act, NewLeaf
from haven.custody_incidents import incident_digest
from haven.errors import NotFound
from haven.models import IncidentAttackTypeRow, IncidentRow, NotificationRow
from haven.notification_content import canonical_bytes
from haven.settings import Settings
from haven.taxonomy import IncidentState

__all__ = [
    "PackageSummary",
    "add_demo_package",
    "build",
    "file_sha256",
    "write_custody_parts",
    "write_zip",
]

_README = """# Evidence package for incident {incident}

Made by Haven on {made} (UTC). Everything in here can be checked without Haven,
without a network and without installing anything but Python 3.11 or newer.

## Verify it

    python3 custody_verifier.py {name}

(or unzip it and run `python3 custody_verifier.py ../{name}` from inside).
It prints one line per check and ends with `VERIFIED` or `NOT VERIFIED`
(exit status 0 or 1). It checks that:

1. `custody/tree-head.json` is signed by the key in `custody/public-keys.json`
   (Ed25519, RFC 8032);
2. every custody event in `custody/proofs.json` hashes to its leaf hash and its
   inclusion proof leads to the signed root (RFC 9162 Merkle tree);
3. every file in `manifest.json` has the SHA-256 and size recorded there, and
   that hash is recorded in one of those custody events.

## Trust

The proofs show that these files and events are exactly what the instance's
custody log recorded, in the log the signed head commits to. Compare the public
key and the tree head with the ones the instance publishes
(`/api/public/custody/keys`, `/api/public/custody/heads`) or with a copy kept by
someone else: a consistency proof (`/api/public/custody/consistency`) shows that
any later head extends this one.

## Contents

- `evidence/`: the evidentiary originals, byte for byte.
- `incident.json`: the incident's record when the package was made; its SHA-256 is
  the `content_sha256` of the `package.exported` custody event.
- `notifications/`: when the incident struck a site or movement notified to a party,
  the exact content each party was sent; its SHA-256 is the `content_sha256` of the
  `notification.sent` custody event (and of the acknowledgement, if any). Receipt
  acknowledged is not approval. `manifest.json` → `notified` says which party was told,
  when, and when it acknowledged.
- `manifest.json`: files, hashes, capture metadata and the custody events.
- `custody/`: the signed tree head, the public keys and the inclusion proofs.
"""


class PackageSummary(BaseModel):
    """What a package holds."""

    incident_id: str
    files: int
    custody_events: int
    tree_size: int
    root_hash: str
    sha256: str


def _incident_record(session: Session, row: IncidentRow) -> dict[str, Any]:
    attack_types = sorted(
        session.scalars(
            select(IncidentAttackTypeRow.attack_type).where(
                IncidentAttackTypeRow.incident_id == row.id
            )
        )
    )
    return {
        "id": row.id,
        "occurred_at": row.occurred_at.astimezone(UTC).isoformat(),
        "date_precision": row.date_precision,
        "country": row.country,
        "admin1": row.admin1,
        "location_name": row.location_name,
        "lon": row.lon,
        "lat": row.lat,
        "geo_precision": row.geo_precision,
        "attack_types": attack_types,
        "resources": row.resources,
        "facility_type": row.facility_type,
        "killed": row.killed_total,
        "injured": row.injured_total,
        "certainty": row.certainty,
        "certainty_reason": row.certainty_reason,
        "state": row.state,
        "exercise": row.is_exercise,
        "digest": incident_digest(session, row),
    }


def _contents(
    session: Session, settings: Settings, *, incident_id: str, actor: Actor
) -> dict[str, Any]:
    """Record the export in the custody log, sign a head, and gather what the zip holds."""
    require(actor, Permission.VERIFY)
    row = policy.visible_incident(session, incident_id, actor=actor)
    record_json = custody.canonical(_incident_record(session, row))
    items = evidence.for_incident(session, incident_id)
    originals = [item for item in items if item.derived_from is None]
    custody.append_many(
        session,
        [
            *(
                NewLeaf(Act.EVIDENCE_EXPORTED, "evidence", item.id, item.sha256, {"to": "package"})
                for item in originals
            ),
            NewLeaf(
                Act.PACKAGE_EXPORTED,
                "incident",
                incident_id,
                hashlib.sha256(record_json.encode("utf-8")).hexdigest(),
                {"files": len(originals)},
            ),
        ],
        actor=actor,
    )
    head = custody.sign_head(session, settings)
    leaves = custody.leaves_for(session, entity_type="incident", entity_id=incident_id)
    for item in items:
        leaves += custody.leaves_for(session, entity_type="evidence", entity_id=item.id)
    notified, notices, notice_leaves = _notifications(session, incident_id, actor=actor)
    leaves += [custody.leaf(session, index) for index in sorted(notice_leaves)]
    leaves.sort(key=lambda leaf: leaf.index)
    proofs = [
        custody.inclusion_proof(session, leaf.index, tree_size=head.tree_size).model_dump()
        for leaf in leaves
    ]
    audit.record(
        session,
        actor,
        action="package.export",
        entity_type="incident",
        entity_id=incident_id,
        detail={"files": len(originals), "tree_size": head.tree_size},
    )
    return {
        "incident": record_json,
        "originals": originals,
        "head": head,
        "proofs": proofs,
        "events": [leaf.model_dump(mode="json", exclude={"entry"}) for leaf in leaves],
        "keys": [key.model_dump(mode="json") for key in custody.public_keys(settings)],
        "notified": notified,
        "notices": notices,
    }


def _notifications(
    session: Session, incident_id: str, *, actor: Actor
) -> tuple[dict[str, Any] | None, list[tuple[str, bytes]], set[int]]:
    """What the parties had been told of the site or movements the incident struck: the
    linkage with its proofs, each notification's exact content (the bytes its custody leaf
    hashes), and the leaves of each send and acknowledgement."""
    if not actor.can(Permission.READ_INCIDENTS):
        return None, [], set()
    try:
        notified = notification_proofs.incident_notified(session, incident_id, actor=actor)
    except NotFound:  # no point to link (e.g. known only to the country)
        return None, [], set()
    proofs = [*(notified.site.proofs if notified.site else [])]
    for movement in notified.movements:
        proofs += movement.proofs
    files: dict[str, bytes] = {}
    leaves: set[int] = set()
    for proof in proofs:
        leaves |= {i for i in (proof.leaf_index, proof.ack_leaf_index) if i is not None}
        content = session.scalar(
            select(NotificationRow.content).where(NotificationRow.id == proof.notification_id)
        )
        if content is not None:
            name = f"notifications/{proof.notification_id}-v{proof.version}.json"
            files[name] = canonical_bytes(content)
    return notified.model_dump(mode="json"), sorted(files.items()), leaves


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_custody_parts(
    archive: zipfile.ZipFile,
    *,
    manifest: dict[str, Any],
    head: Any,
    keys: list[Any],
    proofs: list[Any],
) -> None:
    """What every verifiable zip holds: the manifest, the signed tree head, the public keys,
    the inclusion proofs and the standalone verifier (``custody_verifier.py``)."""
    archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    archive.writestr("custody/tree-head.json", head.model_dump_json(indent=2))
    archive.writestr("custody/public-keys.json", json.dumps({"keys": keys}, indent=2))
    archive.writestr("custody/proofs.json", json.dumps({"entries": proofs}, indent=2))
    verifier = files("haven").joinpath("custody_verifier.py").read_text(encoding="utf-8")
    archive.writestr("custody_verifier.py", verifier)


def _safe_name(item: evidence.EvidenceItem) -> str:
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in (item.filename or "file"))
    return f"evidence/{item.sha256[:16]}-{stem[:80]}"


def write_zip(settings: Settings, contents: dict[str, Any], *, out: Path) -> PackageSummary:
    """Write the package atomically to ``out`` (a temporary file renamed at the end)."""
    incident = contents["incident"]
    record = json.loads(incident)
    manifest_files: list[dict[str, Any]] = [
        {
            "path": "incident.json",
            "sha256": hashlib.sha256(incident.encode("utf-8")).hexdigest(),
            "size": len(incident.encode("utf-8")),
            "media_type": "application/json",
        }
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=".package-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("incident.json", incident)
            for name, data in contents["notices"]:
                archive.writestr(name, data)
                manifest_files.append(
                    {
                        "path": name,
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                        "media_type": "application/json",
                    }
                )
            for item in contents["originals"]:
                name = _safe_name(item)
                with (
                    evidence.blob_path(settings, item.sha256).open("rb") as source,
                    archive.open(name, "w", force_zip64=True) as target,
                ):
                    shutil.copyfileobj(source, target, 1 << 20)
                manifest_files.append(
                    {"path": name, **item.model_dump(mode="json", exclude={"id"}), "id": item.id}
                )
            head = contents["head"]
            manifest = {
                "incident_id": record["id"],
                "made_at": datetime.now(UTC).isoformat(),
                "files": manifest_files,
                "custody_events": contents["events"],
                "notified": contents["notified"],
                "tree_head": head.model_dump(),
            }
            write_custody_parts(
                archive,
                manifest=manifest,
                head=head,
                keys=contents["keys"],
                proofs=contents["proofs"],
            )
            archive.writestr(
                "README.md",
                _README.format(incident=record["id"], made=manifest["made_at"], name=out.name),
            )
        digest = file_sha256(Path(temporary))
        Path(temporary).replace(out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return PackageSummary(
        incident_id=record["id"],
        files=len(manifest_files),
        custody_events=len(contents["proofs"]),
        tree_size=head.tree_size,
        root_hash=head.root_hash,
        sha256=digest,
    )


def build(
    session: Session, settings: Settings, *, incident_id: str, actor: Actor
) -> dict[str, Any]:
    """Record the package's export and gather its contents (write them with ``write_zip``
    after the transaction commits, so a failed export leaves no file claiming leaves)."""
    return _contents(session, settings, incident_id=incident_id, actor=actor)


def add_demo_package(db: Any, incident_id: str, *, settings: Settings) -> PackageSummary:
    """For the demo: publish an EXERCISE incident (once), sign a head, and write its package
    to ``DATA_DIR/demo/evidence-package-EXERCISE.zip`` (``db`` is a ``haven.db.Database``)."""
    from haven import verification  # noqa: PLC0415 - verification imports much of Haven
    from haven.accounts import SYSTEM  # noqa: PLC0415

    with db.read() as session:
        row = session.get(IncidentRow, incident_id)
        if row is None or not row.is_exercise:
            raise NotFound("the demo package is made from an exercise incident only")
        state = IncidentState(row.state)
    route = [IncidentState.IN_REVIEW, IncidentState.VERIFIED, IncidentState.PUBLISHED]
    for step in route[route.index(state) + 1 :] if state in route else route:
        db.write(
            lambda s, to=step: verification.transition(
                s, incident_id, to_state=to, note="EXERCISE demo", actor=SYSTEM
            )
        )
    db.write(lambda s: custody.pin_audit_head(s, SYSTEM))
    contents = db.write(lambda s: build(s, settings, incident_id=incident_id, actor=SYSTEM))
    out = settings.data_dir / "demo" / "evidence-package-EXERCISE.zip"
    return write_zip(settings, contents, out=out)
