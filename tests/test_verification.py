"""Verification: certainty by the WHO SSA rules, the review workflow, history, permissions."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from haven import accounts, incidents, reports, verification
from haven.accounts import SYSTEM, Actor, Role
from haven.certainty import RULES, ReportGrade, derive
from haven.db import Database
from haven.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from haven.taxonomy import (
    Certainty,
    Credibility,
    EvidenceKind,
    IncidentState,
    Reliability,
    SourceType,
)
from tests.conftest import make_token

T = SourceType
R = Reliability
C = Credibility


def grade(source: str = "s1", source_type: SourceType | None = None, **kw: Any) -> ReportGrade:
    return ReportGrade(source=source, source_type=source_type, **kw)


# --- the rule table: one example per rule ----------------------------------------------------

RULE_EXAMPLES: dict[str, list[ReportGrade]] = {
    "first_hand": [grade(source_type=T.EYEWITNESS, reliability=R.B)],
    "probable_with_imagery": [
        grade("radio", T.MEDIA),
        grade("ngo", T.SECONDARY, evidence=frozenset({EvidenceKind.PHOTO})),
    ],
    "claimed_confirmed": [grade(claimed=Certainty.CONFIRMED, claim_trusted=True)],
    "two_secondhand": [grade("radio", T.MEDIA), grade("ngo", T.SECONDARY)],
    "reliable_secondhand": [
        grade(source_type=T.SECONDARY, reliability=R.A, credibility=C.PROBABLY_TRUE)
    ],
    "claimed_probable": [grade(claimed=Certainty.PROBABLE, claim_trusted=True)],
    "one_secondhand": [grade(source_type=T.MEDIA)],
    "claimed_possible": [grade(claimed=Certainty.POSSIBLE, claim_trusted=True)],
    "unverified": [grade(source_type=T.SOCIAL_MEDIA), grade("s2", T.ANONYMOUS)],
}


def test_every_rule_has_an_example() -> None:
    assert [r.id for r in RULES] == list(RULE_EXAMPLES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_each_rule_applies_to_its_example(rule: Any) -> None:
    decision = derive(RULE_EXAMPLES[rule.id])
    assert (decision.rule, decision.certainty) == (rule.id, rule.certainty)
    assert rule.text in decision.reason and decision.reason.startswith(rule.certainty.value)


def test_rules_are_listed_strongest_first() -> None:
    ranks = [r.certainty.rank for r in RULES]
    assert ranks == sorted(ranks, reverse=True)


# --- the issue's own examples ----------------------------------------------------------------


def test_one_partner_eyewitness_is_confirmed() -> None:
    assert derive([grade(source_type=T.EYEWITNESS)]).certainty is Certainty.CONFIRMED
    assert derive([grade(source_type=T.PARTNER_SELF_REPORT)]).certainty is Certainty.CONFIRMED


def test_two_secondary_accounts_are_probable() -> None:
    two = [grade("a", T.SECONDARY), grade("b", T.SECONDARY)]
    assert derive(two).certainty is Certainty.PROBABLE


def test_one_media_report_is_possible() -> None:
    assert derive([grade(source_type=T.MEDIA)]).certainty is Certainty.POSSIBLE


def test_social_media_only_is_a_rumour() -> None:
    posts = [grade(f"post{i}", T.SOCIAL_MEDIA) for i in range(5)]
    assert derive(posts).certainty is Certainty.RUMOUR
    assert derive([]).certainty is Certainty.RUMOUR


@pytest.mark.parametrize("kind", [EvidenceKind.PHOTO, EvidenceKind.VIDEO, EvidenceKind.SATELLITE])
def test_probable_with_imagery_is_confirmed(kind: EvidenceKind) -> None:
    grades = [grade("a", T.MEDIA), grade("b", T.MEDIA, evidence=frozenset({kind}))]
    assert derive(grades).rule == "probable_with_imagery"


def test_imagery_does_not_lift_a_single_account() -> None:
    one = [grade(source_type=T.MEDIA, evidence=frozenset({EvidenceKind.VIDEO}))]
    assert derive(one).certainty is Certainty.POSSIBLE


def test_audio_or_a_document_does_not_confirm() -> None:
    evidence = frozenset({EvidenceKind.AUDIO, EvidenceKind.DOCUMENT})
    grades = [grade("a", T.MEDIA), grade("b", T.MEDIA, evidence=evidence)]
    assert derive(grades).certainty is Certainty.PROBABLE


def test_two_reports_from_one_source_are_not_independent() -> None:
    same = [grade("radio", T.MEDIA), grade("radio", T.MEDIA)]
    assert derive(same).certainty is Certainty.POSSIBLE


def test_a_doubtful_eyewitness_counts_as_second_hand() -> None:
    assert derive([grade(source_type=T.EYEWITNESS, reliability=R.D)]).rule == "one_secondhand"


def test_discredited_reports_count_for_nothing() -> None:
    unreliable = grade(source_type=T.EYEWITNESS, reliability=R.E)
    improbable = grade("b", T.MEDIA, credibility=C.IMPROBABLE)
    decision = derive([unreliable, improbable])
    assert decision.certainty is Certainty.RUMOUR
    assert "2 discredited" in decision.reason


def test_an_untrusted_claim_is_ignored() -> None:
    claim = grade(claimed=Certainty.CONFIRMED, claim_trusted=False)
    assert derive([claim]).certainty is Certainty.RUMOUR


# --- monotonicity ----------------------------------------------------------------------------

grades_strategy = st.builds(
    ReportGrade,
    source=st.sampled_from(["a", "b", "c", "d"]),
    source_type=st.none() | st.sampled_from(list(SourceType)),
    reliability=st.none() | st.sampled_from(list(Reliability)),
    credibility=st.none() | st.sampled_from(list(Credibility)),
    evidence=st.frozensets(st.sampled_from(list(EvidenceKind))),
    claimed=st.none() | st.sampled_from(list(Certainty)),
    claim_trusted=st.booleans(),
)
WEAK_TYPES = [None, SourceType.SOCIAL_MEDIA, SourceType.ANONYMOUS, SourceType.MEDIA]

PROPERTY = hypothesis_settings(max_examples=400, deadline=None)


@PROPERTY
@given(reports=st.lists(grades_strategy, max_size=6), extra=grades_strategy)
def test_adding_a_report_never_lowers_certainty(
    reports: list[ReportGrade], extra: ReportGrade
) -> None:
    before = derive(reports).certainty
    for position in range(len(reports) + 1):
        after = derive([*reports[:position], extra, *reports[position:]]).certainty
        assert after.rank >= before.rank


@PROPERTY
@given(
    reports=st.lists(grades_strategy, max_size=6),
    weak=st.builds(
        ReportGrade,
        source=st.text(max_size=3),
        source_type=st.sampled_from(WEAK_TYPES),
        reliability=st.none() | st.sampled_from([R.D, R.E, R.F]),
        credibility=st.none() | st.sampled_from([C.DOUBTFUL, C.IMPROBABLE, C.CANNOT_BE_JUDGED]),
    ),
)
def test_adding_a_weaker_source_never_lowers_certainty(
    reports: list[ReportGrade], weak: ReportGrade
) -> None:
    assert derive([*reports, weak]).certainty.rank >= derive(reports).certainty.rank


@PROPERTY
@given(reports=st.lists(grades_strategy, max_size=6), data=st.data())
def test_order_of_reports_does_not_matter(reports: list[ReportGrade], data: Any) -> None:
    shuffled = data.draw(st.permutations(reports))
    assert derive(shuffled) == derive(reports)


# --- stored incidents ------------------------------------------------------------------------


def add_actor(db: Database, username: str, *, role: Role, organisation: str = "Alpha") -> Actor:
    db.write(
        lambda s: accounts.add_user(
            s, username, role=role, organisation=organisation, password=None, actor=SYSTEM
        )
    )
    with db.read() as session:
        return accounts.actor_named(session, username)


def report_in(**overrides: Any) -> reports.ReportIn:
    payload: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "source": {"name": "Partner field form", "kind": "form"},
        "occurred_at": "2024-03-01T10:00:00Z",
        "country": "SDN",
        "attack_types": ["Setting fire"],
        "narrative": "Fire set to the clinic's store.",
    }
    payload.update(overrides)
    return reports.ReportIn.model_validate(payload)


def submit(db: Database, report: reports.ReportIn, *, actor: Actor = SYSTEM) -> str:
    return db.write(lambda s: reports.submit(s, report, actor=actor)).incident_id


def incident(db: Database, incident_id: str) -> incidents.Incident:
    with db.read() as session:
        return incidents.get(session, incident_id, actor=SYSTEM)


def test_a_report_s_grade_gives_the_incident_its_certainty(db: Database) -> None:
    media = report_in(source={"name": "Radio Dabanga", "kind": "media"}, source_type="media")
    incident_id = submit(db, media)
    first = incident(db, incident_id)
    assert first.certainty is Certainty.POSSIBLE
    assert "[one_secondhand]" in first.certainty_reason
    assert first.state is IncidentState.RECEIVED

    ngo = report_in(
        incident_id=incident_id,
        source={"name": "Sudan Doctors Network", "kind": "partner"},
        source_type="secondary",
        reliability="B",
        credibility=3,
        evidence_kinds=["photo", "photo"],
    )
    submit(db, ngo)
    joined = incident(db, incident_id)
    assert joined.certainty is Certainty.CONFIRMED
    assert joined.report_count == 2
    assert "[probable_with_imagery]" in joined.certainty_reason

    again = db.write(lambda s: reports.submit(s, ngo, actor=SYSTEM))
    assert not again.created
    assert incident(db, incident_id).report_count == 2
    with db.read() as session:
        stored = reports.get(session, again.report_id, actor=SYSTEM)
    assert stored.reliability is Reliability.B and stored.credibility is Credibility.POSSIBLY_TRUE
    assert stored.evidence_kinds == [EvidenceKind.PHOTO]


def test_a_trusted_dataset_s_own_grading_counts(db: Database) -> None:
    ssa = report_in(source={"name": "WHO SSA export", "kind": "dataset"}, certainty="confirmed")
    assert incident(db, submit(db, ssa)).certainty is Certainty.CONFIRMED
    post = report_in(source={"name": "A Telegram channel", "kind": "social_media"})
    post = post.model_copy(update={"certainty": Certainty.CONFIRMED})
    assert incident(db, submit(db, post)).certainty is Certainty.RUMOUR


def test_allowed_transitions_walk_the_whole_path(db: Database) -> None:
    verifier = add_actor(db, "vera", role=Role.VERIFIER)
    incident_id = submit(db, report_in(), actor=verifier)
    path = [
        (IncidentState.IN_REVIEW, ""),
        (IncidentState.REJECTED, "the photo is from another town"),
        (IncidentState.IN_REVIEW, "a second source came in"),
        (IncidentState.VERIFIED, ""),
        (IncidentState.PUBLISHED, ""),
        (IncidentState.WITHDRAWN, "the facility asked us to take it down"),
    ]
    for to_state, note in path:
        status = db.write(
            lambda s, t=to_state, n=note: verification.transition(
                s, incident_id, to_state=t, note=n, actor=verifier
            )
        )
        assert status.state is to_state
    assert incident(db, incident_id).state is IncidentState.WITHDRAWN


@pytest.mark.parametrize(
    ("walk", "refused"),
    [
        ([], IncidentState.VERIFIED),
        ([], IncidentState.PUBLISHED),
        ([IncidentState.IN_REVIEW], IncidentState.PUBLISHED),
        ([IncidentState.IN_REVIEW, IncidentState.VERIFIED], IncidentState.IN_REVIEW),
        ([IncidentState.IN_REVIEW, IncidentState.REJECTED], IncidentState.VERIFIED),
        ([IncidentState.IN_REVIEW], IncidentState.IN_REVIEW),
    ],
)
def test_other_transitions_are_refused_naming_both_states(
    *, db: Database, walk: list[IncidentState], refused: IncidentState
) -> None:
    incident_id = submit(db, report_in())
    for to_state in walk:
        db.write(
            lambda s, t=to_state: verification.transition(
                s, incident_id, to_state=t, note="moving on with it", actor=SYSTEM
            )
        )
    current = walk[-1] if walk else IncidentState.RECEIVED
    with pytest.raises(Conflict, match=f"from {current} to {refused}"):
        db.write(
            lambda s: verification.transition(
                s, incident_id, to_state=refused, note="", actor=SYSTEM
            )
        )
    assert incident(db, incident_id).state is current


def test_a_withdrawn_incident_is_final(db: Database) -> None:
    incident_id = submit(db, report_in())
    for to_state in ("in_review", "verified", "published", "withdrawn"):
        db.write(
            lambda s, t=to_state: verification.transition(
                s, incident_id, to_state=IncidentState(t), note="step by step", actor=SYSTEM
            )
        )
    for to_state in IncidentState:
        with pytest.raises(Conflict):
            db.write(
                lambda s, t=to_state: verification.transition(
                    s, incident_id, to_state=t, note="again", actor=SYSTEM
                )
            )
    with pytest.raises(Conflict):
        db.write(
            lambda s: verification.override_certainty(
                s, incident_id, certainty=Certainty.RUMOUR, rationale="x" * 20, actor=SYSTEM
            )
        )


def test_rejecting_needs_a_note(db: Database) -> None:
    incident_id = submit(db, report_in())
    db.write(
        lambda s: verification.transition(
            s, incident_id, to_state=IncidentState.IN_REVIEW, note="", actor=SYSTEM
        )
    )
    with pytest.raises(InvalidInput) as caught:
        db.write(
            lambda s: verification.transition(
                s, incident_id, to_state=IncidentState.REJECTED, note="  ", actor=SYSTEM
            )
        )
    assert "note" in caught.value.fields


def test_an_override_needs_a_rationale_and_the_permission(db: Database) -> None:
    verifier = add_actor(db, "vera", role=Role.VERIFIER)
    analyst = add_actor(db, "ana", role=Role.ANALYST)
    incident_id = submit(db, report_in(), actor=verifier)

    with pytest.raises(InvalidInput) as caught:
        db.write(
            lambda s: verification.override_certainty(
                s,
                incident_id,
                certainty=Certainty.PROBABLE,
                rationale=" too short ",
                actor=verifier,
            )
        )
    assert "rationale" in caught.value.fields
    with pytest.raises(PermissionDenied):
        db.write(
            lambda s: verification.override_certainty(
                s,
                incident_id,
                certainty=Certainty.PROBABLE,
                rationale="a long enough rationale",
                actor=analyst,
            )
        )
    assert incident(db, incident_id).certainty is Certainty.RUMOUR

    status = db.write(
        lambda s: verification.override_certainty(
            s,
            incident_id,
            certainty=Certainty.PROBABLE,
            rationale="MSF confirmed it on a call",
            actor=verifier,
        )
    )
    assert status.certainty is Certainty.PROBABLE and status.certainty_overridden
    assert "vera" in status.certainty_reason and "MSF confirmed it" in status.certainty_reason

    media = report_in(incident_id=incident_id, source={"name": "Radio", "kind": "media"})
    submit(db, media.model_copy(update={"source_type": SourceType.MEDIA}))
    kept = incident(db, incident_id)
    assert kept.certainty is Certainty.PROBABLE and kept.certainty_overridden

    approved = db.write(lambda s: verification.approve_certainty(s, incident_id, actor=verifier))
    assert approved.certainty is Certainty.POSSIBLE and not approved.certainty_overridden
    assert "approved by verifier vera" in approved.certainty_reason


def test_another_organisation_s_incident_is_not_found(db: Database) -> None:
    owner = add_actor(db, "rep", role=Role.REPORTER)
    outsider = add_actor(db, "out", role=Role.VERIFIER, organisation="Beta")
    incident_id = submit(db, report_in(), actor=owner)
    steps = [
        lambda s: verification.transition(
            s, incident_id, to_state=IncidentState.IN_REVIEW, note="", actor=outsider
        ),
        lambda s: verification.comment(s, incident_id, text="hello", actor=outsider),
        lambda s: verification.approve_certainty(s, incident_id, actor=outsider),
        lambda s: verification.history(s, incident_id, actor=outsider),
    ]
    for step in steps:
        with pytest.raises(NotFound):
            db.write(step)
    with db.read() as session:
        assert verification.queue(session, actor=outsider) == []


def test_history_is_complete_and_in_order(db: Database) -> None:
    verifier = add_actor(db, "vera", role=Role.VERIFIER)
    incident_id = submit(db, report_in(), actor=verifier)
    submit(db, report_in(incident_id=incident_id), actor=verifier)
    db.write(
        lambda s: verification.transition(
            s, incident_id, to_state=IncidentState.IN_REVIEW, note="starting", actor=verifier
        )
    )
    db.write(
        lambda s: verification.comment(s, incident_id, text="called the clinic", actor=verifier)
    )
    db.write(
        lambda s: verification.override_certainty(
            s,
            incident_id,
            certainty=Certainty.POSSIBLE,
            rationale="clinic confirms",
            actor=verifier,
        )
    )
    db.write(lambda s: verification.approve_certainty(s, incident_id, actor=verifier))
    with db.read() as session:
        entries = verification.history(session, incident_id, actor=verifier)
    assert [e.action for e in entries] == [
        "incident.open",
        "incident.add_report",
        "incident.state",
        "incident.comment",
        "incident.certainty_override",
        "incident.certainty_approve",
    ]
    assert [e.note for e in entries][2:5] == ["starting", "called the clinic", "clinic confirms"]
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert {e.actor for e in entries} == {"vera"}
    assert entries[2].detail["from"] == "received" and entries[2].detail["to"] == "in_review"


def test_queue_lists_received_and_in_review_oldest_first(db: Database) -> None:
    first = submit(db, report_in())
    second = submit(db, report_in(source={"name": "Radio", "kind": "media"}, source_type="media"))
    done = submit(db, report_in())
    for to_state in ("in_review", "verified"):
        db.write(
            lambda s, t=to_state: verification.transition(
                s, done, to_state=IncidentState(t), note="", actor=SYSTEM
            )
        )
    db.write(
        lambda s: verification.transition(
            s, second, to_state=IncidentState.IN_REVIEW, note="", actor=SYSTEM
        )
    )
    with db.read() as session:
        items = verification.queue(session, actor=SYSTEM)
    assert [i.id for i in items] == [first, second]
    assert items[1].state is IncidentState.IN_REVIEW
    assert "[one_secondhand]" in items[1].certainty_reason


# --- the HTTP API ----------------------------------------------------------------------------


def test_api_walks_an_incident_through_verification(
    *, client: TestClient, db: Database, auth: dict[str, str]
) -> None:
    verifier = {"Authorization": f"Bearer {make_token(db, 'api-vera', role=Role.VERIFIER)}"}
    body = report_in(source_type="eyewitness").model_dump(mode="json")
    incident_id = client.post("/api/reports", json=body, headers=auth).json()["incident_id"]

    queue = client.get("/api/verification/queue", headers=verifier)
    assert queue.status_code == 200
    assert [i["id"] for i in queue.json()] == [incident_id]
    assert queue.json()[0]["certainty"] == "confirmed"

    base = f"/api/incidents/{incident_id}"
    moved = client.post(f"{base}/state", json={"to": "in_review"}, headers=verifier)
    assert moved.status_code == 200, moved.text
    assert moved.json()["state"] == "in_review"
    refused = client.post(f"{base}/state", json={"to": "published"}, headers=verifier)
    assert refused.status_code == 409
    assert "from in_review to published" in refused.json()["error"]["message"]

    short = client.post(
        f"{base}/certainty", json={"certainty": "probable", "rationale": "short"}, headers=verifier
    )
    assert short.status_code == 422 and "rationale" in short.json()["error"]["fields"]
    both = client.post(
        f"{base}/certainty", json={"approve": True, "certainty": "probable"}, headers=verifier
    )
    assert both.status_code == 422
    analyst_try = client.post(
        f"{base}/certainty",
        json={"certainty": "probable", "rationale": "analysts may not do this"},
        headers=auth,
    )
    assert analyst_try.status_code == 403
    set_ = client.post(
        f"{base}/certainty",
        json={"certainty": "probable", "rationale": "the witness is the director's cousin"},
        headers=verifier,
    )
    assert set_.status_code == 200 and set_.json()["certainty_overridden"] is True

    comment = client.post(
        f"{base}/comments", json={"text": "asked for the photo"}, headers=verifier
    )
    assert comment.status_code == 201
    history = client.get(f"{base}/history", headers=auth)
    assert history.status_code == 200
    assert [e["action"] for e in history.json()][-3:] == [
        "incident.state",
        "incident.certainty_override",
        "incident.comment",
    ]
    shown = client.get(base, headers=auth).json()
    assert shown["state"] == "in_review" and shown["certainty"] == "probable"
    assert shown["certainty_overridden"] is True

    missing = client.post("/api/incidents/nope/comments", json={"text": "x"}, headers=verifier)
    assert missing.status_code == 404


def test_docs_list_every_rule_with_its_certainty() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "verification.md").read_text("utf-8")
    for rule in RULES:
        assert f"| `{rule.id}` | {rule.certainty.value} |" in text, rule.id


def test_grading_a_stored_report_re_derives_its_incident(db: Database) -> None:
    verifier = add_actor(db, "vera", role=Role.VERIFIER)
    analyst = add_actor(db, "ana", role=Role.ANALYST)
    receipt = db.write(lambda s: reports.submit(s, report_in(), actor=verifier))
    assert incident(db, receipt.incident_id).certainty is Certainty.RUMOUR

    def grade(actor: Actor, reliability: Reliability) -> Any:
        return db.write(
            lambda s: verification.grade_report(
                s,
                receipt.report_id,
                source_type=SourceType.EYEWITNESS,
                reliability=reliability,
                credibility=Credibility.PROBABLY_TRUE,
                evidence_kinds=[EvidenceKind.VIDEO],
                actor=actor,
            )
        )

    with pytest.raises(PermissionDenied):
        grade(analyst, Reliability.A)
    assert grade(verifier, Reliability.A).certainty is Certainty.CONFIRMED
    assert grade(verifier, Reliability.E).certainty is Certainty.RUMOUR
    with db.read() as session:
        actions = [
            e.action for e in verification.history(session, receipt.incident_id, actor=verifier)
        ]
        stored = reports.get(session, receipt.report_id, actor=verifier)
    assert actions.count("incident.grade_report") == 2
    assert stored.reliability is Reliability.E and stored.evidence_kinds == [EvidenceKind.VIDEO]
