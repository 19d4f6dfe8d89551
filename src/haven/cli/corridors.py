"""Commands on humanitarian corridors (add, list, status, history, check) and evacuation plans."""

from __future__ import annotations

import json
from pathlib import Path

import click
from pydantic import ValidationError

from haven import corridor_check, corridors, evacuation_plan
from haven.accounts import SYSTEM
from haven.api.routing_routes import parse_lat_lon
from haven.cli.base import _read, _settings, _write, acting, as_option, cli, iso_time
from haven.corridors import CorridorIn, CorridorMode, CorridorStatus, StatusIn
from haven.errors import InvalidInput
from haven.evacuation_plan import EvacuationIn, EvacuationPlan


def _minutes(seconds: float | None) -> str:
    return "no route" if seconds is None else f"{seconds / 60:.1f} min"


@cli.group("corridors")
def corridors_group() -> None:
    """Humanitarian corridors: named routes with a status and its history."""


@corridors_group.command("add")
@click.argument("name")
@click.option("--via", "waypoints", multiple=True, required=True,
              help="A waypoint as lat,lon; give two or more, in travel order.")  # fmt: skip
@click.option("--mode", type=click.Choice([m.value for m in CorridorMode]), default="fastest",
              show_default=True)  # fmt: skip
@click.option("--buffer", "buffer_m", type=float, default=corridors.DEFAULT_BUFFER_M,
              show_default=True, help="Metres: what is this near touches it.")  # fmt: skip
@click.option("--incident-days", type=int, default=corridors.DEFAULT_INCIDENT_DAYS,
              show_default=True, help="Incidents this recent near it restrict it.")  # fmt: skip
@click.option("--description", default="", help="What the corridor is for.")
@click.option("--exercise", is_flag=True, help="Mark it as exercise data.")
@as_option
@click.pass_context
def corridors_add(  # noqa: PLR0913 - one parameter per option
    ctx: click.Context,
    *,
    name: str,
    waypoints: tuple[str, ...],
    mode: str,
    buffer_m: float,
    incident_days: int,
    description: str,
    exercise: bool,
    as_user: str | None,
) -> None:
    """Declare a corridor: routed through its waypoints on the road network, then checked.

    Example:

        haven corridors add "North supply road" --via 60.1650,24.9360 --via 60.1780,24.9520
    """
    points = [parse_lat_lon(w, field=f"waypoints[{i}]") for i, w in enumerate(waypoints)]
    try:
        body = CorridorIn(
            name=name,
            description=description,
            waypoints=[[p.lon, p.lat] for p in points],
            mode=CorridorMode(mode),
            buffer_m=buffer_m,
            incident_days=incident_days,
            exercise=exercise,
        )
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc
    settings = _settings(ctx)
    made = _write(
        ctx,
        lambda s: corridor_check.create(s, body, settings=settings, actor=acting(s, as_user)),
    )
    click.echo(
        f"corridor {made.id} {made.name!r}: {made.length_m / 1000:.2f} km, "
        f"{_minutes(made.travel_time_s)}, {made.status.value} ({made.status_reason})"
    )


@corridors_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in CorridorStatus]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def corridors_list(ctx: click.Context, *, status: str | None, as_json: bool) -> None:
    """List corridors with their status and latest travel time.

    Example:

        haven corridors list --status restricted
    """
    chosen = CorridorStatus(status) if status else None
    found = _read(ctx, lambda s: corridors.list_corridors(s, actor=SYSTEM, status=chosen))
    if as_json:
        click.echo(json.dumps([c.model_dump(mode="json") for c in found]))
        return
    for c in found:
        latest = c.latest.travel_time_s if c.latest else c.travel_time_s
        label = " (exercise)" if c.exercise else ""
        click.echo(
            f"{c.id}\t{c.name}{label}\t{c.status.value}\t{_minutes(latest)}\t{c.status_reason}"
        )


