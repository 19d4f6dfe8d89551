"""Password login and browser sessions: throttling by address, lockout by account, CSRF tokens.

A login runs in three steps so that the single database writer never waits
for a password hash:

1. a write that refuses the address if it has ``login_max_failures_per_address``
   failures within ``login_window_seconds`` (``TooManyRequests``, no hashing)
   and otherwise books the attempt as a failure;
2. one argon2id verification, outside any transaction, against the user's hash,
   or against a dummy hash of the same cost when the user is unknown, has no
   password or is inactive, so that the answer takes as long whether or not
   the username exists;
3. a write that records the outcome: on success a session (only the SHA-256 of
   the cookie is stored), on failure the account's failure count, locking the
   account after ``login_lockout_failures`` in a row. Both are audited
   (``login.success``, ``login.failure``, ``account.lock``, ``login.throttle``);
   no password is ever logged.

A locked account answers exactly like a wrong password, and still costs one
verification. Each login also deletes what no longer counts (``_prune``): attempts
older than the throttling window and sessions that ended, each a day after it
stopped mattering; the audit log keeps every login and logout.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from haven import audit
from haven.accounts import SYSTEM, Actor, Permission, Role, actor_for
from haven.db import Database
from haven.errors import NotAuthenticated, TooManyRequests
from haven.models import LoginAttemptRow, UserRow, WebSessionRow, utcnow
from haven.settings import Settings

__all__ = [
    "ANONYMOUS",
    "SESSION_COOKIE",
    "LoginIn",
    "LoginResult",
    "Me",
    "WebSession",
    "authenticate_session",
    "login",
    "logout",
    "me",
    "password_hasher",
]

SESSION_COOKIE = "haven_session"
"""Name of the session cookie (HttpOnly, SameSite=Strict, Secure over https)."""

ANONYMOUS = Actor(label="anonymous", role=Role.REPORTER, scopes=frozenset())
"""Who a failed login is recorded as: an actor that may do nothing."""

WRONG = "wrong username or password"

KEEP_ENDED = timedelta(days=1)
"""How long a login attempt outside the window, or an ended session, is kept before pruning."""


class LoginIn(BaseModel):
    """A password login."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1024, repr=False)


class Me(BaseModel):
    """The signed-in user, what they may do, and (for a browser session) the CSRF token."""

    username: str
    display_name: str
    role: Role
    organisation_id: int
    permissions: list[Permission]
    auth: Literal["session", "token"]
    csrf_token: str | None = Field(
        default=None, description="Send as the X-CSRF-Token header on POST/PUT/PATCH/DELETE."
    )
    session_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful login: the cookie value to set (shown once, stored hashed) and the user."""

    cookie: str
    me: Me


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live browser session, found by its cookie."""

    id: str
    actor: Actor
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _Attempt:
    id: int
    username: str
    address: str
    user_id: int | None
    password_hash: str | None


@functools.lru_cache(maxsize=8)
def _hasher(cost: tuple[int, int, int]) -> PasswordHasher:
    time_cost, memory_kib, parallelism = cost
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def password_hasher(settings: Settings) -> PasswordHasher:
    """The argon2id hasher with the configured cost (argon2-cffi's defaults unless changed)."""
    return _hasher(
        (settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)
    )


@functools.lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a random secret at the hasher's cost, verified when there is no real one."""
    return hasher.hash(secrets.token_urlsafe(32))


