"""Login, logout and "who am I": thin shells over ``haven.sessions``, mounted under ``/api``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from haven import sessions
from haven.api.auth import CurrentActor, CurrentWebSession, app_settings, database
from haven.api.headers import client_address, request_is_https
from haven.db import Database
from haven.sessions import SESSION_COOKIE, LoginIn, Me, WebSession
from haven.settings import Settings

__all__ = ["build_session_router"]

DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]

NO_STORE = {"Cache-Control": "no-store"}


def build_session_router() -> APIRouter:
    """The ``/api/login``, ``/api/logout`` and ``/api/me`` endpoints."""
    router = APIRouter(prefix="/api", tags=["sessions"])

    @router.post(
        "/login",
        responses={
            401: {"description": "Wrong username or password (or a locked account)."},
            429: {"description": "Too many failed logins from this address; see Retry-After."},
        },
    )
    async def login(
        credentials: LoginIn, *, request: Request, response: Response, db: DB, settings: AppSettings
    ) -> Me:
        """Log in with a password: sets the `haven_session` cookie and returns the CSRF token.

        Send the token as `X-CSRF-Token` on every POST, PUT, PATCH or DELETE made
        with the cookie.
        """
        trust = settings.trust_proxy_headers
        address = client_address(request.scope, trust_proxy_headers=trust)
        result = await run_in_threadpool(
            sessions.login, db, credentials, address=address, settings=settings
        )
        response.set_cookie(
            SESSION_COOKIE,
            result.cookie,
            path="/",
            httponly=True,
            samesite="strict",
            secure=settings.production
            or request_is_https(request.scope, trust_proxy_headers=trust),
        )
        response.headers.update(NO_STORE)
        return result.me

    @router.post("/logout", status_code=204, response_class=Response)
    async def logout(*, web: CurrentWebSession, db: DB) -> Response:
        """End the browser session: its cookie stops working at once (needs `X-CSRF-Token`)."""
        await db.awrite(lambda s: sessions.logout(s, web))
        response = Response(status_code=204, headers=NO_STORE)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.get("/me")
    def me(*, request: Request, response: Response, actor: CurrentActor, db: DB) -> Me:
        """The signed-in user (by session or token), their permissions, and the CSRF token."""
        web: WebSession | None = getattr(request.state, "web_session", None)
        response.headers.update(NO_STORE)
        with db.read() as session:
            return sessions.me(session, actor, web=web)

    return router
