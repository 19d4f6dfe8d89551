"""The authorisation matrix: every route × every role × own / other organisation.

``MATRIX`` says, for each route of the OpenAPI description, what each caller
must get. The first test fails when a route exists that the matrix does not
cover (or the matrix names a route that no longer exists), so no new route
ships without its access rules written down and checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from haven import accounts, releases, reports
from haven.accounts import SYSTEM, Actor, Permission, Role
from haven.db import Database
from haven.release_policy import ReleasePolicy
from haven.settings import Settings
from tests.support.accountability import fresh_party, own_case, personal_read
from tests.support.corridors import (
    corridor_json,
    evacuation_json,
    stored_corridor,
    stored_plan,
)
from tests.support.evidence import MATRIX_IMAGE, evidence_of
from tests.support.facilities import (
    add_facility,
    add_movement,
    facility_json,
    facility_points,
    movement_json,
)
from tests.support.routing import (
    MATRIX_CLOSURE_JSON,
    matrix_closure,
    matrix_obstruction,
    matrix_route_params,
)

OWN, OTHER = "Alpha Clinic Network", "Beta Relief"
ROLES: list[Role | None] = [None, *Role]  # None: anonymous


@dataclass
class World:
    """Users of every role in both organisations, and records owned by the first."""

    db: Database
    tokens: dict[tuple[Role, str], str]
    incident_id: str
    report_id: str
    published: int
    settings: Settings

    def actor(self, username: str) -> Actor:
        with self.db.read() as session:
            return accounts.actor_named(session, username)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None


def _allowed(role: Role | None, *permissions: Permission) -> bool:
    return role is not None and any(Actor("x", role).can(p) for p in permissions)


def _sees_org_records(role: Role | None, *, same_org: bool) -> bool:
    return same_org or role is Role.ADMIN


def needs(*permissions: Permission, ok: int = 200) -> Callable[[Role | None, bool], int]:
    """Expected status: 401 anonymous, 403 without one of ``permissions``, else ``ok``."""

    def expect(role: Role | None, _same_org: bool) -> int:
        if role is None:
            return 401
        return ok if _allowed(role, *permissions) else 403

    return expect


def org_record(*permissions: Permission) -> Callable[[Role | None, bool], int]:
    """Reading a record of the first organisation (TLP:AMBER): other organisations get 404."""

    def expect(role: Role | None, same_org: bool) -> int:
        if role is None:
            return 401
        if not _allowed(role, Permission.READ_INCIDENTS):
            return 403
        if not _sees_org_records(role, same_org=same_org):
            return 404
        return 200 if all(_allowed(role, p) for p in permissions) else 403

    return expect


def anyone(status: int) -> Callable[[Role | None, bool], int]:
    return lambda _role, _same_org: status


def signed_in(status: int) -> Callable[[Role | None, bool], int]:
    return lambda role, _same_org: 401 if role is None else status


def _points() -> dict[str, Any]:
    """A GeoJSON file of one point, as an admin would import it."""
    point = {"type": "Point", "coordinates": [44.2, 15.35]}
    props = {"id": "matrix-1", "date": "2024-01-15", "country": "YEM"}
    feature = {"type": "Feature", "geometry": point, "properties": props}
    return {"type": "FeatureCollection", "features": [feature]}


def _report_json() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "source": {"name": "matrix test", "kind": "form"},
        "occurred_at": "2024-01-15T08:00:00Z",
        "country": "YEM",
        "attack_types": ["Setting fire"],
        "tlp": "amber",
        "narrative": "matrix narrative",
    }


def _release(world: World, *, stage: str) -> int:
    """A fresh release at ``stage`` (draft, approved, published); returns its version."""
    maker, approver = world.actor("release-maker"), world.actor("release-approver")
    version = world.db.write(
        lambda s: releases.create(s, ReleasePolicy(), title=f"matrix {stage}", actor=maker)
    ).version
    if stage in {"approved", "published"}:
        world.db.write(lambda s: releases.approve(s, version, actor=approver))
    if stage == "published":
        world.db.write(lambda s: releases.publish(s, version, actor=maker))
    return version


def verify_record(ok: int = 200) -> Callable[[Role | None, bool], int]:
    """Acting on the first organisation's incidents: needs ``verify``; other organisations 404."""

    def expect(role: Role | None, same_org: bool) -> int:
        if role is None:
            return 401
        if not _allowed(role, Permission.VERIFY):
            return 403
        return ok if _sees_org_records(role, same_org=same_org) else 404

    return expect


def _incident_pair(world: World) -> tuple[str, str]:
    """Two fresh incidents of the first organisation."""
    with world.db.read() as session:
        owner = accounts.actor_named(session, "reporter-own")
    return tuple(  # type: ignore[return-value]
        world.db.write(
            lambda s: reports.submit(
                s, reports.ReportIn.model_validate(_report_json()), actor=owner
            )
        ).incident_id
        for _ in range(2)
    )


