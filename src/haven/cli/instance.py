"""Commands that set up and run an instance: init, serve, demo, keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from haven import custody_keys, sessions
from haven.cli.base import _database, _settings, _write, cli


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
    signing = custody_keys.load(settings)
    click.echo(f"custody signing key {signing.current_id} in {signing.path} (log {signing.log_id})")
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
        summary = demo_data.load(db, datasets=datasets, seed=seed, settings=settings)
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
