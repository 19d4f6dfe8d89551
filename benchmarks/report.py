"""Shared by the benchmark scripts: the machine's description and rewriting a docs section."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["DOCS", "machine", "run_block", "write_section"]

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine(packages: str = "") -> dict[str, str]:
    """CPU, memory, OS, Python, the given package versions and the Haven commit."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    facts = {
        "CPU": f"{cpu}, {os.cpu_count()} cores, {memory:.1f} GiB RAM",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
    }
    if packages:
        facts["Packages"] = packages
    facts["Load average when written"] = "{:.1f} / {:.1f} / {:.1f} (1 / 5 / 15 min)".format(
        *os.getloadavg()
    )
    changed = subprocess.run(  # only the code counts: the docs being written do not
        ["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "benchmarks"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    facts["Haven source"] = f"{commit} + uncommitted changes" if changed else commit
    return facts


def run_block(command: str, facts: dict[str, str]) -> list[str]:
    """The lines saying when and with what command a benchmark ran, and on which machine."""
    return [
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with:",
        "",
        "```",
        command,
        "```",
        "",
        "| machine | |",
        "| --- | --- |",
        *(f"| {key} | {value} |" for key, value in facts.items()),
    ]


def write_section(name: str, section: str) -> None:
    """Replace the ``<!-- name:begin … -->`` … ``<!-- name:end -->`` section (or append it)."""
    begin, end = f"<!-- {name}:begin", f"<!-- {name}:end -->"
    text = DOCS.read_text(encoding="utf-8")
    if begin in text:
        start = text.index(begin)
        stop = text.index(end) + len(end)
        text = text[:start] + section.strip("\n") + text[stop:]
    else:
        text = text.rstrip("\n") + "\n\n" + section.strip("\n") + "\n"
    DOCS.write_text(text, encoding="utf-8")
