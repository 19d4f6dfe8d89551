"""Check Haven custody proofs and evidence packages offline: Python 3 standard library only.

This file is copied into every evidence package. An investigator runs it with
any Python 3.11 or newer, with no Haven server, database or extra package::

    python3 custody_verifier.py PACKAGE.zip          # a whole evidence package
    python3 custody_verifier.py --proof proof.json --head head.json --key key.json

It checks, and says which check failed:

1. the signed tree head's Ed25519 signature against the public key (RFC 8032,
   verified here in pure Python);
2. every custody entry: its leaf hash is SHA-256(0x00 || entry bytes), and its
   inclusion proof leads to the signed root (RFC 9162, section 2.1.3.2);
3. for a package, every file's SHA-256 and size against the manifest, and that
   every file the manifest names is covered by a custody entry.

Hashing follows RFC 9162 (Certificate Transparency version 2): a leaf hash is
SHA-256(0x00 || data), an interior node SHA-256(0x01 || left || right).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

__all__ = [
    "HEAD_CONTEXT",
    "CheckResult",
    "ed25519_verify",
    "head_message",
    "leaf_hash",
    "main",
    "node_hash",
    "strict_b64decode",
    "verify_consistency",
    "verify_head",
    "verify_inclusion",
    "verify_package",
    "verify_proof_bundle",
]

HEAD_CONTEXT = b"haven-custody-tree-head/v1"
"""The first line of every signed tree head message (domain separation)."""

_HASH_SIZE = 32


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(
    leaf: bytes, path: Sequence[bytes], *, index: int, tree_size: int, root: bytes
) -> bool:
    """Whether ``path`` proves that ``leaf`` (a leaf hash) is entry ``index`` (0-based) of the
    tree of ``tree_size`` entries whose root is ``root`` (RFC 9162, 2.1.3.2)."""
    if not 0 <= index < tree_size or len(leaf) != _HASH_SIZE or len(root) != _HASH_SIZE:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0 or len(p) != _HASH_SIZE:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first_root: bytes, second_root: bytes, *, first: int, second: int, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``second`` entries extends the one of ``first``
    (RFC 9162, 2.1.4.2); a tree of 0 entries is consistent with any later tree."""
    if not 0 <= first <= second or any(len(p) != _HASH_SIZE for p in proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is the first node
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# --- Ed25519 signature verification (RFC 8032, section 5.1.7), pure Python ---------------

_P = 2**255 - 19
_Q = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

_Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T)


