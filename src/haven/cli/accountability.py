"""Commands of accountability: commitments, attributions, compliance records, cases, case files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import BaseModel, ValidationError

from haven import attributions, case_files, cases, commitments, compliance
from haven.accounts import SYSTEM
from haven.attributions import AttributionIn
from haven.case_events import SYSTEM_KINDS, CaseEventKind, CaseOutcome, CaseStatus
from haven.cases import CaseAmendIn, CaseEventIn, CaseIn, IncidentsRemovalIn
from haven.cli.base import _read, _settings, _write, acting, as_option, cli
from haven.commitments import CommitmentIn, CommitmentKind, PartyType
from haven.errors import InvalidInput
from haven.taxonomy import Certainty

_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")

M = TypeVar("M", bound=BaseModel)


def _valid(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc


# --- commitments, attributions, compliance ---------------------------------------------------


@cli.group("commitments")
def commitments_group() -> None:
    """Parties' commitments (declarations, agreements, deconfliction) and type."""


@commitments_group.command("add")
@click.argument("party_id", type=int)
@click.option("--kind", type=click.Choice([k.value for k in CommitmentKind]), required=True)
@click.option("--title", required=True, help="e.g. 'Declaration on the protection of health care'.")
@click.option("--made-on", default=None, help="The date it was made, YYYY-MM-DD.")
@click.option("--url", "source_url", default=None, help="Where it is published.")
@click.option("--reference", default=None, help="A document reference (e.g. a UN symbol).")
@click.option("--text", default="", help="Its wording or an excerpt.")
@click.option("--exercise", is_flag=True, help="An exercise (training) record.")
@as_option
@click.pass_context
def commitments_add(ctx: click.Context, /, **options: Any) -> None:
    """Record a commitment a party made; it needs a --url or a --reference.

    Example:

        haven commitments add 3 --kind agreement --title "Humanitarian pause" \\
            --made-on 2024-11-02 --url https://example.org/pause
    """
    as_user, party_id = options.pop("as_user"), options.pop("party_id")
    data = _valid(CommitmentIn, options)
    made = _write(ctx, lambda s: commitments.add(s, party_id, data=data, actor=acting(s, as_user)))
    click.echo(f"commitment {made.id} of party {made.party_id}: {made.kind.value} {made.title!r}")


@commitments_group.command("list")
@click.argument("party_id", type=int)
@click.pass_context
def commitments_list(ctx: click.Context, party_id: int) -> None:
    """List a party's type and commitments.

    Example:

        haven commitments list 3
    """
    found = _read(ctx, lambda s: commitments.profile(s, party_id, actor=SYSTEM))
    click.echo(f"party {found.party_id}: {found.name} ({found.party_type.value})")
    for item in found.commitments:
        made = item.made_on.isoformat() if item.made_on else "undated"
        where = item.source_url or item.reference
        click.echo(f"{item.id}\t{made}\t{item.kind.value}\t{item.title}\t{where}")


@commitments_group.command("party-type")
@click.argument("party_id", type=int)
@click.argument("party_type", type=click.Choice([t.value for t in PartyType]))
@as_option
@click.pass_context
def commitments_party_type(
    ctx: click.Context, /, *, party_id: int, party_type: str, as_user: str | None
) -> None:
    """Say whether a party is state forces, a non-state armed group, or other.

    Example:

        haven commitments party-type 3 non_state_armed_group
    """
    found = _write(
        ctx,
        lambda s: commitments.set_party_type(
            s, party_id, party_type=PartyType(party_type), actor=acting(s, as_user)
        ),
    )
    click.echo(f"party {found.party_id}: {found.name} is {found.party_type.value}")


@cli.group("attributions")
def attributions_group() -> None:
    """Reported perpetrators of incidents (a source's report, not a verdict)."""