def _storable(text: str) -> str:
    """``text`` without what no database column can hold (NUL, unpaired surrogates)."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _failures_since(session: Session, address: str, *, since: datetime) -> list[datetime]:
    return list(
        session.scalars(
            select(LoginAttemptRow.at)
            .where(
                LoginAttemptRow.address == address,
                LoginAttemptRow.at >= since,
                LoginAttemptRow.success.is_(False),
            )
            .order_by(LoginAttemptRow.at)
        )
    )


def _refuse_if_throttled(session: Session, address: str, *, settings: Settings) -> None:
    """``TooManyRequests`` if the address used up its failures in the current window."""
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    limit = settings.login_max_failures_per_address
    failures = _failures_since(session, address, since=now - window)  # refused ones are not kept
    if len(failures) < limit:
        return
    frees_a_slot = failures[len(failures) - limit] + window
    raise TooManyRequests(
        "too many failed logins from this address; try again later",
        retry_after=int((frees_a_slot - now).total_seconds()) + 1,
    )


def _begin(session: Session, username: str, *, address: str, settings: Settings) -> _Attempt:
    """Refuse a throttled address, else prune and book the attempt (a failure until it succeeds)."""
    _refuse_if_throttled(session, address, settings=settings)
    _prune(session, now=utcnow(), settings=settings)
    row = LoginAttemptRow(at=utcnow(), username=username, address=address, success=False)
    session.add(row)
    session.flush()
    user = session.execute(
        select(UserRow.id, UserRow.password_hash, UserRow.active).where(
            UserRow.username == username
        )
    ).first()
    usable = user is not None and user.active and user.password_hash is not None
    return _Attempt(
        id=row.id,
        username=username,
        address=address,
        user_id=user.id if user is not None else None,
        password_hash=user.password_hash if usable and user is not None else None,
    )


def _prune(session: Session, *, now: datetime, settings: Settings) -> None:
    """Delete login attempts and sessions that no longer count, ``KEEP_ENDED`` after they stopped.

    An attempt stops counting when it leaves the throttling window; a session when
    it expires or is revoked. A pruned session's cookie is refused like any unknown one.
    """
    window = timedelta(seconds=settings.login_window_seconds)
    session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < now - window - KEEP_ENDED))
    ended = now - KEEP_ENDED
    session.execute(
        delete(WebSessionRow).where(
            or_(WebSessionRow.expires_at < ended, WebSessionRow.revoked_at < ended)
        )
    )


def _verify(hasher: PasswordHasher, attempt: _Attempt, *, password: str) -> tuple[bool, str | None]:
    """Exactly one argon2id verification; returns (right password, new hash if cost changed)."""
    dummy = _dummy_hash(hasher)
    stored = attempt.password_hash or dummy
    secret = password.encode("utf-8", "surrogatepass")  # any JSON string, even a broken one
    try:
        hasher.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False, None
    if attempt.password_hash is None:
        return False, None
    return True, hasher.hash(secret) if hasher.check_needs_rehash(stored) else None


def _refusal(user: UserRow | None, *, now: datetime) -> str | None:
    """Why this account cannot log in whatever the password, or ``None``."""
    if user is None:
        return "unknown_user"
    if not user.active:
        return "inactive"
    if user.password_hash is None:
        return "no_password"
    if user.locked_until is not None and user.locked_until > now:
        return "locked"
    return None


def _finish(
    session: Session,
    attempt: _Attempt,
    *,
    right: bool,
    new_hash: str | None,
    settings: Settings,
) -> LoginResult | None:
    """Record the outcome; the session and its cookie on success, ``None`` on failure."""
    now = utcnow()
    user = session.get(UserRow, attempt.user_id) if attempt.user_id is not None else None
    refusal = _refusal(user, now=now)
    if user is not None and refusal is None:
        if right:
            return _succeed(session, attempt, user=user, new_hash=new_hash, settings=settings)
        _count_failure(session, user, now=now, settings=settings)
    audit.record(
        session,
        ANONYMOUS,
        action="login.failure",
        entity_type="user",
        entity_id=user.id if user is not None else "-",
        detail={
            "username": attempt.username,
            "address": attempt.address,
            "reason": refusal or "wrong_password",
        },
    )
    _note_throttle(session, attempt.address, now=now, settings=settings)
    return None


def _count_failure(session: Session, user: UserRow, *, now: datetime, settings: Settings) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins < settings.login_lockout_failures:
        return
    user.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
    user.failed_logins = 0
    audit.record(
        session,
        SYSTEM,
        action="account.lock",
        entity_type="user",
        entity_id=user.id,
        detail={
            "username": user.username,
            "failures": settings.login_lockout_failures,
            "until": user.locked_until.isoformat(),
        },
    )


def _note_throttle(session: Session, address: str, *, now: datetime, settings: Settings) -> None:
    """Audit once, when this failure is the one that uses up the address's window."""
    window = timedelta(seconds=settings.login_window_seconds)
    count = len(_failures_since(session, address, since=now - window))
    if count == settings.login_max_failures_per_address:
        audit.record(
            session,
            SYSTEM,
            action="login.throttle",
            entity_type="address",
            entity_id=address,
            detail={"failures": count, "window_seconds": settings.login_window_seconds},
        )


