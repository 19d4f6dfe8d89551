"""One typed Settings object: every knob Haven has, with its default and its help text."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from haven.errors import ConfigurationError

__all__ = ["DEFAULT_SECRET", "Settings"]

DEFAULT_SECRET = "haven-development-secret-change-me"


class Settings(BaseSettings):
    """Haven's configuration.

    Read from ``HAVEN_*`` environment variables only when the object is built
    (``Settings()``); importing Haven reads nothing. Tests build their own.
    Every field is listed in ``docs/settings.md`` (a test checks).
    """

    model_config = SettingsConfigDict(env_prefix="HAVEN_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path("var"),
        description="Folder for the embedded SQLite database and other instance files.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database. Empty means SQLite at DATA_DIR/haven.db. "
            "PostgreSQL: postgresql+psycopg://user:password@host:5432/haven "
            "(needs `pip install haven[postgres]`)."
        ),
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL",
        description=(
            "SQLite synchronous mode. FULL makes every acknowledged write survive a power cut; "
            "NORMAL (with WAL) survives a process crash but may lose the last commits "
            "on power loss."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `haven serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `haven serve` listens on.")
    production: bool = Field(
        default=False,
        description="Production mode: refuses to start with the default secret key.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEFAULT_SECRET),
        description="Secret for signing session data. Must be changed in production mode.",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body the API accepts, in bytes; larger bodies get 413.",
    )
    page_size: int = Field(
        default=50, ge=1, le=1000, description="Default number of items per page in lists."
    )
    max_page_size: int = Field(
        default=500, ge=1, le=10_000, description="Largest page a client may ask for."
    )
    writer_batch_max: int = Field(
        default=256,
        ge=1,
        le=10_000,
        description=(
            "Most writes the single database writer commits in one transaction (group commit). "
            "Each write still succeeds or fails on its own."
        ),
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Server log level."
    )

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.production and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise ConfigurationError(
                "production mode needs HAVEN_SECRET_KEY set to a secret of your own",
                fields={"secret_key": "is the default development secret"},
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with the SQLite default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'haven.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.resolved_database_url.startswith("sqlite")
