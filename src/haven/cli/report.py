"""The ``haven report`` command: the public risk assessment of a country and period (HTML, PDF)."""

from __future__ import annotations

from pathlib import Path

import click

from haven import demo_release, releases, risk_report
from haven.accounts import SYSTEM
from haven.cli.base import _read, _settings, _write, cli

__all__ = ["demo_release_command", "report_command"]


@cli.command("report")
@click.option("--country", required=True, help="ISO3 code, e.g. SDN.")
@click.option("--period", required=True, help="YYYY, YYYY-Qn or YYYY-MM (UTC), e.g. 2024-Q1.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write into (default: <data dir>/reports).",
)
@click.option(
    "--release",
    "version",
    type=click.IntRange(1),
    default=None,
    help="Published release to use (default: the newest holding the country's counts).",
)
@click.pass_context
def report_command(
    ctx: click.Context, *, country: str, period: str, out: Path | None, version: int | None
) -> None:
    """Render the public risk assessment (HTML and PDF) from one published release only.

    The same release always gives byte-identical files. The export is recorded
    in the audit log like any download of a release.

    Example:

        haven report --country SDN --period 2023-Q2 --out reports
    """
    assessment = _read(
        ctx, lambda s: risk_report.assess(s, country=country, period=period, version=version)
    )
    rendered = risk_report.render(assessment)
    folder = out if out is not None else _settings(ctx).data_dir / "reports"
    written = risk_report.write(rendered, folder)
    _write(
        ctx,
        lambda s: releases.record_export(
            s, assessment.release.version, fmt="report", table=assessment.period, actor=SYSTEM
        ),
    )
    for path in written:
        click.echo(str(path))


@cli.command("demo-release")
@click.option(
    "--country",
    "countries",
    multiple=True,
    default=("SDN",),
    show_default=True,
    help="Country to release (ISO3; repeat for several).",
)
@click.pass_context
def demo_release_command(ctx: click.Context, *, countries: tuple[str, ...]) -> None:
    """Publish the demo's public release once (after `haven demo` and the imports).

    The demo analyst creates it, the demo coordinator approves it; running it
    again prints the same version. Exercise data is never released.

    Example:

        haven demo-release && haven report --country SDN --period 2023-Q2
    """
    version = _write(
        ctx, lambda s: demo_release.ensure_demo_release(s, countries=tuple(sorted(countries)))
    )
    click.echo(f"demo release {version} is published")