@corridors_group.command("status")
@click.argument("corridor_id", type=int)
@click.argument("status", type=click.Choice([s.value for s in CorridorStatus]))
@click.option("--reason", required=True, help="Why (kept in the history).")
@as_option
@click.pass_context
def corridors_status(
    ctx: click.Context, *, corridor_id: int, status: str, reason: str, as_user: str | None
) -> None:
    """Set a corridor's status by hand; it holds until a person changes it.

    Example:

        haven corridors status 3 closed --reason "Bridge damaged, confirmed by convoy lead"
    """
    try:
        change = StatusIn(status=CorridorStatus(status), reason=reason)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc
    done = _write(
        ctx,
        lambda s: corridors.set_status(s, corridor_id, change=change, actor=acting(s, as_user)),
    )
    click.echo(f"corridor {done.id} {done.name!r} is {done.status.value}")


@corridors_group.command("history")
@click.argument("corridor_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def corridors_history(ctx: click.Context, *, corridor_id: int, as_json: bool) -> None:
    """Show every status a corridor had: when, who or what, why.

    Example:

        haven corridors history 3
    """
    found = _read(ctx, lambda s: corridors.history(s, corridor_id, actor=SYSTEM))
    if as_json:
        click.echo(json.dumps([h.model_dump(mode="json") for h in found]))
        return
    for h in found:
        how = "automatic" if h.automatic else "manual"
        before = h.from_status.value if h.from_status else "-"
        change = f"{before} → {h.to_status.value}"
        click.echo(f"{h.at:%Y-%m-%d %H:%M} UTC\t{change}\t{how}, {h.actor}\t{h.reason}")


@corridors_group.command("check")
@click.option("--corridor", "corridor_id", type=int, default=None, help="Only this corridor.")
@click.option("--at", default=None, help="Conditions at this ISO 8601 time (default: now).")
@as_option
@click.pass_context
def corridors_check(
    ctx: click.Context, *, corridor_id: int | None, at: str | None, as_user: str | None
) -> None:
    """Apply the automatic rules (closures, recent incidents) and measure travel time and risk.

    `haven serve` runs it every HAVEN_CORRIDOR_CHECK_INTERVAL_SECONDS; without a server, run it
    from cron.

    Example:

        haven corridors check
    """
    settings = _settings(ctx)
    when = iso_time(at, "at")
    results = _write(
        ctx,
        lambda s: corridor_check.check(
            s, settings=settings, actor=acting(s, as_user), corridor_id=corridor_id, at=when
        ),
    )
    for r in results:
        moved = f"{r.status_before.value} → {r.status.value}" if r.changed else r.status.value
        click.echo(
            f"{r.corridor_id}\t{r.name}\t{moved}\t{_minutes(r.observation.travel_time_s)}\t"
            f"{r.reason}"
        )


@cli.group("evacuate")
def evacuate_group() -> None:
    """Evacuation planning: patients to receiving facilities under bed capacity."""


def _print_plan(found: EvacuationPlan) -> None:
    t = found.totals
    saved = f"plan {found.id}" if found.id is not None else "plan (not saved)"
    click.echo(
        f"{saved} {found.name!r} ({found.mode.value}): {t.placed} of {t.patients} placed, "
        f"{t.unplaced} unplaced"
    )
    for a in found.assignments:
        click.echo(
            f"  {a.count} {a.urgency.value} {a.service.value}: {a.origin.name} → "
            f"{a.destination.name}, {_minutes(a.travel_time_s)} ({a.why})"
        )
    for u in found.unplaced:
        click.echo(
            f"  UNPLACED {u.count} {u.urgency.value} {u.service.value} at {u.origin.name}: "
            f"{u.reason.value} — {u.detail}"
        )


@evacuate_group.command("plan")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@as_option
@click.pass_context
def evacuate_plan(ctx: click.Context, *, file: Path, as_json: bool, as_user: str | None) -> None:
    """Plan an evacuation from a JSON request (see docs/corridors-evacuation.md).

    Example:

        haven evacuate plan evacuation.json --json
    """
    try:
        body = EvacuationIn.model_validate_json(file.read_bytes())
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors(), prefix="") from exc
    settings = _settings(ctx)
    found = _write(
        ctx,
        lambda s: evacuation_plan.plan(s, body, settings=settings, actor=acting(s, as_user)),
    )
    if as_json:
        click.echo(json.dumps(found.model_dump(mode="json")))
    else:
        _print_plan(found)