@attributions_group.command("add")
@click.argument("incident_id")
@click.option("--party", "party_id", type=int, required=True, help="The party's id.")
@click.option("--source", required=True, help="Who reports it: a report, dataset, publication.")
@click.option("--basis", required=True, help="What it rests on (markings seen, a claim, …).")
@click.option(
    "--certainty",
    type=click.Choice([c.value for c in Certainty]),
    required=True,
    help="The source's confidence (shown capped at the incident's certainty).",
)
@as_option
@click.pass_context
def attributions_add(ctx: click.Context, /, **options: Any) -> None:
    """Record that a source reports a party as an incident's perpetrator.

    Example:

        haven attributions add 6f1c0d2e-... --party 3 --source "Partner report 12" \\
            --basis "vehicle markings seen by two witnesses" --certainty probable
    """
    as_user, incident_id = options.pop("as_user"), options.pop("incident_id")
    data = _valid(AttributionIn, options)
    made = _write(
        ctx, lambda s: attributions.add(s, incident_id, data=data, actor=acting(s, as_user))
    )
    capped = " (capped at the incident's certainty)" if made.capped else ""
    click.echo(
        f"attribution {made.id}: {made.party_name} reported as perpetrator, "
        f"shown as {made.certainty.value}{capped}"
    )


@cli.command("compliance")
@click.argument("party_id", type=int)
@_json_option
@click.pass_context
def compliance_command(ctx: click.Context, party_id: int, *, as_json: bool) -> None:
    """Print a party's compliance record: attributed incidents by certainty, and the figures.

    Attribution is a reported perpetrator, not a verdict; each is shown at no more
    than its incident's certainty.

    Example:

        haven compliance 3 --json > party-3.json
    """
    found = _read(ctx, lambda s: compliance.record(s, party_id, actor=SYSTEM))
    if as_json:
        click.echo(found.model_dump_json(indent=2))
        return
    party = found.party
    click.echo(f"party {party.party_id}: {party.name} ({party.party_type.value})")
    click.echo(found.statement)
    click.echo(f"commitments: {len(party.commitments)}; attributed incidents: {found.attributed}")
    for group in found.by_certainty:
        click.echo(f"  {group.certainty.value}: {group.count}")
    for figure in found.figures:
        ids = ", ".join(figure.incident_ids) or "-"
        click.echo(f"{figure.label}: {figure.count} ({ids})")


# --- cases ------------------------------------------------------------------------------------


@cli.group("cases")
def cases_group() -> None:
    """Investigation and remedy cases: referrals, investigations, claims, support, deadlines."""


def _show(case: cases.Case) -> None:
    label = " [EXERCISE]" if case.exercise else ""
    outcome = f" ({case.outcome.value})" if case.outcome else ""
    click.echo(f"case {case.id}{label}: {case.title} - {case.status.value}{outcome}")
    click.echo(f"incidents: {', '.join(case.incident_ids)}")
    if case.summary:
        click.echo(f"summary: {case.summary}")
    for event in case.events:
        status = f" {event.status}" if event.status else ""
        due = ""
        if event.due_at is not None:
            state = "done" if event.done_at else ("OVERDUE" if event.overdue else "open")
            due = f" due {event.due_at.isoformat()} ({state})"
        reason = event.detail.get("reason")
        extra = " ".join(
            x for x in (event.authority or "", event.reference or "", reason or "") if x
        )
        click.echo(
            f"  {event.id}\t{event.at.isoformat()}\t{event.kind.value}{status}{due}"
            f"\t{extra}\tleaf {event.custody_leaf}"
        )


@cases_group.command("open")
@click.argument("incident_ids", nargs=-1, required=True)
@click.option("--title", required=True, help="A short title (no names of victims).")
@click.option("--summary", default="", help="What the case is about (no personal data).")
@as_option
@click.pass_context
def cases_open(
    ctx: click.Context,
    /,
    *,
    incident_ids: tuple[str, ...],
    title: str,
    summary: str,
    as_user: str | None,
) -> None:
    """Open a case about one or more incidents.

    Example:

        haven cases open 6f1c0d2e-... 9a0b... --title "Strikes on Al-Example hospital, March"
    """
    data = _valid(CaseIn, {"title": title, "summary": summary, "incident_ids": list(incident_ids)})
    made = _write(ctx, lambda s: cases.open_case(s, data, actor=acting(s, as_user)))
    _show(made)


