"""Security headers on every response, and what the request says about TLS and the client.

The policy allows no inline script or style and no framing; the page may ask
for the device's position (the report form uses it) and for nothing else.
HSTS is sent only on a request that came over TLS: directly, or through a
trusted reverse proxy that says ``X-Forwarded-Proto: https``.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "SECURITY_HEADERS",
    "SecurityHeaders",
    "client_address",
    "content_security_policy",
    "request_is_https",
]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def content_security_policy(*, image_origins: tuple[str, ...] = ()) -> str:
    """The policy, letting images also come from ``image_origins`` (e.g. a map tile server)."""
    if not image_origins:
        return CONTENT_SECURITY_POLICY
    extra = " ".join(image_origins)
    return CONTENT_SECURITY_POLICY.replace(
        "img-src 'self' data: blob:", f"img-src 'self' {extra} data: blob:"
    )


SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
"""Sent on every HTTP response."""

HSTS = "max-age=63072000; includeSubDomains"
"""Two years, sent only over TLS."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _last_entry(value: str | None) -> str | None:
    """The entry the nearest proxy added (the last one of a comma-separated list)."""
    if not value:
        return None
    entry = value.split(",")[-1].strip()
    return entry or None


def request_is_https(scope: Scope, *, trust_proxy_headers: bool) -> bool:
    """Whether the request came over TLS (to us, or to the one trusted proxy in front of us)."""
    if scope.get("scheme") in {"https", "wss"}:
        return True
    if trust_proxy_headers:
        proto = _last_entry(_header(scope, b"x-forwarded-proto"))
        return proto is not None and proto.lower() == "https"
    return False


def client_address(scope: Scope, *, trust_proxy_headers: bool) -> str:
    """The client's address: from the socket, or from the trusted proxy's X-Forwarded-For."""
    if trust_proxy_headers:
        forwarded = _last_entry(_header(scope, b"x-forwarded-for"))
        if forwarded:
            return forwarded[:64]
    client = scope.get("client")
    return str(client[0])[:64] if client else "unknown"


class SecurityHeaders:
    """ASGI middleware: add ``SECURITY_HEADERS`` (and HSTS over TLS) to every HTTP response."""

    def __init__(
        self, app: ASGIApp, *, trust_proxy_headers: bool, image_origins: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.trust_proxy_headers = trust_proxy_headers
        self.headers = {
            **SECURITY_HEADERS,
            "Content-Security-Policy": content_security_policy(image_origins=image_origins),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: PLR0917
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = request_is_https(scope, trust_proxy_headers=self.trust_proxy_headers)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
