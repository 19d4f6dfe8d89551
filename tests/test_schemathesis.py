"""Schemathesis against a running server's OpenAPI spec: no 5xx, no response outside the spec.

Bounded in time (HAVEN_SCHEMATHESIS_SECONDS per run, HAVEN_SCHEMATHESIS_EXAMPLES per operation);
raise both for a longer fuzzing session.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

HAVEN = Path(sys.executable).parent / "haven"
EXAMPLES = int(os.environ.get("HAVEN_SCHEMATHESIS_EXAMPLES", "30"))
MAX_SECONDS = int(os.environ.get("HAVEN_SCHEMATHESIS_SECONDS", "75"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _haven(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(HAVEN), *args], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Iterator[dict[str, str]]:
    """A real `haven serve` on 127.0.0.1, the demo loaded, and an admin token (every permission)."""
    data_dir = tmp_path_factory.mktemp("schemathesis")
    env = {**os.environ, "HAVEN_DATA_DIR": str(data_dir)}
    _haven(env, "init")
    _haven(env, "demo", "--datasets", str(datasets))
    _haven(env, "user", "add", "fuzz-admin", "--role", "admin", "--org", "Fuzz Org")
    token = _haven(env, "token", "create", "fuzz-admin")
    port = _free_port()
    process = subprocess.Popen(
        [str(HAVEN), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir / "server.log", "w"),  # noqa: SIM115 - closed with the process
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not start")
        yield {"base": base, "token": token}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _run_schemathesis(
    server: dict[str, str], *, tmp_path: Path, headers: list[str]
) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{server['base']}/api/openapi.json",
        "--checks",
        "all",
        # "schema-valid request rejected" flags our semantic checks (an unknown cursor, a
        # purpose of blanks, a real report naming an exercise incident): 422 is right there.
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(EXAMPLES),
        "--max-time",
        str(MAX_SECONDS),
        "--seed",
        "2024",
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        "--workers",
        "1",
    ]
    for header in headers:
        command += ["--header", header]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS + 120,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
        cwd=tmp_path,
    )


def test_authenticated(server: dict[str, str], tmp_path: Path) -> None:
    done = _run_schemathesis(
        server, tmp_path=tmp_path, headers=[f"Authorization: Bearer {server['token']}"]
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_anonymous(server: dict[str, str], tmp_path: Path) -> None:
    done = _run_schemathesis(server, tmp_path=tmp_path, headers=[])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
