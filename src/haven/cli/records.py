"""Commands on reports and incidents: submit, grade, list, verify, deduplicate."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import orjson
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from haven import accounts, incidents, reports, verification
from haven.accounts import SYSTEM
from haven.cli.base import _read, _write, cli
from haven.errors import InvalidInput
from haven.taxonomy import (
    Certainty,
    Credibility,
    EvidenceKind,
    IncidentState,
    Reliability,
    SourceType,
)


@cli.group("reports")
def reports_group() -> None:
    """Submit and inspect reports."""


def _load_reports(path: Path) -> list[reports.ReportIn]:
    """Every report in a JSON file (one object or a list), all validated before any is stored."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", fields={"file": str(path)}) from exc
    items = data if isinstance(data, list) else [data]
    parsed: list[reports.ReportIn] = []
    bad: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            parsed.append(reports.ReportIn.model_validate(item))
        except ValidationError as exc:
            bad.extend({**e, "loc": (f"[{index}]", *e["loc"])} for e in exc.errors())
    if bad:
        error = InvalidInput.from_validation(bad)
        raise InvalidInput(f"{path}: {error.message}; nothing stored", fields=error.fields)
    return parsed


@reports_group.command("add")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_context
def reports_add(ctx: click.Context, *, file: Path) -> None:
    """Submit the reports in a JSON file (one report object, or a list). All or nothing.

    Example:

        haven reports add examples/report.json
    """
    parsed = _load_reports(file)

    def submit_all(session: Any) -> list[reports.ReportReceipt]:
        return [reports.submit(session, r, actor=SYSTEM) for r in parsed]

    receipts = _write(ctx, submit_all)
    for receipt in receipts:
        state = "stored" if receipt.created else "already stored"
        label = " [EXERCISE]" if receipt.exercise else ""
        click.echo(f"report {receipt.report_id} {state} -> incident {receipt.incident_id}{label}")


@reports_group.command("grade")
@click.argument("report_id")
@click.option("--source-type", type=click.Choice([t.value for t in SourceType]), default=None)
@click.option("--reliability", type=click.Choice([r.value for r in Reliability]), default=None)
@click.option("--credibility", type=click.IntRange(1, 6), default=None, help="1 (confirmed) to 6.")
@click.option(
    "--evidence",
    multiple=True,
    type=click.Choice([e.value for e in EvidenceKind]),
    help="Evidence that came with it; repeat for several.",
)
@click.option("--as", "as_user", default=None, help="The verifier (default: system).")
@click.pass_context
def reports_grade(
    ctx: click.Context,
    *,
    report_id: str,
    source_type: str | None,
    reliability: str | None,
    credibility: int | None,
    evidence: tuple[str, ...],
    as_user: str | None,
) -> None:
    """Grade a stored report (replacing its grade) and re-derive its incident's certainty.

    Example:

        haven reports grade 6f1c... --source-type media --reliability B --evidence photo
    """
    status = _write(
        ctx,
        lambda s: verification.grade_report(
            s,
            report_id,
            source_type=SourceType(source_type) if source_type else None,
            reliability=Reliability(reliability) if reliability else None,
            credibility=Credibility(credibility) if credibility else None,
            evidence_kinds=[EvidenceKind(e) for e in evidence],
            actor=accounts.actor_named(s, as_user) if as_user else SYSTEM,
        ),
    )
    click.echo(f"incident {status.incident_id}: certainty {status.certainty_reason}")


@cli.group("incidents")
def incidents_group() -> None:
    """List, inspect and verify incidents."""


