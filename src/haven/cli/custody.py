"""Commands of the custody log: verify everything, evidence packages, heads, proofs, keys."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy.orm import Session

from haven import accounts, custody, custody_check, custody_keys, package
from haven.accounts import SYSTEM
from haven.cli.base import _database, _read, _settings, _write, cli
from haven.errors import IntegrityCheckFailed


@cli.command()
@click.option("--quiet", is_flag=True, help="Print only problems and the summary line.")
@click.pass_context
def verify(ctx: click.Context, *, quiet: bool) -> None:
    """Re-hash every evidence file and recompute the custody tree; name anything changed.

    Checks every log row, stored subtree, signed tree head, evidence file and
    published incident the log covers. Exit status 0 when all is intact,
    otherwise each problem is printed and the exit status is that of
    IntegrityCheckFailed.

    Example:

        haven verify
    """
    settings = _settings(ctx)
    result = _read(ctx, lambda s: custody_check.verify(s, settings))
    if not quiet:
        click.echo(
            f"checked {result.leaves} custody leaves, {result.heads} signed heads, "
            f"{result.incidents} covered incidents and the evidence files"
        )
        click.echo(f"root of the recomputed tree: {result.root_hash}")
    for finding in result.findings:
        click.echo(f"PROBLEM  {finding.message}")
    if not result.ok:
        raise IntegrityCheckFailed(
            f"{len(result.findings)} problem(s) found: the custody log or evidence was changed"
        )
    click.echo("intact: nothing was changed")


@cli.command("package")
@click.argument("incident_id")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The zip to write (default: haven-package-INCIDENT.zip here).",
)
@click.option("--as", "as_user", required=True, help="The verifier making the package.")
@click.pass_context
def make_package(ctx: click.Context, incident_id: str, *, out: Path | None, as_user: str) -> None:
    """Write an evidence package for an incident, verifiable offline by an investigator.

    The zip holds the evidence originals, a manifest, inclusion proofs, the
    signed tree head, the public keys, the standalone verifier and a README.

    Example:

        haven package 6f1c0d2e-... --out case-017.zip --as verifier1
        python3 custody_verifier.py case-017.zip
    """
    settings = _settings(ctx)
    target = out or Path(f"haven-package-{incident_id}.zip")
    contents = _write(
        ctx,
        lambda s: package.build(
            s, settings, incident_id=incident_id, actor=accounts.actor_named(s, as_user)
        ),
    )
    summary = package.write_zip(settings, contents, out=target)
    click.echo(
        f"wrote {target}: {summary.files} file(s), {summary.custody_events} custody event(s), "
        f"signed tree of {summary.tree_size} leaves, SHA-256 {summary.sha256}"
    )


@cli.group("custody")
def custody_group() -> None:
    """The custody log: signed tree heads, proofs and signing keys."""


@custody_group.command("sign")
@click.pass_context
def sign(ctx: click.Context) -> None:
    """Sign the current tree head now (a new head only if the log grew) and print it.

    Example:

        haven custody sign > head.json
    """
    settings = _settings(ctx)
    head = _write(ctx, lambda s: custody.sign_head(s, settings))
    click.echo(head.model_dump_json(indent=2))


@custody_group.command("pin-audit")
@click.pass_context
def pin_audit(ctx: click.Context) -> None:
    """Record the audit chain's head in the custody log and sign a tree head over it.

    After this, rewriting the audit chain up to that event also breaks a signed head.

    Example:

        haven custody pin-audit
    """
    settings = _settings(ctx)

    def pin(session: Session) -> tuple[custody.Leaf, custody.SignedTreeHead]:
        leaf = custody.pin_audit_head(session, SYSTEM)
        return leaf, custody.sign_head(session, settings)

    leaf, head = _write(ctx, pin)
    click.echo(
        f"audit head (event {leaf.entity_id}, {leaf.content_sha256}) is custody leaf "
        f"{leaf.index}; signed tree of {head.tree_size} leaves"
    )


@custody_group.command("log")
@click.option("--entity", default=None, help="Only acts about TYPE:ID, e.g. incident:6f1c...")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.pass_context
def show_log(ctx: click.Context, *, entity: str | None, limit: int) -> None:
    """List custody acts: the newest, or every act about one thing.

    Example:

        haven custody log --entity evidence:0b6f...
    """

    def leaves(session: Session) -> list[custody.Leaf]:
        if entity:
            kind, _, ident = entity.partition(":")
            return custody.leaves_for(session, entity_type=kind, entity_id=ident)
        size = custody.tree_size(session)
        return [custody.leaf(session, i) for i in range(max(0, size - limit), size)]

    for leaf in _read(ctx, leaves)[-limit:]:
        click.echo(
            f"{leaf.index:>8}  {leaf.at:%Y-%m-%d %H:%M:%S}  {leaf.act:<26} "
            f"{leaf.entity_type}:{leaf.entity_id}  {leaf.content_sha256 or '-'}  by {leaf.actor}"
        )


@custody_group.command("proof")
@click.argument("index", type=click.IntRange(0))
@click.option("--tree-size", type=click.IntRange(1), default=None, help="Default: latest head.")
@click.pass_context
def proof(ctx: click.Context, index: int, *, tree_size: int | None) -> None:
    """Print the inclusion proof of leaf INDEX (JSON, for custody_verifier.py --proof).

    Example:

        haven custody proof 17 > proof.json
    """

    def make(session: Session) -> custody.InclusionProof:
        size = tree_size
        if size is None:
            head = custody.latest_head(session)
            size = head.tree_size if head else custody.tree_size(session)
        return custody.inclusion_proof(session, index, tree_size=size)

    click.echo(_read(ctx, make).model_dump_json(indent=2))


@custody_group.command("consistency")
@click.argument("first", type=click.IntRange(1))
@click.argument("second", type=click.IntRange(1))
@click.pass_context
def consistency(ctx: click.Context, *, first: int, second: int) -> None:
    """Print the proof that the tree of SECOND leaves extends the tree of FIRST leaves.

    Example:

        haven custody consistency 100 250
    """
    result = _read(ctx, lambda s: custody.consistency_proof(s, first=first, second=second))
    click.echo(result.model_dump_json(indent=2))


@custody_group.command("keys")
@click.pass_context
def keys(ctx: click.Context) -> None:
    """Print the public keys (JSON: the `--key` file of custody_verifier.py).

    Example:

        haven custody keys > keys.json
    """
    public = custody.public_keys(_settings(ctx))
    json.dump({"keys": [k.model_dump(mode="json") for k in public]}, sys.stdout, indent=2)
    click.echo()


@custody_group.command("rotate-key")
@click.pass_context
def rotate_key(ctx: click.Context) -> None:
    """Make a new signing key; the old public key is kept so old heads still verify.

    Signs a head with the new key at once.

    Example:

        haven custody rotate-key
    """
    settings = _settings(ctx)
    fresh = custody_keys.rotate(settings)
    with _database(ctx) as db:
        db.write(lambda s: custody.sign_head(s, settings, force=True))
    click.echo(f"new signing key {fresh.current_id}; {len(fresh.public_keys)} public keys kept")
