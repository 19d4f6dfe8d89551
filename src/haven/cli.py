"""The ``haven`` command: each subcommand opens the database, calls one service, prints."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from haven import accounts, audit, exports, incidents, releases, reports, sessions, verification
from haven.accounts import SYSTEM, Permission, Role
from haven.db import Database, open_database
from haven.errors import ConfigurationError, HavenError, IntegrityCheckFailed, InvalidInput
from haven.importers import FORMATS as IMPORT_FORMATS
from haven.importers import run_import
from haven.settings import Settings
from haven.taxonomy import (
    Certainty,
    Credibility,
    EvidenceKind,
    IncidentState,
    Reliability,
    SourceType,
)

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
    click.echo(f"master key file: {settings.resolved_master_key_file} (keep it out of backups)")
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

    Creates the user `demo-analyst` and writes its API token to DATA_DIR/demo-token.txt,
    and the users `demo-verifier` and `demo-coordinator`, who sign in with the passwords
    written to DATA_DIR/demo-credentials.txt. Safe to run again.

    Example:

        haven demo --datasets ../shared/data
    """
    from haven import demo as demo_data  # noqa: PLC0415

    settings = _settings(ctx)
    with _database(ctx) as db:
        summary = demo_data.load(db, datasets=datasets, seed=seed)
        token = demo_data.ensure_demo_token(db, token_file=settings.data_dir / "demo-token.txt")
        demo_data.ensure_demo_people(
            db,
            credentials_file=settings.data_dir / "demo-credentials.txt",
            hasher=sessions.password_hasher(settings),
        )
    click.echo(
        f"facilities: {summary.facilities_added} added, {summary.facilities_unchanged} unchanged"
    )
    click.echo(f"EXERCISE reports: {summary.reports_added} added, {summary.reports_unchanged} kept")
    click.echo(f"API token for demo-analyst (also in {settings.data_dir / 'demo-token.txt'}):")
    click.echo(token)
    click.echo(
        f"demo-verifier and demo-coordinator sign in with POST /api/login; their passwords "
        f"are in {settings.data_dir / 'demo-credentials.txt'}"
    )


@cli.group()
def keys() -> None:
    """Manage the encryption keys of sensitive fields."""


@keys.command("rotate")
@click.option(
    "--data-keys",
    is_flag=True,
    help="Also start new data key versions (new writes use them; old data still reads).",
)
@click.pass_context
def keys_rotate(ctx: click.Context, *, data_keys: bool) -> None:
    """Make a new master key and re-wrap every data key under it; no data is re-encrypted.

    Running servers keep working (they hold the data keys they unwrapped); servers
    started later read the new key file, which keeps the old master keys until you
    delete them. Back up the key file, separately from the database.

    Example:

        haven keys rotate --data-keys
    """
    from haven import privacy  # noqa: PLC0415

    def rotate(session: Any) -> list[privacy.RotationSummary]:
        done = [privacy.rotate_master_key(session)]
        if data_keys:
            done.append(privacy.rotate_data_keys(session))
        return done

    done = _write(ctx, rotate)
    click.echo(
        f"master key {done[0].master_key_id} active; {done[0].rewrapped} data key(s) re-wrapped"
    )
    if data_keys:
        click.echo(f"{done[1].new_data_keys} new data key version(s)")
    click.echo(f"key file: {_settings(ctx).resolved_master_key_file}")


