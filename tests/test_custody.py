"""The custody log: leaves commit with their change, signed heads, proofs, tamper detection."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from haven import audit, custody, custody_check, custody_keys, reports, verification
from haven.accounts import SYSTEM, Role
from haven.custody import Act, NewLeaf
from haven.custody_verifier import (
    ed25519_verify,
    head_message,
    verify_consistency,
    verify_inclusion,
    verify_proof_bundle,
)
from haven.db import Database, open_database
from haven.errors import InvalidInput
from haven.models import IncidentRow
from haven.settings import Settings
from haven.taxonomy import IncidentState
from tests.conftest import make_token


def _report() -> reports.ReportIn:
    return reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "custody test", "kind": "form"},
            "occurred_at": "2024-02-01T08:00:00Z",
            "country": "PSE",
            "attack_types": ["Setting fire"],
            "narrative": "Fictional test narrative.",
        }
    )


def _published_incident(db: Database) -> str:
    incident_id = db.write(lambda s: reports.submit(s, _report(), actor=SYSTEM)).incident_id
    for state in (IncidentState.IN_REVIEW, IncidentState.VERIFIED, IncidentState.PUBLISHED):
        db.write(
            lambda s, to=state: verification.transition(
                s, incident_id, to_state=to, note="", actor=SYSTEM
            )
        )
    return incident_id


def _digest(i: int) -> str:
    return hashlib.sha256(f"content {i}".encode()).hexdigest()


def _fill(db: Database, count: int) -> None:
    items = [
        NewLeaf(Act.EVIDENCE_VIEWED, "evidence", f"e{i}", _digest(i), {"n": i})
        for i in range(count)
    ]
    db.write(lambda s: custody.append_many(s, items, actor=SYSTEM))


def test_a_leaf_commits_with_its_change_or_not_at_all(db: Database) -> None:
    def fails(session: Session) -> None:
        custody.append(
            session,
            SYSTEM,
            act=Act.EVIDENCE_VIEWED,
            entity_type="evidence",
            entity_id="x",
            content_sha256=_digest(1),
        )
        raise InvalidInput("refused on purpose", fields={"x": "bad"})

    with pytest.raises(InvalidInput):
        db.write(fails)
    with db.read() as session:
        assert custody.tree_size(session) == 0
    leaf = db.write(
        lambda s: custody.append(
            s,
            SYSTEM,
            act=Act.EVIDENCE_VIEWED,
            entity_type="evidence",
            entity_id="x",
            content_sha256=_digest(1),
        )
    )
    assert leaf.index == 0
    with db.read() as session:
        assert custody.tree_size(session) == 1
        assert custody.leaves_for(session, entity_type="evidence", entity_id="x")[0] == leaf


def test_bad_content_hash_is_refused(db: Database) -> None:
    with pytest.raises(InvalidInput) as caught:
        db.write(
            lambda s: custody.append(
                s,
                SYSTEM,
                act=Act.EVIDENCE_VIEWED,
                entity_type="e",
                entity_id="1",
                content_sha256="ABC",
            )
        )
    assert "content_sha256" in caught.value.fields


def test_heads_proofs_and_rotation(db: Database, settings: Settings) -> None:
    _fill(db, 5)
    first = db.write(lambda s: custody.sign_head(s, settings))
    _fill(db, 8)
    old_keys = custody.public_keys(settings)
    custody_keys.rotate(settings)
    second = db.write(lambda s: custody.sign_head(s, settings))
    assert (first.tree_size, second.tree_size) == (5, 13)
    assert first.key_id != second.key_id
    keys = [k.model_dump(mode="json") for k in custody.public_keys(settings)]
    assert {k["key_id"] for k in keys} == {old_keys[0].key_id, second.key_id}
    with db.read() as session:
        proofs = [custody.inclusion_proof(session, i, tree_size=13).model_dump() for i in range(13)]
        consistency = custody.consistency_proof(session, first=5, second=13)
    for head in (first, second):  # the head signed before the rotation still verifies
        result = verify_proof_bundle(
            [p for p in proofs if p["leaf_index"] < head.tree_size] if head is first else proofs,
            head.model_dump(),
            keys=keys,
        )
        if head is first:  # proofs are for the tree of 13: against the head of 5 they fail
            assert not result.ok
        else:
            assert result.ok, result.failed
    assert verify_consistency(
        bytes.fromhex(first.root_hash),
        bytes.fromhex(second.root_hash),
        first=5,
        second=13,
        proof=[bytes.fromhex(p) for p in consistency.path],
    )


def test_public_heads_keys_and_consistency_over_http(client: TestClient, db: Database) -> None:
    _fill(db, 3)
    client.post("/api/custody/heads", headers=_auth(db, Role.VERIFIER))
    _fill(db, 4)
    token = _auth(db, Role.ADMIN, name="admin")
    assert client.post("/api/custody/heads", headers=token).status_code == 201
    heads = client.get("/api/public/custody/heads").json()
    assert [h["tree_size"] for h in heads] == [3, 7]
    keys = client.get("/api/public/custody/keys").json()["keys"]
    for head in heads:
        message = head_message(
            log_id=head["log_id"],
            tree_size=head["tree_size"],
            timestamp=head["timestamp"],
            root_hash=head["root_hash"],
        )
        public = base64.b64decode(keys[0]["public_key"])
        assert ed25519_verify(public, message, signature=base64.b64decode(head["signature"]))
    proof = client.get("/api/public/custody/consistency", params={"first": 3, "second": 7})
    path = [bytes.fromhex(p) for p in proof.json()["path"]]
    roots = [bytes.fromhex(h["root_hash"]) for h in heads]
    assert verify_consistency(roots[0], roots[1], first=3, second=7, proof=path)
    inclusion = client.get("/api/custody/leaves/2/proof", params={"tree_size": 7}, headers=token)
    body = inclusion.json()
    assert verify_inclusion(
        bytes.fromhex(body["leaf_hash"]),
        [bytes.fromhex(p) for p in body["path"]],
        index=2,
        tree_size=7,
        root=roots[1],
    )
    assert (
        client.get(
            "/api/custody/leaves/2/proof", params={"tree_size": 70}, headers=token
        ).status_code
        == 422
    )
    assert (
        client.get("/api/public/custody/consistency", params={"first": 9, "second": 7}).status_code
        == 422
    )


def _auth(db: Database, role: Role, *, name: str = "verifier") -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db, f'custody-{name}', role=role)}"}


def test_publishing_and_editing_an_incident_is_covered(db: Database, settings: Settings) -> None:
    incident_id = _published_incident(db)
    with db.read() as session:
        acts = [
            leaf.act
            for leaf in custody.leaves_for(session, entity_type="incident", entity_id=incident_id)
        ]
        assert acts == [Act.INCIDENT_PUBLISHED.value]
        assert custody_check.verify(session, settings).ok
    db.write(
        lambda s: verification.transition(
            s, incident_id, to_state=IncidentState.WITHDRAWN, note="duplicate", actor=SYSTEM
        )
    )
    with db.read() as session:
        acts = [
            leaf.act
            for leaf in custody.leaves_for(session, entity_type="incident", entity_id=incident_id)
        ]
        assert acts == [Act.INCIDENT_PUBLISHED.value, Act.INCIDENT_WITHDRAWN.value]
        assert custody_check.verify(session, settings).ok
    with db.engine.begin() as connection:  # an edit behind Haven's back
        connection.execute(
            update(IncidentRow).where(IncidentRow.id == incident_id).values(killed_total=99)
        )
    with db.read() as session:
        findings = custody_check.verify(session, settings).findings
    assert [f.subject for f in findings] == [f"incident {incident_id}"]


# --- tampering: any single changed byte is found and named --------------------------------

Tamper = Callable[[Any, int], str]


def _flip(value: str, position: int) -> str:
    index = position % len(value)
    replacement = "0" if value[index] != "0" else "1"
    return value[:index] + replacement + value[index + 1 :]


def _tamper_leaf_entry(connection: Any, pick: int) -> str:
    size = connection.execute(text("SELECT count(*) FROM custody_leaves")).scalar()
    idx = pick % size
    entry = connection.execute(
        text("SELECT entry FROM custody_leaves WHERE idx = :i"), {"i": idx}
    ).scalar()
    connection.execute(
        text("UPDATE custody_leaves SET entry = :e WHERE idx = :i"),
        {"e": _flip(entry, pick // 7), "i": idx},
    )
    return f"leaf {idx}"


def _tamper_leaf_hash(connection: Any, pick: int) -> str:
    size = connection.execute(text("SELECT count(*) FROM custody_leaves")).scalar()
    idx = pick % size
    value = connection.execute(
        text("SELECT leaf_hash FROM custody_leaves WHERE idx = :i"), {"i": idx}
    ).scalar()
    connection.execute(
        text("UPDATE custody_leaves SET leaf_hash = :h WHERE idx = :i"),
        {"h": _flip(value, pick // 3), "i": idx},
    )
    return f"leaf {idx}"


def _tamper_node(connection: Any, pick: int) -> str:
    rows = connection.execute(
        text("SELECT level, idx, hash FROM custody_nodes ORDER BY level, idx")
    ).all()
    level, idx, value = rows[pick % len(rows)]
    connection.execute(
        text("UPDATE custody_nodes SET hash = :h WHERE level = :l AND idx = :i"),
        {"h": _flip(value, pick // 5), "l": level, "i": idx},
    )
    return f"node {level}/{idx}"


def _tamper_head(connection: Any, pick: int) -> str:
    column = ["root_hash", "signature", "tree_size", "timestamp"][pick % 4]
    value = connection.execute(text(f"SELECT {column} FROM custody_tree_heads")).scalar()
    changed: Any = value + 1 if isinstance(value, int) else _flip(value, pick // 4)
    connection.execute(text(f"UPDATE custody_tree_heads SET {column} = :v"), {"v": changed})
    return "tree head"


def _delete_leaf(connection: Any, pick: int) -> str:
    size = connection.execute(text("SELECT count(*) FROM custody_leaves")).scalar()
    idx = pick % size
    connection.execute(text("DELETE FROM custody_leaves WHERE idx = :i"), {"i": idx})
    return f"leaf {idx}" if idx < size - 1 else "log state"


def _swap_leaves(connection: Any, pick: int) -> str:
    size = connection.execute(text("SELECT count(*) FROM custody_leaves")).scalar()
    a, b = pick % size, (pick // size) % size
    if a == b:
        b = (a + 1) % size
    rows = {
        r[0]: r[1:]
        for r in connection.execute(
            text("SELECT idx, entry, leaf_hash FROM custody_leaves WHERE idx IN (:a, :b)"),
            {"a": a, "b": b},
        )
    }
    for target, source in ((a, b), (b, a)):
        connection.execute(
            text("UPDATE custody_leaves SET entry = :e, leaf_hash = :h WHERE idx = :i"),
            {"e": rows[source][0], "h": rows[source][1], "i": target},
        )
    return f"leaf {min(a, b)}"


TAMPERS: list[Tamper] = [
    _tamper_leaf_entry,
    _tamper_leaf_hash,
    _tamper_node,
    _tamper_head,
    _delete_leaf,
    _swap_leaves,
]


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.integers(min_value=2, max_value=40),
    tamper=st.sampled_from(TAMPERS),
    pick=st.integers(min_value=0, max_value=10_000),
)
def test_any_single_change_is_found_and_named(
    tmp_path_factory: pytest.TempPathFactory, *, size: int, tamper: Tamper, pick: int
) -> None:
    settings = Settings(data_dir=tmp_path_factory.mktemp("custody"))
    db = open_database(settings)
    try:
        _fill(db, size)
        db.write(lambda s: custody.sign_head(s, settings))
        with db.read() as session:
            assert custody_check.verify(session, settings).ok  # untouched logs verify
        with db.engine.begin() as connection:
            named = tamper(connection, pick)
        with db.read() as session:
            result = custody_check.verify(session, settings)
    finally:
        db.close()
    assert not result.ok
    assert any(f.subject.startswith(named) for f in result.findings), (named, result.findings)


def test_rfc8032_vectors_verify_in_pure_python() -> None:
    vectors = [
        (
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61"
            "e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458"
            "f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
    ]
    for public, message, signature in vectors:
        pub, msg, sig = bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature)
        assert ed25519_verify(pub, msg, signature=sig)
        assert not ed25519_verify(pub, msg + b"\x00", signature=sig)
        assert not ed25519_verify(pub, msg, signature=bytes([sig[0] ^ 1]) + sig[1:])


def test_keys_file_is_private_and_checked(settings: Settings) -> None:
    keys = custody_keys.load(settings)
    assert keys.path.stat().st_mode & 0o777 == 0o600
    data = json.loads(keys.path.read_text())
    data["current"]["key_id"] = "0" * 16
    keys.path.write_text(json.dumps(data))
    with pytest.raises(Exception, match="inconsistent"):
        custody_keys.load(settings)


def test_key_file_location(settings: Settings) -> None:
    assert custody_keys.key_file(settings) == Path(settings.data_dir) / "keys" / "custody-keys.json"


def test_pinning_the_audit_head(db: Database) -> None:
    _fill(db, 1)
    leaf = db.write(lambda s: custody.pin_audit_head(s, SYSTEM))
    with db.read() as session:
        verification = audit.verify(session)
    assert leaf.act == Act.AUDIT_PINNED.value
    assert leaf.content_sha256 == verification.head_hash
    assert leaf.entity_id == str(verification.head_id)


def test_cli_verify_package_and_proofs(tmp_path: Path) -> None:
    from tests.test_cli import run  # noqa: PLC0415 - the CLI tests' subprocess runner

    assert run(tmp_path, "init").returncode == 0
    settings = Settings(data_dir=tmp_path)
    db = open_database(settings)
    try:
        _fill(db, 6)
    finally:
        db.close()
    assert "signature" in run(tmp_path, "custody", "sign").stdout
    intact = run(tmp_path, "verify")
    assert intact.returncode == 0 and "intact" in intact.stdout
    proof = json.loads(run(tmp_path, "custody", "proof", "3").stdout)
    assert proof["leaf_index"] == 3 and proof["tree_size"] == 6
    keys = json.loads(run(tmp_path, "custody", "keys").stdout)["keys"]
    assert len(keys) == 1
    assert "evidence.viewed" in run(tmp_path, "custody", "log").stdout
    db = open_database(settings)
    try:
        with db.engine.begin() as connection:
            _tamper_leaf_entry(connection, 4)
    finally:
        db.close()
    broken = run(tmp_path, "verify")
    assert broken.returncode == 65
    assert "leaf 4" in broken.stdout
    assert run(tmp_path, "custody", "proof", "99").returncode != 0


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(min_size=1, max_size=4000), position=st.integers(min_value=0))
def test_any_changed_byte_of_an_evidence_file_is_found_and_named(
    tmp_path_factory: pytest.TempPathFactory, *, content: bytes, position: int
) -> None:
    import io  # noqa: PLC0415

    from haven import evidence  # noqa: PLC0415
    from haven.evidence import EvidenceIn  # noqa: PLC0415

    settings = Settings(data_dir=tmp_path_factory.mktemp("evidence"))
    db = open_database(settings)
    try:
        incident_id = db.write(lambda s: reports.submit(s, _report(), actor=SYSTEM)).incident_id
        item = evidence.upload_file(
            db,
            incident_id,
            settings=settings,
            source=io.BytesIO(content),
            meta=EvidenceIn(filename="statement.pdf"),
            media_type="application/pdf",
            actor=SYSTEM,
        )
        with db.read() as session:
            assert custody_check.verify(session, settings).ok
        path = evidence.blob_path(settings, item.sha256)
        path.chmod(0o644)
        data = bytearray(path.read_bytes())
        data[position % len(data)] ^= 1 << (position % 8)
        path.write_bytes(bytes(data))
        with db.read() as session:
            result = custody_check.verify(session, settings)
    finally:
        db.close()
    assert [f.subject for f in result.findings] == [f"evidence {item.id} (statement.pdf)"]