def _succeed(
    session: Session,
    attempt: _Attempt,
    *,
    user: UserRow,
    new_hash: str | None,
    settings: Settings,
) -> LoginResult:
    now = utcnow()
    attempt_row = session.get(LoginAttemptRow, attempt.id)
    if attempt_row is not None:
        attempt_row.success = True
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if new_hash is not None:
        user.password_hash = new_hash
    cookie = secrets.token_urlsafe(32)
    row = WebSessionRow(
        id=_sha256(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.session_lifetime_seconds),
    )
    session.add(row)
    actor = actor_for(user)
    audit.record(
        session,
        actor,
        action="login.success",
        entity_type="user",
        entity_id=user.id,
        detail={"address": attempt.address, "session": row.id[:12]},
    )
    web = WebSession(id=row.id, actor=actor, csrf_token=row.csrf_token, expires_at=row.expires_at)
    return LoginResult(cookie=cookie, me=_me(user, actor=actor, web=web))


def login(db: Database, credentials: LoginIn, *, address: str, settings: Settings) -> LoginResult:
    """Check a password login from ``address`` and open a browser session.

    Raises ``TooManyRequests`` (without checking the password) when the address
    has used up its failures, and ``NotAuthenticated`` ("wrong username or
    password") for an unknown user, a wrong password or a locked account alike.
    Blocks for one argon2id verification; call it from a worker thread.
    """
    username = _storable(credentials.username).strip().lower()[:80]
    address = _storable(address)[:64]
    with db.read() as session:
        _refuse_if_throttled(session, address, settings=settings)
    attempt = db.write(lambda s: _begin(s, username, address=address, settings=settings))
    right, new_hash = _verify(password_hasher(settings), attempt, password=credentials.password)
    result = db.write(
        lambda s: _finish(s, attempt, right=right, new_hash=new_hash, settings=settings)
    )
    if result is None:
        raise NotAuthenticated(WRONG)
    return result


def authenticate_session(session: Session, cookie: str) -> WebSession:
    """The live session a cookie belongs to; ``NotAuthenticated`` if unknown, ended or expired."""
    found = session.execute(
        select(WebSessionRow, UserRow)
        .join(UserRow, UserRow.id == WebSessionRow.user_id)
        .where(WebSessionRow.id == _sha256(cookie))
    ).first()
    if found is None:
        raise NotAuthenticated("unknown session; log in again")
    row, user = found
    if row.revoked_at is not None or row.expires_at <= utcnow() or not user.active:
        raise NotAuthenticated("the session has ended; log in again")
    return WebSession(
        id=row.id, actor=actor_for(user), csrf_token=row.csrf_token, expires_at=row.expires_at
    )


def logout(session: Session, web: WebSession) -> None:
    """End a browser session (the cookie stops working at once); audited."""
    row = session.get(WebSessionRow, web.id)
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = utcnow()
    audit.record(
        session,
        web.actor,
        action="logout",
        entity_type="user",
        entity_id=row.user_id,
        detail={"session": row.id[:12]},
    )


def me(session: Session, actor: Actor, *, web: WebSession | None = None) -> Me:
    """Who ``actor`` is and what they may do; with ``web``, the session's CSRF token."""
    user = session.get(UserRow, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotAuthenticated("no signed-in user")
    return _me(user, actor=actor, web=web)


def _me(user: UserRow, *, actor: Actor, web: WebSession | None) -> Me:
    return Me(
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        organisation_id=user.organisation_id,
        permissions=[p for p in Permission if actor.can(p)],
        auth="session" if web is not None else "token",
        csrf_token=web.csrf_token if web is not None else None,
        session_expires_at=web.expires_at if web is not None else None,
    )
