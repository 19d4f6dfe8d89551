"""Every error a user can trigger, with its HTTP status and CLI exit code.

The tree::

    HavenError                      500  exit 1   something went wrong that we did not foresee
    ├── ConfigurationError          500  exit 78  settings are missing, wrong or unsafe
    ├── InvalidInput                422  exit 65  bad input; ``fields`` names each bad field
    │   ├── PayloadTooLarge         413  exit 65  the request body is larger than allowed
    │   └── UnsupportedMediaType    415  exit 65  the upload's media type is not allowed
    ├── NotAuthenticated            401  exit 77  no credentials, or wrong ones
    ├── PermissionDenied            403  exit 77  the credentials do not allow this
    ├── NotFound                    404  exit 66  the thing asked for does not exist
    │   └── NoRoute                 404  exit 66  no road connects the two points
    ├── Conflict                    409  exit 65  the request contradicts what is stored
    ├── TooManyRequests             429  exit 75  too many attempts; retry after ``retry_after`` s
    ├── IntegrityCheckFailed        500  exit 65  stored records fail their check (audit chain)
    └── StorageUnavailable          503  exit 69  the database cannot be reached or is locked

The API turns any of them into one JSON shape::

    {"error": {"code": "invalid_input", "message": "...", "fields": {"lat": "..."}}}

and the CLI into one line on stderr, ``error: <message>``, with the class's exit code
(BSD ``sysexits`` values).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

__all__ = [
    "ConfigurationError",
    "Conflict",
    "HavenError",
    "IntegrityCheckFailed",
    "InvalidInput",
    "NoRoute",
    "NotAuthenticated",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "StorageUnavailable",
    "TooManyRequests",
    "UnsupportedMediaType",
    "all_error_classes",
]


class HavenError(Exception):
    """Base of every error Haven reports to a user."""

    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, str] = dict(fields or {})

    def to_dict(self) -> dict[str, Any]:
        """The error as the API's one JSON shape."""
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}

    def cli_line(self) -> str:
        """The error as one line for the terminal."""
        if not self.fields:
            return f"error: {self.message}"
        detail = "; ".join(f"{name}: {why}" for name, why in self.fields.items())
        return f"error: {self.message} ({detail})"


class ConfigurationError(HavenError):
    """Settings are missing, wrong or unsafe (e.g. the default secret in production)."""

    code = "configuration_error"
    http_status = 500
    exit_code = 78


class InvalidInput(HavenError):
    """Input failed validation; ``fields`` maps each bad field to what is wrong with it."""

    code = "invalid_input"
    http_status = 422
    exit_code = 65

    @classmethod
    def from_validation(
        cls, errors: Iterable[Mapping[str, Any]], *, prefix: str = "", message: str = ""
    ) -> InvalidInput:
        """Build from pydantic's ``errors()``: one entry per field path, short messages.

        Unknown codes get a one-line message pointing at docs/taxonomy.md instead of
        pydantic's list of every permitted value.
        """
        fields: dict[str, str] = {}
        for error in errors:
            loc = [str(part) for part in error.get("loc", ())]
            if error.get("type") == "json_invalid":
                loc = []  # the position of the bad character is in the message, not a field
            if loc and loc[0] in _LOCATION_ROOTS:
                loc = loc[1:]
            name = prefix + (".".join(loc) or "body")
            text = _short_message(error)
            fields[name] = f"{fields[name]}; {text}" if name in fields else text
        return cls(message or f"{len(fields)} invalid field(s)", fields=fields)


_LOCATION_ROOTS = {"body", "query", "path", "header"}


def _short_message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "enum":
        return f"unknown code {error.get('input')!r} (see docs/taxonomy.md for the code lists)"
    return str(error.get("msg", "is invalid"))


class PayloadTooLarge(InvalidInput):
    """The request body is larger than the ``max_body_bytes`` setting allows."""

    code = "payload_too_large"
    http_status = 413


class UnsupportedMediaType(InvalidInput):
    """An upload's media type is not in the allow-list (``evidence_media_types``)."""

    code = "unsupported_media_type"
    http_status = 415


class NotAuthenticated(HavenError):
    """No credentials were given, or they are wrong, expired or revoked."""

    code = "not_authenticated"
    http_status = 401
    exit_code = 77


class PermissionDenied(HavenError):
    """The credentials are valid but do not allow this action."""

    code = "permission_denied"
    http_status = 403
    exit_code = 77


class NotFound(HavenError):
    """The record asked for does not exist (or is not visible to the caller)."""

    code = "not_found"
    http_status = 404
    exit_code = 66


class NoRoute(NotFound):
    """No road of the imported network connects the origin to the destination."""

    code = "no_route"


class Conflict(HavenError):
    """The request contradicts what is stored, e.g. a reused report UUID with other content."""

    code = "conflict"
    http_status = 409
    exit_code = 65


class TooManyRequests(HavenError):
    """Too many attempts (e.g. failed logins from one address); ``retry_after`` says when to retry.

    The API sends ``retry_after`` as the ``Retry-After`` header (seconds).
    """

    code = "too_many_requests"
    http_status = 429
    exit_code = 75

    def __init__(
        self, message: str, *, retry_after: int, fields: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, fields=fields)
        self.retry_after = max(1, retry_after)


class IntegrityCheckFailed(HavenError):
    """Stored records fail their integrity check, e.g. an audit event edited outside Haven."""

    code = "integrity_check_failed"
    http_status = 500
    exit_code = 65


class StorageUnavailable(HavenError):
    """The database cannot be reached, is locked for too long, or is not migrated."""

    code = "storage_unavailable"
    http_status = 503
    exit_code = 69


def all_error_classes() -> list[type[HavenError]]:
    """Every error class in the tree, base first (used to check the docs)."""
    found: list[type[HavenError]] = []
    pending: list[type[HavenError]] = [HavenError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
