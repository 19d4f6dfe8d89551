"""Ingestion benchmark: reports/s through the HTTP API against raw single-row durable inserts.

Run from the repository root (about three minutes with the defaults):

    .venv/bin/python benchmarks/ingest.py
    .venv/bin/python benchmarks/ingest.py --backends sqlite --duration 5 --no-write

For each backend, in one run and on the same disk, and for each ``--concurrency`` level:

* the raw baseline: one single-row ``INSERT`` + ``COMMIT`` per transaction from one Python
  connection, with the durability Haven uses (SQLite: WAL and ``synchronous=FULL``;
  PostgreSQL: ``fsync=on``, ``synchronous_commit=on``). The row is an id and a JSON text of
  the same size as the report the API receives. It runs right before each Haven run, so
  that a machine shared with other work slows both sides of each ratio alike;
* Haven: ``haven serve`` in a subprocess (stopped at the end, and bounded by ``timeout``) and
  an asyncio load generator that keeps C keep-alive connections busy posting new reports
  (a fresh UUID each) for ``--warmup`` + ``--duration`` seconds. Every response must be 201
  and the database must then hold exactly as many new reports as were accepted.

The figures, the machine and the command go to ``docs/benchmarks.md`` between the
``ingest`` markers; the rest of that page is kept. The exit status is 1 if a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import importlib
import math
import os
import platform
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import cast

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
BEGIN_MARK = "<!-- ingest:begin (written by benchmarks/ingest.py; edits here are overwritten) -->"
END_MARK = "<!-- ingest:end -->"
AIM = 0.40
SQLITE_BASELINE = "sqlite3 single-row INSERT+COMMIT, WAL, synchronous=FULL"
POSTGRES_BASELINE = "psycopg single-row INSERT+COMMIT, synchronous_commit=on"
PAGE_INTRO = """# Benchmarks

Benchmarks are not tests: they live in `benchmarks/`, each compares Haven with a named
baseline measured in the same run on the same machine, and each writes its figures here
together with the machine and the command that produced them. The sections between
`<!-- …:begin -->` and `<!-- …:end -->` markers are rewritten by their script; edit the
script, not the section.
"""

REPORT_TEMPLATE = (
    '{"id": "%s", "source": {"name": "bench", "kind": "api"}, '
    '"occurred_at": "2024-05-01T10:00:00Z", "country": "SDN", '
    '"location": {"lon": 32.5, "lat": 15.6}, "attack_types": ["Setting fire"], '
    '"resources": ["HC Facilities"], "casualties": {"health_workers": {"killed": 1}}, '
    '"narrative": "benchmark"}'
)


def report_json(report_id: str) -> str:
    """The JSON body of one report, as the load generator posts it."""
    return REPORT_TEMPLATE % report_id


# --- results -------------------------------------------------------------------------------


@dataclass
class Latencies:
    """Per-operation latencies in seconds, summarised as percentiles."""

    values: list[float] = field(default_factory=list)

    def percentile_ms(self, q: float) -> float:
        if not self.values:
            return float("nan")
        ordered = sorted(self.values)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index] * 1000


@dataclass
class BaselineResult:
    """The raw baseline of one backend."""

    name: str
    transactions: int
    seconds: float
    latencies: Latencies
    rows_match: bool
    other_cpu: float = float("nan")

    @property
    def per_second(self) -> float:
        return self.transactions / self.seconds


@dataclass
class LoadResult:
    """One run of the load generator against Haven at one concurrency level."""

    concurrency: int
    seconds: float
    measured_created: int = 0
    accepted_total: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    latencies: Latencies = field(default_factory=Latencies)
    errors: list[str] = field(default_factory=list)
    rows_added: int = -1
    server_cpu: float = float("nan")
    client_cpu: float = float("nan")
    other_cpu: float = float("nan")
    baseline: BaselineResult | None = None

    @property
    def per_second(self) -> float:
        return self.measured_created / self.seconds

    @property
    def ratio(self) -> float:
        """Reports/s over the transactions/s of the baseline slice run just before."""
        return self.per_second / self.baseline.per_second if self.baseline else float("nan")

    @property
    def ok(self) -> bool:
        only_201 = set(self.statuses) <= {201}
        return only_201 and not self.errors and self.rows_added == self.accepted_total


@dataclass
class BackendResult:
    """Everything measured on one backend, or why it was skipped."""

    backend: str
    version: str = ""
    runs: list[LoadResult] = field(default_factory=list)
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)


# --- raw baselines -------------------------------------------------------------------------


def sqlite_baseline(path: Path, *, seconds: float, warmup: float) -> BaselineResult:
    """Single-row INSERT + COMMIT transactions in WAL with synchronous=FULL, one connection."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS raw_reports (id TEXT PRIMARY KEY, payload TEXT NOT NULL)"
        )
        before = conn.execute("SELECT count(*) FROM raw_reports").fetchone()[0]

        def one() -> None:
            report_id = str(uuid.uuid4())
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO raw_reports (id, payload) VALUES (?, ?)",
                (report_id, report_json(report_id)),
            )
            conn.execute("COMMIT")

        done, latencies, other_cpu = _timed_loop(one, seconds=seconds, warmup=warmup)
        stored = conn.execute("SELECT count(*) FROM raw_reports").fetchone()[0]
        synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        conn.close()
    assert synchronous == 2, "the baseline must run with synchronous=FULL"
    return BaselineResult(
        name=SQLITE_BASELINE,
        transactions=len(latencies.values),
        seconds=seconds,
        latencies=latencies,
        rows_match=stored - before == done,
        other_cpu=other_cpu,
    )


