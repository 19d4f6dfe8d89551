"""Password login and browser sessions: cookies, CSRF, logout, lockout, throttling, timing."""

from __future__ import annotations

import hashlib
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from haven import accounts, sessions
from haven.accounts import SYSTEM, Role
from haven.api.auth import CurrentActor
from haven.app import create_app
from haven.db import Database
from haven.models import AuditEventRow, LoginAttemptRow, UserRow, WebSessionRow
from haven.settings import Settings
from tests.conftest import make_token

PASSWORD = "correct horse battery staple"
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}
"""Cheap hashing for tests that are not about timing."""


def add_user(
    db: Database,
    username: str,
    *,
    settings: Settings,
    role: Role = Role.ANALYST,
    password: str = PASSWORD,
    hasher: PasswordHasher | None = None,
) -> int:
    """Add a user with a password hashed at the settings' argon2 cost."""
    return db.write(
        lambda s: accounts.add_user(
            s,
            username,
            role=role,
            organisation="Test Health Cluster",
            password=password,
            actor=SYSTEM,
            hasher=hasher or sessions.password_hasher(settings),
        )
    )


@contextmanager
def build_client(
    settings: Settings, db: Database, *, base_url: str = "http://testserver", **changes: Any
) -> Iterator[TestClient]:
    """A client for an app built with ``settings`` changed, plus a test-only POST endpoint."""
    changed = settings.model_copy(update={**FAST_ARGON2, **changes})
    app = create_app(changed, db=db)
    _add_echo(app)
    with TestClient(app, base_url=base_url) as client:
        yield client


def _add_echo(app: FastAPI) -> None:
    @app.post("/api/test-echo", include_in_schema=False)
    def echo(actor: CurrentActor) -> dict[str, str]:
        return {"actor": actor.label}


@pytest.fixture
def web(settings: Settings, db: Database) -> Iterator[TestClient]:
    """A client on an app with cheap argon2 and a user ``amal`` with ``PASSWORD``."""
    changed = settings.model_copy(update=FAST_ARGON2)
    add_user(db, "amal", settings=changed)
    with build_client(settings, db) as client:
        yield client


def login(
    client: TestClient, username: str = "amal", *, password: str = PASSWORD, **kw: Any
) -> Any:
    return client.post("/api/login", json={"username": username, "password": password}, **kw)


def audit_rows(db: Database, action: str) -> list[AuditEventRow]:
    with db.read() as session:
        rows = session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == action).order_by(AuditEventRow.id)
        ).all()
        session.expunge_all()
        return list(rows)


def test_login_sets_a_strict_http_only_cookie_and_returns_the_csrf_token(
    web: TestClient, db: Database
) -> None:
    answer = login(web)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["username"] == "amal" and body["role"] == "analyst" and body["auth"] == "session"
    assert body["csrf_token"] and "read_incidents" in body["permissions"]
    assert answer.headers["cache-control"] == "no-store"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.SESSION_COOKIE}=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain http, not production

    me = web.get("/api/me")
    assert me.status_code == 200
    assert me.json()["csrf_token"] == body["csrf_token"]


def test_only_the_sha256_of_the_cookie_is_stored(web: TestClient, db: Database) -> None:
    value = login(web).cookies[sessions.SESSION_COOKIE]
    with db.read() as session:
        ids = session.scalars(select(WebSessionRow.id)).all()
        dumped = " ".join(str(r) for r in session.execute(text("SELECT * FROM web_sessions")))
    assert ids == [hashlib.sha256(value.encode()).hexdigest()]
    assert value not in dumped


def test_cookie_is_secure_over_https(settings: Settings, db: Database) -> None:
    add_user(db, "amal", settings=settings.model_copy(update=FAST_ARGON2))
    with build_client(settings, db, base_url="https://testserver") as client:
        assert "secure" in login(client).headers["set-cookie"].lower()
        assert client.get("/api/me").status_code == 200


