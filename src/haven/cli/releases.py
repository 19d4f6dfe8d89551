"""Commands of the release pipeline: preview, create, approve, publish, withdraw, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from haven import accounts, exports, releases
from haven.accounts import SYSTEM
from haven.cli.base import _read, _write, as_option, cli


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
@as_option
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
@as_option
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
