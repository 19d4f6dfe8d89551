"""Commands of deconfliction: parties, notifications and their outputs, and proximity alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from pydantic import BaseModel, ValidationError

from haven import accounts, alerts, notification_outputs, notifications, parties
from haven.accounts import SYSTEM
from haven.cli.base import _database, _read, _write, cli
from haven.errors import InvalidInput
from haven.models import utcnow
from haven.notifications import AckChannel, NotificationIn, NotificationKind
from haven.parties import PartyIn
from haven.settings import Settings
from haven.taxonomy import Tlp

_as_option = click.option(
    "--as",
    "as_user",
    default=None,
    help="The coordinator on whose behalf you act (default: system).",
)


def _acting(session: Any, as_user: str | None) -> accounts.Actor:
    return accounts.actor_named(session, as_user) if as_user else SYSTEM


M = TypeVar("M", bound=BaseModel)


def _valid(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc


def _when(text: str | None, *, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"bad time {text!r}", fields={name: "ISO 8601, e.g. 2025-03-01T08:00Z"}
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@cli.group("parties")
def parties_group() -> None:
    """Parties that receive deconfliction notifications and alerts (docs/notifications.md)."""


@parties_group.command("add")
@click.argument("name")
@click.option("--focal-point", default=None, help="The focal point's name (stored encrypted).")
@click.option("--phone", default=None, help="The focal point's phone (stored encrypted).")
@click.option("--webhook", "webhook_url", default=None, help="URL that receives signed JSON.")
@click.option("--email", default=None, help="Address that receives notifications and alerts.")
@click.option("--escalation-email", default=None, help="Where unacknowledged ones escalate.")
@click.option(
    "--max-tlp",
    type=click.Choice([t.value for t in Tlp]),
    default="green",
    show_default=True,
    help="Alerts show incident details only up to this label.",
)
@click.option("--site", "sites", multiple=True, type=int, help="A facility id it receives; repeat.")
@click.option("--no-alerts", is_flag=True, help="Do not send it proximity alerts.")
@click.option("--exercise", is_flag=True, help="An exercise (training) party.")
@_as_option
@click.pass_context
def parties_add(ctx: click.Context, /, **options: Any) -> None:
    """Register a party; prints its webhook secret once (give it to the party's IT staff).

    Example:

        haven parties add "Party A liaison" --webhook https://example.org/hook --site 1 --site 2
    """
    data = _valid(
        PartyIn,
        {
            "name": options["name"],
            "focal_point": options["focal_point"],
            "phone": options["phone"],
            "webhook_url": options["webhook_url"],
            "email": options["email"],
            "escalation_email": options["escalation_email"],
            "max_tlp": options["max_tlp"],
            "alerts": not options["no_alerts"],
            "exercise": options["exercise"],
            "sites": list(options["sites"]),
        },
    )
    made = _write(ctx, lambda s: parties.add(s, data, actor=_acting(s, options["as_user"])))
    click.echo(f"party {made.id}: {made.name} ({len(made.sites)} sites)")
    click.echo(f"webhook secret (shown once): {made.webhook_secret}")


@parties_group.command("list")
@click.pass_context
def parties_list(ctx: click.Context) -> None:
    """List parties, their channels and how many sites each receives.

    Example:

        haven parties list
    """
    for party in _read(ctx, lambda s: parties.list_parties(s, actor=SYSTEM)):
        channels = ", ".join(c for c in (party.webhook_url, party.email) if c) or "no channel"
        label = " [EXERCISE]" if party.exercise else ""
        click.echo(f"{party.id}\t{party.name}{label}\t{len(party.sites)} sites\t{channels}")


@cli.group("notifications")
def notifications_group() -> None:
    """Deconfliction notifications: draft, send, acknowledge (receipt, not approval), export."""


def _show(found: notifications.Notification) -> None:
    click.echo(
        f"notification {found.id} v{found.version} to {found.party_name}: {found.state.value}; "
        f"content SHA-256 {found.content_sha256}"
        + (f"; custody leaf {found.sent_leaf}" if found.sent_leaf is not None else "")
    )


@notifications_group.command("create")
@click.option("--party", "party_id", type=int, required=True, help="The party's id.")
@click.option(
    "--site",
    "sites",
    multiple=True,
    type=int,
    help="A facility id; repeat (default: all the party's).",
)
@click.option(
    "--sites-kml",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Take the sites from a KML file's point placemarks.",
)
@click.option(
    "--movement", "movement_id", type=int, default=None, help="Notify a movement instead."
)
@click.option("--valid-from", default=None, help="Start of validity (default now).")
@click.option(
    "--expires", default=None, help="End of validity (default: 30 days; a movement's end)."
)
@click.option("--emergency", is_flag=True, help="Emergency movement (shorter lead time).")
@click.option("--message", default="", help="Free text for the party.")
@click.option("--send", "send_now", is_flag=True, help="Send it at once.")
@_as_option
@click.pass_context
def notifications_create(ctx: click.Context, /, **options: Any) -> None:
    """Draft a notification to one party (and send it with --send).

    Example:

        haven notifications create --party 1 --expires 2025-04-01T00:00Z --send
    """
    settings: Settings = ctx.obj
    movement_id = options["movement_id"]
    expires = _when(options["expires"], name="expires")
    if expires is None and movement_id is None:
        expires = utcnow() + timedelta(days=30)
    kml_path: Path | None = options["sites_kml"]

    def create(session: Any) -> notifications.Notification:
        actor = _acting(session, options["as_user"])
        sites = list(options["sites"])
        if kml_path is not None:
            sites += notifications.sites_from_kml(session, kml_path.read_bytes())
        data = _valid(
            NotificationIn,
            {
                "party_id": options["party_id"],
                "kind": NotificationKind.MOVEMENT
                if movement_id is not None
                else NotificationKind.SITES,
                "facility_ids": sites,
                "movement_id": movement_id,
                "valid_from": _when(options["valid_from"], name="valid-from"),
                "expires_at": expires,
                "emergency": options["emergency"],
                "message": options["message"],
            },
        )
        made = notifications.create(session, data, actor=actor, settings=settings)
        if options["send_now"]:
            return notifications.send(session, made.id, actor=actor, settings=settings)
        return made

    _show(_write(ctx, create))


@notifications_group.command("send")
@click.argument("notification_id", type=int)
@_as_option
@click.pass_context
def notifications_send(ctx: click.Context, *, notification_id: int, as_user: str | None) -> None:
    """Send a draft (a custody leaf; queued to the party's webhook and e-mail).

    Example:

        haven notifications send 4
    """
    settings: Settings = ctx.obj
    _show(
        _write(
            ctx,
            lambda s: notifications.send(
                s, notification_id, actor=_acting(s, as_user), settings=settings
            ),
        )
    )


@notifications_group.command("ack")
@click.argument("notification_id", type=int)
@click.option("--by", required=True, help="Who at the party acknowledged receipt.")
@click.option("--channel", type=click.Choice([c.value for c in AckChannel]), required=True)
@click.option("--at", "at_text", default=None, help="When (default now).")
@_as_option
@click.pass_context
def notifications_ack(ctx: click.Context, /, **options: Any) -> None:
    """Record the party's acknowledgement of receipt. It is NOT approval.

    Example:

        haven notifications ack 4 --by "duty officer" --channel email
    """
    at = _when(options["at_text"], name="at")
    found = _write(
        ctx,
        lambda s: notifications.acknowledge(
            s,
            options["notification_id"],
            by=options["by"],
            channel=AckChannel(options["channel"]),
            at=at,
            actor=_acting(s, options["as_user"]),
        ),
    )
    _show(found)
    click.echo(notifications.NOT_APPROVAL)


@notifications_group.command("withdraw")
@click.argument("notification_id", type=int)
@click.option("--reason", required=True, help="Why (the party is told).")
@_as_option
@click.pass_context
def notifications_withdraw(
    ctx: click.Context, *, notification_id: int, reason: str, as_user: str | None
) -> None:
    """Withdraw a notification (a sent one is a custody leaf and the party is told).

    Example:

        haven notifications withdraw 4 --reason "site closed"
    """
    settings: Settings = ctx.obj
    _show(
        _write(
            ctx,
            lambda s: notifications.withdraw(
                s, notification_id, reason=reason, actor=_acting(s, as_user), settings=settings
            ),
        )
    )


@notifications_group.command("list")
@click.option("--party", "party_id", type=int, default=None)
@click.pass_context
def notifications_list(ctx: click.Context, *, party_id: int | None) -> None:
    """List notifications, newest first.

    Example:

        haven notifications list --party 1
    """
    for found in _read(
        ctx, lambda s: notifications.list_notifications(s, actor=SYSTEM, party_id=party_id)
    ):
        _show(found)


@notifications_group.command("tick")
@click.option("--now", "now_text", default=None, help="The clock to use (default: now).")
@click.pass_context
def notifications_tick(ctx: click.Context, *, now_text: str | None) -> None:
    """Expire, remind, chase and escalate what is due (run it from cron, or let the server).

    Example:

        haven notifications tick
    """
    settings: Settings = ctx.obj
    now = _when(now_text, name="now") or utcnow()
    work = _write(ctx, lambda s: notifications.run_due(s, settings, now=now))
    click.echo(
        f"expired {len(work.expired)}, reminders {len(work.reminders)}, "
        f"chases {len(work.chases)}, escalations {len(work.escalations)}"
    )


@notifications_group.command("export")
@click.argument("notification_id", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "geojson", "kml", "html"]),
    default="json",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@click.pass_context
def notifications_export(
    ctx: click.Context, *, notification_id: int, fmt: str, output: Path | None
) -> None:
    """Write a notification as signed JSON, GeoJSON, KML or a printable page (lat/lon + MGRS).

    Example:

        haven notifications export 4 --format kml -o party-a.kml
    """
    settings: Settings = ctx.obj
    found = _read(ctx, lambda s: notifications.get(s, notification_id, actor=SYSTEM))
    data: bytes
    if fmt == "kml":
        data = notification_outputs.kml(found.content)
    elif fmt == "html":
        record = found.model_dump(
            mode="json",
            include={
                "sent_at",
                "sent_leaf",
                "acknowledged_at",
                "acknowledged_by",
                "acknowledged_channel",
            },
        )
        data = notification_outputs.html_page(found.content, record=record).encode()
    elif fmt == "geojson":
        data = orjson.dumps(notification_outputs.geojson(found.content), option=orjson.OPT_INDENT_2)
    else:
        document = notification_outputs.signed_document(
            settings, found.content, sent_at=found.sent_at or found.created_at
        )
        document["record"] = found.model_dump(mode="json", exclude={"content"})
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    if output is None:
        click.echo(data.decode())
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({fmt})")


@cli.group("alerts")
def alerts_group() -> None:
    """Proximity alerts: new incidents near facilities and active movements."""


@alerts_group.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.pass_context
def alerts_list(ctx: click.Context, *, limit: int) -> None:
    """List alerts, newest first, with how their deliveries went.

    Example:

        haven alerts list
    """
    for alert in _read(ctx, lambda s: alerts.list_alerts(s, actor=SYSTEM, limit=limit)):
        where = alert.facility_name or alert.movement_name or alert.subject
        sent = sum(1 for d in alert.deliveries if d.delivered_at)
        label = " [EXERCISE]" if alert.exercise else ""
        click.echo(
            f"alert {alert.id}{label}: incident {alert.incident_id} {alert.distance_m:.0f} m from "
            f"{where}; {sent}/{len(alert.deliveries)} messages delivered"
        )


@alerts_group.command("deliver")
@click.option(
    "--notifications/--no-notifications",
    "with_notifications",
    default=True,
    help="Also expire, remind and chase notifications.",
)
@click.pass_context
def alerts_deliver(ctx: click.Context, *, with_notifications: bool) -> None:
    """Raise alerts for new incidents and deliver due webhooks and e-mails, once.

    Example:

        haven alerts deliver
    """
    settings: Settings = ctx.obj
    with _database(ctx) as db:
        report = alerts.deliver_due(db, settings, notifications=with_notifications)
    delivery = report.delivery
    click.echo(
        f"incidents checked {report.incidents_checked}, alerts {len(report.alerts)}; "
        f"delivered {len(delivery.delivered)}, retrying {len(delivery.retrying)}, "
        f"gave up {len(delivery.gave_up)}"
    )
