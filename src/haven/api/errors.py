"""One JSON error shape for every failure the API reports, and the request-size guard."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from haven.errors import (
    HavenError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
)

__all__ = ["ERROR_RESPONSES", "BodySizeLimit", "ErrorBody", "install_error_handlers"]

log = logging.getLogger(__name__)
_PARAMETER = re.compile(r"\\\{[A-Za-z_][A-Za-z0-9_]*\\\}")
"""A ``{name}`` parameter of a path template, as ``re.escape`` leaves it."""


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str = Field(description="Stable machine-readable code, e.g. `invalid_input`.")
    message: str
    fields: dict[str, str] = Field(description="Each bad field and what is wrong with it.")


class ErrorBody(BaseModel):
    """The one shape of every error the API returns."""

    error: ErrorDetail


def _described(text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _described("No valid credentials."),
    403: _described("The credentials do not allow this (or a CSRF token is missing)."),
    404: _described("Not found, or not visible to the caller."),
    409: _described("Contradicts what is stored."),
    413: _described("The request body is too large."),
    422: _described("Invalid input; `fields` names each bad field. Nothing was written."),
    429: _described("Too many attempts; see Retry-After."),
    503: _described("The database is unavailable."),
}
"""Error responses every route may give, declared in the OpenAPI description."""


def _error_response(error: HavenError) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(error, NotAuthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse(error.to_dict(), status_code=error.http_status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, expected or not, leave the API in the one JSON shape."""

    async def on_haven_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HavenError)
        return _error_response(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _error_response(InvalidInput.from_validation(exc.errors()))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc.__cause__, HavenError):  # e.g. the body-size guard while parsing
            return _error_response(exc.__cause__)
        if exc.status_code == 404:
            return _error_response(NotFound("no such endpoint"))
        if exc.status_code == 400:  # FastAPI could not parse the body at all
            return _error_response(
                InvalidInput("the request body is not valid JSON", fields={"body": "not JSON"})
            )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return JSONResponse(
            {"error": {"code": "http_error", "message": str(exc.detail), "fields": {}}},
            status_code=exc.status_code,
            headers=headers,
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error_response(HavenError("internal error; it has been logged"))

    app.add_exception_handler(HavenError, on_haven_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path takes (Starlette names only the first route's)."""
    methods: set[str] = set()
    pending: list[Any] = list(request.app.router.routes)
    while pending:
        route = pending.pop()
        if isinstance(route, Route):
            if route.matches(request.scope)[0] is not Match.NONE:
                methods |= route.methods or set()
        elif hasattr(route, "original_router"):  # FastAPI's included routers
            pending.extend(getattr(route.original_router, "routes", ()))
    return ", ".join(sorted(methods))


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` before they are read whole."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, larger: tuple[tuple[str, int], ...] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = {path: limit for path, limit in larger if "{" not in path}
        """Paths allowed a larger body (e.g. file imports), with their own limit."""
        self.larger_templates = [
            (re.compile(_PARAMETER.sub("[^/]+", re.escape(path))), limit)
            for path, limit in larger
            if "{" in path
        ]
        """Path templates such as ``/api/incidents/{incident_id}/evidence``: each
        ``{name}`` matches one path segment."""

    def limit_for(self, path: str) -> int:
        """The largest body a request to ``path`` may send."""
        if path in self.larger:
            return self.larger[path]
        for pattern, limit in self.larger_templates:
            if pattern.fullmatch(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: PLR0917
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise self._error(limit)
            return message

        await self.app(scope, counted, send)

    def _error(self, limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"request body is larger than {limit} bytes",
            fields={"body": f"at most {limit} bytes"},
        )

    async def _refuse(self, send: Send, limit: int) -> None:
        response = _error_response(self._error(limit))
        response.headers["Connection"] = "close"
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
