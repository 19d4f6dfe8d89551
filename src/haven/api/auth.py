"""Bearer-token authentication for the API, with a short-lived cache of checked tokens."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from haven import accounts
from haven.accounts import Actor
from haven.db import Database
from haven.errors import NotAuthenticated
from haven.settings import Settings

__all__ = ["CurrentActor", "TokenCache", "app_settings", "current_actor", "database"]

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


def app_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def database(request: Request) -> Database:
    """The app's open database."""
    db: Database = request.app.state.db
    return db


async def current_actor(
    request: Request,
    authorization: Annotated[
        str | None, Header(description="`Bearer <token>`, from `haven token create`.")
    ] = None,
) -> Actor:
    """The actor behind the request's bearer token; ``NotAuthenticated`` without one."""
    if not authorization:
        raise NotAuthenticated("this endpoint needs an API token (Authorization: Bearer ...)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("use the header 'Authorization: Bearer <token>'")
    token = token.strip()
    cache: TokenCache = request.app.state.tokens
    digest = hashlib.sha256(token.encode()).hexdigest()
    actor = cache.get(digest)
    if actor is None:
        db = database(request)

        def check() -> Actor:
            with db.read() as session:
                return accounts.authenticate_token(session, token)

        actor = await run_in_threadpool(check)
        cache.put(digest, actor)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
