"""The ``haven`` command group, the helpers every subcommand uses, and ``main``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from haven import accounts
from haven.accounts import SYSTEM, Actor
from haven.db import Database, open_database
from haven.errors import ConfigurationError, HavenError, InvalidInput
from haven.settings import Settings

__all__ = ["T", "acting", "as_option", "cli", "iso_time", "main"]

T = TypeVar("T")

as_option = click.option(
    "--as", "as_user", default=None, help="The user on whose behalf you act (default: system)."
)
"""``--as USER``: the account a command acts for (the audit log names it)."""


def acting(session: Any, as_user: str | None) -> Actor:
    """The actor of ``--as`` (the system when it is not given)."""
    return accounts.actor_named(session, as_user) if as_user else SYSTEM


def iso_time(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 time with its zone from an option, or a clear error naming ``field``."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{field} is not an ISO 8601 time", fields={field: value}) from exc
    if parsed.tzinfo is None:
        raise InvalidInput(f"{field} has no time zone", fields={field: "add an offset, e.g. Z"})
    return parsed


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@contextmanager
def _database(ctx: click.Context) -> Iterator[Database]:
    db = open_database(_settings(ctx))
    try:
        yield db
    finally:
        db.close()


def _read(ctx: click.Context, fn: Callable[[Any], T]) -> T:
    with _database(ctx) as db, db.read() as session:
        return fn(session)


def _write(ctx: click.Context, fn: Callable[[Any], T]) -> T:
    with _database(ctx) as db:
        return db.write(fn)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Instance folder (default: HAVEN_DATA_DIR or ./var).",
)
@click.version_option(package_name="haven")
@click.pass_context
def cli(ctx: click.Context, *, data_dir: Path | None) -> None:
    """Haven: document, verify, prove, protect and publish attacks on health care.

    Settings come from HAVEN_* environment variables (see docs/settings.md).

    Example:

        haven init && haven demo && haven serve
    """
    try:
        overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
        ctx.obj = Settings(**overrides)
    except ValidationError as exc:
        error = InvalidInput.from_validation(exc.errors())
        raise ConfigurationError("invalid settings", fields=error.fields) from exc


def main() -> None:
    """Run the CLI; any Haven error becomes one line on stderr and its exit code."""
    try:
        cli.main(standalone_mode=False)
    except HavenError as exc:
        click.echo(exc.cli_line(), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
