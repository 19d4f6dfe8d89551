"""Need-to-know: organisations, TLP labels, sensitivity classes, share rules, country limits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from haven import accounts, policy, reports
from haven.accounts import SYSTEM, Role
from haven.db import Database
from haven.models import OrganisationRow, UserRow
from haven.taxonomy import Sensitivity, Tlp


@dataclass
class World:
    tokens: dict[str, str]
    incidents: dict[str, str]


def _report(*, country: str, tlp: str, sensitivity: str, narrative: str) -> reports.ReportIn:
    return reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "policy test", "kind": "partner"},
            "occurred_at": "2024-04-04T04:04:00Z",
            "country": country,
            "attack_types": ["Setting fire"],
            "tlp": tlp,
            "sensitivity": sensitivity,
            "narrative": narrative,
        }
    )


def _actor_of(db: Database, username: str) -> accounts.Actor:
    with db.read() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == username))
        assert row is not None
        return accounts.actor_for(row)


@pytest.fixture
def world(db: Database) -> World:
    """Org A (Alpha Relief) and org B (Beta Care), their users, and A's incidents."""
    users = {
        "alpha-analyst": dict(role=Role.ANALYST, organisation="Alpha Relief"),
        "beta-analyst": dict(role=Role.ANALYST, organisation="Beta Care"),
        "beta-sdn-focal": dict(role=Role.ANALYST, organisation="Beta Care", countries=("SDN",)),
        "gamma-analyst": dict(role=Role.ANALYST, organisation="Gamma Aid"),
        "site-admin": dict(role=Role.ADMIN, organisation="Instance operators"),
    }
    tokens = {}
    for name, spec in users.items():
        tokens[name] = db.write(
            lambda s, n=name, spec=spec: (
                accounts.add_user(s, n, password=None, actor=SYSTEM, **spec),  # type: ignore[arg-type]
                accounts.create_token(s, n, name="policy", actor=SYSTEM),
            )[1]
        )
    alpha = _actor_of(db, "alpha-analyst")
    cases = {
        "amber": ("PSE", Tlp.AMBER, Sensitivity.HIGH),
        "green": ("PSE", Tlp.GREEN, Sensitivity.MODERATE),
        "green-severe": ("PSE", Tlp.GREEN, Sensitivity.SEVERE),
        "red": ("SDN", Tlp.RED, Sensitivity.HIGH),
        "amber-sdn": ("SDN", Tlp.AMBER, Sensitivity.MODERATE),
    }
    incidents = {}
    for label, (country, tlp, sensitivity) in cases.items():
        receipt = db.write(
            lambda s, c=country, t=tlp, v=sensitivity, lb=label: reports.submit(
                s, _report(country=c, tlp=t, sensitivity=v, narrative=lb), actor=alpha
            )
        )
        incidents[label] = receipt.incident_id
    return World(tokens=tokens, incidents=incidents)


def _visible(client: TestClient, world: World, *, user: str) -> set[str]:
    headers = {"Authorization": f"Bearer {world.tokens[user]}"}
    items = client.get("/api/incidents", headers=headers).json()["items"]
    by_id = {v: k for k, v in world.incidents.items()}
    return {by_id[i["id"]] for i in items}


def test_own_organisation_sees_all_its_records(*, client: TestClient, world: World) -> None:
    assert _visible(client, world, user="alpha-analyst") == set(world.incidents)


def test_others_see_only_community_records(*, client: TestClient, world: World) -> None:
    assert _visible(client, world, user="beta-analyst") == {"green"}
    assert _visible(client, world, user="gamma-analyst") == {"green"}


def test_admin_sees_everything(*, client: TestClient, world: World) -> None:
    assert _visible(client, world, user="site-admin") == set(world.incidents)


def test_share_rule_widens_to_its_label_class_and_countries(
    *, client: TestClient, world: World, db: Database
) -> None:
    def share(session: object, *, countries: tuple[str, ...]) -> None:
        ids = dict(session.execute(select(OrganisationRow.name, OrganisationRow.id)).all())  # type: ignore[attr-defined]
        policy.add_share_rule(
            session,  # type: ignore[arg-type]
            ids["Alpha Relief"],
            to_organisation_id=ids["Beta Care"],
            max_tlp=Tlp.AMBER,
            max_sensitivity=Sensitivity.HIGH,
            countries=countries,
        )

    db.write(lambda s: share(s, countries=()))
    assert _visible(client, world, user="beta-analyst") == {"green", "amber", "amber-sdn"}
    assert _visible(client, world, user="gamma-analyst") == {"green"}  # the rule names Beta only
    assert _visible(client, world, user="beta-sdn-focal") == {"amber-sdn"}


def test_country_focal_point_sees_only_their_country(*, client: TestClient, world: World) -> None:
    assert (
        _visible(client, world, user="beta-sdn-focal") == set()
    )  # nothing in SDN is community-wide


def test_hidden_records_answer_not_found(*, client: TestClient, world: World) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['beta-analyst']}"}
    hidden = client.get(f"/api/incidents/{world.incidents['amber']}", headers=headers)
    missing = client.get(f"/api/incidents/{uuid.uuid4()}", headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"]
    shown = client.get(f"/api/incidents/{world.incidents['green']}", headers=headers)
    assert shown.status_code == 200


def test_reports_follow_the_same_rule(*, client: TestClient, world: World, db: Database) -> None:
    with db.read() as session:
        from haven.models import ReportRow  # noqa: PLC0415

        report_of = {row.incident_id: row.id for row in session.scalars(select(ReportRow))}
    beta = {"Authorization": f"Bearer {world.tokens['beta-analyst']}"}
    assert (
        client.get(f"/api/reports/{report_of[world.incidents['green']]}", headers=beta).status_code
        == 200
    )
    assert (
        client.get(f"/api/reports/{report_of[world.incidents['red']]}", headers=beta).status_code
        == 404
    )


def test_a_report_cannot_join_an_incident_it_cannot_see(*, db: Database, world: World) -> None:
    beta = _actor_of(db, "beta-analyst")
    joining = _report(country="PSE", tlp="amber", sensitivity="high", narrative="join").model_copy(
        update={"incident_id": uuid.UUID(world.incidents["amber"])}
    )
    from haven.errors import NotFound  # noqa: PLC0415

    with pytest.raises(NotFound):
        db.write(lambda s: reports.submit(s, joining, actor=beta))


def test_country_limit_must_be_real_countries(db: Database) -> None:
    from haven.errors import InvalidInput  # noqa: PLC0415

    with pytest.raises(InvalidInput) as caught:
        db.write(
            lambda s: accounts.add_user(
                s,
                "bad-focal",
                role=Role.ANALYST,
                organisation="X",
                password=None,
                actor=SYSTEM,
                countries=("Atlantis",),
            )
        )
    assert "countries" in caught.value.fields