@incidents_group.command("list")
@click.option("--country", multiple=True, help="ISO3 code; repeat for several.")
@click.option("--since", type=click.DateTime(), default=None, help="Occurred at or after (UTC).")
@click.option("--until", type=click.DateTime(), default=None, help="Occurred before (UTC).")
@click.option("--attack-type", multiple=True, help="WHO SSA attack type; repeat for several.")
@click.option("--certainty", multiple=True, help="rumour, possible, probable or confirmed.")
@click.option(
    "--exercise",
    type=click.Choice([e.value for e in incidents.ExerciseFilter]),
    default="include",
    show_default=True,
    help="Include, exclude or show only exercise data.",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def incidents_list(  # noqa: PLR0913 - one parameter per option
    ctx: click.Context,
    *,
    country: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    attack_type: tuple[str, ...],
    certainty: tuple[str, ...],
    exercise: str,
    limit: int,
    fmt: str,
) -> None:
    """List incidents, newest first. Exercise data is marked EXERCISE.

    Example:

        haven incidents list --country PSE --since 2023-10-07 --format json
    """
    flt = incidents.parse_filter(
        {
            "since": since,
            "until": until,
            "countries": country,
            "attack_types": attack_type,
            "certainties": certainty,
            "exercise": exercise,
        }
    )
    page = _read(ctx, lambda s: incidents.list_incidents(s, flt, actor=SYSTEM, limit=limit))
    if fmt == "json":
        click.echo(json.dumps(page.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    _print_table(page.items)


def _print_table(items: list[incidents.Incident]) -> None:
    table = Table(show_lines=False)
    for column in ("date", "country", "place", "attack types", "killed", "injured", "certainty"):
        table.add_column(column)
    table.add_column("data")
    for item in items:
        table.add_row(
            item.occurred_at.date().isoformat(),
            item.country,
            item.location_name or item.admin1 or "",
            "; ".join(t.split(" (")[0] for t in item.attack_types),
            str(item.killed_total),
            str(item.injured_total),
            item.certainty.value,
            "EXERCISE" if item.exercise else "real",
        )
    Console(width=160).print(table)
    click.echo(f"{len(items)} incident(s)")


_verify_as_option = click.option(
    "--as", "as_user", default=None, help="The verifier on whose behalf you act (default: system)."
)


def _acting_verifier(session: Any, as_user: str | None) -> accounts.Actor:
    return accounts.actor_named(session, as_user) if as_user else SYSTEM


def _print_status(status: verification.VerificationStatus) -> None:
    marker = " (overridden)" if status.certainty_overridden else ""
    click.echo(f"incident {status.incident_id}: {status.state.value}")
    click.echo(f"certainty{marker}: {status.certainty_reason}")


@incidents_group.command("state")
@click.argument("incident_id")
@click.argument("to_state", metavar="TO", type=click.Choice([s.value for s in IncidentState]))
@click.option("--note", default="", help="Why (required to reject or withdraw).")
@_verify_as_option
@click.pass_context
def incidents_state(
    ctx: click.Context, *, incident_id: str, to_state: str, note: str, as_user: str | None
) -> None:
    """Move an incident through verification (received, in_review, verified, rejected,
    published, withdrawn). Moves that are not allowed are refused and named.

    Example:

        haven incidents state 3f2b... in_review --note "two sources, checking the photo"
    """
    status = _write(
        ctx,
        lambda s: verification.transition(
            s,
            incident_id,
            to_state=IncidentState(to_state),
            note=note,
            actor=_acting_verifier(s, as_user),
        ),
    )
    _print_status(status)


@incidents_group.command("certainty")
@click.argument("incident_id")
@click.option("--approve", is_flag=True, help="Accept the certainty the WHO SSA rules derive.")
@click.option(
    "--set",
    "level",
    type=click.Choice([c.value for c in Certainty]),
    default=None,
    help="Override the certainty (needs --rationale).",
)
@click.option("--rationale", default="", help="Why (at least 10 characters for --set).")
@_verify_as_option
@click.pass_context
def incidents_certainty(
    ctx: click.Context,
    *,
    incident_id: str,
    approve: bool,
    level: str | None,
    rationale: str,
    as_user: str | None,
) -> None:
    """Approve an incident's derived certainty, or override it with a written rationale.

    Example:

        haven incidents certainty 3f2b... --set probable --rationale "the photo is from 2019"
    """
    if approve == (level is not None):
        raise InvalidInput(
            "give either --approve or --set LEVEL --rationale TEXT", fields={"set": "or --approve"}
        )
    if level is not None:
        chosen = Certainty(level)
        status = _write(
            ctx,
            lambda s: verification.override_certainty(
                s,
                incident_id,
                certainty=chosen,
                rationale=rationale,
                actor=_acting_verifier(s, as_user),
            ),
        )
    else:
        status = _write(
            ctx,
            lambda s: verification.approve_certainty(
                s, incident_id, note=rationale, actor=_acting_verifier(s, as_user)
            ),
        )
    _print_status(status)


@incidents_group.command("history")
@click.argument("incident_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def incidents_history(ctx: click.Context, *, incident_id: str, fmt: str) -> None:
    """Show everything that happened to an incident, oldest first, with notes.

    Example:

        haven incidents history 3f2b... --format json
    """
    entries = _read(ctx, lambda s: verification.history(s, incident_id, actor=SYSTEM))
    if fmt == "json":
        click.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        return
    for entry in entries:
        note = f" - {entry.note}" if entry.note else ""
        click.echo(f"{entry.at.isoformat(timespec='seconds')}\t{entry.actor}\t{entry.action}{note}")


@cli.group("verification")
def verification_group() -> None:
    """The verification queue (see docs/verification.md)."""


@verification_group.command("queue")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.pass_context
def verification_queue(ctx: click.Context, *, limit: int) -> None:
    """List incidents received or in review, oldest first, with their certainty and why.

    Example:

        haven verification queue --limit 20
    """
    items = _read(ctx, lambda s: verification.queue(s, actor=SYSTEM, limit=limit))
    for item in items:
        label = " [EXERCISE]" if item.exercise else ""
        click.echo(
            f"{item.id}\t{item.state.value}\t{item.country}\t{item.certainty.value}"
            f"\t{item.certainty_reason}{label}"
        )
    click.echo(f"{len(items)} incident(s) waiting")


@cli.group("duplicates")
def duplicates_group() -> None:
    """Suggested duplicates, a verifier's decision, and undoing merges (see docs/methodology.md)."""


@duplicates_group.command("suggestions")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.pass_context
def duplicates_suggestions(ctx: click.Context, *, limit: int) -> None:
    """List open suggested duplicates, best score first.

    Example:

        haven duplicates suggestions --limit 20
    """
    from haven import dedup  # noqa: PLC0415 - keeps numpy off the other commands' start-up

    items = _read(ctx, lambda s: dedup.suggestions(s, actor=SYSTEM, limit=limit))
    for item in items:
        click.echo(f"{item.id}\t{item.score:.3f}\t{item.incident_id}\t{item.candidate_id}")
    click.echo(f"{len(items)} suggestion(s) open")


@duplicates_group.command("decide")
@click.argument("suggestion_id", type=click.IntRange(1))
@click.argument("verdict", type=click.Choice(["accept", "reject"]))
@_verify_as_option
@click.pass_context
def duplicates_decide(
    ctx: click.Context, *, suggestion_id: int, verdict: str, as_user: str | None
) -> None:
    """Accept (merge the pair) or reject a suggested duplicate.

    Example:

        haven duplicates decide 12 accept --as verifier1
    """
    from haven import dedup  # noqa: PLC0415 - keeps numpy off the other commands' start-up

    done = _write(
        ctx,
        lambda s: dedup.decide_suggestion(
            s,
            suggestion_id,
            verdict=dedup.SuggestionVerdict(verdict),
            actor=_acting_verifier(s, as_user),
        ),
    )
    click.echo(f"suggestion {done.id}: {done.status}")


@duplicates_group.command("undo")
@click.argument("merge_id", type=click.IntRange(1))
@_verify_as_option
@click.pass_context
def duplicates_undo(ctx: click.Context, *, merge_id: int, as_user: str | None) -> None:
    """Undo a merge: its reports go back to the merged incident, which is listed again.

    Example:

        haven duplicates undo 7
    """
    from haven import dedup  # noqa: PLC0415 - keeps numpy off the other commands' start-up

    done = _write(ctx, lambda s: dedup.undo_merge(s, merge_id, actor=_acting_verifier(s, as_user)))
    click.echo(
        f"merge {done.id} undone: {len(done.moved_report_ids)} report(s) back in "
        f"{done.merged_incident_id}"
    )
