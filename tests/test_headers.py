"""Security headers on every API response; HSTS only over TLS; production refuses weak hashing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from haven.api.headers import HSTS, SECURITY_HEADERS
from haven.app import create_app
from haven.db import Database
from haven.errors import ConfigurationError
from haven.settings import Settings

EXPECTED = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def _assert_secure(headers: dict[str, str] | object) -> None:
    for name, value in EXPECTED.items():
        assert headers[name] == value, name  # type: ignore[index]
    policy = headers["permissions-policy"]  # type: ignore[index]
    assert "geolocation=(self)" in policy and "camera=()" in policy


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/health", 200),
        ("GET", "/api/openapi.json", 200),
        ("GET", "/api/incidents", 401),
        ("GET", "/api/no-such-thing", 404),
        ("POST", "/api/login", 422),
    ],
)
def test_every_response_carries_the_security_headers(
    *, client: TestClient, method: str, path: str, status: int
) -> None:
    answer = client.request(method, path)
    assert answer.status_code == status
    _assert_secure(answer.headers)
    assert "strict-transport-security" not in answer.headers  # plain http


def test_oversized_body_refusal_carries_them_too(client: TestClient) -> None:
    answer = client.post("/api/login", content=b"x" * 2_000_000)
    assert answer.status_code == 413
    _assert_secure(answer.headers)


def test_policy_allows_no_inline_script() -> None:
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_hsts_only_over_tls(settings: Settings, db: Database) -> None:
    with TestClient(create_app(settings, db=db), base_url="https://testserver") as client:
        assert client.get("/api/health").headers["strict-transport-security"] == HSTS
    with TestClient(create_app(settings, db=db)) as client:
        spoofed = client.get("/api/health", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in spoofed.headers  # proxy headers not trusted


def test_hsts_behind_a_trusted_tls_proxy(settings: Settings, db: Database) -> None:
    trusting = settings.model_copy(update={"trust_proxy_headers": True})
    with TestClient(create_app(trusting, db=db)) as client:
        proxied = client.get("/api/health", headers={"X-Forwarded-Proto": "https"})
        assert proxied.headers["strict-transport-security"] == HSTS
        plain = client.get("/api/health", headers={"X-Forwarded-Proto": "http"})
        assert "strict-transport-security" not in plain.headers


def test_production_refuses_weak_password_hashing() -> None:
    secret = SecretStr("s" * 40)
    with pytest.raises(ConfigurationError) as caught:
        Settings(production=True, secret_key=secret, argon2_memory_kib=1024)
    assert "argon2_memory_kib" in caught.value.fields
    assert Settings(argon2_memory_kib=64, argon2_time_cost=1).argon2_memory_kib == 64


def test_a_configured_tile_server_is_the_only_extra_image_origin(
    settings: Settings, db: Database
) -> None:
    tiled = settings.model_copy(
        update={"map_tile_url": "https://tiles.example.org/osm/{z}/{x}/{y}.png"}
    )
    with TestClient(create_app(tiled, db=db)) as client:
        policy = client.get("/api/health").headers["content-security-policy"]
        page = client.get("/login").text
    assert "img-src 'self' https://tiles.example.org data: blob:" in policy
    assert "script-src 'self';" in policy
    assert 'data-tiles="https://tiles.example.org/osm/{z}/{x}/{y}.png"' in page
    with TestClient(create_app(settings, db=db)) as client:
        assert (
            client.get("/api/health").headers["content-security-policy"]
            == (SECURITY_HEADERS["Content-Security-Policy"])
        )
        assert "data-tiles" not in client.get("/login").text


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "https://tiles.example.org/no-placeholders.png", "ftp://x/{z}"]
)
def test_a_tile_url_must_be_an_http_template(url: str) -> None:
    with pytest.raises(ValueError, match="map_tile_url"):
        Settings(map_tile_url=url)
