"""Scoped, expiring, revocable API tokens: the API, the library and ``haven token create``."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from haven import accounts
from haven.accounts import SYSTEM, Actor, Permission, Role
from haven.db import Database
from haven.errors import InvalidInput, PermissionDenied
from haven.models import ApiTokenRow, AuditEventRow, utcnow
from haven.settings import Settings
from tests.conftest import make_token

HAVEN = Path(sys.executable).parent / "haven"


def _token(
    db: Database,
    username: str,
    *,
    scopes: set[Permission] | None = None,
    expires_in: timedelta | None = None,
) -> str:
    make_token(db, username)  # the user (an analyst) and an unscoped token
    expires_at = utcnow() + expires_in if expires_in else None
    return db.write(
        lambda s: accounts.create_token(
            s,
            username,
            name="scoped",
            actor=SYSTEM,
            scopes=frozenset(scopes) if scopes is not None else None,
            expires_at=expires_at,
        )
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_actor_can_only_use_the_intersection_of_role_and_scopes() -> None:
    scoped = Actor(label="a", role=Role.ANALYST, scopes=frozenset({Permission.SUBMIT_REPORT}))
    assert scoped.can(Permission.SUBMIT_REPORT)
    assert not scoped.can(Permission.READ_INCIDENTS)  # the role has it, the token does not
    wide = Actor(label="r", role=Role.REPORTER, scopes=frozenset(Permission))
    assert not wide.can(Permission.READ_INCIDENTS)  # the token has it, the role does not
    with pytest.raises(PermissionDenied, match="scopes do not include read_incidents"):
        accounts.require(scoped, Permission.READ_INCIDENTS)
    with pytest.raises(PermissionDenied, match="reporter role may not"):
        accounts.require(wide, Permission.READ_INCIDENTS)


def test_scoped_token_is_refused_outside_its_scopes(client: TestClient, db: Database) -> None:
    token = _token(db, "tablet", scopes={Permission.SUBMIT_REPORT})
    refused = client.get("/api/incidents", headers=_bearer(token))
    assert refused.status_code == 403
    assert "scopes" in refused.json()["error"]["message"]
    me = client.get("/api/me", headers=_bearer(token)).json()
    assert me["permissions"] == ["submit_report"] and me["auth"] == "token"


def test_scoped_token_works_inside_its_scopes(client: TestClient, db: Database) -> None:
    token = _token(db, "reader", scopes={Permission.READ_INCIDENTS})
    assert client.get("/api/incidents", headers=_bearer(token)).status_code == 200


def test_scopes_must_be_granted_by_the_role(db: Database) -> None:
    make_token(db, "field", role=Role.REPORTER)
    with pytest.raises(InvalidInput, match="reporter role does not grant read_incidents"):
        db.write(
            lambda s: accounts.create_token(
                s,
                "field",
                name="x",
                actor=SYSTEM,
                scopes=frozenset({Permission.READ_INCIDENTS}),
            )
        )


def test_expired_token_gets_401(client: TestClient, db: Database) -> None:
    token = _token(db, "tablet", expires_in=timedelta(hours=1))
    assert client.get("/api/incidents", headers=_bearer(token)).status_code == 200
    with db.write_engine.begin() as connection:
        connection.execute(
            text("UPDATE api_tokens SET expires_at = :past WHERE name = 'scoped'"),
            {"past": "2000-01-01 00:00:00"},
        )
    client.app.state.tokens.clear()  # type: ignore[attr-defined]  # forget the checked token
    expired = client.get("/api/incidents", headers=_bearer(token))
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == "expired API token"


def test_a_token_cannot_be_born_expired(db: Database) -> None:
    with pytest.raises(InvalidInput, match="already be expired"):
        _token(db, "tablet", expires_in=timedelta(seconds=-1))


def test_revoked_token_gets_401(client: TestClient, db: Database) -> None:
    token = _token(db, "tablet")
    db.write(lambda s: accounts.revoke_token(s, token[:10], actor=SYSTEM))
    assert client.get("/api/incidents", headers=_bearer(token)).status_code == 401


def test_token_creation_is_audited_with_scopes_and_expiry(db: Database) -> None:
    _token(db, "tablet", scopes={Permission.SUBMIT_REPORT}, expires_in=timedelta(days=1))
    with db.read() as session:
        detail = session.scalars(
            select(AuditEventRow.detail)
            .where(AuditEventRow.action == "token.create")
            .order_by(AuditEventRow.id.desc())
        ).first()
    assert detail is not None
    assert detail["scopes"] == ["submit_report"] and detail["expires_at"]


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAVEN_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["HAVEN_DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [str(HAVEN), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_cli_creates_a_scoped_expiring_token(settings: Settings, db: Database) -> None:
    added = _cli(settings, "user", "add", "amal", "--role", "verifier", "--org", "Cluster")
    assert added.returncode == 0, added.stderr
    made = _cli(
        settings,
        "token",
        "create",
        "amal",
        "--scope",
        "submit_report",
        "--scope",
        "read_incidents",
        "--expires-in",
        "30d",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith(accounts.TOKEN_PREFIX)
    with db.read() as session:
        row = session.scalars(select(ApiTokenRow).where(ApiTokenRow.prefix == token[:10])).one()
        assert row.scopes == ["read_incidents", "submit_report"]
        assert row.expires_at is not None
        assert abs(row.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=5)
        actor = accounts.authenticate_token(session, token)
    assert actor.scopes == {Permission.SUBMIT_REPORT, Permission.READ_INCIDENTS}

    bad = _cli(settings, "token", "create", "amal", "--expires-in", "soon")
    assert bad.returncode == 2 and "12h, 30d, 4w" in bad.stderr
    wrong_scope = _cli(settings, "token", "create", "amal", "--scope", "manage_users")
    assert wrong_scope.returncode == 65
    assert wrong_scope.stderr.startswith("error: the verifier role does not grant manage_users")
