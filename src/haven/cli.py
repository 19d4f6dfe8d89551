"""The ``haven`` command: each subcommand opens the database, calls one service, prints."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from haven import accounts, incidents, reports
from haven.accounts import SYSTEM, Role
from haven.db import Database, open_database
from haven.errors import ConfigurationError, HavenError, InvalidInput
from haven.settings import Settings

__all__ = ["cli", "main"]

T = TypeVar("T")


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


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the instance folder and bring the database schema up to date.

    Safe to run again: it only applies missing migrations.

    Example:

        HAVEN_DATA_DIR=/srv/haven haven init
    """
    settings = _settings(ctx)
    with _database(ctx) as db:
        from haven.db import current_revision  # noqa: PLC0415 - keeps the import list short

        revision = current_revision(db.engine)
    click.echo(f"database ready: {db.dialect}, schema {revision}")
    if settings.is_sqlite:
        click.echo(f"file: {settings.resolved_database_url.removeprefix('sqlite:///')}")


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default: HAVEN_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: HAVEN_PORT, 8000).")
@click.pass_context
def serve(ctx: click.Context, *, host: str | None, port: int | None) -> None:
    """Serve the web app and the API.

    Example:

        haven serve --port 8000
    """
    import uvicorn  # noqa: PLC0415 - only the server needs it

    from haven.app import create_app  # noqa: PLC0415

    settings = _settings(ctx)
    app = create_app(settings)
    click.echo(f"Haven on http://{host or settings.host}:{port or settings.port}/api/health")
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


@cli.command()
@click.option(
    "--datasets",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("../shared/data"),
    show_default=True,
    help="Folder with the published datasets (gaza_hospitals.geojson).",
)
@click.option("--seed", type=int, default=2024, show_default=True, help="Seed for exercise data.")
@click.pass_context
def demo(ctx: click.Context, *, datasets: Path, seed: int) -> None:
    """Load the demo: real Gaza hospitals and clearly labelled EXERCISE reports.

    Creates the user `demo-analyst` and writes its API token to DATA_DIR/demo-token.txt.
    Safe to run again.

    Example:

        haven demo --datasets ../shared/data
    """
    from haven import demo as demo_data  # noqa: PLC0415

    settings = _settings(ctx)
    with _database(ctx) as db:
        summary = demo_data.load(db, datasets=datasets, seed=seed)
        token = demo_data.ensure_demo_token(db, token_file=settings.data_dir / "demo-token.txt")
    click.echo(
        f"facilities: {summary.facilities_added} added, {summary.facilities_unchanged} unchanged"
    )
    click.echo(f"EXERCISE reports: {summary.reports_added} added, {summary.reports_unchanged} kept")
    click.echo(f"API token for demo-analyst (also in {settings.data_dir / 'demo-token.txt'}):")
    click.echo(token)


@cli.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--org", "organisation", required=True, help="Organisation (created if new).")
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option(
    "--password-stdin", is_flag=True, help="Read a password from stdin (else: token-only user)."
)
@click.pass_context
def user_add(
    ctx: click.Context,
    *,
    username: str,
    role: str,
    organisation: str,
    display_name: str | None,
    password_stdin: bool,
) -> None:
    """Add a user with one role in one organisation.

    Example:

        echo 'a long passphrase' | haven user add amal --role verifier --org "Health Cluster" \\
            --password-stdin
    """
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    user_id = _write(
        ctx,
        lambda s: accounts.add_user(
            s,
            username,
            role=Role(role),
            organisation=organisation,
            password=password,
            display_name=display_name,
            actor=SYSTEM,
        ),
    )
    click.echo(f"user {username} added (id {user_id}, role {role})")


@cli.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.pass_context
def token_create(ctx: click.Context, *, username: str, name: str) -> None:
    """Create an API token for a user and print it (it is shown only once).

    Example:

        haven token create amal --name "field tablet 3"
    """
    click.echo(_write(ctx, lambda s: accounts.create_token(s, username, name=name, actor=SYSTEM)))


