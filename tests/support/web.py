"""A TestClient of the app with signed-up users (fast password hashing), for page tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from haven import accounts, sessions
from haven.accounts import SYSTEM, Role
from haven.app import create_app
from haven.db import Database
from haven.settings import Settings
from tests.support.browser import PASSWORD

__all__ = ["FAST_ARGON2", "PASSWORD", "web_client"]

FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}


@contextmanager
def web_client(
    settings: Settings, db: Database, *, people: Sequence[tuple[str, Role, str]]
) -> Iterator[TestClient]:
    """A client (no redirects followed) of an app where ``people`` (username, role,
    organisation) can sign in with ``PASSWORD``."""
    fast = settings.model_copy(update=FAST_ARGON2)
    hasher = sessions.password_hasher(fast)

    def add(session: Session) -> None:
        for username, role, organisation in people:
            accounts.add_user(
                session,
                username,
                role=role,
                organisation=organisation,
                password=PASSWORD,
                actor=SYSTEM,
                hasher=hasher,
            )

    db.write(add)
    with TestClient(create_app(fast, db=db), follow_redirects=False) as client:
        yield client