def postgres_baseline(url: str, *, seconds: float, warmup: float) -> BaselineResult:
    """Single-row INSERT + COMMIT transactions through psycopg, one connection."""
    import psycopg  # noqa: PLC0415 - only PostgreSQL runs need it

    with psycopg.connect(url) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("fsync", "synchronous_commit")
        }
        assert settings == {"fsync": "on", "synchronous_commit": "on"}, settings
        conn.execute(
            "CREATE TABLE IF NOT EXISTS raw_reports (id text PRIMARY KEY, payload text NOT NULL)"
        )
        conn.commit()
        before = conn.execute("SELECT count(*) FROM raw_reports").fetchone()[0]  # type: ignore[index]

        def one() -> None:
            report_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO raw_reports (id, payload) VALUES (%s, %s)",
                (report_id, report_json(report_id)),
                prepare=True,
            )
            conn.commit()

        done, latencies, other_cpu = _timed_loop(one, seconds=seconds, warmup=warmup)
        stored = conn.execute("SELECT count(*) FROM raw_reports").fetchone()[0]  # type: ignore[index]
    return BaselineResult(
        name=POSTGRES_BASELINE,
        transactions=len(latencies.values),
        seconds=seconds,
        latencies=latencies,
        rows_match=stored - before == done,
        other_cpu=other_cpu,
    )


def _timed_loop(
    one: Callable[[], None], *, seconds: float, warmup: float
) -> tuple[int, Latencies, float]:
    """Call ``one`` for ``warmup`` then ``seconds`` seconds.

    Returns the number of calls in all, the latencies of the measured calls, and the share
    of one core that other processes used meanwhile.
    """
    latencies = Latencies()
    done = 0
    measure_from = time.perf_counter() + warmup
    while time.perf_counter() < measure_from:
        one()
        done += 1
    first = CpuSample.take(server_pid=None)
    stop_at = first.wall + seconds
    now = first.wall
    while now < stop_at:
        began = now
        one()
        done += 1
        now = time.perf_counter()
        latencies.values.append(now - began)
    _, _, others = first.shares(CpuSample.take(server_pid=None))
    return done, latencies, others


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by this process, the server, and the whole machine."""

    wall: float
    own: float
    server: float
    machine: float

    @classmethod
    def take(cls, *, server_pid: int | None) -> CpuSample:
        return cls(
            wall=time.perf_counter(),
            own=time.process_time(),
            server=_process_cpu_seconds(server_pid),
            machine=_machine_busy_seconds(),
        )

    def shares(self, later: CpuSample) -> tuple[float, float, float]:
        """Shares of one core used since this sample: this process, the server, the others."""
        window = later.wall - self.wall
        own = (later.own - self.own) / window
        server = (later.server - self.server) / window
        machine = (later.machine - self.machine) / window
        others = machine - own - (0.0 if math.isnan(server) else server)
        others = others if math.isnan(others) else max(0.0, others)  # clock-tick rounding
        return own, server, others


def _machine_busy_seconds() -> float:
    """CPU seconds all cores have spent on work since boot (not idle, I/O wait or steal)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