@cases_group.command("add-event")
@click.argument("case_id", type=int)
@click.option(
    "--kind",
    type=click.Choice([k.value for k in CaseEventKind if k not in SYSTEM_KINDS]),
    required=True,
)
@click.option("--status", default=None, help="The kind's status (docs/accountability.md).")
@click.option("--at", default=None, help="When it happened, ISO 8601 (default: now).")
@click.option("--authority", default=None, help="The institution (ministry, UN body, court).")
@click.option("--reference", default=None, help="Its docket or file number.")
@click.option("--summary", default=None, help="What happened (no names of victims).")
@click.option("--beneficiary", "beneficiary_ref", default=None, help="A reference: family-2.")
@click.option("--personal", default=None, help="Personal details (stored encrypted only).")
@click.option("--due", "due_at", default=None, help="Deadline or follow-up date, ISO 8601.")
@click.option(
    "--resolves", type=int, default=None, help="An earlier event whose deadline it meets."
)
@as_option
@click.pass_context
def cases_add_event(ctx: click.Context, /, **options: Any) -> None:
    """Record a step of a case: referral, investigation, sanction, claim, support, note.

    Example:

        haven cases add-event 4 --kind referral_un_mechanism --status sent \\
            --authority "UN Commission of Inquiry" --due 2025-06-30T12:00Z
    """
    as_user, case_id = options.pop("as_user"), options.pop("case_id")
    data = _valid(CaseEventIn, options)
    made = _write(ctx, lambda s: cases.add_event(s, case_id, data=data, actor=acting(s, as_user)))
    click.echo(
        f"event {made.id} of case {case_id}: {made.kind.value}; custody leaf {made.custody_leaf}"
    )


@cases_group.command("add-incident")
@click.argument("case_id", type=int)
@click.argument("incident_ids", nargs=-1, required=True)
@as_option
@click.pass_context
def cases_add_incident(
    ctx: click.Context, /, *, case_id: int, incident_ids: tuple[str, ...], as_user: str | None
) -> None:
    """Add incidents to an open case.

    Example:

        haven cases add-incident 4 9a0b...
    """
    found = _write(
        ctx,
        lambda s: cases.add_incidents(
            s, case_id, incident_ids=list(incident_ids), actor=acting(s, as_user)
        ),
    )
    _show(found)


@cases_group.command("amend")
@click.argument("case_id", type=int)
@click.option("--title", default=None, help="The new title (no names of victims).")
@click.option("--summary", default=None, help="The new summary, whole (no personal data).")
@click.option("--reason", required=True, help="Why it is corrected, 3 to 500 characters.")
@as_option
@click.pass_context
def cases_amend(
    ctx: click.Context,
    case_id: int,
    *,
    title: str | None,
    summary: str | None,
    reason: str,
    as_user: str | None,
) -> None:
    """Correct an open case's title and/or summary; the history keeps the old values and the
    reason.

    Example:

        haven cases amend 4 --title "Strikes on a fictional hospital, March" \
            --reason "typo in the title"
    """
    data = _valid(CaseAmendIn, {"title": title, "summary": summary, "reason": reason})
    found = _write(ctx, lambda s: cases.amend_case(s, case_id, data=data, actor=acting(s, as_user)))
    _show(found)


