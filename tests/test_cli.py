"""The ``haven`` command end to end: real files, a real database, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from haven.db import head_revision

HAVEN = Path(sys.executable).parent / "haven"


def run(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HAVEN), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
    )


def report(**changes: object) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "source": {"name": "CLI test partner form", "kind": "form"},
        "occurred_at": "2023-11-10T07:15:00Z",
        "country": "PSE",
        "location": {"lon": 34.4446, "lat": 31.5236},
        "attack_types": ["Violence with heavy weapons"],
        "resources": ["HC Facilities"],
        "casualties": {"patients": {"killed": 2}, "health_workers": {"injured": 1}},
        "narrative": "Fictional test account.",
        **changes,
    }


def test_init_is_repeatable(tmp_path: Path) -> None:
    first = run(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    assert f"schema {head_revision()}" in first.stdout  # the newest migration
    assert run(tmp_path, "init").returncode == 0


def test_reports_add_then_list_as_table_and_json(tmp_path: Path) -> None:
    file = tmp_path / "reports.json"
    items = [report(), report(country="SDN", location={"lon": 32.5, "lat": 15.6})]
    file.write_text(json.dumps(items))
    added = run(tmp_path, "reports", "add", str(file))
    assert added.returncode == 0, added.stderr
    assert added.stdout.count(" stored -> incident ") == 2
    again = run(tmp_path, "reports", "add", str(file))
    assert again.stdout.count("already stored") == 2

    table = run(tmp_path, "incidents", "list")
    assert table.returncode == 0, table.stderr
    assert "2 incident(s)" in table.stdout
    listed = json.loads(
        run(tmp_path, "incidents", "list", "--country", "SDN", "--format", "json").stdout
    )
    assert [i["country"] for i in listed["items"]] == ["SDN"]


def test_bad_file_is_refused_whole_with_row_and_field(tmp_path: Path) -> None:
    file = tmp_path / "reports.json"
    file.write_text(json.dumps([report(), report(location={"lon": 34.4, "lat": 1.407092855e9})]))
    result = run(tmp_path, "reports", "add", str(file))
    assert result.returncode == 65
    assert result.stderr.startswith("error: ")
    assert "[1].location.lat" in result.stderr
    assert "nothing stored" in result.stderr
    listed = json.loads(run(tmp_path, "incidents", "list", "--format", "json").stdout)
    assert listed["items"] == []


def test_user_and_token_commands(tmp_path: Path) -> None:
    added = run(
        tmp_path,
        "user",
        "add",
        "amal.t",
        "--role",
        "verifier",
        "--org",
        "Test Cluster",
        "--password-stdin",
        stdin="a long enough passphrase\n",
    )
    assert added.returncode == 0, added.stderr
    duplicate = run(tmp_path, "user", "add", "amal.t", "--role", "verifier", "--org", "X")
    assert duplicate.returncode == 65
    assert "already exists" in duplicate.stderr
    token = run(tmp_path, "token", "create", "amal.t", "--name", "tablet")
    assert token.returncode == 0
    assert token.stdout.strip().startswith("hvn_")
    unknown = run(tmp_path, "token", "create", "nobody")
    assert unknown.returncode == 66
    revoked = run(tmp_path, "token", "revoke", token.stdout.strip()[:10])
    assert revoked.returncode == 0, revoked.stderr


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("user", "add", "x", "--role", "king", "--org", "O"), 2, "Invalid value for '--role'"),
        (("user", "add", "Bad Name!", "--role", "admin", "--org", "O"), 65, "username"),
        (("incidents", "list", "--certainty", "sure"), 65, "certainties"),
        (("reports", "add", "/nonexistent.json"), 2, "does not exist"),
    ],
)
def test_errors_are_one_clear_line(
    *, tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    result = run(tmp_path, *args)
    assert result.returncode == code
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_is_a_configuration_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(HAVEN), "init"],
        capture_output=True,
        text=True,
        env={
            "HAVEN_DATA_DIR": str(tmp_path),
            "HAVEN_SQLITE_SYNCHRONOUS": "OFF",
            "PATH": "/usr/bin",
        },
        timeout=60,
        check=False,
    )
    assert result.returncode == 78
    assert "sqlite_synchronous" in result.stderr