# --- load generator ------------------------------------------------------------------------


class _Load:
    """Shared state of one load run: what to send, what came back, and when to stop."""

    def __init__(
        self, result: LoadResult, *, token: str, measure_from: float, stop_at: float
    ) -> None:
        self.result = result
        self.measure_from = measure_from
        self.stop_at = stop_at
        self._head = (
            "POST /api/reports HTTP/1.1\r\n"
            f"Host: {HOST}\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(report_json(str(uuid.uuid4())).encode())}\r\n"
            "\r\n"
        )
        self.open = 0
        self.connections: list[_Connection] = []
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def request(self) -> bytes:
        """A complete HTTP/1.1 request carrying a report with a fresh UUID."""
        return (self._head + report_json(str(uuid.uuid4()))).encode()

    def record(self, status: int, body: bytes, *, began: float, ended: float) -> bool:
        """Count one response; whether the connection should send another request."""
        result = self.result
        result.statuses[status] += 1
        if status == 201:
            result.accepted_total += 1
            if self.measure_from <= ended < self.stop_at:
                result.measured_created += 1
                result.latencies.values.append(ended - began)
        elif len(result.errors) < 5:
            result.errors.append(f"HTTP {status}: {body[:200]!r}")
        return ended < self.stop_at and not result.errors

    def closed(self, problem: str | None) -> None:
        if problem and len(self.result.errors) < 5:
            self.result.errors.append(problem)
        self.open -= 1
        if self.open == 0 and not self.finished.done():
            self.finished.set_result(None)


def _parse_response(buffer: bytearray) -> tuple[int, bytes, int] | None:
    """Status, body and length of the first complete response in ``buffer``, if there is one."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    status = int(head[9:12])
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        raise ValueError("response without Content-Length")
    line_end = head.find(b"\r\n", at + 2)
    length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
    total = end + 4 + length
    if len(buffer) < total:
        return None
    return status, bytes(buffer[end + 4 : total]), total


class _Connection(asyncio.Protocol):
    """One keep-alive connection with one request in flight at a time."""

    def __init__(self, load: _Load) -> None:
        self.load = load
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None
        self.finishing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.load.open += 1
        self.load.connections.append(self)
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        request = self.load.request()
        self.sent_at = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        try:
            parsed = _parse_response(self.buffer)
        except ValueError as exc:
            self.load.result.errors.append(str(exc))
            self.finishing = True
            self.transport.close()
            return
        if parsed is None:
            return
        status, body, used = parsed
        del self.buffer[:used]
        ended = time.perf_counter()
        if self.load.record(status, body, began=self.sent_at, ended=ended):
            self._send()
        else:
            self.finishing = True
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        problem = None if self.finishing else f"connection lost mid-run: {exc or 'closed by peer'}"
        self.load.closed(problem)


async def _drive(
    result: LoadResult, *, port: int, token: str, warmup: float, server_pid: int | None
) -> None:
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    load = _Load(
        result, token=token, measure_from=start + warmup, stop_at=start + warmup + result.seconds
    )
    samples: list[CpuSample] = []

    def snapshot() -> None:
        samples.append(CpuSample.take(server_pid=server_pid))

    loop.call_later(warmup, snapshot)
    loop.call_later(warmup + result.seconds, snapshot)
    try:
        for _ in range(result.concurrency):
            await loop.create_connection(lambda: _Connection(load), HOST, port)
    except OSError as exc:
        result.errors.append(f"cannot connect: {exc}")
    if load.open:
        try:
            await asyncio.wait_for(asyncio.shield(load.finished), warmup + result.seconds + 60)
        except TimeoutError:
            result.errors.append("the server did not answer every request within 60 s of the end")
            for connection in load.connections:
                connection.finishing = True
                if connection.transport is not None:
                    connection.transport.abort()
    if len(samples) == 2:
        shares = samples[0].shares(samples[1])
        result.client_cpu, result.server_cpu, result.other_cpu = shares


def run_load(
    *,
    port: int,
    token: str,
    concurrency: int,
    warmup: float,
    seconds: float,
    server_pid: int | None,
) -> LoadResult:
    """Post new reports over ``concurrency`` keep-alive connections for warmup + seconds."""
    result = LoadResult(concurrency=concurrency, seconds=seconds)
    coroutine = _drive(result, port=port, token=token, warmup=warmup, server_pid=server_pid)
    try:
        import uvloop  # noqa: PLC0415 - optional: a cheaper event loop for the client

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    except ImportError:
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(coroutine)
    return result


def _process_cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc."""
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the Haven server ----------------------------------------------------------------------


