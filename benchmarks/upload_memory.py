"""Upload memory: the server's peak RSS while a 2 GB file streams into the evidence store.

``haven serve`` runs in its own process on 127.0.0.1; a client in this process sends a
body generated on the fly (1 MiB blocks, never stored on the client) to
``POST /api/incidents/{id}/evidence`` and the server's peak resident memory (``VmHWM``
in ``/proc/PID/status``, a fresh server per upload) and the throughput are recorded.
Baseline in the same run: the same Haven app with one naive endpoint that reads the
whole body (``await request.body()``) before storing it the same way, at smaller sizes,
to show that its memory grows with the upload while the streamed one stays flat.

    .venv/bin/python benchmarks/upload_memory.py --size-mb 2048 --baseline-mb 128,256
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import Request

from haven import accounts, evidence, reports
from haven.accounts import SYSTEM, Role
from haven.api.auth import CurrentActor
from haven.app import create_app
from haven.db import open_database
from haven.evidence import EvidenceIn
from haven.evidence_store import Staging
from haven.settings import Settings
from report import machine, run_block, write_section

REPO = Path(__file__).resolve().parent.parent
HAVEN = Path(sys.executable).with_name("haven")
BLOCK = 1 << 20
MIB = 1 << 20
AIM_MB = 200
AIM_BYTES = AIM_MB * 1_000_000
BEGIN_MARK = (
    "<!-- upload:begin (written by benchmarks/upload_memory.py; edits here are overwritten) -->"
)
START_TIMEOUT = 60.0


@dataclass
class Run:
    """One upload: which endpoint, how much, the server's memory and the time it took."""

    endpoint: str
    size: int
    idle_rss: int
    peak_rss: int
    seconds: float
    status: int
    hash_ok: bool

    @property
    def throughput(self) -> float:
        """MiB per second, from the first byte sent to the response."""
        return self.size / MIB / self.seconds if self.seconds else float("nan")


def _body(size: int, *, seed: int) -> Iterator[bytes]:
    """``size`` bytes in 1 MiB blocks, each block distinct; nothing is kept."""
    block = bytearray(random.Random(seed).randbytes(BLOCK))
    sent = 0
    number = 0
    while sent < size:
        block[:8] = number.to_bytes(8, "big")
        piece = bytes(block[: min(BLOCK, size - sent)])
        sent += len(piece)
        number += 1
        yield piece


def _expected_sha256(size: int, *, seed: int) -> str:
    digest = hashlib.sha256()
    for piece in _body(size, seed=seed):
        digest.update(piece)
    return digest.hexdigest()


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(
    command: list[str], *, env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1.0).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not answer within {START_TIMEOUT}s:\n{log.read_text()}")


def _upload(
    command: list[str], *, env: dict[str, str], log: Path, path: str, token: str, size: int
) -> Run:
    """Start a fresh server, send one body of ``size`` bytes, read the server's peak RSS."""
    process, base = _start(command, env=env, log=log)
    try:
        time.sleep(0.5)
        idle = _status_kib(process.pid, "VmRSS")
        seed = size
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "video/mp4",
            "Content-Length": str(size),
        }
        started = time.perf_counter()
        response = httpx.post(
            f"{base}{path}",
            content=_body(size, seed=seed),
            headers=headers,
            params={"filename": f"benchmark-{size // MIB}MiB.mp4"},
            timeout=None,
        )
        seconds = time.perf_counter() - started
        peak = _status_kib(process.pid, "VmHWM")
        stored = response.json().get("sha256") if response.status_code == 201 else None
        return Run(
            endpoint="naive" if "naive" in path else "streamed",
            size=size,
            idle_rss=idle,
            peak_rss=peak,
            seconds=seconds,
            status=response.status_code,
            hash_ok=stored == _expected_sha256(size, seed=seed),
        )
    finally:
        process.kill()
        process.wait(timeout=30)


# --- the naive server (baseline) ------------------------------------------------------------


