"""Settings: typed, read only when built, and unsafe in production with the default secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from haven.errors import ConfigurationError
from haven.settings import Settings


def test_default_database_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.is_sqlite
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'haven.db'}"


def test_environment_is_read_when_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_DATABASE_URL", "postgresql://db.example/haven")
    monkeypatch.setenv("HAVEN_PORT", "9001")
    settings = Settings()
    assert settings.database_url == "postgresql://db.example/haven"
    assert settings.port == 9001
    assert not settings.is_sqlite


def test_bad_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_PORT", "eighty")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert caught.value.errors()[0]["loc"] == ("port",)


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(production=True)
    assert "secret_key" in caught.value.fields
    assert Settings(production=True, secret_key=SecretStr("x" * 40)).production


def test_importing_haven_touches_nothing(tmp_path: Path) -> None:
    code = "import os, haven.app, haven.cli, haven.db, haven.api;print(sorted(os.listdir('.')))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"HAVEN_PORT": "not-a-port", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"