@token.command("revoke")
@click.argument("prefix")
@click.pass_context
def token_revoke(ctx: click.Context, *, prefix: str) -> None:
    """Revoke a token by its first 10 characters (as shown by the audit log).

    Example:

        haven token revoke hvn_Ab12Cd
    """
    _write(ctx, lambda s: accounts.revoke_token(s, prefix, actor=SYSTEM))
    click.echo(f"revoked tokens starting {prefix}")


@cli.group("reports")
def reports_group() -> None:
    """Submit and inspect reports."""


def _load_reports(path: Path) -> list[reports.ReportIn]:
    """Every report in a JSON file (one object or a list), all validated before any is stored."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", fields={"file": str(path)}) from exc
    items = data if isinstance(data, list) else [data]
    parsed: list[reports.ReportIn] = []
    bad: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            parsed.append(reports.ReportIn.model_validate(item))
        except ValidationError as exc:
            bad.extend({**e, "loc": (f"[{index}]", *e["loc"])} for e in exc.errors())
    if bad:
        error = InvalidInput.from_validation(bad)
        raise InvalidInput(f"{path}: {error.message}; nothing stored", fields=error.fields)
    return parsed


@reports_group.command("add")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_context
def reports_add(ctx: click.Context, *, file: Path) -> None:
    """Submit the reports in a JSON file (one report object, or a list). All or nothing.

    Example:

        haven reports add examples/report.json
    """
    parsed = _load_reports(file)

    def submit_all(session: Any) -> list[reports.ReportReceipt]:
        return [reports.submit(session, r, actor=SYSTEM) for r in parsed]

    receipts = _write(ctx, submit_all)
    for receipt in receipts:
        state = "stored" if receipt.created else "already stored"
        label = " [EXERCISE]" if receipt.exercise else ""
        click.echo(f"report {receipt.report_id} {state} -> incident {receipt.incident_id}{label}")


@cli.group("incidents")
def incidents_group() -> None:
    """List and inspect incidents."""


@incidents_group.command("list")
@click.option("--country", multiple=True, help="ISO3 code; repeat for several.")
@click.option("--since", type=click.DateTime(), default=None, help="Occurred at or after (UTC).")
@click.option("--until", type=click.DateTime(), default=None, help="Occurred before (UTC).")
@click.option("--attack-type", multiple=True, help="WHO SSA attack type; repeat for several.")
@click.option("--certainty", multiple=True, help="rumour, possible, probable or confirmed.")
@click.option(
    "--exercise",
    type=click.Choice([e.value for e in incidents.ExerciseFilter]),
    default="include",
    show_default=True,
    help="Include, exclude or show only exercise data.",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def incidents_list(  # noqa: PLR0913 - one parameter per option
    ctx: click.Context,
    *,
    country: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    attack_type: tuple[str, ...],
    certainty: tuple[str, ...],
    exercise: str,
    limit: int,
    fmt: str,
) -> None:
    """List incidents, newest first. Exercise data is marked EXERCISE.

    Example:

        haven incidents list --country PSE --since 2023-10-07 --format json
    """
    flt = incidents.parse_filter(
        {
            "since": since,
            "until": until,
            "countries": country,
            "attack_types": attack_type,
            "certainties": certainty,
            "exercise": exercise,
        }
    )
    page = _read(ctx, lambda s: incidents.list_incidents(s, flt, actor=SYSTEM, limit=limit))
    if fmt == "json":
        click.echo(json.dumps(page.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    _print_table(page.items)


def _print_table(items: list[incidents.Incident]) -> None:
    table = Table(show_lines=False)
    for column in ("date", "country", "place", "attack types", "killed", "injured", "certainty"):
        table.add_column(column)
    table.add_column("data")
    for item in items:
        table.add_row(
            item.occurred_at.date().isoformat(),
            item.country,
            item.location_name or item.admin1 or "",
            "; ".join(t.split(" (")[0] for t in item.attack_types),
            str(item.killed_total),
            str(item.injured_total),
            item.certainty.value,
            "EXERCISE" if item.exercise else "real",
        )
    Console(width=160).print(table)
    click.echo(f"{len(items)} incident(s)")


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
