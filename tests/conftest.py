"""Shared fixtures: per-test databases on SQLite and on a throw-away PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from haven import accounts
from haven.accounts import SYSTEM, Role
from haven.app import create_app
from haven.db import Database, open_database
from haven.settings import Settings
from tests.support.browser import launch_chromium
from tests.support.postgres import PostgresServer, find_bin_dir, start_postgres

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def datasets() -> Path:
    """The published datasets folder beside the repository."""
    if not DATASETS.is_dir():
        if IN_CI:
            pytest.fail(f"datasets folder missing in CI: {DATASETS}")
        pytest.skip(f"datasets folder not found at {DATASETS}")
    return DATASETS


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for every browser test of the session (Playwright allows one)."""
    yield from launch_chromium()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session, from the installed binaries."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not installed"
        if IN_CI:
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(f"{reason}: apt-get install postgresql")
    server = start_postgres(bin_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh, empty database of each kind (no background forecast warm-up:
    a test that wants it turns ``forecast_warmup`` on)."""
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path, forecast_warmup=False)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database(f"t_{uuid.uuid4().hex[:16]}")
    return Settings(data_dir=tmp_path, database_url=url, forecast_warmup=False)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings for a fresh SQLite database only (for tests of SQLite behaviour)."""
    return Settings(data_dir=tmp_path, forecast_warmup=False)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The open, migrated database."""
    database = open_database(settings)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    """An HTTP client for the app on the test database."""
    with TestClient(create_app(settings, db=db)) as test_client:
        yield test_client


def make_token(db: Database, username: str, *, role: Role = Role.ANALYST) -> str:
    """Add a user with ``role`` and return a fresh API token for them."""

    def make(session: object) -> str:
        accounts.add_user(
            session,  # type: ignore[arg-type]
            username,
            role=role,
            organisation="Test Health Cluster",
            password=None,
            actor=SYSTEM,
        )
        return accounts.create_token(session, username, name="test", actor=SYSTEM)  # type: ignore[arg-type]

    return db.write(make)


@pytest.fixture
def analyst_token(db: Database) -> str:
    """A token of an analyst (may submit and read)."""
    return make_token(db, "test-analyst")


@pytest.fixture
def auth(analyst_token: str) -> dict[str, str]:
    """Authorization header of the analyst."""
    return {"Authorization": f"Bearer {analyst_token}"}