def serve_naive(host: str, port: int) -> None:
    """Haven's app plus ``POST /naive/{incident_id}``, which reads the whole body first."""
    settings = Settings()
    app = create_app(settings)

    @app.post("/naive/{incident_id}", status_code=201)
    async def naive(incident_id: str, request: Request, *, actor: CurrentActor) -> dict[str, Any]:
        body = await request.body()  # the whole upload in memory
        with Staging(settings, media_type="video/mp4") as staging:
            staging.write(body)
            staged = staging.finish()
        try:
            item = await app.state.db.awrite(
                lambda s: evidence.receive(
                    s,
                    incident_id,
                    meta=EvidenceIn(filename="naive.mp4"),
                    staged=staged,
                    actor=actor,
                    settings=settings,
                )
            )
        finally:
            staged.discard()
        return {"sha256": item.sha256}

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


# --- setup and report -----------------------------------------------------------------------


def _prepare(data_dir: Path, env: dict[str, str]) -> tuple[str, str]:
    """``haven init``, an admin with a token and one incident; returns (token, incident id)."""
    subprocess.run([str(HAVEN), "init"], env=env, check=True, capture_output=True)
    db = open_database(Settings(data_dir=data_dir))
    try:
        token = db.write(
            lambda s: (
                accounts.add_user(
                    s,
                    "bench-admin",
                    role=Role.ADMIN,
                    organisation="Bench",
                    password=None,
                    actor=SYSTEM,
                ),
                accounts.create_token(s, "bench-admin", name="bench", actor=SYSTEM),
            )[1]
        )
        report = reports.ReportIn.model_validate(
            {
                "id": "00000000-0000-4000-8000-00000000b0b0",
                "source": {"name": "benchmark (fictional)", "kind": "form"},
                "occurred_at": "2024-01-15T08:00:00Z",
                "country": "YEM",
                "attack_types": ["Setting fire"],
                "narrative": "EXERCISE: fictional incident for the upload benchmark.",
                "exercise": True,
            }
        )
        incident_id = db.write(lambda s: reports.submit(s, report, actor=SYSTEM)).incident_id
    finally:
        db.close()
    return token, incident_id


def _filesystem_of(path: Path) -> str:
    done = subprocess.run(
        ["df", "-T", str(path)], capture_output=True, text=True, check=False, timeout=10
    )
    rows = done.stdout.splitlines()
    if done.returncode or len(rows) < 2:
        return f"unknown (files in {path.parent})"
    device, kind = rows[1].split()[:2]
    return f"{kind} on {device} (files in {path.parent})"


def _mb(value: int) -> str:
    return f"{value / MIB:,.0f}"