def _haven_command() -> list[str]:
    script = Path(sys.executable).with_name("haven")
    if script.exists():
        return [str(script)]
    found = shutil.which("haven")
    if found:
        return [found]
    return [sys.executable, "-c", "from haven.cli import main; main()"]


def haven_env(*, data_dir: Path, database_url: str | None) -> dict[str, str]:
    """The server's environment: Haven's defaults except where the benchmark says otherwise."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.update(
        HAVEN_DATA_DIR=str(data_dir), HAVEN_SQLITE_SYNCHRONOUS="FULL", HAVEN_LOG_LEVEL="warning"
    )
    if database_url:
        env["HAVEN_DATABASE_URL"] = database_url
    return env


def prepare_instance(env: dict[str, str]) -> str:
    """``haven init``, a user allowed to submit reports, and an API token for them."""
    haven = _haven_command()
    steps = [
        ["init"],
        ["user", "add", "bench", "--role", "analyst", "--org", "Bench"],
        ["token", "create", "bench", "--name", "benchmark"],
    ]
    out = ""
    for step in steps:
        done = subprocess.run(
            [*haven, *step], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"haven {' '.join(step)} failed:\n{done.stderr.strip()}")
        out = done.stdout
    return out.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _server_pid(wrapper: subprocess.Popen[bytes]) -> int | None:
    """The pid of ``haven serve`` under the ``timeout`` wrapper."""
    children = Path(f"/proc/{wrapper.pid}/task/{wrapper.pid}/children")
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(children.read_text().split()[0])
    return None


@contextlib.contextmanager
def serving(env: dict[str, str], *, lifetime: float, log: Path) -> Iterator[tuple[int, int | None]]:
    """Run ``haven serve`` on a free loopback port for at most ``lifetime`` seconds.

    Yields the port and the server's pid; the server is stopped on exit, killed if needed.
    """
    port = _free_port()
    bound = ["timeout", "-k", "5", str(round(lifetime))] if shutil.which("timeout") else []
    command = [*bound, *_haven_command(), "serve", "--host", HOST, "--port", str(port)]
    with log.open("wb") as log_file:
        proc = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(port, proc=proc, log=log)
            yield port, _server_pid(proc) if bound else proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def _wait_healthy(port: int, *, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"haven serve exited early:\n{log.read_text()[-2000:]}")
        url = f"http://{HOST}:{port}/api/health"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"haven serve did not answer within 60 s:\n{log.read_text()[-2000:]}")


def measure(
    env: dict[str, str],
    *,
    baseline: Callable[[], BaselineResult],
    count_reports: Callable[[], int],
    args: argparse.Namespace,
    log: Path,
) -> list[LoadResult]:
    """Start Haven; then, for each concurrency level, a baseline slice and a load run.

    The baseline slice runs right before its load run (the server idle meanwhile), so
    that each ratio compares figures taken under the same conditions on a shared machine.
    """
    token = prepare_instance(env)
    levels: list[int] = args.concurrency
    lifetime = 120 + len(levels) * 2 * (args.warmup + args.duration + 60)
    runs = []
    with serving(env, lifetime=lifetime, log=log) as (port, pid):
        for concurrency in levels:
            raw = baseline()
            print(f"  {_baseline_line(raw)}", flush=True)
            before = count_reports()
            result = run_load(
                port=port,
                token=token,
                concurrency=concurrency,
                warmup=args.warmup,
                seconds=args.duration,
                server_pid=pid,
            )
            result.rows_added = count_reports() - before
            result.baseline = raw
            print(f"  {_run_line(result)}", flush=True)
            if not result.ok:
                tail = "\n    ".join(log.read_text(errors="replace").splitlines()[-40:])
                print(f"  server log ({log.name}), last lines:\n    {tail}", flush=True)
            runs.append(result)
    return runs


def _baseline_line(raw: BaselineResult) -> str:
    check = "ok" if raw.rows_match else "FAILED: row count differs"
    return (
        f"baseline   : {raw.per_second:8.0f} tx/s       "
        f"p50 {_fmt(raw.latencies.percentile_ms(50), 2)} ms  "
        f"p99 {_fmt(raw.latencies.percentile_ms(99), 2)} ms  "
        f"CPU: others {_fmt(raw.other_cpu * 100, 0)}%  {check}"
    )


def _run_line(run: LoadResult) -> str:
    check = "ok" if run.ok else f"FAILED {dict(run.statuses)} {run.errors[:2]}"
    return (
        f"Haven c={run.concurrency:<3}: {run.per_second:8.0f} reports/s  "
        f"p50 {_fmt(run.latencies.percentile_ms(50))} ms  "
        f"p99 {_fmt(run.latencies.percentile_ms(99))} ms"
        f"  CPU: server {_fmt(run.server_cpu * 100, 0)}%, client {_fmt(run.client_cpu * 100, 0)}%, "
        f"others {_fmt(run.other_cpu * 100, 0)}%  "
        f"accepted {run.accepted_total}, rows added {run.rows_added}: {check}"
    )


# --- the backends --------------------------------------------------------------------------


def run_sqlite(args: argparse.Namespace, workdir: Path) -> BackendResult:
    """Haven on its default embedded SQLite, against the sqlite3 baseline."""
    result = BackendResult(backend="SQLite", version=sqlite3.sqlite_version)
    print(f"SQLite {result.version}; baseline: {SQLITE_BASELINE}", flush=True)
    data_dir = workdir / "haven-sqlite"
    database = data_dir / "haven.db"

    def count_reports() -> int:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
            return int(conn.execute("SELECT count(*) FROM reports").fetchone()[0])

    result.runs = measure(
        haven_env(data_dir=data_dir, database_url=None),
        baseline=lambda: sqlite_baseline(
            workdir / "raw.db", seconds=args.duration, warmup=args.warmup
        ),
        count_reports=count_reports,
        args=args,
        log=workdir / "serve-sqlite.log",
    )
    return result


def run_postgresql(args: argparse.Namespace, workdir: Path) -> BackendResult:
    """A throw-away PostgreSQL cluster: the psycopg baseline, then Haven on it."""
    result = BackendResult(backend="PostgreSQL")
    try:
        import psycopg  # noqa: PLC0415 - only PostgreSQL runs need it
    except ImportError:
        result.skipped = "psycopg is not installed (pip install 'haven[postgres]')"
        return result
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    support = importlib.import_module("tests.support.postgres")
    bin_dir = support.find_bin_dir()
    if bin_dir is None:
        result.skipped = "no PostgreSQL server binaries (initdb, pg_ctl) found"
        return result
    try:
        server = support.start_postgres(bin_dir)
    except (RuntimeError, OSError, LookupError, subprocess.SubprocessError) as exc:
        result.skipped = f"the throw-away PostgreSQL server did not start ({exc})"
        return result
    try:
        baseline_url = _libpq_url(server.create_database("raw_baseline"))
        haven_url = server.create_database("haven_bench")
        with psycopg.connect(baseline_url) as conn:
            shown = {
                name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
            }
        result.version = shown.pop("server_version")
        result.notes.append(
            "server settings for both the baseline and Haven: "
            + ", ".join(f"{k}={v}" for k, v in shown.items())
            + "."
        )
        print(f"PostgreSQL {result.version}; baseline: {POSTGRES_BASELINE}", flush=True)

        def count_reports() -> int:
            with psycopg.connect(_libpq_url(haven_url)) as conn:
                return int(conn.execute("SELECT count(*) FROM reports").fetchone()[0])  # type: ignore[index]

        result.runs = measure(
            haven_env(data_dir=workdir / "haven-postgresql", database_url=haven_url),
            baseline=lambda: postgres_baseline(
                baseline_url, seconds=args.duration, warmup=args.warmup
            ),
            count_reports=count_reports,
            args=args,
            log=workdir / "serve-postgresql.log",
        )
    finally:
        server.stop()
    return result


def _libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- the report ----------------------------------------------------------------------------


def machine_facts(workdir: Path) -> list[tuple[str, str]]:
    """What the figures depend on: CPU, memory, disk, kernel and software versions."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [
        line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line
    ]
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024**2:.1f} GiB RAM"
    packages = ", ".join(
        f"{name} {_version_of(name)}"
        for name in ("haven", "uvicorn", "uvloop", "httptools", "fastapi", "sqlalchemy", "psycopg")
    )
    return [
        ("CPU", f"{models[0] if models else platform.processor()}, {os.cpu_count()} cores{memory}"),
        ("Disk", _filesystem_of(workdir)),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("Packages", packages),
        ("Haven source", _revision()),
    ]