def _suggestion(world: World) -> int:
    from haven.models import MergeSuggestionRow  # noqa: PLC0415 - only the matrix needs it

    first, second = _incident_pair(world)

    def add(session: Any) -> int:
        row = MergeSuggestionRow(incident_id=first, candidate_id=second, score=0.5, features={})
        session.add(row)
        session.flush()
        return int(row.id)

    return world.db.write(add)


def _merge(world: World) -> int:
    from haven import dedup  # noqa: PLC0415 - only the matrix needs it

    first, second = _incident_pair(world)
    return world.db.write(lambda s: dedup.merge(s, first, merged=second, actor=SYSTEM).id)


def _merge_call(world: World) -> Call:
    first, second = _incident_pair(world)
    return Call("POST", f"/api/incidents/{first}/merge", json={"merged": second})


def _custody_call(world: World, call: Call) -> Call:
    """``call``, after making sure the custody log has two leaves and a signed head."""
    from haven import custody  # noqa: PLC0415 - only these entries need it
    from haven.custody import Act, NewLeaf  # noqa: PLC0415

    settings = world.settings
    assert settings is not None

    def fill(session: Any) -> None:
        if custody.tree_size(session) < 2:
            items = [NewLeaf(Act.AUDIT_PINNED, "audit", str(i)) for i in range(2)]
            custody.append_many(session, items, actor=SYSTEM)
        custody.sign_head(session, settings)

    world.db.write(fill)
    return call


def _fresh_incident(world: World) -> str:
    """A new incident of the first organisation, still ``received`` (for state changes)."""
    owner = world.actor("reporter-own")
    report = reports.ReportIn.model_validate(_report_json())
    return world.db.write(lambda s: reports.submit(s, report, actor=owner)).incident_id


def _case_removal(world: World) -> Call:
    """Remove the second of a fresh two-incident case of the first organisation."""
    from haven import cases  # noqa: PLC0415 - only the matrix needs it

    extra = _fresh_incident(world)
    data = cases.CaseIn(title="Matrix case (fictional)", incident_ids=[world.incident_id, extra])
    case_id = world.db.write(
        lambda s: cases.open_case(s, data, actor=world.actor("verifier-own"))
    ).id
    body = {"incident_ids": [extra], "reason": "matrix removal"}
    return Call("POST", f"/api/cases/{case_id}/incidents/remove", json=body)


def _notification_json(world: World) -> dict[str, Any]:
    """A draft notification of one fictional site to a fresh party (made by the operator)."""
    from haven import parties  # noqa: PLC0415 - only the matrix needs it

    site = add_facility(world.db)
    party = world.db.write(
        lambda s: parties.add(
            s,
            parties.PartyIn(name=f"Matrix party {uuid.uuid4().hex}", sites=[site]),
            actor=SYSTEM,
        )
    )
    expires = datetime.now(UTC) + timedelta(days=30)
    return {"party_id": party.id, "kind": "sites", "expires_at": expires.isoformat()}


def _notification(world: World, *, send: bool) -> int:
    """A fresh notification (a draft, or sent) of the operator's."""
    from haven import notifications  # noqa: PLC0415 - only the matrix needs it

    data = notifications.NotificationIn.model_validate(_notification_json(world))
    made = world.db.write(
        lambda s: notifications.create(s, data, actor=SYSTEM, settings=world.settings)
    )
    if send:
        world.db.write(
            lambda s: notifications.send(s, made.id, actor=SYSTEM, settings=world.settings)
        )
    return made.id


def _alert(world: World) -> int:
    """An alert on the first organisation's incident (TLP:AMBER)."""
    from haven.models import AlertRow  # noqa: PLC0415 - only the matrix needs it

    site = add_facility(world.db)

    def add(session: Any) -> int:
        row = AlertRow(
            incident_id=world.incident_id,
            subject=f"facility:{site}",
            facility_id=site,
            distance_m=120.0,
            radius_m=2000,
        )
        session.add(row)
        session.flush()
        return int(row.id)

    return world.db.write(add)


