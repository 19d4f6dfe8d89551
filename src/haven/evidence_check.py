"""Re-check stored evidence: each file re-hashed against its row, each row against the log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import custody
from haven.custody import Act
from haven.evidence_store import check_blob
from haven.models import EvidenceRow
from haven.settings import Settings

__all__ = ["verify_store"]


def verify_store(session: Session, settings: Settings) -> list[custody.Finding]:
    """Re-hash every stored file (streamed) and check every evidence row against it and the log.

    Reports by name each missing file, file whose bytes changed, row whose hash
    or size no longer matches its file or its custody leaf, and row without the
    leaf that recorded its arrival (``evidence.received``; ``evidence.derived``
    for derived copies).
    """
    findings: list[custody.Finding] = []
    hashed: dict[str, tuple[str, int] | None] = {}
    query = select(
        EvidenceRow.id,
        EvidenceRow.sha256,
        EvidenceRow.size,
        EvidenceRow.filename,
        EvidenceRow.derived_from,
    ).order_by(EvidenceRow.received_at, EvidenceRow.id)
    for evidence_id, sha256, size, filename, derived_from in session.execute(query):
        subject = f"evidence {evidence_id} ({filename})"
        findings.extend(
            custody.Finding(subject, kind, f"{subject}: {message}")
            for kind, message in check_blob(settings, sha256, size=size, cache=hashed)
        )
        birth = Act.EVIDENCE_RECEIVED if derived_from is None else Act.EVIDENCE_DERIVED
        leaves = [
            leaf
            for leaf in custody.leaves_for(session, entity_type="evidence", entity_id=evidence_id)
            if leaf.act == birth
        ]
        if not leaves:
            findings.append(
                custody.Finding(
                    subject,
                    "missing_leaf",
                    f"{subject}: no {birth.value} leaf in "
                    "the custody log: the row was added outside Haven or its leaf was removed",
                )
            )
        elif leaves[0].content_sha256 != sha256:
            findings.append(
                custody.Finding(
                    subject,
                    "row_edited",
                    f"{subject}: its recorded SHA-256 {sha256} is not the "
                    f"{leaves[0].content_sha256} that custody leaf {leaves[0].index} recorded",
                )
            )
    return findings