@cli.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--org", "organisation", required=True, help="Organisation (created if new).")
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option(
    "--country",
    "countries",
    multiple=True,
    help="Limit the user to a country (ISO3; repeat for several). Default: every country.",
)
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
    countries: tuple[str, ...],
    password_stdin: bool,
) -> None:
    """Add a user with one role in one organisation, optionally limited to countries.

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
            countries=countries,
            hasher=sessions.password_hasher(_settings(ctx)),
        ),
    )
    click.echo(f"user {username} added (id {user_id}, role {role})")


@cli.group()
def token() -> None:
    """Manage API tokens."""


_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_DURATION_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> timedelta | None:
    """``12h``, ``30d`` or ``4w`` as a timedelta."""
    if value is None:
        return None
    match = _DURATION.match(value)
    if match is None or int(match[1]) == 0:
        raise click.BadParameter("use a positive number of hours, days or weeks: 12h, 30d, 4w")
    return int(match[1]) * _DURATION_UNITS[match[2]]


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice([p.value for p in Permission]),
    help="Limit the token to this permission; repeat for several (default: all of the role's).",
)
@click.option(
    "--expires-in",
    callback=_duration,
    default=None,
    help="Lifetime: 12h, 30d or 4w (default: until revoked).",
)
@click.pass_context
def token_create(
    ctx: click.Context,
    *,
    username: str,
    name: str,
    scopes: tuple[str, ...],
    expires_in: timedelta | None,
) -> None:
    """Create an API token for a user and print it (it is shown only once).

    A scoped token can do only what both its scopes and its user's role allow;
    an expired token gets 401.

    Example:

        haven token create amal --name "field tablet 3" --scope submit_report --expires-in 30d
    """
    chosen = frozenset(Permission(s) for s in scopes) if scopes else None
    expires_at = datetime.now().astimezone() + expires_in if expires_in else None
    click.echo(
        _write(
            ctx,
            lambda s: accounts.create_token(
                s, username, name=name, actor=SYSTEM, scopes=chosen, expires_at=expires_at
            ),
        )
    )


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


@cli.group("audit")
def audit_group() -> None:
    """Inspect and verify the hash-chained audit log."""


@audit_group.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check every audit event against the hash chain; exit 65 if any was changed.

    Prints one line per problem, naming the row (edited, deleted, inserted or
    moved), and the chain head: write the head hash down elsewhere to pin it.

    Example:

        haven audit verify
    """
    result = _read(ctx, audit.verify)
    for problem in result.problems:
        click.echo(f"audit chain broken: {problem.message}", err=True)
    click.echo(f"{result.checked} event(s) checked; head {result.head_id} {result.head_hash}")
    if not result.ok:
        raise IntegrityCheckFailed(f"audit chain broken in {len(result.problems)} place(s)")
    click.echo("audit chain intact")


@audit_group.command("list")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def audit_list(ctx: click.Context, *, limit: int, fmt: str) -> None:
    """List the newest audit events, newest first.

    Example:

        haven audit list --limit 20 --format json
    """
    events = _read(ctx, lambda s: audit.list_events(s, limit=limit))
    if fmt == "json":
        rows = [{**dataclasses.asdict(e), "at": e.at.isoformat()} for e in events]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(show_lines=False)
    for column in ("id", "at (UTC)", "actor", "action", "entity", "purpose", "detail"):
        table.add_column(column)
    for e in events:
        table.add_row(
            str(e.id),
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.actor,
            e.action,
            f"{e.entity_type} {e.entity_id}",
            e.purpose or "",
            json.dumps(e.detail, ensure_ascii=False, sort_keys=True),
        )
    Console(width=160).print(table)
    click.echo(f"{len(events)} event(s)")


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


@reports_group.command("grade")
@click.argument("report_id")
@click.option("--source-type", type=click.Choice([t.value for t in SourceType]), default=None)
@click.option("--reliability", type=click.Choice([r.value for r in Reliability]), default=None)
@click.option("--credibility", type=click.IntRange(1, 6), default=None, help="1 (confirmed) to 6.")
@click.option(
    "--evidence",
    multiple=True,
    type=click.Choice([e.value for e in EvidenceKind]),
    help="Evidence that came with it; repeat for several.",
)
@click.option("--as", "as_user", default=None, help="The verifier (default: system).")
@click.pass_context
def reports_grade(
    ctx: click.Context,
    *,
    report_id: str,
    source_type: str | None,
    reliability: str | None,
    credibility: int | None,
    evidence: tuple[str, ...],
    as_user: str | None,
) -> None:
    """Grade a stored report (replacing its grade) and re-derive its incident's certainty.

    Example:

        haven reports grade 6f1c... --source-type media --reliability B --evidence photo
    """
    status = _write(
        ctx,
        lambda s: verification.grade_report(
            s,
            report_id,
            source_type=SourceType(source_type) if source_type else None,
            reliability=Reliability(reliability) if reliability else None,
            credibility=Credibility(credibility) if credibility else None,
            evidence_kinds=[EvidenceKind(e) for e in evidence],
            actor=accounts.actor_named(s, as_user) if as_user else SYSTEM,
        ),
    )
    click.echo(f"incident {status.incident_id}: certainty {status.certainty_reason}")


