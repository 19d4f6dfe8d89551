"""API authentication: a bearer token (cached briefly), or a browser session cookie plus CSRF.

A request with ``Authorization: Bearer`` needs no CSRF token. A request that
relies on the ``haven_session`` cookie must send the session's CSRF token as
``X-CSRF-Token`` on every unsafe method (POST, PUT, PATCH, DELETE); otherwise 403.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from haven import accounts, sessions
from haven.accounts import Actor
from haven.db import Database
from haven.errors import NotAuthenticated, PermissionDenied
from haven.sessions import SESSION_COOKIE, WebSession
from haven.settings import Settings

__all__ = [
    "CSRF_HEADER",
    "CurrentActor",
    "CurrentWebSession",
    "TokenCache",
    "app_settings",
    "current_actor",
    "current_web_session",
    "database",
]

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

TOKEN_CACHE_SECONDS = 5.0
"""How long a checked token is trusted without asking the database again (bounds revocation lag)."""


class TokenCache:
    """Tokens checked in the last few seconds, keyed by their SHA-256 (never the token itself)."""

    def __init__(self, *, ttl: float = TOKEN_CACHE_SECONDS) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[Actor, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Actor | None:
        """The cached actor for a token digest, if still fresh."""
        entry = self._entries.get(digest)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, digest: str, actor: Actor) -> None:
        """Remember a checked token."""
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (actor, time.monotonic() + self._ttl)

    def clear(self) -> None:
        """Forget every token (after a revocation in this process)."""
        with self._lock:
            self._entries.clear()


async def app_settings(request: Request) -> Settings:
    """The settings the app was built with (async: no worker thread for a lookup)."""
    settings: Settings = request.app.state.settings
    return settings


def _database_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def database(request: Request) -> Database:
    """The app's open database (async: no worker thread for a lookup)."""
    return _database_of(request)


async def current_actor(
    request: Request,
    authorization: Annotated[
        str | None, Header(description="`Bearer <token>`, from `haven token create`.")
    ] = None,
) -> Actor:
    """The actor behind the bearer token or the session cookie; ``NotAuthenticated`` without one.

    The bearer token wins when both are sent.
    """
    if not authorization:
        if request.cookies.get(SESSION_COOKIE):
            return (await current_web_session(request)).actor
        raise NotAuthenticated(
            "this endpoint needs an API token (Authorization: Bearer ...) or a login session"
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("use the header 'Authorization: Bearer <token>'")
    token = token.strip()
    cache: TokenCache = request.app.state.tokens
    digest = hashlib.sha256(token.encode()).hexdigest()
    actor = cache.get(digest)
    if actor is None:
        db = _database_of(request)

        def check() -> Actor:
            with db.read() as session:
                return accounts.authenticate_token(session, token)

        actor = await run_in_threadpool(check)
        cache.put(digest, actor)
    return actor


async def current_web_session(request: Request) -> WebSession:
    """The live browser session of the request's cookie, its CSRF token checked on unsafe methods.

    ``NotAuthenticated`` without a live session; ``PermissionDenied`` (403) when an
    unsafe method lacks the session's ``X-CSRF-Token``.
    """
    known: WebSession | None = getattr(request.state, "web_session", None)
    if known is not None:
        return known
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticated("no login session (log in with POST /api/login)")
    db = _database_of(request)

    def check() -> WebSession:
        with db.read() as session:
            return sessions.authenticate_session(session, cookie)

    web = await run_in_threadpool(check)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), web.csrf_token.encode()):
            raise PermissionDenied(
                f"a request with the session cookie must send the {CSRF_HEADER} header "
                "given at login"
            )
    request.state.web_session = web
    return web


CurrentActor = Annotated[Actor, Depends(current_actor)]
CurrentWebSession = Annotated[WebSession, Depends(current_web_session)]
