"""Commands on early warning: unit forecasts, the rolling-origin backtest, facility risk."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from haven import backtest, facility_risk, forecast, forecast_service
from haven.accounts import SYSTEM
from haven.cli.base import _read, _settings, _write, cli
from haven.errors import InvalidInput
from haven.forecast import UnitKind
from haven.geo import iso3_country

_UNIT = click.Choice([k.value for k in UnitKind])


def _month(value: str | None, *, name: str) -> date | None:
    return forecast.parse_month(value, name=name) if value else None


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("as-of must be YYYY-MM-DD", fields={"as_of": repr(value)}) from exc


def _countries(values: tuple[str, ...]) -> list[str]:
    try:
        return [iso3_country(v) for v in values]
    except ValueError as exc:
        raise InvalidInput("unknown country", fields={"country": str(exc)}) from exc


@cli.group("forecast")
def forecast_group() -> None:
    """Early warning: forecasts per area and month, their backtest, facility risk."""


@forecast_group.command("units")
@click.option("--unit", type=_UNIT, default=UnitKind.H3.value, show_default=True)
@click.option("--month", default=None, help="YYYY-MM (default: after the last recorded attack).")
@click.option("--exercise", is_flag=True, help="Forecast from exercise data only.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def forecast_units(
    ctx: click.Context, *, unit: str, month: str | None, exercise: bool, limit: int, fmt: str
) -> None:
    """Probability of at least one attack on health care, and expected count, per unit.

    Example:

        haven forecast units --unit country --month 2024-01
    """
    settings = _settings(ctx)
    result = _read(
        ctx,
        lambda s: forecast_service.forecast_units(
            s, settings, actor=SYSTEM, kind=UnitKind(unit),
            month=_month(month, name="month"), exercise=exercise,
        ),
    )  # fmt: skip
    ranked = sorted(result.forecasts, key=lambda f: (-f.probability, f.unit))[:limit]
    if fmt == "json":
        click.echo(orjson.dumps(result.model_dump(mode="json")).decode())
        return
    table = Table(
        title=f"{'EXERCISE ' if exercise else ''}forecast for {result.month:%Y-%m} "
        f"({result.method}: {result.method_reason})"
    )
    for name in ("unit", "country", "P(≥1 attack)", "expected", "last 12 months"):
        table.add_column(name)
    for f in ranked:
        table.add_row(
            f.unit, f.country, f"{f.probability:.2f}", f"{f.expected_count:.2f}",
            str(f.last_12_months),
        )  # fmt: skip
    Console().print(table)


def _default_until(ctx: click.Context, *, kind: UnitKind) -> date:
    return _read(ctx, lambda s: forecast.sources_end(s, kind=kind))


def _panel(
    ctx: click.Context, *, kind: UnitKind, end: date, countries: list[str], small: bool
) -> tuple[forecast.Panel, list[str]]:
    def load(session: Any) -> tuple[forecast.Panel, list[str]]:
        wanted = countries
        if small and not wanted:
            wanted = forecast.top_countries(session, kind=kind, count=3)
        panel, _ = forecast.load_panel(session, actor=SYSTEM, kind=kind, end=end, countries=wanted)
        return panel, wanted

    return _read(ctx, load)


@forecast_group.command("backtest")
@click.option(
    "--unit", "units", type=_UNIT, multiple=True,
    help="Unit kind; repeat for more (default: country, h3 and admin1).",
)  # fmt: skip
@click.option("--country", "countries", multiple=True, help="ISO3 code; repeat for more.")
@click.option("--since", default=None, help="First test month, YYYY-MM (default: 4 years back).")
@click.option(
    "--until", default=None,
    help="Last month, YYYY-MM (default: the last month every health-care source still covers).",
)  # fmt: skip
@click.option(
    "--slice", "slice_", type=click.Choice(["small", "full"]), default="full", show_default=True,
    help="small: the three countries with most attacks and the last 12 months only.",
)  # fmt: skip
@click.option("--refit-every", type=click.IntRange(1, 60), default=6, show_default=True)
@click.option(
    "--write-docs", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write the tables into this methodology file and the plots next to it under img/.",
)  # fmt: skip
@click.pass_context
def forecast_backtest(
    ctx: click.Context,
    *,
    units: tuple[str, ...],
    countries: tuple[str, ...],
    since: str | None,
    until: str | None,
    slice_: str,
    refit_every: int,
    write_docs: Path | None,
) -> None:
    """Rolling-origin backtest of the forecast against all-zero, conflictology and decay.

    Trains only on months before each test month. Prints Brier, AUPR and CRPS with
    skill against all-zero and conflictology, overall and per country.

    Example:

        haven forecast backtest --unit h3 --since 2020-01
    """
    settings = _settings(ctx)
    results = []
    chosen = [UnitKind(u) for u in units] or [UnitKind.COUNTRY, UnitKind.H3, UnitKind.ADMIN1]
    for kind in chosen:
        end = _month(until, name="until") or _default_until(ctx, kind=kind)
        wanted = _countries(countries)
        panel, wanted = _panel(ctx, kind=kind, end=end, countries=wanted, small=slice_ == "small")
        start = _month(since, name="since") or forecast.shift_month(
            end, -11 if slice_ == "small" else -47
        )
        result = backtest.run(
            panel, since=start, label=backtest.label_for(kind, wanted),
            refit_every=refit_every, half_life=settings.forecast_half_life_months,
        )  # fmt: skip
        results.append((result, panel))
        click.echo(f"\n## {result.label}: {result.first_test:%Y-%m} to {result.last_test:%Y-%m}")
        click.echo(backtest.table_markdown(result))
        for line in backtest.verdict(result):
            click.echo(line)
    if write_docs is not None:
        for path in backtest.write_docs(write_docs, results=results):
            click.echo(f"wrote {path}")


@forecast_group.command("facilities")
@click.option("--as-of", default=None, help="YYYY-MM-DD: end of the recent-incident window.")
@click.option("--country", default=None, help="ISO3 code.")
@click.option("--exercise", is_flag=True, help="Score with exercise incidents only.")
@click.option("--alert", is_flag=True, help="Raise risk alerts for scores above the threshold.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def forecast_facilities(
    ctx: click.Context,
    *,
    as_of: str | None,
    country: str | None,
    exercise: bool,
    alert: bool,
    limit: int,
    fmt: str,
) -> None:
    """Each facility's risk score for the coming month, with its parts.

    Example:

        haven forecast facilities --country PSE --as-of 2023-12-31
    """
    settings = _settings(ctx)
    day = _day(as_of)
    code = _countries((country,))[0] if country else None
    risks = _read(
        ctx,
        lambda s: facility_risk.list_risks(
            s, settings, actor=SYSTEM, as_of=day, exercise=exercise, country=code
        ),
    )[:limit]
    if fmt == "json":
        click.echo(orjson.dumps([r.model_dump(mode="json") for r in risks]).decode())
    else:
        table = Table(title=f"{'EXERCISE ' if exercise else ''}facility risk")
        for name in ("id", "facility", "month", "score", *facility_risk.WEIGHTS):
            table.add_column(name)
        for r in risks:
            table.add_row(
                str(r.facility_id), r.name, f"{r.month:%Y-%m}", f"{r.score:.2f}",
                *(f"{p.value:.2f}" for p in r.parts),
            )  # fmt: skip
        Console().print(table)
    if alert:
        raised = _write(
            ctx, lambda s: facility_risk.raise_alerts(s, settings, as_of=day, exercise=exercise)
        )
        click.echo(f"{len(raised)} risk alert(s) raised")
