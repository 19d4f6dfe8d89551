"""Commands on routing: import the road network, plan a route, manage closures and proposals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from haven import routing
from haven.accounts import SYSTEM
from haven.api.routing_routes import parse_lat_lon
from haven.cli.base import _read, _settings, _write, acting, as_option, cli, iso_time
from haven.errors import InvalidInput
from haven.routing import ClosureIn, ClosureKind, Route, RouteMode, proposals
from haven.routing.proposals import ClosureProposal, ProposalAccept, ProposalDismiss


@cli.group("roads")
def roads_group() -> None:
    """The road network routes are planned on."""


@roads_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Name to record (default: the file name).")
@click.pass_context
def roads_import(ctx: click.Context, *, file: Path, name: str | None) -> None:
    """Import the drivable roads of an OpenStreetMap .osm.pbf file (a bad file writes nothing).

    Example:

        haven roads import ../shared/data/helsinki_osm_extract.osm.pbf
    """
    settings = _settings(ctx)
    done = _write(
        ctx,
        lambda s: routing.import_network(s, file, settings=settings, actor=SYSTEM, name=name),
    )
    click.echo(
        f"imported {done.name}: {done.node_count:,} junctions, {done.edge_count:,} road "
        f"segments from {done.way_count:,} ways (sha256 {done.sha256[:12]}…)"
    )


@roads_group.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def roads_info(ctx: click.Context, *, as_json: bool) -> None:
    """Show the imported road network.

    Example:

        haven roads info --json
    """
    latest = _read(ctx, routing.latest_import)
    if as_json:
        click.echo(json.dumps(latest.model_dump(mode="json") if latest else None))
        return
    if latest is None:
        click.echo("no road network imported; run `haven roads import FILE.osm.pbf`")
        return
    west, south, east, north = latest.bounds
    click.echo(
        f"{latest.name}: {latest.node_count:,} junctions, {latest.edge_count:,} road segments; "
        f"lon {west:.4f}…{east:.4f}, lat {south:.4f}…{north:.4f}; imported "
        f"{latest.imported_at:%Y-%m-%d %H:%M} UTC by {latest.imported_by}"
    )


def _route_line(index: int, found: Route) -> str:
    label = "route" if index == 0 else f"alternative {index}"
    near = f", {len(found.near_incidents)} incident(s) near" if found.near_incidents else ""
    closed = ", CROSSES A CLOSURE" if found.crosses_closure else ""
    return (
        f"{label}: {found.travel_time_s / 60:.1f} min, {found.length_m / 1000:.2f} km, "
        f"risk exposure {found.risk_exposure:.1f} s{near}{closed}"
    )


@cli.command("route")
@click.argument("origin", metavar="FROM")
@click.argument("destination", metavar="TO")
@click.option("--mode", type=click.Choice([m.value for m in RouteMode]), default="fastest")
@click.option("--tradeoff", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Balanced mode: 0 fastest … 1 safest.")  # fmt: skip
@click.option("--alternatives", type=click.IntRange(0, 3), default=0, show_default=True)
@click.option("--at", default=None, help="Conditions at this ISO 8601 time (default: now).")
@click.option("--exercise", is_flag=True, help="Obey exercise closures and incidents too.")
@click.option("--json", "as_json", is_flag=True, help="Print the routes as JSON.")
@click.pass_context
def route_command(  # noqa: PLR0913 - one parameter per option
    ctx: click.Context,
    *,
    origin: str,
    destination: str,
    mode: str,
    tradeoff: float,
    alternatives: int,
    at: str | None,
    exercise: bool,
    as_json: bool,
) -> None:
    """Plan a route between two points given as lat,lon.

    Example:

        haven route 60.1650,24.9360 60.1780,24.9520 --mode safest --alternatives 2
    """
    start = parse_lat_lon(origin, field="from")
    end = parse_lat_lon(destination, field="to")
    settings = _settings(ctx)
    when = iso_time(at, "at")
    found = _read(
        ctx,
        lambda s: routing.route(
            s,
            routing.load_network(s, settings),
            start,
            end,
            mode=mode,
            tradeoff=tradeoff,
            alternatives=alternatives,
            at=when,
            exercise=exercise,
        ),
    )
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json", exclude={"edges"}) for r in found]))
        return
    first = found[0]
    click.echo(
        f"snapped: origin {first.origin_snap_m:.0f} m, destination {first.destination_snap_m:.0f} m"
    )
    for index, item in enumerate(found):
        click.echo(_route_line(index, item))
        for closure in item.near_closures:
            click.echo(
                f"  {closure.kind} {closure.closure_id} {closure.name!r}: "
                f"{closure.distance_m:.0f} m"
            )


@cli.group("closures")
def closures_group() -> None:
    """Road closures, checkpoints and no-go areas."""


@closures_group.command("add")
@click.option("--name", required=True, help="What it is, e.g. 'Bridge closed'.")
@click.option("--kind", type=click.Choice([k.value for k in ClosureKind]), default="closure")
@click.option("--point", default=None, help="lat,lon of a point closure.")
@click.option("--geometry", default=None, help="GeoJSON geometry (Point, LineString, Polygon).")
@click.option("--incident", default=None, help="Id of the incident it comes from.")
@click.option("--radius", type=click.FloatRange(0, 50_000), default=30.0, show_default=True,
              help="Buffer, metres.")  # fmt: skip
@click.option("--delay", type=click.FloatRange(0, 86_400), default=600.0, show_default=True,
              help="Checkpoint delay, seconds.")  # fmt: skip
@click.option("--from", "valid_from", default=None, help="ISO 8601 start (default: now).")
@click.option("--until", "valid_until", default=None, help="ISO 8601 end (default: until ended).")
@click.option("--exercise", is_flag=True, help="Mark it as exercise data.")
@as_option
@click.pass_context
def closures_add(  # noqa: PLR0913 - one parameter per option
    ctx: click.Context,
    *,
    name: str,
    kind: str,
    point: str | None,
    geometry: str | None,
    incident: str | None,
    radius: float,
    delay: float,
    valid_from: str | None,
    valid_until: str | None,
    exercise: bool,
    as_user: str | None,
) -> None:
    """Close a road, add a checkpoint or a no-go area.

    Example:

        haven closures add --name "Bridge closed (exercise)" --point 60.1700,24.9420 --exercise
    """
    shape: dict[str, Any] | None = None
    if point is not None:
        where = parse_lat_lon(point, field="point")
        shape = {"type": "Point", "coordinates": [where.lon, where.lat]}
    elif geometry is not None:
        try:
            shape = json.loads(geometry)
        except json.JSONDecodeError as exc:
            raise InvalidInput("--geometry is not JSON", fields={"geometry": str(exc)}) from exc
    try:
        body = ClosureIn(
            name=name,
            kind=ClosureKind(kind),
            geometry=shape,
            radius_m=radius,
            delay_s=delay,
            valid_from=iso_time(valid_from, "from"),
            valid_until=iso_time(valid_until, "until"),
            incident_id=incident,
            exercise=exercise,
        )
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc
    made = _write(ctx, lambda s: routing.create_closure(s, body, actor=acting(s, as_user)))
    click.echo(f"closure {made.id} added: {made.kind} {made.name!r}")


@closures_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also ended and expired ones.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def closures_list(ctx: click.Context, *, show_all: bool, as_json: bool) -> None:
    """List closures in force now (or all of them).

    Example:

        haven closures list --all
    """
    found = _read(ctx, lambda s: routing.list_closures(s, actor=SYSTEM, active_only=not show_all))
    if as_json:
        click.echo(json.dumps([c.model_dump(mode="json") for c in found]))
        return
    for item in found:
        state = "active" if item.active else "inactive"
        label = " [exercise]" if item.exercise else ""
        click.echo(f"{item.id}\t{item.kind}\t{state}\t{item.name}{label}")


@closures_group.command("end")
@click.argument("closure_id", type=click.IntRange(1, 2**31 - 1))
@as_option
@click.pass_context
def closures_end(ctx: click.Context, *, closure_id: int, as_user: str | None) -> None:
    """End a closure now.

    Example:

        haven closures end 3
    """
    done = _write(ctx, lambda s: routing.end_closure(s, closure_id, actor=acting(s, as_user)))
    click.echo(f"closure {done.id} ended")


def _proposal_line(item: ClosureProposal) -> str:
    label = " [exercise]" if item.exercise else ""
    lon, lat = item.road_point
    return (
        f"{item.incident_id}\t{item.occurred_at:%Y-%m-%d %H:%M}\t{item.certainty}\t"
        f"{item.distance_m:.0f} m from the road at {lat:.5f},{lon:.5f}{label}"
    )


@closures_group.command("proposals")
@click.option("--exercise", is_flag=True, help="Exercise proposals instead of real ones.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def closures_proposals(ctx: click.Context, *, exercise: bool, as_json: bool) -> None:
    """List recent obstruction incidents near a road that no coordinator has decided on.

    Example:

        haven closures proposals --exercise
    """
    settings = _settings(ctx)
    found = _read(
        ctx,
        lambda s: proposals.list_proposals(s, settings, actor=SYSTEM, exercise=exercise),
    )
    if as_json:
        click.echo(json.dumps([p.model_dump(mode="json") for p in found]))
        return
    if not found:
        click.echo("no closure proposals")
    for item in found:
        click.echo(_proposal_line(item))


@closures_group.command("accept")
@click.argument("incident_id", metavar="INCIDENT")
@click.option("--kind", type=click.Choice([k.value for k in ClosureKind]), required=True,
              help="What to put on the road: closure, checkpoint or no_go.")  # fmt: skip
@click.option("--name", default=None, help="Default: 'Obstruction reported DATE'.")
@click.option("--radius", type=click.FloatRange(0, 50_000), default=30.0, show_default=True,
              help="Buffer around the nearest point of the road, metres.")  # fmt: skip
@click.option("--delay", type=click.FloatRange(0, 86_400), default=600.0, show_default=True,
              help="Checkpoint delay, seconds.")  # fmt: skip
@click.option("--until", "valid_until", default=None, help="ISO 8601 end (default: until ended).")
@as_option
@click.pass_context
def closures_accept(
    ctx: click.Context,
    *,
    incident_id: str,
    kind: str,
    name: str | None,
    radius: float,
    delay: float,
    valid_until: str | None,
    as_user: str | None,
) -> None:
    """Accept a proposal: close the road near an obstruction incident.

    Example:

        haven closures accept 0b6c…e1 --kind checkpoint --delay 900
    """
    settings = _settings(ctx)
    try:
        body = ProposalAccept(
            kind=ClosureKind(kind),
            name=name,
            radius_m=radius,
            delay_s=delay,
            valid_until=iso_time(valid_until, "until"),
        )
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc
    made = _write(
        ctx,
        lambda s: proposals.accept_proposal(
            s, incident_id, body=body, settings=settings, actor=acting(s, as_user)
        ),
    )
    click.echo(f"closure {made.id} added: {made.kind} {made.name!r} from incident {incident_id}")


@closures_group.command("dismiss")
@click.argument("incident_id", metavar="INCIDENT")
@click.option("--reason", required=True, help="Why no closure (3 to 500 characters).")
@as_option
@click.pass_context
def closures_dismiss(
    ctx: click.Context, *, incident_id: str, reason: str, as_user: str | None
) -> None:
    """Dismiss a proposal with a written reason; the incident is not proposed again.

    Example:

        haven closures dismiss 0b6c…e1 --reason "Checkpoint lifted, confirmed by the driver"
    """
    settings = _settings(ctx)
    try:
        body = ProposalDismiss(reason=reason)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc
    done = _write(
        ctx,
        lambda s: proposals.dismiss_proposal(
            s, incident_id, body=body, settings=settings, actor=acting(s, as_user)
        ),
    )
    click.echo(f"proposal from incident {done.incident_id} dismissed")
