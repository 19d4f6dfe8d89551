"""The ``haven import`` command: published datasets and partner files in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from haven import reports
from haven.accounts import SYSTEM
from haven.cli.base import _database, _settings, cli
from haven.importers import FORMATS as IMPORT_FORMATS
from haven.importers import run_import
from haven.settings import Settings


@cli.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(IMPORT_FORMATS)))
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--rejects",
    "rejects_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to list rejected rows (default: DATA_DIR/imports/FILE.rejects.csv).",
)
@click.option("--dry-run", is_flag=True, help="Check and map every row; write nothing.")
@click.option(
    "--dedup/--no-dedup",
    default=True,
    show_default=True,
    help="Merge each new incident into the one it duplicates, or queue a suggestion.",
)
@click.pass_context
def import_file(
    ctx: click.Context,
    *,
    fmt: str,
    file: Path,
    rejects_file: Path | None,
    dry_run: bool,
    dedup: bool,
) -> None:
    """Import a published dataset: one report per row, with its source and original row.

    FORMAT is one of awsd, shcc, kika, who_ssa, acled, hxl, geojson (docs/importers.md).
    The whole file is checked first: a file that is not what FORMAT claims is refused
    before anything is written. Importing the same file again changes nothing.

    Example:

        haven import who_ssa ../shared/data/who_ssa_attacks_2017_2024.csv
    """
    settings = _settings(ctx)
    rejects_path = rejects_file or settings.data_dir / "imports" / f"{file.name}.rejects.csv"
    with _database(ctx) as db, _import_progress() as progress:
        summary = run_import(
            db,
            fmt,
            file,
            actor=SYSTEM,
            rejects_path=None if dry_run else rejects_path,
            progress=progress,
            dry_run=dry_run,
            after_submit=_dedup_hook(_settings(ctx)) if dedup else None,
        )
    for line in summary.lines():
        click.echo(line)
    shown = 20
    for reject in summary.rejects[:shown]:
        click.echo(f"  row {reject.row}, {reject.column}: {reject.reason}")
    if summary.rejected > shown:
        click.echo(f"  ... and {summary.rejected - shown} more")
    if summary.rejected and not dry_run:
        click.echo(f"rejected rows listed in {rejects_path}")


def _dedup_hook(settings: Settings) -> Callable[[Any, reports.ReportReceipt], bool]:
    from haven import dedup  # noqa: PLC0415 - keeps numpy off the other commands' start-up

    return dedup.after_submit(SYSTEM, auto_merge=settings.dedup_auto_merge)


@contextmanager
def _import_progress() -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on a terminal; silent otherwise."""
    from rich.progress import Progress  # noqa: PLC0415 - only imports need it

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda _done, _total: None
        return
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("importing", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
