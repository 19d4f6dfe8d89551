"""Custody log speed: appends, proofs, verification at 1,000,000 leaves, against a hash chain.

The baseline is what most tools keep: a plain SHA-256 hash chain (each row
stores SHA-256(previous hash || entry)), written through the same SQLAlchemy
core inserts into the same kind of SQLite file, in the same batches. A chain
proves an entry is in the log only by handing over every entry after it; the
Merkle tree does it with log2(n) hashes.

    .venv/bin/python benchmarks/custody.py --write-docs

Writes the figures between the ``custody`` markers of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, insert, select
from sqlalchemy.orm import Session

from haven import custody, custody_check
from haven.accounts import SYSTEM
from haven.custody import Act, NewLeaf, SignedTreeHead
from haven.custody_verifier import verify_consistency, verify_inclusion
from haven.db import open_database
from haven.settings import Settings
from report import machine, write_section


def _items(start: int, count: int) -> list[NewLeaf]:
    return [
        NewLeaf(
            Act.EVIDENCE_VIEWED,
            "evidence",
            f"ev-{i}",
            hashlib.sha256(i.to_bytes(8, "little")).hexdigest(),
            {"n": i},
        )
        for i in range(start, start + count)
    ]


def _progress(done: int, *, total: int, began: float) -> None:
    rate = done / max(time.perf_counter() - began, 1e-9)
    print(f"\r  {done:>9,} / {total:,}  ({rate:,.0f}/s)", end="", flush=True)


def _proofs(
    session: Session, head: SignedTreeHead, *, leaves: int, proofs: int
) -> dict[str, float]:
    """Time inclusion and consistency proofs of random leaves, and checking them."""
    figures: dict[str, float] = {}
    root = bytes.fromhex(head.root_hash)
    rng = random.Random(20261126)
    generate: list[float] = []
    check: list[float] = []
    sizes: list[int] = []
    for _ in range(proofs):
        index = rng.randrange(leaves)
        t0 = time.perf_counter()
        proof = custody.inclusion_proof(session, index, tree_size=leaves)
        t1 = time.perf_counter()
        path = [bytes.fromhex(p) for p in proof.path]
        ok = verify_inclusion(
            bytes.fromhex(proof.leaf_hash), path, index=index, tree_size=leaves, root=root
        )
        t2 = time.perf_counter()
        assert ok, index
        generate.append(t1 - t0)
        check.append(t2 - t1)
        sizes.append(len(path))
    consistency: list[float] = []
    for _ in range(proofs // 4):
        first = rng.randrange(1, leaves)
        t0 = time.perf_counter()
        custody.consistency_proof(session, first=first, second=leaves)
        consistency.append(time.perf_counter() - t0)
    first = leaves // 3
    old_root = custody.root(session, first)
    proof_path = custody.consistency_proof(session, first=first, second=leaves).path
    path = [bytes.fromhex(p) for p in proof_path]
    assert verify_consistency(old_root, root, first=first, second=leaves, proof=path)
    figures["proof_ms_median"] = statistics.median(generate) * 1e3
    figures["proof_ms_p99"] = sorted(generate)[int(len(generate) * 0.99)] * 1e3
    figures["check_us_median"] = statistics.median(check) * 1e6
    figures["proof_hashes_max"] = max(sizes)
    figures["consistency_ms_median"] = statistics.median(consistency) * 1e3
    return figures


def run_merkle(folder: Path, *, leaves: int, batch: int, proofs: int) -> dict[str, float]:
    settings = Settings(data_dir=folder / "merkle", custody_sign_interval_seconds=0)
    db = open_database(settings)
    figures: dict[str, float] = {}
    try:
        print("Merkle tree: appending")
        began = time.perf_counter()
        for start in range(0, leaves, batch):
            items = _items(start, min(batch, leaves - start))
            db.write(lambda s, items=items: custody.append_many(s, items, actor=SYSTEM))
            _progress(start + len(items), total=leaves, began=began)
        figures["append_seconds"] = time.perf_counter() - began
        print()
        head = db.write(lambda s: custody.sign_head(s, settings))
        with db.read() as session:
            figures.update(_proofs(session, head, leaves=leaves, proofs=proofs))
        print("Merkle tree: full verification")
        began = time.perf_counter()
        with db.read() as session:
            result = custody_check.verify(session, settings)
        figures["verify_seconds"] = time.perf_counter() - began
        assert result.ok and result.leaves == leaves, result.findings[:3]
    finally:
        db.close()
    return figures


def run_chain(folder: Path, *, leaves: int, batch: int) -> dict[str, float]:
    engine = create_engine(f"sqlite:///{folder / 'chain.db'}")
    table = Table(
        "chain",
        MetaData(),
        Column("idx", Integer, primary_key=True, autoincrement=False),
        Column("entry", Text),
        Column("hash", String(64)),
    )
    table.metadata.create_all(engine)
    figures: dict[str, float] = {}
    print("Hash chain: appending")
    previous = "0" * 64
    began = time.perf_counter()
    for start in range(0, leaves, batch):
        rows = []
        for item in _items(start, min(batch, leaves - start)):
            entry = custody.canonical(
                {
                    "index": start + len(rows),
                    "at": "2026-11-26T00:00:00.000000+00:00",
                    "act": item.act.value,
                    "entity_type": item.entity_type,
                    "entity_id": str(item.entity_id),
                    "content_sha256": item.content_sha256,
                    "actor": SYSTEM.label,
                    "detail": dict(item.detail or {}),
                }
            )
            previous = hashlib.sha256((previous + entry).encode()).hexdigest()
            rows.append({"idx": start + len(rows), "entry": entry, "hash": previous})
        with engine.begin() as connection:
            connection.execute(insert(table), rows)
        _progress(start + len(rows), total=leaves, began=began)
    figures["append_seconds"] = time.perf_counter() - began
    print()
    began = time.perf_counter()
    previous = "0" * 64
    with engine.connect() as connection:
        for entry, stored in connection.execute(select(table.c.entry, table.c.hash)):
            previous = hashlib.sha256((previous + entry).encode()).hexdigest()
            assert previous == stored
    figures["verify_seconds"] = time.perf_counter() - began
    engine.dispose()
    return figures


def _section(
    merkle: dict[str, float], chain: dict[str, float], *, leaves: int, batch: int, command: str
) -> str:
    rate_m = leaves / merkle["append_seconds"]
    rate_c = leaves / chain["append_seconds"]
    chain_proof_kib = leaves / 2 * 32 / 1024
    lines = [
        "<!-- custody:begin (written by benchmarks/custody.py; edits here are overwritten) -->",
        "## Custody log: appends, proofs and verification",
        "",
        f"{leaves:,} custody leaves appended in batches of {batch:,} (one write transaction per",
        "batch through Haven's single writer, SQLite WAL), then proofs and a full `haven verify`.",
        "Baseline in the same run: a plain SHA-256 hash chain, the same entries written through",
        "the same SQLAlchemy core inserts into the same kind of SQLite file, in the same batches.",
        "",
        "| | Merkle tree (Haven) | hash chain (baseline) | aim |",
        "| --- | ---: | ---: | --- |",
        f"| appends per second, batched | {rate_m:,.0f} | {rate_c:,.0f} | ≥ 10,000 |",
        f"| inclusion proof, median (p99) | {merkle['proof_ms_median']:.3f} ms "
        f"({merkle['proof_ms_p99']:.3f} ms) | needs every later entry | < 1 ms |",
        f"| inclusion proof size, largest | {merkle['proof_hashes_max']:.0f} hashes "
        f"({merkle['proof_hashes_max'] * 32:.0f} bytes) | {leaves // 2:,} entries on average "
        f"(≥ {chain_proof_kib:,.0f} KiB) | O(log n) |",
        f"| checking one proof, median | {merkle['check_us_median']:.0f} µs (pure Python) | "
        "re-hash the rest of the chain | |",
        f"| consistency proof between two heads, median | {merkle['consistency_ms_median']:.3f} ms"
        " | none (re-hash the whole chain) | |",
        f"| full verification of the log | {merkle['verify_seconds']:.1f} s | "
        f"{chain['verify_seconds']:.1f} s | |",
        "",
        "The Merkle log costs more per append than the chain (a leaf row and, on average,",
        "one stored subtree row, and a JSON entry per leaf), and its full verification checks",
        "more (every stored subtree, every signed head's signature and root, covered",
        "incidents). What it buys: a proof of any leaf in log2(n) hashes, checked offline",
        "without the rest of the log, and proofs that a later signed head extends an earlier",
        "one.",
        "",
        "| machine | |",
        "| --- | --- |",
    ]
    lines += [f"| {key} | {value} |" for key, value in machine().items()]
    lines += ["", f"Command: `{command}`", "<!-- custody:end -->"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="haven-custody-bench-") as name:
        folder = Path(name)
        merkle = run_merkle(folder, leaves=args.leaves, batch=args.batch, proofs=args.proofs)
        chain = run_chain(folder, leaves=args.leaves, batch=args.batch)
    command = "python " + " ".join(["benchmarks/custody.py", *sys.argv[1:]])
    section = _section(merkle, chain, leaves=args.leaves, batch=args.batch, command=command)
    print(section)
    if args.write_docs:
        write_section("custody", section)


if __name__ == "__main__":
    main()
