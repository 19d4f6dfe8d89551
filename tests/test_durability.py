"""A report acknowledged with 201 survives the server being killed (SIGKILL) right after."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.sql import func

from haven.db import open_database
from haven.models import AuditEventRow, IncidentRow, ReportRow
from haven.settings import Settings
from tests.support.postgres import PostgresServer

HAVEN = Path(sys.executable).parent / "haven"
ACKNOWLEDGED = 200
"""How many 201s to collect before the kill."""
SPARE = 60
"""Reports beyond ``ACKNOWLEDGED`` the clients may still be sending when the kill comes."""
THREADS = 4
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 15.0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def instance_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Environment of a fresh Haven instance (SQLite in ``tmp_path``, or a new PostgreSQL db)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env["HAVEN_DATA_DIR"] = str(tmp_path / "instance")
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        env["HAVEN_DATABASE_URL"] = server.create_database(f"d_{uuid.uuid4().hex[:16]}")
    return env


def _haven(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(HAVEN), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"haven {' '.join(args)}: {done.stderr}"
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``haven serve`` on a free port, answering /api/health; always stopped on the way out."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(HAVEN), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_health(process, base, log=log)
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _wait_for_health(process: subprocess.Popen[bytes], base: str, *, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"haven serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"haven serve did not answer within {START_TIMEOUT}s:\n{log.read_text()}")


def _report(number: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "source": {"name": f"durability client {number % THREADS}", "kind": "api"},
        "occurred_at": f"2024-03-{1 + number % 28:02d}T{number % 24:02d}:00:00Z",
        "country": "SDN",
        "location": {"lon": 32.0 + number / 1000, "lat": 15.0 + number / 1000},
        "attack_types": ["Setting fire"],
        "narrative": f"report {number}",
    }


@dataclass
class Run:
    """What the clients sent and what the server acknowledged before it was killed."""

    process: subprocess.Popen[bytes]
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    acknowledged: dict[str, str] = field(default_factory=dict)
    killed_at_ack: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    numbers: Iterator[int] = field(default_factory=itertools.count)

    def next_report(self) -> dict[str, Any] | None:
        with self.lock:
            if self.killed_at_ack is not None:
                return None
            number = next(self.numbers)
            if number >= ACKNOWLEDGED + SPARE:
                return None
            payload = _report(number)
            self.sent[payload["id"]] = payload
            return payload

    def acknowledge(self, report_id: str, incident_id: str) -> None:
        """Record a 201; the one that makes ``ACKNOWLEDGED`` kills the server at once."""
        with self.lock:
            if self.killed_at_ack is not None:
                return
            self.acknowledged[report_id] = incident_id
            if len(self.acknowledged) == ACKNOWLEDGED:
                os.kill(self.process.pid, signal.SIGKILL)
                self.killed_at_ack = len(self.acknowledged)


def _client_loop(run: Run, base: str, *, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=REQUEST_TIMEOUT) as client:
        while (payload := run.next_report()) is not None:
            try:
                response = client.post("/api/reports", json=payload)
            except httpx.HTTPError:
                return  # the server is gone
            if response.status_code == 201:
                run.acknowledge(payload["id"], response.json()["incident_id"])
            else:
                assert response.status_code >= 500, response.text


def _counts(env: dict[str, str]) -> dict[str, int]:
    settings = Settings(
        data_dir=Path(env["HAVEN_DATA_DIR"]), database_url=env.get("HAVEN_DATABASE_URL")
    )
    db = open_database(settings, migrate_schema=False)
    try:
        with db.read() as session:

            def count(*where: Any, table: Any = AuditEventRow) -> int:
                return session.scalar(select(func.count()).select_from(table).where(*where)) or 0

            return {
                "reports": count(table=ReportRow),
                "incidents": count(table=IncidentRow),
                "report_audits": count(AuditEventRow.action == "report.create"),
                "incident_audits": count(AuditEventRow.action == "incident.open"),
            }
    finally:
        db.close()


def test_acknowledged_reports_survive_sigkill(instance_env: dict[str, str], tmp_path: Path) -> None:
    _haven(instance_env, "init")
    _haven(instance_env, "user", "add", "durability-tester", "--role", "verifier", "--org", "T")
    token = _haven(instance_env, "token", "create", "durability-tester").strip().splitlines()[-1]
    log = tmp_path / "server.log"

    with running_server(instance_env, log) as (process, base):
        run = Run(process=process)
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(_client_loop, run, base, token=token) for _ in range(THREADS)]
            for future in futures:
                future.result(timeout=300)
        assert run.killed_at_ack == ACKNOWLEDGED, f"only {len(run.acknowledged)} acknowledged"
        assert process.wait(timeout=30) == -signal.SIGKILL

    with running_server(instance_env, log) as (_process, base):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=REQUEST_TIMEOUT) as client:
            for report_id, incident_id in run.acknowledged.items():
                stored = client.get(
                    f"/api/reports/{report_id}", params={"purpose": "durability check"}
                )
                assert stored.status_code == 200, f"acknowledged {report_id} lost: {stored.text}"
                assert stored.json()["incident_id"] == incident_id
                assert stored.json()["sensitive"]["narrative"] == run.sent[report_id]["narrative"]

            after_crash = _counts(instance_env)

            # A client resends everything it sent: acknowledged ones are no-ops, and each
            # report ends up stored exactly once.
            for report_id, payload in run.sent.items():
                resent = client.post("/api/reports", json=payload)
                expected = (200,) if report_id in run.acknowledged else (200, 201)
                assert resent.status_code in expected, resent.text
                if report_id in run.acknowledged:
                    assert resent.json()["incident_id"] == run.acknowledged[report_id]

    assert ACKNOWLEDGED <= after_crash["reports"] <= len(run.sent)
    # Each stored report came with its incident and both audit events, or not at all.
    assert after_crash["incidents"] == after_crash["reports"]
    assert after_crash["report_audits"] == after_crash["reports"]
    assert after_crash["incident_audits"] == after_crash["incidents"]
    final = _counts(instance_env)
    assert final["reports"] == final["incidents"] == len(run.sent)
    assert final["report_audits"] == final["incident_audits"] == len(run.sent)