def section(runs: list[Run], *, command: str, facts: dict[str, str]) -> str:
    streamed = max((r for r in runs if r.endpoint == "streamed"), key=lambda r: r.size)
    verdict = "met" if streamed.peak_rss < AIM_BYTES and streamed.hash_ok else "not met"
    lines = [
        BEGIN_MARK,
        "## Evidence upload memory (`benchmarks/upload_memory.py`)",
        "",
        "Peak resident memory of the server process while one evidence file is uploaded",
        "through `POST /api/incidents/{id}/evidence` (streamed to disk while hashed), against",
        "the baseline of the same app with a naive endpoint that reads the whole body",
        f"(`await request.body()`) before storing it the same way. Aim: under {AIM_MB} MB for",
        "a 2 GB upload.",
        "",
        *run_block(command, facts),
        "",
        "### Results",
        "",
        "| endpoint | body MiB | server RSS idle MiB | server peak RSS MiB | peak − idle MiB "
        "| MiB/s | status | stored SHA-256 matches |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for run in runs:
        lines.append(
            f"| {'streamed (Haven)' if run.endpoint == 'streamed' else 'naive baseline'} "
            f"| {_mb(run.size)} | {_mb(run.idle_rss)} | {_mb(run.peak_rss)} "
            f"| {_mb(run.peak_rss - run.idle_rss)} | {run.throughput:,.0f} | {run.status} "
            f"| {'yes' if run.hash_ok else 'no'} |"
        )
    lines += [
        "",
        f"- Streamed {_mb(streamed.size)} MiB: server peak {_mb(streamed.peak_rss)} MiB "
        f"({streamed.peak_rss / 1e6:,.0f} MB), {_mb(streamed.peak_rss - streamed.idle_rss)} MiB "
        f"above idle; aim (< {AIM_MB} MB) {verdict}.",
        *_naive_lines(runs, streamed_size=streamed.size),
        "",
        "How it is measured: each upload gets a fresh server process (`haven serve`, one",
        "uvicorn process, SQLite) so that `VmHWM` (the kernel's peak RSS of the process) covers",
        "that upload alone; idle RSS is read after start-up (most of it is the imported",
        "libraries). The client is the benchmark script, in its own process: it generates the",
        "body on the fly in 1 MiB blocks with a `Content-Length` header and keeps none of it;",
        "throughput counts from the first byte sent to the response, which comes after the",
        "file is on disk (fsync) and its row and custody leaf are committed. Each figure is",
        "one upload on a machine shared with other work, so throughput is only indicative.",
        "The naive server is the same Haven app with one extra route that calls",
        "`await request.body()` and then stores the bytes through the same store.",
        "<!-- upload:end -->",
    ]
    return "\n".join(lines)


def _naive_lines(runs: list[Run], *, streamed_size: int) -> list[str]:
    naive = [r for r in runs if r.endpoint == "naive" and r.status == 201]
    if not naive:
        return []
    ratios = ", ".join(
        f"{(r.peak_rss - r.idle_rss) / r.size:.1f} × at {_mb(r.size)} MiB" for r in naive
    )
    factor = max((r.peak_rss - r.idle_rss) / r.size for r in naive)
    return [
        f"- Naive baseline: memory above idle grows with the body ({ratios} the body size); "
        f"at that rate a {_mb(streamed_size)} MiB upload would hold about "
        f"{factor * streamed_size / 2**30:,.1f} GiB.",
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mb", type=int, default=2048, help="streamed upload, MiB")
    parser.add_argument(
        "--baseline-mb", default="128,256", help="naive uploads (and streamed ones), MiB"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where the instance lives")
    parser.add_argument("--no-write", action="store_true", help="do not update the docs")
    parser.add_argument("--serve-naive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.serve_naive:
        serve_naive(args.host, args.port)
        return
    workdir = Path(tempfile.mkdtemp(prefix="haven-upload-bench-", dir=args.workdir))
    try:
        data_dir = workdir / "instance"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
        env["HAVEN_DATA_DIR"] = str(data_dir)
        env["HAVEN_LOG_LEVEL"] = "warning"
        token, incident_id = _prepare(data_dir, env)
        small = [int(part) * MIB for part in args.baseline_mb.split(",") if part.strip()]
        naive_env = {**env, "HAVEN_MAX_BODY_BYTES": str(max(small) + MIB)}
        log = workdir / "server.log"
        runs: list[Run] = []
        evidence_path = f"/api/incidents/{incident_id}/evidence"
        serve = [str(HAVEN), "serve"]
        naive = [sys.executable, str(Path(__file__).resolve()), "--serve-naive"]
        for size in small:
            runs.append(
                _upload(
                    naive,
                    env=naive_env,
                    log=log,
                    path=f"/naive/{incident_id}",
                    token=token,
                    size=size,
                )
            )
            runs.append(
                _upload(serve, env=env, log=log, path=evidence_path, token=token, size=size)
            )
        runs.append(
            _upload(
                serve, env=env, log=log, path=evidence_path, token=token, size=args.size_mb * MIB
            )
        )
        for run in runs:
            print(
                f"{run.endpoint:9} {_mb(run.size):>6} MiB: peak {_mb(run.peak_rss)} MiB "
                f"(idle {_mb(run.idle_rss)}), {run.throughput:,.0f} MiB/s, status {run.status}, "
                f"hash {'ok' if run.hash_ok else 'WRONG'}"
            )
        command = " ".join(
            [".venv/bin/python", "benchmarks/upload_memory.py", *(argv or sys.argv[1:])]
        )
        facts = machine()
        facts["Disk"] = _filesystem_of(workdir)
        if not args.no_write:
            write_section("upload", section(runs, command=command, facts=facts))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