def _revision() -> str:
    """The git commit the run used, and whether the work tree had changes on top of it."""
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty=+uncommitted changes"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return done.stdout.strip().replace("+", " + ")


def _version_of(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def _filesystem_of(path: Path) -> str:
    """The mount (device and type) holding ``path``, from /proc/mounts."""
    best = ("", "?", "?")
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            device, mount, kind = line.split()[:3]
            inside = str(path).startswith(mount.rstrip("/") + "/") or str(path) == mount
            if inside and len(mount) > len(best[0]):
                best = (mount, device, kind)
    return f"{best[2]} on {best[1]} (databases in {path.parent})"


def _fmt(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def render(results: list[BackendResult], *, machine: list[tuple[str, str]], command: str) -> str:
    """The generated section of docs/benchmarks.md."""
    lines = [
        BEGIN_MARK,
        "## Report ingestion (`benchmarks/ingest.py`)",
        "",
        "Sustained `POST /api/reports` through the HTTP API, each report durable before its",
        "201, against the raw baseline of single-row durable inserts measured in the same run.",
        f"Aim: Haven at {AIM * 100:.0f} % or more of the raw baseline.",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with:",
        "",
        "```",
        command,
        "```",
        "",
        "| machine | |",
        "| --- | --- |",
        *(f"| {key} | {value} |" for key, value in machine),
        *(
            f"| PostgreSQL | {r.version} |"
            for r in results
            if r.backend == "PostgreSQL" and r.version
        ),
        "",
        "### Results",
        "",
        "| backend | baseline | connections | baseline tx/s | baseline p50 / p99 ms "
        "| Haven reports/s | % of baseline | Haven p50 / p99 ms | server CPU | client CPU "
        "| others' CPU, baseline / Haven | all 201, rows match |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    lines += [_result_row(r.backend, run) for r in results for run in r.runs]
    lines += ["", *_summary(results)]
    lines += [
        "",
        "How it is measured: each figure counts operations that finished inside the measured",
        "window (after the warm-up). The baseline is one Python connection committing one row",
        "(an id and a JSON text the size of the posted report) per transaction; it runs right",
        "before each Haven run, on the same disk, and the ratio compares the two. Haven runs",
        "`haven serve` (one uvicorn process) with its default settings; the load generator is an",
        "asyncio client in another process that keeps the given number of keep-alive connections",
        "busy, one request in flight each, every report with a new UUID. Each report takes",
        "Haven's whole write path (report, new incident, audit events) and is committed by the",
        "single writer (group commit) before its 201. CPU columns are the share of one core",
        "that the server process, the load generator and all other processes used during the",
        f"window (the machine has {os.cpu_count()} cores; on PostgreSQL the others include the",
        "database server). Much CPU used by others means the machine was shared meanwhile.",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def _result_row(backend: str, run: LoadResult) -> str:
    raw = run.baseline
    check = "yes" if run.ok else f"**no**: {dict(run.statuses)}, rows {run.rows_added}"
    if raw is not None and not raw.rows_match:
        check += " (baseline rows differ)"
    return (
        f"| {backend} | {raw.name if raw else 'n/a'} | {run.concurrency} "
        f"| {raw.per_second if raw else float('nan'):,.0f} "
        f"| {_pair_ms(raw.latencies if raw else Latencies(), 2)} "
        f"| {run.per_second:,.0f} | {_fmt(run.ratio * 100, 0)} % "
        f"| {_pair_ms(run.latencies, 1)} "
        f"| {_fmt(run.server_cpu * 100, 0)} % | {_fmt(run.client_cpu * 100, 0)} % "
        f"| {_fmt(raw.other_cpu * 100 if raw else float('nan'), 0)} % "
        f"/ {_fmt(run.other_cpu * 100, 0)} % | {check} |"
    )


def _pair_ms(latencies: Latencies, digits: int) -> str:
    p50 = _fmt(latencies.percentile_ms(50), digits)
    return f"{p50} / {_fmt(latencies.percentile_ms(99), digits)}"


def _summary(results: list[BackendResult]) -> list[str]:
    lines = []
    saturated = _saturated(results)
    for r in results:
        if r.skipped:
            lines.append(f"- {r.backend}: skipped, {r.skipped}.")
        elif r.runs:
            best = max(r.runs, key=lambda run: run.per_second)
            verdict = "met" if best.ratio >= AIM and best.ok else "not met"
            if saturated:
                verdict = "not judged, the machine was saturated (see below)"
            lines.append(
                f"- {r.backend}: best {best.per_second:,.0f} reports/s with {best.concurrency} "
                f"connection{'s' if best.concurrency != 1 else ''}, "
                f"{_fmt(best.ratio * 100, 0)} % of its baseline: aim {verdict}."
            )
        lines += [f"- {r.backend}: {note}" for note in r.notes]
    shared = max(_window_shares(results, lambda w: w.other_cpu), default=0.0)
    if saturated:
        lines.append(
            f"- **Other processes used up to {shared * 100:.0f} % of a core in the SQLite "
            "windows, leaving this benchmark less than one core: these figures measure that "
            "contention more than Haven. Run the benchmark again on a quiet machine.**"
        )
    elif shared > 0.25:
        lines.append(
            f"- Other processes used up to {shared * 100:.0f} % of a core in the SQLite "
            "windows: the machine was shared, so the absolute figures are lower and noisier "
            "than on a quiet one (each ratio still compares slices taken one after the other)."
        )
    return lines


def _saturated(results: list[BackendResult]) -> bool:
    """Whether other processes left the benchmark less than one core in some SQLite window.

    (PostgreSQL's windows are left out: there the others include the database server.)
    """
    busiest = max(_window_shares(results, lambda w: w.other_cpu), default=0.0)
    return busiest > (os.cpu_count() or 1) - 1 + 0.1


def _window_shares(
    results: list[BackendResult], share: Callable[[BaselineResult | LoadResult], float]
) -> list[float]:
    """One CPU share of every measured SQLite window, baselines and Haven runs alike."""
    windows: list[BaselineResult | LoadResult] = [
        window
        for r in results
        if r.backend == "SQLite"
        for run in r.runs
        for window in (run, run.baseline)
        if window is not None
    ]
    return [value for value in map(share, windows) if not math.isnan(value)]


def write_page(path: Path, section: str) -> None:
    """Put ``section`` into the page, replacing the previous one; keep everything else."""
    page = path.read_text() if path.exists() else PAGE_INTRO
    begin = page.find(BEGIN_MARK)
    end = page.find(END_MARK)
    if begin >= 0 and end > begin:
        page = page[:begin] + section + page[end + len(END_MARK) :].lstrip("\n")
    else:
        page = page.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)


# --- command line --------------------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--backends",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default: %(default)s)",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds per run (default: 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured seconds before each (default: 2)"
    )
    parser.add_argument(
        "--concurrency",
        type=_int_list,
        default=[1, 16, 64],
        help="comma-separated numbers of keep-alive connections (default: 1,16,64)",
    )
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs alone")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="folder for the databases (default: temp)"
    )
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if args.duration <= 0 or args.warmup < 0 or not args.concurrency:
        parser.error("--duration must be positive, --warmup not negative, --concurrency given")
    return args


def _command(args: argparse.Namespace) -> str:
    flags = [
        "--backends",
        ",".join(args.backends),
        "--duration",
        f"{args.duration:g}",
        "--warmup",
        f"{args.warmup:g}",
        "--concurrency",
        ",".join(map(str, args.concurrency)),
    ]
    return f".venv/bin/python benchmarks/ingest.py {shlex.join(flags)}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runners: dict[str, Callable[[argparse.Namespace, Path], BackendResult]] = {
        "sqlite": run_sqlite,
        "postgresql": run_postgresql,
    }
    results: list[BackendResult] = []
    with tempfile.TemporaryDirectory(prefix="haven-bench-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        machine = machine_facts(workdir)
        for backend in args.backends:
            result = runners[backend](args, workdir)
            if result.skipped:
                print(f"{result.backend} skipped: {result.skipped}", flush=True)
            results.append(result)
    section = render(results, machine=machine, command=_command(args))
    print()
    print(section)
    if not args.no_write:
        write_page(args.output, section)
        print(f"written to {args.output}")
    healthy = all(
        run.ok and (run.baseline is None or run.baseline.rows_match)
        for r in results
        for run in r.runs
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
