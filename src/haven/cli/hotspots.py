"""The ``haven hotspots`` command: the Gi* / emerging hot spot layer, as a summary and GeoJSON."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click
import orjson
from pydantic import ValidationError

from haven import hotspots
from haven.accounts import SYSTEM
from haven.cli.base import _read, cli
from haven.errors import InvalidInput
from haven.hotspots import HotspotLayer, HotspotQuery, Period

__all__ = ["hotspots_command"]


def _summary(layer: HotspotLayer) -> list[str]:
    lines = [
        f"H3 resolution {layer.resolution}: {layer.incidents_used} of "
        f"{layer.incidents_considered} incidents used, {layer.cells_analysed} cells analysed",
        f"left out: {layer.left_out_unlocated} without a usable location, "
        f"{layer.left_out_coarser_than_grid} located more coarsely than the grid, "
        f"{layer.left_out_coarser_than_period} dated more coarsely than the period",
    ]
    if layer.query.emerging:
        counts = Counter(f["properties"]["category"] for f in layer.features)
        lines.append(f"periods: {layer.periods[0]} .. {layer.periods[-1]}" if layer.periods else "")
        lines.extend(f"{name}: {n}" for name, n in sorted(counts.items()))
        return [line for line in lines if line]
    spots = Counter(f["properties"]["spot"] for f in layer.features)
    lines.append(
        f"hot cells: {spots['hot']}, cold cells: {spots['cold']} (q <= {layer.query.alpha})"
    )
    top = sorted(layer.features, key=lambda f: -float(f["properties"]["z"]))[:5]
    lines.extend(
        f"  {f['id']}  count {f['properties']['count']:>5}  z {f['properties']['z']:7.2f}"
        f"  q {f['properties']['q']:.2g}"
        for f in top
        if f["properties"]["spot"] == "hot"
    )
    return lines


@cli.command("hotspots")
@click.option("--country", default=None, help="ISO3 code (default: every country).")
@click.option("--since", default=None, help="YYYY, YYYY-MM or YYYY-MM-DD (UTC).")
@click.option("--until", default=None, help="Before this date (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--resolution", type=click.IntRange(4, 8), default=None, help="H3 resolution.")
@click.option("--k", type=click.IntRange(1, 5), default=1, show_default=True, help="k-ring size.")
@click.option("--distance-km", type=float, default=None, help="Distance band instead of k-ring.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level.")
@click.option("--no-fdr", is_flag=True, help="Do not correct for the false-discovery rate.")
@click.option("--permutations", type=click.IntRange(0, 9999), default=0, show_default=True)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--emerging", is_flag=True, help="Emerging hot spot categories over time.")
@click.option("--period", type=click.Choice([p.value for p in Period]), default="month")
@click.option("--time-lag", type=click.IntRange(0, 6), default=1, show_default=True)
@click.option("--include-exercise", is_flag=True, help="Count exercise incidents too.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the GeoJSON layer here.",
)
@click.option(
    "--png",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Draw the Gi* layer as a PNG map (needs haven[plots]).",
)
@click.pass_context
def hotspots_command(  # noqa: PLR0913 - one option per query field
    ctx: click.Context,
    *,
    country: str | None,
    since: str | None,
    until: str | None,
    resolution: int | None,
    k: int,
    distance_km: float | None,
    alpha: float,
    no_fdr: bool,
    permutations: int,
    seed: int,
    emerging: bool,
    period: str,
    time_lag: int,
    include_exercise: bool,
    out: Path | None,
    png: Path | None,
) -> None:
    """Getis-Ord Gi* hot and cold spots of incidents on H3 cells, with FDR control.

    Example:

        haven hotspots --country SDN --since 2023-01 --out sdn.geojson
        haven hotspots --country SDN --since 2020-01 --emerging --period quarter
    """
    try:
        query = HotspotQuery(
            country=country,
            since=hotspots.parse_month(since, field_name="since") if since else None,
            until=hotspots.parse_month(until, field_name="until") if until else None,
            resolution=resolution,
            k=k,
            distance_km=distance_km,
            alpha=alpha,
            fdr=not no_fdr,
            permutations=permutations,
            seed=seed,
            emerging=emerging,
            period=Period(period),
            time_lag=time_lag,
            include_exercise=include_exercise,
        )
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc
    layer = _read(ctx, lambda s: hotspots.hotspots(s, query, actor=SYSTEM))
    for line in _summary(layer):
        click.echo(line)
    if out is not None:
        out.write_bytes(orjson.dumps(layer.to_geojson()))
        click.echo(f"wrote {len(layer.features)} cells to {out}")
    if png is not None:
        from haven.hotspot_plot import render_png  # noqa: PLC0415 -- optional extra

        title = (
            f"Getis-Ord Gi* hot spots, {country or 'all countries'}"
            f"{', since ' + since if since else ''}: {layer.incidents_used} incidents,"
            f" H3 resolution {layer.resolution}, FDR q ≤ {alpha}"
        )
        drawn = render_png(layer.to_geojson(), png, title=title)
        click.echo(f"drew {drawn} cells into {png}")
