"""Run an evidence package's own standalone verifier the way an investigator would."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

__all__ = ["standalone_verifier"]


def standalone_verifier(zip_path: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Copy ``custody_verifier.py`` out of the package and run it in a fresh, isolated
    interpreter (``python -I``: no Haven on the path, no database, no site packages)."""
    workdir.mkdir(exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        (workdir / "custody_verifier.py").write_bytes(archive.read("custody_verifier.py"))
    return subprocess.run(
        [sys.executable, "-I", "custody_verifier.py", str(zip_path)],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
