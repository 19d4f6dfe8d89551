"""A TestClient of the app with signed-up users (fast password hashing), for page tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from fastapi.testclient import TestClient

from haven.accounts import Role
from haven.app import create_app
from haven.db import Database
from haven.settings import Settings
from tests.support.browser import PASSWORD, add_test_user

__all__ = ["FAST_ARGON2", "PASSWORD", "REPORTER_AND_ANALYST", "sign_in", "web_client"]

REPORTER_AND_ANALYST = (
    ("rita.reporter", Role.REPORTER, "Exercise Clinic"),
    ("ana.analyst", Role.ANALYST, "Exercise Clinic"),
)
"""The people of most page tests: a reporter and an analyst of one fictional organisation."""

FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}


@contextmanager
def web_client(
    settings: Settings, db: Database, *, people: Sequence[tuple[str, Role, str]]
) -> Iterator[TestClient]:
    """A client (no redirects followed) of an app where ``people`` (username, role,
    organisation) can sign in with ``PASSWORD``."""
    fast = settings.model_copy(update=FAST_ARGON2)
    for username, role, organisation in people:
        add_test_user(db, fast, username=username, role=role, organisation=organisation)
    with TestClient(create_app(fast, db=db), follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, username: str) -> None:
    """Sign ``username`` in on ``client`` with ``PASSWORD`` (dropping any earlier session)."""
    client.cookies.clear()
    answer = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