@cli.group("incidents")
def incidents_group() -> None:
    """List, inspect and verify incidents."""


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


_verify_as_option = click.option(
    "--as", "as_user", default=None, help="The verifier on whose behalf you act (default: system)."
)


def _acting_verifier(session: Any, as_user: str | None) -> accounts.Actor:
    return accounts.actor_named(session, as_user) if as_user else SYSTEM


def _print_status(status: verification.VerificationStatus) -> None:
    marker = " (overridden)" if status.certainty_overridden else ""
    click.echo(f"incident {status.incident_id}: {status.state.value}")
    click.echo(f"certainty{marker}: {status.certainty_reason}")


@incidents_group.command("state")
@click.argument("incident_id")
@click.argument("to_state", metavar="TO", type=click.Choice([s.value for s in IncidentState]))
@click.option("--note", default="", help="Why (required to reject or withdraw).")
@_verify_as_option
@click.pass_context
def incidents_state(
    ctx: click.Context, *, incident_id: str, to_state: str, note: str, as_user: str | None
) -> None:
    """Move an incident through verification (received, in_review, verified, rejected,
    published, withdrawn). Moves that are not allowed are refused and named.

    Example:

        haven incidents state 3f2b... in_review --note "two sources, checking the photo"
    """
    status = _write(
        ctx,
        lambda s: verification.transition(
            s,
            incident_id,
            to_state=IncidentState(to_state),
            note=note,
            actor=_acting_verifier(s, as_user),
        ),
    )
    _print_status(status)


@incidents_group.command("certainty")
@click.argument("incident_id")
@click.option("--approve", is_flag=True, help="Accept the certainty the WHO SSA rules derive.")
@click.option(
    "--set",
    "level",
    type=click.Choice([c.value for c in Certainty]),
    default=None,
    help="Override the certainty (needs --rationale).",
)
@click.option("--rationale", default="", help="Why (at least 10 characters for --set).")
@_verify_as_option
@click.pass_context
def incidents_certainty(
    ctx: click.Context,
    *,
    incident_id: str,
    approve: bool,
    level: str | None,
    rationale: str,
    as_user: str | None,
) -> None:
    """Approve an incident's derived certainty, or override it with a written rationale.

    Example:

        haven incidents certainty 3f2b... --set probable --rationale "the photo is from 2019"
    """
    if approve == (level is not None):
        raise InvalidInput(
            "give either --approve or --set LEVEL --rationale TEXT", fields={"set": "or --approve"}
        )
    if level is not None:
        chosen = Certainty(level)
        status = _write(
            ctx,
            lambda s: verification.override_certainty(
                s,
                incident_id,
                certainty=chosen,
                rationale=rationale,
                actor=_acting_verifier(s, as_user),
            ),
        )
    else:
        status = _write(
            ctx,
            lambda s: verification.approve_certainty(
                s, incident_id, note=rationale, actor=_acting_verifier(s, as_user)
            ),
        )
    _print_status(status)