def test_cookie_is_secure_behind_a_trusted_tls_proxy(settings: Settings, db: Database) -> None:
    add_user(db, "amal", settings=settings.model_copy(update=FAST_ARGON2))
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    with build_client(settings, db) as client:
        assert "secure" not in login(client, headers=proxied).headers["set-cookie"].lower()
    with build_client(settings, db, trust_proxy_headers=True) as client:
        assert "secure" in login(client, headers=proxied).headers["set-cookie"].lower()


def test_cookie_requests_need_the_csrf_header_on_unsafe_methods(web: TestClient) -> None:
    csrf = login(web).json()["csrf_token"]
    assert web.get("/api/me").status_code == 200  # safe method: no token needed
    missing = web.post("/api/test-echo")
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "permission_denied"
    assert "X-CSRF-Token" in missing.json()["error"]["message"]
    assert web.post("/api/test-echo", headers={"X-CSRF-Token": "x" + csrf}).status_code == 403
    ok = web.post("/api/test-echo", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json() == {"actor": "amal"}


def test_bearer_requests_need_no_csrf_header(web: TestClient, db: Database) -> None:
    token = make_token(db, "tablet")
    answer = web.post("/api/test-echo", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json() == {"actor": "tablet"}
    me = web.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["auth"] == "token" and me.json()["csrf_token"] is None


def test_report_posted_with_the_session_cookie(web: TestClient) -> None:
    csrf = login(web).json()["csrf_token"]
    report = {
        "id": str(uuid.uuid4()),
        "source": {"name": "session test", "kind": "form"},
        "occurred_at": "2024-02-01T08:30:00Z",
        "country": "SDN",
        "location": {"lon": 32.53, "lat": 15.59},
        "attack_types": ["Setting fire"],
    }
    assert web.post("/api/reports", json=report).status_code == 403
    assert web.post("/api/reports", json=report, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_logout_revokes_the_session(web: TestClient, db: Database) -> None:
    csrf = login(web).json()["csrf_token"]
    cookie = web.cookies[sessions.SESSION_COOKIE]
    assert web.post("/api/logout").status_code == 403  # needs the CSRF token too
    out = web.post("/api/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert sessions.SESSION_COOKIE not in web.cookies
    web.cookies.set(sessions.SESSION_COOKIE, cookie)  # a stolen copy of the cookie
    again = web.get("/api/me")
    assert again.status_code == 401
    assert web.post("/api/test-echo", headers={"X-CSRF-Token": csrf}).status_code == 401
    assert len(audit_rows(db, "logout")) == 1


def test_expired_session_is_refused(web: TestClient, db: Database) -> None:
    login(web)
    with db.write_engine.begin() as connection:
        connection.execute(
            text("UPDATE web_sessions SET expires_at = :past"),
            {"past": "2000-01-01 00:00:00"},
        )
    assert web.get("/api/me").status_code == 401


def test_failures_look_the_same_and_are_audited_without_the_password(
    web: TestClient, db: Database
) -> None:
    wrong = login(web, password="not the password at all")
    unknown = login(web, username="nobody-here", password="not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["message"] == "wrong username or password"
    assert login(web).status_code == 200
    failures = audit_rows(db, "login.failure")
    assert [f.detail["reason"] for f in failures] == ["wrong_password", "unknown_user"]
    assert [f.detail["username"] for f in failures] == ["amal", "nobody-here"]
    assert len(audit_rows(db, "login.success")) == 1
    with db.read() as session:
        everything = " ".join(str(r) for r in session.execute(text("SELECT * FROM audit_events")))
    assert "not the password" not in everything and PASSWORD not in everything


def test_account_locks_after_consecutive_failures(settings: Settings, db: Database) -> None:
    add_user(db, "amal", settings=settings.model_copy(update=FAST_ARGON2))
    with build_client(
        settings, db, login_lockout_failures=5, login_max_failures_per_address=100
    ) as client:
        for n in range(4):
            assert login(client, password=f"wrong password {n}").status_code == 401
        assert login(client).status_code == 200  # a success resets the count
        answers = [login(client, password=f"wrong again {n}") for n in range(5)]
        assert [a.status_code for a in answers] == [401] * 5
        locked = login(client)  # the right password, but the account is locked
        assert locked.status_code == 401
        assert locked.json() == answers[0].json()

        locks = audit_rows(db, "account.lock")
        assert len(locks) == 1 and locks[0].detail["username"] == "amal"
        assert audit_rows(db, "login.failure")[-1].detail["reason"] == "locked"

        with db.write_engine.begin() as connection:  # the lock period passes
            connection.execute(
                text("UPDATE users SET locked_until = :past"), {"past": "2000-01-01 00:00:00"}
            )
        assert login(client).status_code == 200
        with db.read() as session:
            user = session.scalars(select(UserRow).where(UserRow.username == "amal")).one()
            assert user.failed_logins == 0 and user.last_login_at is not None


def test_a_changed_argon2_cost_rehashes_on_login(settings: Settings, db: Database) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=32, parallelism=1)
    add_user(db, "amal", settings=settings, hasher=old)
    with build_client(settings, db) as client:
        assert login(client).status_code == 200
    with db.read() as session:
        stored = session.scalar(select(UserRow.password_hash).where(UserRow.username == "amal"))
    assert stored is not None and "m=64,t=1,p=1" in stored


def test_brute_force_of_1000_attempts_from_one_address_is_throttled(
    *, settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(db, "amal", settings=settings.model_copy(update=FAST_ARGON2))
    verified = 0
    real_verify = sessions._verify

    def counting_verify(*args: Any, **kwargs: Any) -> tuple[bool, str | None]:
        nonlocal verified
        verified += 1
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(sessions, "_verify", counting_verify)
    statuses: dict[int, int] = {}
    retry_after: set[int] = set()
    started = time.perf_counter()
    with build_client(settings, db, login_max_failures_per_address=10) as client:
        for n in range(1000):
            answer = login(client, password=f"guess number {n:04d}")
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if answer.status_code == 429:
                retry_after.add(int(answer.headers["retry-after"]))
                assert answer.json()["error"]["code"] == "too_many_requests"
        elapsed = time.perf_counter() - started
        print(f"\n1000 attempts from one address: {statuses} in {elapsed:.1f} s")
        assert statuses == {401: 10, 429: 990}
        assert verified == 10  # the refused 990 cost no password hash
        assert retry_after and all(0 < s <= settings.login_window_seconds + 1 for s in retry_after)
        assert len(audit_rows(db, "login.throttle")) == 1
        assert len(audit_rows(db, "login.failure")) == 10
        with db.read() as session:
            assert len(session.scalars(select(LoginAttemptRow.id)).all()) == 10
    # another address is not affected (the account, locked by the 5th failure, still is)
    with build_client(settings, db, trust_proxy_headers=True) as client:
        other = {"X-Forwarded-For": "203.0.113.9"}
        assert login(client, headers=other).status_code == 401
        assert login(client, username="nobody", headers=other).status_code == 401


TIMING_ARGON2 = {"argon2_time_cost": 2, "argon2_memory_kib": 19_456, "argon2_parallelism": 1}
"""OWASP's minimum argon2id cost: real hashing work, but a fast enough test."""


def measure_login_timing(client: TestClient, *, rounds: int) -> dict[str, list[float]]:
    """Wrong-password logins for ``amal`` and for unknown users, interleaved, each from its
    own address (the client must trust proxy headers); seconds per request."""
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for n in range(rounds):
        order = ("known", "unknown") if n % 2 == 0 else ("unknown", "known")
        for kind in order:
            username = "amal" if kind == "known" else f"nobody-{n}"
            address = f"10.{n // 250}.{n % 250}.{1 if kind == 'known' else 2}"
            started = time.perf_counter()
            answer = login(
                client,
                username=username,
                password=f"wrong guess {n}",
                headers={"X-Forwarded-For": address},
            )
            times[kind].append(time.perf_counter() - started)
            assert answer.status_code == 401
    return times


def test_unknown_and_known_users_take_the_same_time(settings: Settings, db: Database) -> None:
    timing = settings.model_copy(update=TIMING_ARGON2)
    add_user(db, "amal", settings=timing)
    hasher = sessions.password_hasher(timing)
    with build_client(
        settings, db, **TIMING_ARGON2, trust_proxy_headers=True, login_lockout_failures=1000
    ) as client:
        measure_login_timing(client, rounds=3)  # warm up: dummy hash, connections
        times = measure_login_timing(client, rounds=30)
    stored = hasher.hash("x" * 20)
    bare: list[float] = []
    for _ in range(7):
        started = time.perf_counter()
        with pytest.raises(VerifyMismatchError):
            hasher.verify(stored, "y" * 20)
        bare.append(time.perf_counter() - started)
    known, unknown = statistics.median(times["known"]), statistics.median(times["unknown"])
    difference = abs(known - unknown) / max(known, unknown)
    print(
        f"\nlogin timing ({db.dialect}, argon2id t=2 m=19456 p=1): median known "
        f"{known * 1000:.1f} ms, unknown {unknown * 1000:.1f} ms, difference "
        f"{difference:.1%}; one bare verification {statistics.median(bare) * 1000:.1f} ms"
    )
    assert difference < 0.25
    # both paths do one real verification (a missing dummy hash would fail here by ~10x)
    assert min(known, unknown) > 0.5 * statistics.median(bare)


def test_login_input_is_validated(web: TestClient) -> None:
    answer = web.post("/api/login", json={"username": "amal"})
    assert answer.status_code == 422
    assert "password" in answer.json()["error"]["fields"]
    form = web.post("/api/login", content="username=amal", headers={"Content-Type": "text/plain"})
    assert form.status_code == 422


def test_characters_no_database_can_store_get_an_answer_not_a_500(web: TestClient) -> None:
    json = {"Content-Type": "application/json"}
    nul = '{"username": "am\\u0000al", "password": "pass\\u0000word"}'
    assert web.post("/api/login", content=nul, headers=json).status_code == 401
    surrogate = '{"username": "amal\\ud800", "password": "pass\\ud800word"}'
    assert web.post("/api/login", content=surrogate, headers=json).status_code == 422


def test_a_login_prunes_old_attempts_and_ended_sessions(web: TestClient, db: Database) -> None:
    login(web, password="wrong")
    login(web)
    cookie = web.cookies[sessions.SESSION_COOKIE]
    with db.write_engine.begin() as connection:  # age every row by two days
        connection.execute(text("UPDATE login_attempts SET at = :old"), {"old": "2000-01-01"})
        connection.execute(text("UPDATE web_sessions SET expires_at = :old"), {"old": "2000-01-01"})
    web.cookies.clear()
    login(web)  # a new login, which prunes
    with db.read() as session:
        attempts = session.scalars(select(LoginAttemptRow.success)).all()
        kept = session.scalars(select(WebSessionRow.id)).all()
    assert attempts == [True]  # only the new attempt
    new_cookie = web.cookies[sessions.SESSION_COOKIE]
    assert kept == [hashlib.sha256(new_cookie.encode()).hexdigest()]
    web.cookies.set(sessions.SESSION_COOKIE, cookie)
    assert web.get("/api/me").status_code == 401
    assert len(audit_rows(db, "login.success")) == 2  # the audit log keeps both logins


def test_a_login_keeps_recent_attempts_and_sessions(web: TestClient, db: Database) -> None:
    login(web, password="wrong")
    login(web)
    web.cookies.clear()
    login(web)
    with db.read() as session:
        assert len(session.scalars(select(LoginAttemptRow)).all()) == 3
        assert len(session.scalars(select(WebSessionRow)).all()) == 2