def _add(a: _Point, b: _Point) -> _Point:
    e1 = (a[1] - a[0]) * (b[1] - b[0]) % _P
    e2 = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c = 2 * a[3] * b[3] * _D % _P
    d = 2 * a[2] * b[2] % _P
    e, f, g, h = e2 - e1, d - c, d + c, e2 + e1
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(scalar: int, point: _Point) -> _Point:
    result: _Point = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _same(a: _Point, b: _Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


def _decompress(data: bytes) -> _Point | None:
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
assert _GX is not None
_BASE: _Point = (_GX, _GY, 1, _GX * _GY % _P)


def ed25519_verify(public_key: bytes, message: bytes, *, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decompress(public_key)
    r = _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _Q:
        return False
    digest = hashlib.sha512(signature[:32] + public_key + message).digest()
    h = int.from_bytes(digest, "little") % _Q
    return _same(_multiply(s, _BASE), _add(r, _multiply(h, a)))


# --- Signed tree heads and proof bundles --------------------------------------------------


def head_message(*, log_id: str, tree_size: int, timestamp: int, root_hash: str) -> bytes:
    """The exact bytes an instance signs for a tree head (``root_hash`` in hex,
    ``timestamp`` in milliseconds since 1970-01-01 UTC)."""
    lines = [HEAD_CONTEXT.decode(), log_id, str(tree_size), str(timestamp), root_hash.lower()]
    return ("\n".join(lines) + "\n").encode("ascii")


@dataclass
class CheckResult:
    """What a verification found: each check passed, and each failure in words."""

    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every check passed (and at least one was made)."""
        return bool(self.passed) and not self.failed

    def check(self, condition: bool, *, passed: str, failed: str) -> bool:
        (self.passed if condition else self.failed).append(passed if condition else failed)
        return condition


def _unhex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * _HASH_SIZE:
        raise ValueError(f"{what} is not a 64-character hex SHA-256")
    return bytes.fromhex(value)


def strict_b64decode(text: str) -> bytes:
    """Decode base64, refusing any other spelling of the same bytes (e.g. changed pad bits)."""
    data = base64.b64decode(text, validate=True)
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return data


def _public_key(keys: Iterable[dict[str, Any]], key_id: str) -> bytes | None:
    for key in keys:
        if key.get("key_id") == key_id:
            return strict_b64decode(str(key["public_key"]))
    return None


def verify_head(
    head: dict[str, Any], keys: Iterable[dict[str, Any]], *, result: CheckResult
) -> bool:
    """Check a signed tree head's signature with the public key its ``key_id`` names."""
    label = f"tree head of size {head.get('tree_size')}"
    try:
        public = _public_key(keys, str(head["key_id"]))
        message = head_message(
            log_id=str(head["log_id"]),
            tree_size=int(head["tree_size"]),
            timestamp=int(head["timestamp"]),
            root_hash=str(head["root_hash"]),
        )
        signature = strict_b64decode(str(head["signature"]))
    except (KeyError, TypeError, ValueError) as exc:
        result.failed.append(f"{label}: malformed ({exc})")
        return False
    if public is None:
        result.failed.append(f"{label}: no public key with id {head['key_id']}")
        return False
    return result.check(
        ed25519_verify(public, message, signature=signature),
        passed=f"{label}: signature valid (key {head['key_id']})",
        failed=f"{label}: signature does NOT verify (key {head['key_id']})",
    )


def _check_entry(entry: dict[str, Any], head: dict[str, Any], *, result: CheckResult) -> None:
    index = entry.get("leaf_index")
    label = f"custody entry {index}"
    try:
        data = str(entry["entry"]).encode("utf-8")
        stored = _unhex(entry["leaf_hash"], f"{label} leaf_hash")
        path = [_unhex(p, f"{label} path") for p in entry["path"]]
        root = _unhex(head["root_hash"], "tree head root_hash")
        tree_size = int(head["tree_size"])
    except (KeyError, TypeError, ValueError) as exc:
        result.failed.append(f"{label}: malformed ({exc})")
        return
    computed = leaf_hash(data)
    if not result.check(
        computed == stored,
        passed=f"{label}: content matches its leaf hash",
        failed=f"{label}: content does NOT match its leaf hash (the entry was changed)",
    ):
        return
    result.check(
        isinstance(index, int)
        and verify_inclusion(computed, path, index=index, tree_size=tree_size, root=root),
        passed=f"{label}: included in the signed tree of size {tree_size}",
        failed=f"{label}: inclusion proof does NOT lead to the signed root",
    )


def verify_proof_bundle(
    entries: Sequence[dict[str, Any]], head: dict[str, Any], *, keys: Iterable[dict[str, Any]]
) -> CheckResult:
    """Check a signed head and the inclusion of each entry (``leaf_index``, ``entry``,
    ``leaf_hash``, ``path``) under it."""
    result = CheckResult()
    if verify_head(head, list(keys), result=result):
        for entry in entries:
            _check_entry(entry, head, result=result)
    return result


def _sha256_of(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _check_files(
    archive: zipfile.ZipFile, manifest: dict[str, Any], *, covered: set[str], result: CheckResult
) -> None:
    names = set(archive.namelist())
    for item in manifest.get("files", []):
        name = str(item.get("path", ""))
        if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
            result.failed.append(f"file {name}: unsafe path in the manifest")
            continue
        if name not in names:
            result.failed.append(f"file {name}: named in the manifest but missing")
            continue
        digest, size = _sha256_of(archive, name)
        if result.check(
            digest == item.get("sha256") and size == item.get("size"),
            passed=f"file {name}: SHA-256 and size match the manifest",
            failed=f"file {name}: SHA-256 or size does NOT match the manifest (changed)",
        ):
            result.check(
                digest in covered,
                passed=f"file {name}: its hash is recorded in a custody entry",
                failed=f"file {name}: no custody entry records its hash",
            )


def _member(archive: zipfile.ZipFile, name: str, *, key: str | None = None) -> Any:
    """A JSON member of the package (``key`` of it); ``ValueError`` naming the member."""
    try:
        data = json.loads(archive.read(name))
        return data if key is None else data[key]
    except KeyError as exc:
        raise ValueError(f"{name}: missing ({exc})") from exc
    except ValueError as exc:
        raise ValueError(f"{name}: not valid JSON, changed or damaged ({exc})") from exc


def _covered(proofs: Sequence[Any]) -> set[str]:
    covered = set()
    for proof in proofs:
        try:
            covered.add(str(json.loads(proof["entry"]).get("content_sha256")))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a damaged entry fails its own check
    return covered


def verify_package(path: str) -> CheckResult:
    """Check a whole evidence package (zip): head signature, every entry, every file."""
    result = CheckResult()
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = _member(archive, "manifest.json")
            head = _member(archive, "custody/tree-head.json")
            keys = _member(archive, "custody/public-keys.json", key="keys")
            proofs = _member(archive, "custody/proofs.json", key="entries")
            bundle = verify_proof_bundle(proofs, head, keys=keys)
            result.passed += bundle.passed
            result.failed += bundle.failed
            _check_files(archive, manifest, covered=_covered(proofs), result=result)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        result.failed.append(f"package {path}: {exc}")
    return result


def _load(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: exit 0 when everything verifies, 1 when anything fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", nargs="?", help="an evidence package (.zip) to verify")
    parser.add_argument("--proof", help="a proof file: {'entries': [...]} or one entry")
    parser.add_argument("--head", help="the signed tree head (JSON)")
    parser.add_argument("--key", help="the public keys (JSON: {'keys': [...]})")
    parser.add_argument("--quiet", action="store_true", help="print only failures")
    args = parser.parse_args(argv)
    if args.package:
        result = verify_package(args.package)
    elif args.proof and args.head and args.key:
        proof = _load(args.proof)
        entries = proof.get("entries", [proof])
        result = verify_proof_bundle(entries, _load(args.head), keys=_load(args.key)["keys"])
    else:
        parser.error("give a package, or --proof, --head and --key")
    for line in [] if args.quiet else result.passed:
        print(f"ok    {line}")
    for line in result.failed:
        print(f"FAIL  {line}")
    print("VERIFIED" if result.ok else "NOT VERIFIED")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