@incidents_group.command("history")
@click.argument("incident_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def incidents_history(ctx: click.Context, *, incident_id: str, fmt: str) -> None:
    """Show everything that happened to an incident, oldest first, with notes.

    Example:

        haven incidents history 3f2b... --format json
    """
    entries = _read(ctx, lambda s: verification.history(s, incident_id, actor=SYSTEM))
    if fmt == "json":
        click.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        return
    for entry in entries:
        note = f" - {entry.note}" if entry.note else ""
        click.echo(f"{entry.at.isoformat(timespec='seconds')}\t{entry.actor}\t{entry.action}{note}")


@cli.group("verification")
def verification_group() -> None:
    """The verification queue (see docs/verification.md)."""


@verification_group.command("queue")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.pass_context
def verification_queue(ctx: click.Context, *, limit: int) -> None:
    """List incidents received or in review, oldest first, with their certainty and why.

    Example:

        haven verification queue --limit 20
    """
    items = _read(ctx, lambda s: verification.queue(s, actor=SYSTEM, limit=limit))
    for item in items:
        label = " [EXERCISE]" if item.exercise else ""
        click.echo(
            f"{item.id}\t{item.state.value}\t{item.country}\t{item.certainty.value}"
            f"\t{item.certainty_reason}{label}"
        )
    click.echo(f"{len(items)} incident(s) waiting")


@cli.group("duplicates")
def duplicates_group() -> None:
    """Suggested duplicates, a verifier's decision, and undoing merges (see docs/methodology.md)."""


@duplicates_group.command("suggestions")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.pass_context
def duplicates_suggestions(ctx: click.Context, *, limit: int) -> None:
    """List open suggested duplicates, best score first.

    Example:

        haven duplicates suggestions --limit 20
    """
    from haven import dedup  # noqa: PLC0415 - keeps numpy off the other commands' start-up

    items = _read(ctx, lambda s: dedup.suggestions(s, actor=SYSTEM, limit=limit))
    for item in items:
        click.echo(f"{item.id}\t{item.score:.3f}\t{item.incident_id}\t{item.candidate_id}")
    click.echo(f"{len(items)} suggestion(s) open")


@duplicates_group.command("decide")
@click.argument("suggestion_id", type=click.IntRange(1))
@click.argument("verdict", type=click.Choice(["accept", "reject"]))
@_verify_as_option
@click.pass_context
def duplicates_decide(
    ctx: click.Context, *, suggestion_id: int, verdict: str, as_user: str | None
) -> None:
    """Accept (merge the pair) or reject a suggested duplicate.

    Example:

        haven duplicates decide 12 accept --as verifier1
    """
    from haven import dedup  # noqa: PLC0415 - keeps numpy off the other commands' start-up

    done = _write(
        ctx,
        lambda s: dedup.decide_suggestion(
            s,
            suggestion_id,
            verdict=dedup.SuggestionVerdict(verdict),
            actor=_acting_verifier(s, as_user),
        ),
    )
    click.echo(f"suggestion {done.id}: {done.status}")


@duplicates_group.command("undo")
@click.argument("merge_id", type=click.IntRange(1))
@_verify_as_option
@click.pass_context
def duplicates_undo(ctx: click.Context, *, merge_id: int, as_user: str | None) -> None:
    """Undo a merge: its reports go back to the merged incident, which is listed again.

    Example:

        haven duplicates undo 7
    """
    from haven import dedup  # noqa: PLC0415 - keeps numpy off the other commands' start-up

    done = _write(ctx, lambda s: dedup.undo_merge(s, merge_id, actor=_acting_verifier(s, as_user)))
    click.echo(
        f"merge {done.id} undone: {len(done.moved_report_ids)} report(s) back in "
        f"{done.merged_incident_id}"
    )


@cli.group("release")
def release_group() -> None:
    """Prepare, approve, publish, withdraw and export public releases (see docs/privacy.md)."""


_policy_option = click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Policy file, JSON or TOML (default: the WHO SSA policy).",
)
_as_option = click.option(
    "--as", "as_user", default=None, help="The user on whose behalf you act (default: system)."
)


def _policy(path: Path | None) -> releases.ReleasePolicy:
    return releases.load_policy(path) if path else releases.ReleasePolicy()


def _acting(session: Any, as_user: str | None) -> accounts.Actor:
    return accounts.actor_named(session, as_user) if as_user else SYSTEM


@release_group.command("preview")
@_policy_option
@click.option("--format", "fmt", type=click.Choice(["summary", "json"]), default="summary")
@click.pass_context
def release_preview(ctx: click.Context, *, policy_file: Path | None, fmt: str) -> None:
    """Show exactly what a policy would publish now; nothing is stored.

    Example:

        haven release preview --policy policy.json --format json
    """
    policy = _policy(policy_file)
    built = _read(ctx, lambda s: releases.preview(s, policy, actor=SYSTEM))
    if fmt == "json":
        click.echo(built.model_dump_json(indent=2))
        return
    summary = built.summary
    click.echo(f"incidents before {summary.cutoff.date().isoformat()} released: {summary.released}")
    click.echo(f"rows published: {summary.rows} ({summary.withheld_by_suppression} withheld)")
    for reason, count in summary.excluded.items():
        click.echo(f"left out, {reason.replace('_', ' ')}: {count}")
    click.echo(f"count cells: {summary.cells} ({summary.suppressed_cells} suppressed)")
    if built.epsilon is not None:
        click.echo(f"differential privacy: epsilon {built.epsilon}")