@cases_group.command("remove-incidents")
@click.argument("case_id", type=int)
@click.argument("incident_ids", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why they are taken out, 3 to 500 characters.")
@as_option
@click.pass_context
def cases_remove_incidents(
    ctx: click.Context,
    /,
    *,
    case_id: int,
    incident_ids: tuple[str, ...],
    reason: str,
    as_user: str | None,
) -> None:
    """Take incidents linked by mistake out of an open case (it keeps at least one); the
    history keeps which and the reason.

    Example:

        haven cases remove-incidents 4 9a0b... --reason "a different hospital, linked by mistake"
    """
    data = _valid(IncidentsRemovalIn, {"incident_ids": list(incident_ids), "reason": reason})
    found = _write(
        ctx, lambda s: cases.remove_incidents(s, case_id, data=data, actor=acting(s, as_user))
    )
    _show(found)


@cases_group.command("close")
@click.argument("case_id", type=int)
@click.option("--outcome", type=click.Choice([o.value for o in CaseOutcome]), required=True)
@click.option("--note", default="", help="Why (no personal data).")
@as_option
@click.pass_context
def cases_close(
    ctx: click.Context, case_id: int, *, outcome: str, note: str, as_user: str | None
) -> None:
    """Close a case with its outcome.

    Example:

        haven cases close 4 --outcome remedy_provided --note "compensation paid"
    """
    found = _write(
        ctx,
        lambda s: cases.set_status(
            s,
            case_id,
            status=CaseStatus.CLOSED,
            outcome=CaseOutcome(outcome),
            note=note,
            actor=acting(s, as_user),
        ),
    )
    _show(found)


@cases_group.command("reopen")
@click.argument("case_id", type=int)
@click.option("--note", default="", help="Why (no personal data).")
@as_option
@click.pass_context
def cases_reopen(ctx: click.Context, case_id: int, *, note: str, as_user: str | None) -> None:
    """Reopen a closed case.

    Example:

        haven cases reopen 4 --note "new evidence"
    """
    found = _write(
        ctx,
        lambda s: cases.set_status(
            s, case_id, status=CaseStatus.OPEN, note=note, actor=acting(s, as_user)
        ),
    )
    _show(found)


@cases_group.command("show")
@click.argument("case_id", type=int)
@_json_option
@click.pass_context
def cases_show(ctx: click.Context, case_id: int, *, as_json: bool) -> None:
    """Show a case, its incidents and its history.

    Example:

        haven cases show 4
    """
    found = _read(ctx, lambda s: cases.get(s, case_id, actor=SYSTEM))
    if as_json:
        click.echo(found.model_dump_json(indent=2))
    else:
        _show(found)


@cases_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in CaseStatus]), default=None)
@click.pass_context
def cases_list(ctx: click.Context, *, status: str | None) -> None:
    """List cases, newest first, with their next deadline.

    Example:

        haven cases list --status open
    """
    wanted = CaseStatus(status) if status else None
    for case in _read(ctx, lambda s: cases.list_cases(s, actor=SYSTEM, status=wanted)):
        label = " [EXERCISE]" if case.exercise else ""
        due = case.next_due_at.isoformat() if case.next_due_at else "-"
        click.echo(
            f"{case.id}\t{case.status.value}\t{case.incidents} incident(s)\tnext due {due}"
            f"\t{case.title}{label}"
        )


@cases_group.command("due")
@click.option("--within-days", type=click.IntRange(0, 3650), default=7, show_default=True)
@click.pass_context
def cases_due(ctx: click.Context, *, within_days: int) -> None:
    """List deadlines not yet met on open cases (overdue ones flagged); run it daily.

    Exit status 0 even when some are overdue: read the OVERDUE lines.

    Example:

        haven cases due --within-days 14
    """
    found = _read(ctx, lambda s: cases.due(s, actor=SYSTEM, within=timedelta(days=within_days)))
    for item in found:
        flag = "OVERDUE" if item.overdue else "due"
        label = " [EXERCISE]" if item.exercise else ""
        click.echo(
            f"{flag}\t{item.due_at.isoformat()}\tcase {item.case_id} event {item.event_id}"
            f"\t{item.kind.value}\t{item.case_title}{label}"
        )
    overdue = sum(1 for item in found if item.overdue)
    click.echo(f"{len(found)} deadline(s), {overdue} overdue")


@cases_group.command("export")
@click.argument("case_id", type=int)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The zip to write (default: haven-case-CASE.zip here).",
)
@as_option
@click.pass_context
def cases_export(
    ctx: click.Context, case_id: int, *, out: Path | None, as_user: str | None
) -> None:
    """Write a case file: evidence packages, notification trail and case history, verifiable
    offline with the custody_verifier.py inside it.

    Example:

        haven cases export 4 --out case-4.zip && python3 custody_verifier.py case-4.zip
    """
    settings = _settings(ctx)
    target = out or Path(f"haven-case-{case_id}.zip")
    contents = _write(
        ctx,
        lambda s: case_files.build(s, settings, case_id=case_id, actor=acting(s, as_user)),
    )
    summary = case_files.write_zip(settings, contents, out=target)
    click.echo(
        f"wrote {target}: {summary.incidents} incident(s), {summary.files} file(s), "
        f"{summary.custody_events} custody event(s), signed tree of {summary.tree_size} leaves, "
        f"SHA-256 {summary.sha256}"
    )
