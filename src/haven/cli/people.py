"""Commands about who acts: users, API tokens, the audit chain."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from datetime import datetime, timedelta

import click
from rich.console import Console
from rich.table import Table

from haven import accounts, audit, sessions
from haven.accounts import SYSTEM, Permission, Role
from haven.cli.base import _read, _settings, _write, cli
from haven.errors import IntegrityCheckFailed


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