P = Permission
MATRIX: dict[
    tuple[str, str], tuple[Callable[[World], Call], Callable[[Role | None, bool], int]]
] = {
    ("GET", "/api/health"): (lambda w: Call("GET", "/api/health"), anyone(200)),
    ("POST", "/api/reports"): (
        lambda w: Call("POST", "/api/reports", json=_report_json()),
        needs(P.SUBMIT_REPORT, ok=201),
    ),
    ("GET", "/api/reports/{report_id}"): (
        lambda w: Call("GET", f"/api/reports/{w.report_id}"),
        org_record(),
    ),
    ("GET", "/api/incidents"): (lambda w: Call("GET", "/api/incidents"), needs(P.READ_INCIDENTS)),
    ("GET", "/api/incidents/{incident_id}"): (
        lambda w: Call("GET", f"/api/incidents/{w.incident_id}"),
        org_record(),
    ),
    ("POST", "/api/login"): (
        lambda w: Call(
            "POST", "/api/login", json={"username": "matrix-login", "password": "a long passphrase"}
        ),
        anyone(200),
    ),
    ("POST", "/api/logout"): (lambda w: Call("POST", "/api/logout"), anyone(401)),
    ("GET", "/api/me"): (lambda w: Call("GET", "/api/me"), signed_in(200)),
    ("POST", "/api/releases/preview"): (
        lambda w: Call("POST", "/api/releases/preview", json={}),
        needs(P.PREPARE_RELEASE),
    ),
    ("POST", "/api/releases/drafts"): (
        lambda w: Call("POST", "/api/releases/drafts", json={"title": "matrix draft"}),
        needs(P.PREPARE_RELEASE, ok=201),
    ),
    ("GET", "/api/releases"): (
        lambda w: Call("GET", "/api/releases"),
        needs(P.PREPARE_RELEASE, P.APPROVE_RELEASE),
    ),
    ("GET", "/api/releases/{version}"): (
        lambda w: Call("GET", f"/api/releases/{w.published}"),
        needs(P.PREPARE_RELEASE, P.APPROVE_RELEASE),
    ),
    ("GET", "/api/releases/{version}/content"): (
        lambda w: Call("GET", f"/api/releases/{w.published}/content"),
        needs(P.PREPARE_RELEASE, P.APPROVE_RELEASE),
    ),
    ("POST", "/api/releases/{version}/approve"): (
        lambda w: Call("POST", f"/api/releases/{_release(w, stage='draft')}/approve"),
        needs(P.APPROVE_RELEASE),
    ),
    ("POST", "/api/releases/{version}/publish"): (
        lambda w: Call("POST", f"/api/releases/{_release(w, stage='approved')}/publish"),
        needs(P.PREPARE_RELEASE),
    ),
    ("POST", "/api/releases/{version}/withdraw"): (
        lambda w: Call(
            "POST",
            f"/api/releases/{_release(w, stage='published')}/withdraw",
            json={"reason": "matrix withdrawal"},
        ),
        needs(P.PREPARE_RELEASE, P.APPROVE_RELEASE),
    ),
    ("GET", "/api/public/releases"): (lambda w: Call("GET", "/api/public/releases"), anyone(200)),
    ("POST", "/api/incidents/{incident_id}/state"): (
        lambda w: Call(
            "POST", f"/api/incidents/{_fresh_incident(w)}/state", json={"to": "in_review"}
        ),
        verify_record(),
    ),
    ("POST", "/api/incidents/{incident_id}/certainty"): (
        lambda w: Call(
            "POST",
            f"/api/incidents/{_fresh_incident(w)}/certainty",
            json={"certainty": "possible", "rationale": "matrix override rationale"},
        ),
        verify_record(),
    ),
    ("POST", "/api/incidents/{incident_id}/comments"): (
        lambda w: Call(
            "POST", f"/api/incidents/{w.incident_id}/comments", json={"text": "matrix comment"}
        ),
        verify_record(ok=201),
    ),
    ("POST", "/api/reports/{report_id}/grade"): (
        lambda w: Call(
            "POST",
            f"/api/reports/{w.report_id}/grade",
            json={"source_type": "eyewitness", "reliability": "B", "credibility": 2},
        ),
        verify_record(),
    ),
    ("GET", "/api/incidents/{incident_id}/history"): (
        lambda w: Call("GET", f"/api/incidents/{w.incident_id}/history"),
        org_record(),
    ),
    ("GET", "/api/verification/queue"): (
        lambda w: Call("GET", "/api/verification/queue"),
        needs(P.VERIFY),
    ),
    ("GET", "/api/public/corrections"): (
        lambda w: Call("GET", "/api/public/corrections"),
        anyone(200),
    ),
    ("GET", "/api/public/releases/{version}"): (
        lambda w: Call("GET", f"/api/public/releases/{w.published}"),
        anyone(200),
    ),
    ("GET", "/api/public/releases/{version}/incidents"): (
        lambda w: Call("GET", f"/api/public/releases/{w.published}/incidents"),
        anyone(200),
    ),
    ("GET", "/api/public/releases/{version}/aggregates"): (
        lambda w: Call("GET", f"/api/public/releases/{w.published}/aggregates"),
        anyone(200),
    ),
    ("GET", "/api/public/releases/{version}/export.csv"): (
        lambda w: Call("GET", f"/api/public/releases/{w.published}/export.csv"),
        anyone(200),
    ),
    ("GET", "/api/public/releases/{version}/export.geojson"): (
        lambda w: Call("GET", f"/api/public/releases/{w.published}/export.geojson"),
        anyone(200),
    ),
    ("GET", "/api/public/releases/{version}/export.xlsx"): (
        lambda w: Call("GET", f"/api/public/releases/{w.published}/export.xlsx"),
        anyone(200),
    ),
    ("POST", "/api/imports"): (
        lambda w: Call("POST", "/api/imports", params={"format": "geojson"}, json=_points()),
        needs(P.IMPORT_DATA),
    ),
    ("GET", "/api/duplicates/suggestions"): (
        lambda w: Call("GET", "/api/duplicates/suggestions"),
        needs(P.VERIFY),
    ),
    ("POST", "/api/duplicates/suggestions/{suggestion_id}/decision"): (
        lambda w: Call(
            "POST",
            f"/api/duplicates/suggestions/{_suggestion(w)}/decision",
            json={"verdict": "reject"},
        ),
        verify_record(),
    ),
    ("POST", "/api/incidents/{incident_id}/merge"): (_merge_call, verify_record()),
    ("POST", "/api/merges/{merge_id}/undo"): (
        lambda w: Call("POST", f"/api/merges/{_merge(w)}/undo"),
        verify_record(),
    ),
    ("POST", "/api/incidents/{incident_id}/evidence"): (
        lambda w: Call(
            "POST",
            f"/api/incidents/{w.incident_id}/evidence",
            params={"filename": "matrix.png"},
            content=MATRIX_IMAGE,
            content_type="image/png",
        ),
        lambda role, same_org: (
            401
            if role is None
            else 403
            if not _allowed(role, P.SUBMIT_REPORT)
            else 201
            if _sees_org_records(role, same_org=same_org)
            else 404
        ),
    ),
    ("GET", "/api/incidents/{incident_id}/evidence"): (
        lambda w: Call("GET", f"/api/incidents/{w.incident_id}/evidence"),
        org_record(),
    ),
    ("GET", "/api/evidence/{evidence_id}"): (
        lambda w: Call("GET", f"/api/evidence/{evidence_of(w)}"),
        org_record(),
    ),
    ("GET", "/api/evidence/{evidence_id}/content"): (
        lambda w: Call("GET", f"/api/evidence/{evidence_of(w)}/content"),
        org_record(),
    ),
    ("POST", "/api/evidence/{evidence_id}/derive"): (
        lambda w: Call(
            "POST", f"/api/evidence/{evidence_of(w)}/derive", json={"kind": "thumbnail"}
        ),
        verify_record(ok=201),
    ),
    ("GET", "/api/facilities"): (lambda w: Call("GET", "/api/facilities"), needs(P.READ_INCIDENTS)),
    ("POST", "/api/facilities"): (
        lambda w: Call("POST", "/api/facilities", json=facility_json()),
        needs(P.MANAGE_FACILITIES, ok=201),
    ),
    ("GET", "/api/facilities/{facility_id}"): (
        lambda w: Call("GET", f"/api/facilities/{add_facility(w.db)}"),
        needs(P.READ_INCIDENTS),
    ),
    ("PATCH", "/api/facilities/{facility_id}"): (
        lambda w: Call("PATCH", f"/api/facilities/{add_facility(w.db)}", json={"beds": 30}),
        needs(P.MANAGE_FACILITIES),
    ),
    ("GET", "/api/facilities/{facility_id}/focal-points"): (
        lambda w: Call(
            "GET",
            f"/api/facilities/{add_facility(w.db)}/focal-points",
            params={"purpose": "matrix check"},
        ),
        needs(P.READ_SENSITIVE),
    ),
    ("GET", "/api/facilities/{facility_id}/statuses"): (
        lambda w: Call("GET", f"/api/facilities/{add_facility(w.db)}/statuses"),
        needs(P.READ_INCIDENTS),
    ),
    ("POST", "/api/facilities/{facility_id}/statuses"): (
        lambda w: Call(
            "POST", f"/api/facilities/{add_facility(w.db)}/statuses", json={"status": "operational"}
        ),
        needs(P.MANAGE_FACILITIES, ok=201),
    ),
    ("POST", "/api/facilities/import"): (
        lambda w: Call(
            "POST",
            "/api/facilities/import",
            params={"format": "geojson", "country": "YEM"},
            json=facility_points(),
        ),
        needs(P.IMPORT_DATA),
    ),
    ("POST", "/api/movements"): (
        lambda w: Call("POST", "/api/movements", json=movement_json()),
        needs(P.MANAGE_FACILITIES, ok=201),
    ),
    ("GET", "/api/movements"): (lambda w: Call("GET", "/api/movements"), needs(P.READ_INCIDENTS)),
    ("GET", "/api/movements/{movement_id}"): (
        lambda w: Call("GET", f"/api/movements/{add_movement(w.db)}"),
        needs(P.READ_INCIDENTS),
    ),
    ("POST", "/api/movements/{movement_id}/status"): (
        lambda w: Call(
            "POST", f"/api/movements/{add_movement(w.db)}/status", json={"status": "under_way"}
        ),
        needs(P.MANAGE_FACILITIES),
    ),
    ("GET", "/api/incidents/{incident_id}/linkage"): (
        lambda w: Call("GET", f"/api/incidents/{w.incident_id}/linkage"),
        org_record(),
    ),
    ("GET", "/api/parties"): (lambda w: Call("GET", "/api/parties"), needs(P.NOTIFY)),
    ("POST", "/api/parties"): (
        lambda w: Call("POST", "/api/parties", json={"name": f"Matrix party {uuid.uuid4().hex}"}),
        needs(P.NOTIFY, ok=201),
    ),
    ("GET", "/api/notifications"): (
        lambda w: Call("GET", "/api/notifications"),
        needs(P.NOTIFY),
    ),
    ("POST", "/api/notifications"): (
        lambda w: Call("POST", "/api/notifications", json=_notification_json(w)),
        needs(P.NOTIFY, ok=201),
    ),
    ("GET", "/api/notifications/{notification_id}"): (
        lambda w: Call("GET", f"/api/notifications/{_notification(w, send=False)}"),
        needs(P.NOTIFY),
    ),
    ("POST", "/api/notifications/{notification_id}/send"): (
        lambda w: Call("POST", f"/api/notifications/{_notification(w, send=False)}/send"),
        needs(P.NOTIFY),
    ),
    ("POST", "/api/notifications/{notification_id}/acknowledge"): (
        lambda w: Call(
            "POST",
            f"/api/notifications/{_notification(w, send=True)}/acknowledge",
            json={"by": "Matrix desk", "channel": "email"},
        ),
        needs(P.NOTIFY),
    ),
    ("POST", "/api/notifications/{notification_id}/update"): (
        lambda w: Call(
            "POST",
            f"/api/notifications/{_notification(w, send=True)}/update",
            json={"reason": "matrix update"},
        ),
        needs(P.NOTIFY),
    ),
    ("POST", "/api/notifications/{notification_id}/withdraw"): (
        lambda w: Call(
            "POST",
            f"/api/notifications/{_notification(w, send=False)}/withdraw",
            json={"reason": "matrix withdrawal"},
        ),
        needs(P.NOTIFY),
    ),
    ("GET", "/api/notifications/{notification_id}/export"): (
        lambda w: Call(
            "GET",
            f"/api/notifications/{_notification(w, send=True)}/export",
            params={"format": "kml"},
        ),
        needs(P.NOTIFY),
    ),
    ("GET", "/api/incidents/{incident_id}/notified"): (
        lambda w: Call("GET", f"/api/incidents/{w.incident_id}/notified"),
        org_record(),
    ),
    ("GET", "/api/alerts"): (lambda w: Call("GET", "/api/alerts"), needs(P.READ_INCIDENTS)),
    ("GET", "/api/alerts.cap"): (lambda w: Call("GET", "/api/alerts.cap"), needs(P.READ_INCIDENTS)),
    ("GET", "/api/alerts/{alert_id}/cap"): (
        lambda w: Call("GET", f"/api/alerts/{_alert(w)}/cap"),
        org_record(),
    ),
    ("GET", "/api/public/custody/heads"): (
        lambda w: Call("GET", "/api/public/custody/heads"),
        anyone(200),
    ),
    ("GET", "/api/public/custody/heads/latest"): (
        lambda w: _custody_call(w, Call("GET", "/api/public/custody/heads/latest")),
        anyone(200),
    ),
    ("GET", "/api/public/custody/keys"): (
        lambda w: Call("GET", "/api/public/custody/keys"),
        anyone(200),
    ),
    ("GET", "/api/public/custody/consistency"): (
        lambda w: _custody_call(
            w, Call("GET", "/api/public/custody/consistency", params={"first": 1, "second": 2})
        ),
        anyone(200),
    ),
    ("POST", "/api/custody/heads"): (
        lambda w: Call("POST", "/api/custody/heads"),
        needs(P.VERIFY, ok=201),
    ),
    ("GET", "/api/custody/leaves/{index}"): (
        lambda w: _custody_call(w, Call("GET", "/api/custody/leaves/0")),
        needs(P.VERIFY),
    ),
    ("GET", "/api/custody/leaves/{index}/proof"): (
        lambda w: _custody_call(
            w, Call("GET", "/api/custody/leaves/0/proof", params={"tree_size": 2})
        ),
        needs(P.VERIFY),
    ),
    ("GET", "/api/custody/entities/{entity_type}/{entity_id}"): (
        lambda w: Call("GET", f"/api/custody/entities/incident/{w.incident_id}"),
        needs(P.VERIFY),
    ),
    ("POST", "/api/incidents/{incident_id}/package"): (
        lambda w: Call("POST", f"/api/incidents/{w.incident_id}/package"),
        verify_record(),
    ),
    ("POST", "/api/sms"): (  # signed by the gateway's secret, not a token; unset here: off
        lambda w: Call(
            "POST", "/api/sms", json={"from": "+000 555", "text": "ATK 1 HW", "message_id": "1"}
        ),
        anyone(404),
    ),
    ("GET", "/api/hotspots"): (
        lambda w: Call("GET", "/api/hotspots", params={"since": "2020-01"}),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/forecast/units"): (
        lambda w: Call("GET", "/api/forecast/units"),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/forecast/facilities"): (
        lambda w: Call("GET", "/api/forecast/facilities"),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/forecast/facilities/{facility_id}"): (
        lambda w: Call("GET", f"/api/forecast/facilities/{add_facility(w.db)}"),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/public/indicators"): (
        lambda w: Call(
            "GET", "/api/public/indicators", params={"version": w.published, "period": "2024"}
        ),
        anyone(200),
    ),
    ("GET", "/api/indicators"): (
        lambda w: Call("GET", "/api/indicators", params={"period": "2024"}),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/corridors"): (lambda w: Call("GET", "/api/corridors"), needs(P.READ_INCIDENTS)),
    ("POST", "/api/corridors"): (  # allowed callers reach the router: no network in this world
        lambda w: Call("POST", "/api/corridors", json=corridor_json()),
        needs(P.MANAGE_FACILITIES, ok=404),
    ),
    ("GET", "/api/corridors/kpis"): (
        lambda w: Call(
            "GET", "/api/corridors/kpis", params={"since": "2026-01-01", "until": "2026-02-01"}
        ),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/corridors/{corridor_id}"): (
        lambda w: Call("GET", f"/api/corridors/{stored_corridor(w.db)}"),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/corridors/{corridor_id}/history"): (
        lambda w: Call("GET", f"/api/corridors/{stored_corridor(w.db)}/history"),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/corridors/{corridor_id}/observations"): (
        lambda w: Call("GET", f"/api/corridors/{stored_corridor(w.db)}/observations"),
        needs(P.READ_INCIDENTS),
    ),
    ("PATCH", "/api/corridors/{corridor_id}"): (
        lambda w: Call(
            "PATCH", f"/api/corridors/{stored_corridor(w.db)}", json={"description": "matrix"}
        ),
        needs(P.MANAGE_FACILITIES),
    ),
    ("POST", "/api/corridors/{corridor_id}/status"): (
        lambda w: Call(
            "POST",
            f"/api/corridors/{stored_corridor(w.db)}/status",
            json={"status": "restricted", "reason": "matrix check"},
        ),
        needs(P.MANAGE_FACILITIES),
    ),
    ("POST", "/api/corridors/check"): (
        lambda w: Call("POST", "/api/corridors/check", params={"corridor_id": 2**31 - 1}),
        needs(P.MANAGE_FACILITIES, ok=404),
    ),
    ("POST", "/api/evacuation/plan"): (  # allowed callers reach the router: no network
        lambda w: Call("POST", "/api/evacuation/plan", json=evacuation_json(w.db)),
        needs(P.MANAGE_FACILITIES, ok=404),
    ),
    ("GET", "/api/evacuation/plans/{plan_id}"): (
        lambda w: Call("GET", f"/api/evacuation/plans/{stored_plan(w.db)}"),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/route"): (
        lambda w: Call("GET", "/api/route", params=matrix_route_params(w.db, w.settings)),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/roads"): (lambda w: Call("GET", "/api/roads"), needs(P.READ_INCIDENTS)),
    ("GET", "/api/closures"): (lambda w: Call("GET", "/api/closures"), needs(P.READ_INCIDENTS)),
    ("POST", "/api/closures"): (
        lambda w: Call("POST", "/api/closures", json=MATRIX_CLOSURE_JSON),
        needs(P.MANAGE_FACILITIES, ok=201),
    ),
    ("GET", "/api/closures/{closure_id}"): (
        lambda w: Call("GET", f"/api/closures/{matrix_closure(w.db)}"),
        needs(P.READ_INCIDENTS),
    ),
    ("POST", "/api/closures/{closure_id}/end"): (
        lambda w: Call("POST", f"/api/closures/{matrix_closure(w.db)}/end"),
        needs(P.MANAGE_FACILITIES),
    ),
    ("GET", "/api/parties/{party_id}/commitments"): (
        lambda w: Call("GET", f"/api/parties/{fresh_party(w.db)}/commitments"),
        needs(P.READ_INCIDENTS),
    ),
    ("POST", "/api/parties/{party_id}/commitments"): (
        lambda w: Call(
            "POST",
            f"/api/parties/{fresh_party(w.db)}/commitments",
            json={"kind": "declaration", "title": "Matrix pledge", "reference": "M/1"},
        ),
        needs(P.NOTIFY, ok=201),
    ),
    ("POST", "/api/parties/{party_id}/type"): (
        lambda w: Call(
            "POST", f"/api/parties/{fresh_party(w.db)}/type", json={"party_type": "other"}
        ),
        needs(P.NOTIFY),
    ),
    ("GET", "/api/parties/{party_id}/compliance"): (
        lambda w: Call("GET", f"/api/parties/{fresh_party(w.db)}/compliance"),
        needs(P.READ_INCIDENTS),
    ),
    ("GET", "/api/incidents/{incident_id}/attributions"): (
        lambda w: Call("GET", f"/api/incidents/{w.incident_id}/attributions"),
        org_record(),
    ),
    ("POST", "/api/incidents/{incident_id}/attributions"): (
        lambda w: Call(
            "POST",
            f"/api/incidents/{w.incident_id}/attributions",
            json={
                "party_id": fresh_party(w.db),
                "source": "matrix source",
                "basis": "matrix basis",
                "certainty": "possible",
            },
        ),
        verify_record(ok=201),
    ),
    ("GET", "/api/cases"): (lambda w: Call("GET", "/api/cases"), needs(P.VERIFY)),
    ("POST", "/api/cases"): (
        lambda w: Call(
            "POST", "/api/cases", json={"title": "Matrix case", "incident_ids": [w.incident_id]}
        ),
        verify_record(ok=201),
    ),
    ("GET", "/api/cases/due"): (lambda w: Call("GET", "/api/cases/due"), needs(P.VERIFY)),
    ("GET", "/api/cases/{case_id}"): (
        lambda w: Call(
            "GET", f"/api/cases/{own_case(w.db, w.incident_id, actor=w.actor('verifier-own'))}"
        ),
        verify_record(),
    ),
    ("POST", "/api/cases/{case_id}/events"): (
        lambda w: Call(
            "POST",
            f"/api/cases/{own_case(w.db, w.incident_id, actor=w.actor('verifier-own'))}/events",
            json={"kind": "note", "summary": "matrix note"},
        ),
        verify_record(ok=201),
    ),
    ("POST", "/api/cases/{case_id}/incidents"): (
        lambda w: Call(
            "POST",
            f"/api/cases/{own_case(w.db, w.incident_id, actor=w.actor('verifier-own'))}/incidents",
            json={"incident_ids": [_fresh_incident(w)]},
        ),
        verify_record(),
    ),
    ("POST", "/api/cases/{case_id}/status"): (
        lambda w: Call(
            "POST",
            f"/api/cases/{own_case(w.db, w.incident_id, actor=w.actor('verifier-own'))}/status",
            json={"status": "closed", "outcome": "inconclusive"},
        ),
        verify_record(),
    ),
    ("GET", "/api/cases/{case_id}/events/{event_id}/personal"): (
        lambda w: Call(
            "GET",
            "/api/cases/"
            + own_case(w.db, w.incident_id, actor=w.actor("verifier-own"), personal=True)
            + "/personal",
            params={"purpose": "matrix check"},
        ),
        personal_read,
    ),
    ("POST", "/api/cases/{case_id}/export"): (
        lambda w: Call(
            "POST",
            f"/api/cases/{own_case(w.db, w.incident_id, actor=w.actor('verifier-own'))}/export",
        ),
        verify_record(),
    ),
    ("GET", "/api/evacuation/plans"): (
        lambda w: Call("GET", "/api/evacuation/plans"),
        needs(P.READ_INCIDENTS),
    ),
    ("POST", "/api/cases/{case_id}/amend"): (
        lambda w: Call(
            "POST",
            f"/api/cases/{own_case(w.db, w.incident_id, actor=w.actor('verifier-own'))}/amend",
            json={"title": "Matrix case, amended (fictional)", "reason": "matrix amendment"},
        ),
        verify_record(),
    ),
    ("POST", "/api/cases/{case_id}/incidents/remove"): (_case_removal, verify_record()),
    ("GET", "/api/closures/proposals"): (
        lambda w: (
            matrix_obstruction(w.db, w.settings),
            Call("GET", "/api/closures/proposals"),
        )[1],
        needs(P.READ_INCIDENTS),
    ),
    ("POST", "/api/closures/proposals/{incident_id}/accept"): (
        lambda w: Call(
            "POST",
            f"/api/closures/proposals/{matrix_obstruction(w.db, w.settings)}/accept",
            json={"kind": "checkpoint"},
        ),
        needs(P.MANAGE_FACILITIES, ok=201),
    ),
    ("POST", "/api/closures/proposals/{incident_id}/dismiss"): (
        lambda w: Call(
            "POST",
            f"/api/closures/proposals/{matrix_obstruction(w.db, w.settings)}/dismiss",
            json={"reason": "matrix dismissal"},
        ),
        needs(P.MANAGE_FACILITIES),
    ),
}

SENSITIVE_VARIANTS: dict[tuple[str, str], Callable[[World], Call]] = {
    ("GET", "/api/reports/{report_id}"): lambda w: Call(
        "GET", f"/api/reports/{w.report_id}", params={"purpose": "matrix check"}
    ),
    ("GET", "/api/incidents/{incident_id}"): lambda w: Call(
        "GET", f"/api/incidents/{w.incident_id}", params={"purpose": "matrix check"}
    ),
    ("GET", "/api/evidence/{evidence_id}"): lambda w: Call(
        "GET", f"/api/evidence/{evidence_of(w)}", params={"purpose": "matrix check"}
    ),
}
"""Reads that also open encrypted fields: they need ``read_sensitive`` on top."""


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    tokens: dict[tuple[Role, str], str] = {}
    for org in (OWN, OTHER):
        for role in Role:
            name = f"{role.value}-{'own' if org == OWN else 'other'}"
            tokens[(role, org)] = db.write(
                lambda s, n=name, r=role, o=org: (
                    accounts.add_user(s, n, role=r, organisation=o, password=None, actor=SYSTEM),
                    accounts.create_token(s, n, name="matrix", actor=SYSTEM),
                )[1]
            )
    for name, role in (("release-maker", Role.ANALYST), ("release-approver", Role.COORDINATOR)):
        db.write(
            lambda s, n=name, r=role: accounts.add_user(
                s, n, role=r, organisation=OWN, password=None, actor=SYSTEM
            )
        )
    db.write(
        lambda s: accounts.add_user(
            s,
            "matrix-login",
            role=Role.REPORTER,
            organisation=OWN,
            password="a long passphrase",
            actor=SYSTEM,
        )
    )
    with db.read() as session:
        owner = accounts.actor_named(session, "reporter-own")
    receipt = db.write(
        lambda s: reports.submit(s, reports.ReportIn.model_validate(_report_json()), actor=owner)
    )
    world = World(
        db=db,
        tokens=tokens,
        incident_id=receipt.incident_id,
        report_id=receipt.report_id,
        published=0,
        settings=settings,
    )
    world.published = _release(world, stage="published")
    return world


def _spec_routes(client: TestClient) -> set[tuple[str, str]]:
    spec = client.get("/api/openapi.json").json()
    return {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}


def test_matrix_covers_every_route(client: TestClient) -> None:
    routes = _spec_routes(client)
    assert routes - set(MATRIX) == set(), "routes without access rules in MATRIX"
    assert set(MATRIX) - routes == set(), "MATRIX names routes that no longer exist"


def _check(
    client: TestClient, world: World, *, build: Callable[[World], Call], expect: Any
) -> list[str]:
    wrong = []
    for role in ROLES:
        for org in (OWN, OTHER):
            if role is None and org == OTHER:
                continue
            call = build(world)
            client.cookies.clear()
            headers = (
                {} if role is None else {"Authorization": f"Bearer {world.tokens[(role, org)]}"}
            )
            if call.content_type:
                headers["Content-Type"] = call.content_type
            response = client.request(
                call.method,
                call.path,
                params=call.params,
                json=call.json,
                content=call.content,
                headers=headers,
            )
            wanted = expect(role, org == OWN)
            if response.status_code != wanted:
                who = (
                    "anonymous"
                    if role is None
                    else f"{role.value} ({'own' if org == OWN else 'other'} org)"
                )
                wrong.append(
                    f"{call.method} {call.path} as {who}: {response.status_code}, want {wanted}"
                )
    return wrong


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_answers_each_caller_as_the_matrix_says(
    *, route: tuple[str, str], client: TestClient, world: World
) -> None:
    build, expect = MATRIX[route]
    assert _check(client, world, build=build, expect=expect) == []


@pytest.mark.parametrize("route", sorted(SENSITIVE_VARIANTS), ids=lambda r: f"{r[0]} {r[1]}")
def test_opening_encrypted_fields_needs_read_sensitive(
    *, route: tuple[str, str], client: TestClient, world: World
) -> None:
    expect = org_record(Permission.READ_SENSITIVE)
    assert _check(client, world, build=SENSITIVE_VARIANTS[route], expect=expect) == []
