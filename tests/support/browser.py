"""Real headless Chromium (Debian's ``chromium``) driven by Playwright, and Haven under uvicorn.

The browser tests skip, with the reason printed, only when Chromium is missing
outside CI; in CI (``CI=true``) a missing Chromium fails them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from haven import accounts, sessions
from haven.accounts import SYSTEM, Role
from haven.app import create_app
from haven.db import Database, open_database
from haven.settings import Settings

__all__ = [
    "CHROMIUM_ARGS",
    "PASSWORD",
    "LiveServer",
    "add_test_user",
    "axe_violations",
    "chromium_path",
    "launch_chromium",
    "live_server",
    "sign_in_page",
    "watch_errors",
]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
"""Needed under root and on a closed network (see the machine notes)."""

PASSWORD = "exercise-password-42"
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}


def chromium_path() -> str | None:
    """Debian's Chromium, if installed (``HAVEN_CHROMIUM`` overrides the path)."""
    override = os.environ.get("HAVEN_CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium() -> Iterator[object]:
    """One headless Chromium (skips outside CI when missing; fails in CI)."""
    path = chromium_path()
    if path is None:
        reason = "Chromium not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must run the browser tests")
        print(f"SKIP browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only browser tests need it

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class LiveServer:
    """Haven served by uvicorn on 127.0.0.1 in a thread, on its own SQLite database."""

    url: str
    db: Database
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    def add_user(self, username: str, *, role: Role, organisation: str = "Exercise Clinic") -> str:
        """Add a user with the test password; returns the username."""
        return add_test_user(
            self.db, self.settings, username=username, role=role, organisation=organisation
        )

    def stop(self) -> None:
        """Stop the server and close the database."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.db.close()


def add_test_user(
    db: Database, settings: Settings, *, username: str, role: Role, organisation: str
) -> str:
    """Add a user who signs in with ``PASSWORD`` (hashed as ``settings`` say); the username."""
    hasher = sessions.password_hasher(settings)
    db.write(
        lambda s: accounts.add_user(
            s,
            username,
            role=role,
            organisation=organisation,
            password=PASSWORD,
            actor=SYSTEM,
            hasher=hasher,
        )
    )
    return username


def live_server(data_dir: Path, **overrides: object) -> LiveServer:
    """Start Haven on a free port of 127.0.0.1 and wait until it answers (no background
    forecast warm-up, like the ``settings`` fixture, unless ``overrides`` turn it on)."""
    options = {"forecast_warmup": False, **FAST_ARGON2, **overrides}
    settings = Settings(data_dir=data_dir, **options)  # type: ignore[arg-type]
    db = open_database(settings)
    app = create_app(settings, db=db)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", db, settings, server, thread)


def sign_in_page(page: Any, server: LiveServer, *, username: str, to: str) -> None:
    """Sign ``username`` in through the login page and wait to land on ``to``."""
    page.goto(f"{server.url}/login?next={to}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{server.url}{to}")


def watch_errors(page: Any) -> list[str]:
    """Collect the page's script errors and console errors (CSP refusals show up there)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe  # noqa: PLC0415 - browser tests only

    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}}
    violations: list[dict[str, Any]] = Axe().run(page, options=options).response["violations"]
    return violations
