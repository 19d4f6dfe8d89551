"""Commands on evidence files: add, list, get (metadata or the file), derive copies."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from haven import accounts, evidence
from haven.accounts import SYSTEM
from haven.cli.base import _database, _settings, _write, as_option, cli
from haven.errors import Conflict, IntegrityCheckFailed, InvalidInput
from haven.evidence import Derivation, DeriveIn, EvidenceIn
from haven.evidence_media import Rectangle
from haven.evidence_store import CHUNK


def _acting(session: Any, as_user: str | None) -> accounts.Actor:
    return accounts.actor_named(session, as_user) if as_user else SYSTEM


def _validated(model: type[Any], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


@cli.group("evidence")
def evidence_group() -> None:
    """Store evidence files of an incident, read them, make derived copies."""


@evidence_group.command("add")
@click.argument("incident_id", metavar="INCIDENT")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--media-type", default=None, help="e.g. image/jpeg (default: from the file name).")
@click.option("--captured-at", default=None, help="When it was captured, ISO 8601 (UTC).")
@click.option("--source-url", default=None, help="Where the file was found (http or https).")
@click.option("--notes", default=None, help="Notes about the capturing device (encrypted).")
@click.option("--report", "report_id", default=None, help="The report it came with.")
@as_option
@click.pass_context
def evidence_add(  # noqa: PLR0913 - one parameter per option
    ctx: click.Context,
    *,
    incident_id: str,
    file: Path,
    media_type: str | None,
    captured_at: str | None,
    source_url: str | None,
    notes: str | None,
    report_id: str | None,
    as_user: str | None,
) -> None:
    """Store FILE as evidence of INCIDENT (streamed; identical bytes are stored once).

    Example:

        haven evidence add 3f2b... photo.jpg --captured-at 2024-01-15T08:30:00Z --as v.sara
    """
    meta = _validated(
        EvidenceIn,
        {
            "filename": file.name,
            "captured_at": captured_at,
            "source_url": source_url,
            "device_notes": notes,
            "report_id": report_id,
        },
    )
    settings = _settings(ctx)
    kind = media_type or mimetypes.guess_type(file.name)[0] or ""
    with _database(ctx) as db:
        with db.read() as session:
            actor = _acting(session, as_user)
        with file.open("rb") as source:
            item = evidence.upload_file(
                db,
                incident_id,
                settings=settings,
                source=source,
                meta=meta,
                media_type=kind,
                actor=actor,
            )
    label = " [EXERCISE]" if item.exercise else ""
    click.echo(f"evidence {item.id} stored{label}: {item.size} bytes, sha256 {item.sha256}")


@evidence_group.command("list")
@click.argument("incident_id", metavar="INCIDENT")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@as_option
@click.pass_context
def evidence_list(ctx: click.Context, *, incident_id: str, fmt: str, as_user: str | None) -> None:
    """List the evidence of INCIDENT, originals and derived copies, oldest first.

    Example:

        haven evidence list 3f2b... --format json
    """
    items = _write(
        ctx, lambda s: evidence.list_for_incident(s, incident_id, actor=_acting(s, as_user))
    )
    if fmt == "json":
        _print_json([item.model_dump(mode="json") for item in items])
        return
    table = Table()
    for column in ("id", "file", "type", "bytes", "received", "derived", "sha256"):
        table.add_column(column)
    for item in items:
        table.add_row(
            item.id,
            item.filename,
            item.media_type,
            str(item.size),
            item.received_at.isoformat(timespec="seconds"),
            f"{item.derivation} of {item.derived_from[:8]}" if item.derived_from else "original",
            item.sha256[:16],
        )
    Console(width=180).print(table)
    click.echo(f"{len(items)} file(s)")


def _copy_verified(source: Path, target: Path, *, sha256: str) -> None:
    """Copy ``source`` to ``target`` (which must not exist), checking the bytes' SHA-256."""
    partial = target.with_name(f".{target.name}.part")
    digest = hashlib.sha256()
    try:
        with source.open("rb") as reader, partial.open("xb") as writer:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        if digest.hexdigest() != sha256:
            raise IntegrityCheckFailed(
                f"the stored file does not match its SHA-256 {sha256}: run `haven verify`",
                fields={"sha256": digest.hexdigest()},
            )
        os.link(partial, target)
    finally:
        partial.unlink(missing_ok=True)


@evidence_group.command("get")
@click.argument("evidence_id", metavar="ID")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the file here (must not exist). Without it, print the metadata.",
)
@click.option("--purpose", default=None, help="Also show EXIF GPS and device notes (audited).")
@as_option
@click.pass_context
def evidence_get(
    ctx: click.Context,
    *,
    evidence_id: str,
    out: Path | None,
    purpose: str | None,
    as_user: str | None,
) -> None:
    """Print an evidence file's metadata, or with --out save the file (its hash is checked).

    Example:

        haven evidence get 9c1d... --out /tmp/photo.jpg
    """
    if out is None:
        item = _write(
            ctx,
            lambda s: evidence.get(s, evidence_id, actor=_acting(s, as_user), purpose=purpose),
        )
        _print_json(item.model_dump(mode="json"))
        return
    if out.exists():
        raise Conflict(f"{out} already exists", fields={"out": "choose a new file name"})
    settings = _settings(ctx)
    found = _write(
        ctx,
        lambda s: evidence.download(s, evidence_id, actor=_acting(s, as_user), settings=settings),
    )
    _copy_verified(found.path, out, sha256=found.sha256)
    click.echo(f"wrote {out}: {found.size} bytes, sha256 {found.sha256} (checked)")


def _rectangle(text: str) -> Rectangle:
    try:
        x, y, width, height = (int(part) for part in text.split(","))
    except ValueError as exc:
        raise InvalidInput(
            f"bad rectangle {text!r}", fields={"rect": "four integers: x,y,width,height"}
        ) from exc
    result: Rectangle = _validated(Rectangle, {"x": x, "y": y, "width": width, "height": height})
    return result


@evidence_group.command("derive")
@click.argument("evidence_id", metavar="ID")
@click.option("--kind", type=click.Choice([d.value for d in Derivation]), required=True)
@click.option(
    "--rect",
    multiple=True,
    help="Redaction: x,y,width,height in pixels to black out; repeat for several.",
)
@click.option("--side", type=click.IntRange(16, 2048), default=320, show_default=True)
@as_option
@click.pass_context
def evidence_derive(
    ctx: click.Context,
    *,
    evidence_id: str,
    kind: str,
    rect: tuple[str, ...],
    side: int,
    as_user: str | None,
) -> None:
    """Make a working copy of an image (the original is never changed): a thumbnail, or a
    redaction with rectangles blacked out and all metadata stripped.

    Example:

        haven evidence derive 9c1d... --kind redaction --rect 10,20,200,80 --as v.sara
    """
    request = _validated(
        DeriveIn,
        {"kind": kind, "rectangles": [_rectangle(r).model_dump() for r in rect], "side": side},
    )
    settings = _settings(ctx)
    with _database(ctx) as db:
        with db.read() as session:
            actor = _acting(session, as_user)
        item = evidence.derive_copy(
            db, evidence_id, settings=settings, request=request, actor=actor
        )
    click.echo(f"{kind} {item.id} of {item.derived_from}: {item.size} bytes, sha256 {item.sha256}")
