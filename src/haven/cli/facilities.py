"""Commands on the facility registry and movements: import, list, status; add and list movements."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import click
import orjson
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from haven import facilities, facility_import, facility_status, movements
from haven.accounts import SYSTEM
from haven.cli.base import _read, _write, acting, as_option, cli
from haven.errors import InvalidInput
from haven.facilities import FacilityKind
from haven.facility_status import FacilityStatus, StatusIn, SupplyIn, SupplyKind
from haven.geo import BBox, iso3_country
from haven.movements import MovementIn, MovementStatus

_SUPPLY = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<name>[^=]+))?=(?P<qty>[0-9.]+)/(?P<daily>[0-9.]+)$")


def _country(value: str) -> str:
    try:
        return iso3_country(value)
    except ValueError as exc:
        raise InvalidInput("unknown country", fields={"country": str(exc)}) from exc


@cli.group("facilities")
def facilities_group() -> None:
    """The facility registry: import, list, status and supplies."""


@facilities_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--country", required=True, help="ISO3 code for rows that do not name one.")
@click.option(
    "--format", "fmt", type=click.Choice(facility_import.FORMATS), default=None,
    help="Default: from the file name (.geojson, .csv, .osm/.osm.pbf).",
)  # fmt: skip
@click.option(
    "--kind", type=click.Choice([k.value for k in FacilityKind]), default="other",
    show_default=True, help="Kind of rows that do not say.",
)  # fmt: skip
@click.option("--source", default=None, help="Source name (default: from the file name).")
@click.option("--exercise", is_flag=True, help="Mark every facility as exercise data.")
@as_option
@click.pass_context
def facilities_import(
    ctx: click.Context,
    *,
    file: Path,
    country: str,
    fmt: str | None,
    kind: str,
    source: str | None,
    exercise: bool,
    as_user: str | None,
) -> None:
    """Import facilities from GeoJSON, CSV or OpenStreetMap; all rows or none; re-import is safe.

    Example:

        haven facilities import ../shared/data/gaza_hospitals.geojson --country PSE --kind hospital
    """
    code = _country(country)
    load = _write(
        ctx,
        lambda s: facility_import.import_file(
            s,
            file,
            actor=acting(s, as_user),
            country=code,
            fmt=fmt,
            source_name=source,
            kind=FacilityKind(kind),
            exercise=exercise,
        ),
    )
    click.echo(
        f"{load.read} read: {load.added} added, {load.updated} updated, {load.unchanged} unchanged"
    )


@facilities_group.command("list")
@click.option("--country", default=None, help="ISO3 code.")
@click.option("--bbox", default=None, help="west,south,east,north")
@click.option("--kind", type=click.Choice([k.value for k in FacilityKind]), default=None)
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def facilities_list(
    ctx: click.Context,
    *,
    country: str | None,
    bbox: str | None,
    kind: str | None,
    limit: int,
    fmt: str,
) -> None:
    """List facilities with their latest status and days of autonomy.

    Example:

        haven facilities list --country PSE --kind hospital
    """
    try:
        box = BBox.parse(bbox) if bbox else None
    except ValueError as exc:
        raise InvalidInput("bad bbox", fields={"bbox": str(exc)}) from exc
    found = _read(
        ctx,
        lambda s: facilities.list_facilities(
            s,
            country=_country(country) if country else None,
            bbox=box,
            kind=FacilityKind(kind) if kind else None,
            limit=limit,
        ),
    )
    if fmt == "json":
        click.echo(json.dumps([f.model_dump(mode="json") for f in found], ensure_ascii=False))
        return
    table = Table()
    for column in ("id", "name", "kind", "country", "lon, lat", "status", "days", "data"):
        table.add_column(column)
    for item in found:
        status = item.status
        table.add_row(
            str(item.id),
            item.name,
            item.kind.value,
            item.country,
            f"{item.lon:.5f}, {item.lat:.5f}",
            (status.status.value + (" (EXERCISE)" if status.exercise else "")) if status else "",
            ""
            if status is None or status.days_of_autonomy is None
            else f"{status.days_of_autonomy}",
            "EXERCISE" if item.exercise else "real",
        )
    Console(width=160).print(table)
    click.echo(f"{len(found)} facilit{'y' if len(found) == 1 else 'ies'}")


def _supply(text: str) -> SupplyIn:
    match = _SUPPLY.match(text.strip())
    if match is None:
        raise InvalidInput(
            f"bad supply {text!r}",
            fields={"supply": "KIND[:NAME]=QUANTITY/DAILY, e.g. fuel=2400/600"},
        )
    if match["kind"] not in {k.value for k in SupplyKind}:
        raise InvalidInput(
            f"unknown supply {match['kind']!r}",
            fields={"supply": "one of " + ", ".join(k.value for k in SupplyKind)},
        )
    try:
        return SupplyIn(
            kind=SupplyKind(match["kind"]),
            name=match["name"],
            quantity=float(match["qty"]),
            daily_consumption=float(match["daily"]),
        )
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors(), prefix="supply.") from exc


@facilities_group.command("status")
@click.argument("facility_id", type=int)
@click.option("--set", "new_status", type=click.Choice([s.value for s in FacilityStatus]))
@click.option("--reason", default="", help="Why (with --set).")
@click.option(
    "--supply", multiple=True,
    help="KIND[:NAME]=QUANTITY/DAILY (with --set); repeat, e.g. --supply fuel=2400/600.",
)  # fmt: skip
@click.option("--exercise", is_flag=True, help="A simulated status (with --set).")
@as_option
@click.pass_context
def facilities_status(
    ctx: click.Context,
    *,
    facility_id: int,
    new_status: str | None,
    reason: str,
    supply: tuple[str, ...],
    exercise: bool,
    as_user: str | None,
) -> None:
    """Show a facility's status history, or record a new status with --set.

    Example:

        haven facilities status 12 --set partially_functioning --reason "generator down"
        --supply fuel=2400/600 --supply medicine:insulin=300/40
    """
    if new_status is not None:
        entry = StatusIn(
            status=FacilityStatus(new_status),
            reason=reason,
            supplies=[_supply(s) for s in supply],
            exercise=exercise,
        )
        _write(
            ctx,
            lambda s: facility_status.add_status(
                s, facility_id, entry=entry, actor=acting(s, as_user)
            ),
        )
    entries = _read(ctx, lambda s: facility_status.history(s, facility_id, actor=SYSTEM))
    for item in entries:
        label = " [EXERCISE]" if item.exercise else ""
        days = "" if item.days_of_autonomy is None else f", {item.days_of_autonomy} days"
        limit = f" ({item.limiting_supply} runs out first)" if item.limiting_supply else ""
        click.echo(f"{item.at:%Y-%m-%d %H:%M}Z {item.status.value}{days}{limit}{label}")
        if item.reason:
            click.echo(f"    {item.reason}")
        for s in item.supplies:
            name = f" ({s.name})" if s.name else ""
            lasts = "" if s.days_of_autonomy is None else f", {s.days_of_autonomy} days"
            click.echo(
                f"    {s.kind.value}{name}: {s.quantity:g} {s.unit}, "
                f"{s.daily_consumption:g}/day{lasts}"
            )
    if not entries:
        click.echo("no status recorded")


@cli.group("movements")
def movements_group() -> None:
    """Ambulance runs, medical evacuations and convoys."""


@movements_group.command("add")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@as_option
@click.pass_context
def movements_add(ctx: click.Context, *, file: Path, as_user: str | None) -> None:
    """Register the movement in a JSON file (kind, name, route [[lon, lat], …], starts_at, ends_at,
    vehicles, personnel_count, cargo, organisation).

    Example:

        haven movements add evacuation.json
    """
    try:
        movement = MovementIn.model_validate(orjson.loads(file.read_bytes()))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"cannot read {file}: {exc}", fields={"file": str(file)}) from exc
    except ValidationError as exc:
        error = InvalidInput.from_validation(exc.errors())
        raise InvalidInput(f"{file}: {error.message}; nothing stored", fields=error.fields) from exc
    stored = _write(ctx, lambda s: movements.create(s, movement, actor=acting(s, as_user)))
    label = " [EXERCISE]" if stored.exercise else ""
    click.echo(f"movement {stored.id} registered: {stored.kind.value} {stored.name}{label}")


@movements_group.command("list")
@click.option(
    "--at",
    type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]),
    default=None,
    help="Under way at this time (UTC).",
)
@click.option("--status", type=click.Choice([s.value for s in MovementStatus]), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def movements_list(
    ctx: click.Context, *, at: datetime | None, status: str | None, fmt: str
) -> None:
    """List movements, latest start first.

    Example:

        haven movements list --at 2025-03-03T08:00 --status under_way
    """
    found = _read(
        ctx,
        lambda s: movements.list_movements(
            s,
            actor=SYSTEM,
            at=at,
            status=MovementStatus(status) if status else None,
        ),
    )
    if fmt == "json":
        click.echo(json.dumps([m.model_dump(mode="json") for m in found], ensure_ascii=False))
        return
    for m in found:
        label = " [EXERCISE]" if m.exercise else ""
        click.echo(
            f"{m.id}: {m.kind.value} {m.name!r} {m.status.value}, "
            f"{m.starts_at:%Y-%m-%d %H:%M}Z-{m.ends_at:%Y-%m-%d %H:%M}Z, "
            f"{len(m.route)} points{label}"
        )
    click.echo(f"{len(found)} movement(s)")