@release_group.command("create")
@click.option("--title", required=True, help="The release's public title.")
@click.option("--as", "as_user", required=True, help="The user creating the release.")
@_policy_option
@click.pass_context
def release_create(
    ctx: click.Context, *, title: str, as_user: str, policy_file: Path | None
) -> None:
    """Freeze what a policy publishes now as a draft; another user must approve it.

    Example:

        haven release create --title "Attacks on health care, 2024 Q1" --as amal
    """
    policy = _policy(policy_file)
    made = _write(
        ctx,
        lambda s: releases.create(s, policy, title=title, actor=accounts.actor_named(s, as_user)),
    )
    click.echo(f"release {made.version} is a draft: {made.row_count} rows")
    click.echo(f"sha256 {made.content_sha256}")
    click.echo(f"next: haven release approve {made.version} --as <another user>")


@release_group.command("approve")
@click.argument("version", type=click.IntRange(1))
@click.option("--as", "as_user", required=True, help="The approver (not the creator).")
@click.pass_context
def release_approve(ctx: click.Context, *, version: int, as_user: str) -> None:
    """Approve a draft release on behalf of a second person (the two-person rule).

    Example:

        haven release approve 3 --as farah
    """
    done = _write(
        ctx, lambda s: releases.approve(s, version, actor=accounts.actor_named(s, as_user))
    )
    click.echo(f"release {done.version} approved by {done.approved_by}")


@release_group.command("publish")
@click.argument("version", type=click.IntRange(1))
@_as_option
@click.pass_context
def release_publish(ctx: click.Context, *, version: int, as_user: str | None) -> None:
    """Publish an approved release: the public API and exports serve it from now on.

    Example:

        haven release publish 3
    """
    done = _write(ctx, lambda s: releases.publish(s, version, actor=_acting(s, as_user)))
    click.echo(f"release {done.version} published ({done.row_count} rows)")


@release_group.command("withdraw")
@click.argument("version", type=click.IntRange(1))
@click.option("--reason", required=True, help="Why (kept in the audit log, not shown publicly).")
@_as_option
@click.pass_context
def release_withdraw(ctx: click.Context, *, version: int, reason: str, as_user: str | None) -> None:
    """Withdraw a release (or discard a draft); the public API stops serving it.

    Example:

        haven release withdraw 3 --reason "row 12 can be matched to a named clinic"
    """
    done = _write(
        ctx,
        lambda s: releases.withdraw(s, version, reason=reason, actor=_acting(s, as_user)),
    )
    click.echo(f"release {done.version} withdrawn")


@release_group.command("list")
@click.pass_context
def release_list(ctx: click.Context) -> None:
    """List every release in any state, newest first.

    Example:

        haven release list
    """
    for item in _read(ctx, lambda s: releases.list_releases(s, actor=SYSTEM)):
        click.echo(
            f"{item.version}\t{item.status.value}\t{item.row_count} rows\t{item.title}"
            f"\tcreated by {item.created_by or '-'}, approved by {item.approved_by or '-'}"
        )


@release_group.command("export")
@click.argument("version", type=click.IntRange(1))
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in exports.ExportFormat]),
    required=True,
    help="csv (with an HXL row), geojson or xlsx.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write."
)
@click.option(
    "--table",
    type=click.Choice([t.value for t in exports.ExportTable]),
    default="incidents",
    show_default=True,
    help="For csv: the incident rows or the aggregate counts.",
)
@click.pass_context
def release_export(ctx: click.Context, *, version: int, fmt: str, out: Path, table: str) -> None:
    """Write a published release to a file, exactly as the public API serves it.

    Example:

        haven release export 3 --format csv --out haven-release-3.csv
    """
    content = _read(ctx, lambda s: releases.public_content(s, version))
    rendered = exports.export(
        content, fmt=exports.ExportFormat(fmt), table=exports.ExportTable(table)
    )
    out.write_bytes(rendered.data)
    _write(
        ctx,
        lambda s: releases.record_export(
            s, version, fmt=fmt, table=table, actor=SYSTEM, purpose=f"written to {out.name}"
        ),
    )
    click.echo(f"wrote {out} ({len(rendered.data)} bytes)")


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
