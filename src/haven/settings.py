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
    master_key_file: Path | None = Field(
        default=None,
        description=(
            "File holding the master keys that wrap each organisation's data keys. Keep it "
            "outside the database and its backups. Empty means DATA_DIR/keys/master-keys.json, "
            "created on first start (production mode refuses to create it)."
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
    max_import_bytes: int = Field(
        default=50 * 1_048_576,
        ge=1024,
        description="Largest file `POST /api/imports` accepts, in bytes; larger uploads get 413.",
    )
    page_size: int = Field(
        default=50, ge=1, le=1000, description="Default number of items per page in lists."
    )
    max_evidence_bytes: int = Field(
        default=4 * 1_073_741_824,
        ge=1024,
        description=(
            "Largest evidence file `POST /api/incidents/{id}/evidence` accepts, in bytes "
            "(default 4 GiB); larger uploads get 413. Uploads are streamed to disk, never held "
            "in memory."
        ),
    )
    evidence_media_types: tuple[str, ...] = Field(
        default=(
            "image/*",
            "video/*",
            "audio/*",
            "application/pdf",
            "application/warc",
            "application/x-mimearchive",
            "multipart/related",
            "message/rfc822",
            "text/plain",
        ),
        description=(
            "Media types evidence uploads may have (the request's Content-Type); `type/*` "
            "allows a whole type. Others get 415 naming the allowed ones. As an environment "
            'variable, a JSON list, e.g. ["image/jpeg", "video/mp4"].'
        ),
    )
    max_page_size: int = Field(
        default=500, ge=1, le=10_000, description="Largest page a client may ask for."
    )
    map_tile_url: str = Field(
        default="",
        max_length=500,
        pattern=r"^(https?://[^\s{}]+\{z\}[^\s]*\{x\}[^\s]*\{y\}[^\s]*)?$",
        description=(
            "Tile URL template of a base map for the web app's maps, e.g. "
            "`https://tiles.example.org/{z}/{x}/{y}.png` (your own tile server for offline "
            "or sensitive deployments). Empty: no base map; incidents and facilities are drawn "
            "on a plain grid and nothing is fetched from a third party. Its origin is added "
            "to the pages' Content-Security-Policy `img-src`."
        ),
    )
    custody_sign_interval_seconds: int = Field(
        default=60,
        ge=0,
        le=86_400,
        description=(
            "How often the server signs a new custody tree head when the log has grown "
            "(published at /api/public/custody/heads). 0 signs only on request "
            "(`haven custody sign`, packages)."
        ),
    )
    dedup_auto_merge: bool = Field(
        default=False,
        description=(
            "Merge duplicates automatically when their score reaches the merge threshold. Off "
            "by default: on the held-out period automatic merges were right only about a third "
            "of the time (docs/methodology.md), so every candidate goes to the verifiers' queue."
        ),
    )
    dedup_on_submit: bool = Field(
        default=False,
        description=(
            "Consolidate each report posted to the API at once: merge it into the incident it "
            "duplicates or queue a suggestion, as imports do (see docs/methodology.md)."
        ),
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
    trust_proxy_headers: bool = Field(
        default=False,
        description=(
            "Haven runs behind exactly one reverse proxy that sets X-Forwarded-For and "
            "X-Forwarded-Proto: take the client address (for login throttling) and https "
            "(for Secure cookies and HSTS) from them. Leave off when clients reach Haven directly."
        ),
    )
    session_lifetime_seconds: int = Field(
        default=43_200,
        ge=300,
        le=2_592_000,
        description="How long a browser session lasts after login, in seconds (default 12 hours).",
    )
    login_window_seconds: int = Field(
        default=900,
        ge=1,
        le=86_400,
        description="Window for counting failed logins from one address, in seconds.",
    )
    login_max_failures_per_address: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description=(
            "Failed logins one address may make per window; further attempts get 429 with "
            "Retry-After, without checking the password."
        ),
    )
    login_lockout_failures: int = Field(
        default=5,
        ge=1,
        le=1000,
        description=(
            "Consecutive failed logins after which an account is locked. A locked account "
            "answers exactly like a wrong password."
        ),
    )
    login_lockout_seconds: int = Field(
        default=900,
        ge=1,
        le=604_800,
        description="How long a locked account stays locked, in seconds.",
    )
    argon2_time_cost: int = Field(
        default=3,
        ge=1,
        le=64,
        description=(
            "Argon2id passes for new password hashes (default: argon2-cffi's RFC 9106 "
            "low-memory profile). Production refuses less than 2."
        ),
    )
    argon2_memory_kib: int = Field(
        default=65_536,
        ge=8,
        le=4_194_304,
        description=(
            "Argon2id memory for new password hashes, in KiB (default 64 MiB, RFC 9106 "
            "low-memory). Production refuses less than 19456 (OWASP's minimum)."
        ),
    )
    argon2_parallelism: int = Field(
        default=4, ge=1, le=64, description="Argon2id lanes for new password hashes."
    )

    notification_lead_time_movement: int = Field(
        default=48,
        ge=0,
        le=720,
        description=(
            "Hours of notice a movement notification needs before the movement starts; "
            "less is refused unless the notification is flagged emergency."
        ),
    )
    notification_lead_time_emergency: int = Field(
        default=24,
        ge=0,
        le=720,
        description="Hours of notice an emergency movement notification needs (less is refused).",
    )
    notification_chase_every_hours: int = Field(
        default=12,
        ge=1,
        le=720,
        description="Chase a sent, unacknowledged notification every this many hours.",
    )
    notification_escalate_after_chases: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Escalate an unacknowledged notification after this many chases.",
    )
    notification_revalidate_before_hours: int = Field(
        default=48,
        ge=1,
        le=8760,
        description="Remind the coordinators to revalidate a notification this many hours "
        "before it expires.",
    )
    sms_webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Shared secret of the SMS / messaging gateway: it signs each webhook body with "
            "HMAC-SHA256 (header `X-Haven-Signature: sha256=<hex>`). Unset: `POST /api/sms` "
            "answers 404."
        ),
    )
    sms_reporter: str | None = Field(
        default=None,
        description=(
            "User name that SMS reports are recorded as (its organisation owns them); a "
            "reporter account made for the gateway."
        ),
    )
    alert_radius_m: int = Field(
        default=2000,
        ge=10,
        le=100_000,
        description=(
            "A new incident within this many metres of a facility or of an active movement's "
            "route alerts the focal points."
        ),
    )
    routing_snap_limit_m: float = Field(
        default=2000.0,
        ge=1.0,
        le=100_000.0,
        description=(
            "A route's origin or destination farther than this many metres from the road "
            "network is refused (nearer ones are snapped to the nearest junction, and the "
            "distance is reported)."
        ),
    )
    routing_risk_radius_m: float = Field(
        default=500.0,
        ge=10.0,
        le=50_000.0,
        description=(
            "An incident raises the risk of roads within this many metres of it, most at the "
            "incident and falling linearly to nothing at this distance (docs/routing.md)."
        ),
    )
    routing_risk_half_life_days: float = Field(
        default=7.0,
        gt=0.0,
        le=365.0,
        description="An incident's weight in road risk halves every this many days.",
    )
    routing_risk_window_days: int = Field(
        default=60,
        ge=1,
        le=3650,
        description="Incidents older than this many days no longer raise road risk.",
    )
    closure_proposal_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description=(
            "Obstruction incidents of the last this many days, located exactly and near a road, "
            "are proposed to coordinators as road closures (docs/routing.md)."
        ),
    )
    closure_proposal_distance_m: float = Field(
        default=150.0,
        ge=1.0,
        le=5000.0,
        description=(
            "An obstruction incident is proposed as a road closure only when a road of the "
            "imported network passes within this many metres of it."
        ),
    )
    corridor_check_interval_seconds: float = Field(
        default=900.0,
        ge=0,
        le=86_400,
        description=(
            "How often `haven serve` applies the automatic corridor rules and measures every "
            "corridor's travel time and risk, in seconds; 0 turns it off (then run "
            "`haven corridors check` from cron). See docs/corridors-evacuation.md."
        ),
    )
    forecast_method: Literal["auto", "model", "conflictology", "decayed"] = Field(
        default="auto",
        description=(
            "What the early-warning service serves: `auto` picks whichever of the model and "
            "the conflictology and decayed-history baselines scored the best Brier score over "
            "the last FORECAST_VALIDATION_MONTHS of the same data; or force one."
        ),
    )
    forecast_validation_months: int = Field(
        default=12,
        ge=3,
        le=60,
        description="Months held out to choose the forecast method when FORECAST_METHOD is auto.",
    )
    forecast_half_life_months: float = Field(
        default=3.0,
        gt=0,
        le=120,
        description="Half-life of the exponentially decayed counts (features and baseline), "
        "in months.",
    )
    forecast_warmup: bool = Field(
        default=True,
        description=(
            "`haven serve` computes the forecasts that pages ask for first (H3 cells, the "
            "facility page's month and the map overlay's, from every incident) in a background "
            "thread at start and again whenever incidents or facilities change or a month "
            "begins, so that a page does not wait for the model fit (docs/web.md)."
        ),
    )
    forecast_warmup_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="How often the forecast warm-up checks whether incidents or facilities "
        "changed, in seconds.",
    )
    facility_risk_alert_threshold: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description=(
            "A facility whose risk score (0-1) reaches this raises one risk alert per month "
            "to its parties and focal points (`haven forecast facilities --alert`)."
        ),
    )
    facility_risk_window_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Incidents within this many days before the as-of date count as recent in "
        "a facility's risk score.",
    )
    alert_max_age_hours: int = Field(
        default=72,
        ge=1,
        le=8760,
        description=(
            "Only incidents that happened within this many hours of being recorded raise "
            "alerts (imports of past events do not)."
        ),
    )
    alert_worker_interval_seconds: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description=(
            "How often `haven serve` looks for new incidents to alert on and delivers due "
            "webhooks and e-mails, in seconds; 0 turns the background worker off "
            "(then run `haven alerts deliver` from cron)."
        ),
    )
    delivery_max_attempts: int = Field(
        default=8,
        ge=1,
        le=50,
        description="Attempts to deliver one webhook or e-mail before giving up.",
    )
    delivery_backoff_seconds: float = Field(
        default=5.0,
        ge=0.01,
        le=3600,
        description="First retry delay of a failed delivery; doubled after each failure "
        "(capped at one hour).",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of one webhook request, in seconds."
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for alert and notification e-mail; empty: no e-mail."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_from: str = Field(
        default="haven@localhost", description="Sender address of Haven's e-mail."
    )
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS before sending."
    )
    smtp_username: str | None = Field(default=None, description="SMTP login name; empty: no login.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP login password.")

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.production and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise ConfigurationError(
                "production mode needs HAVEN_SECRET_KEY set to a secret of your own",
                fields={"secret_key": "is the default development secret"},
            )
        return self

    @model_validator(mode="after")
    def _refuse_weak_password_hashing_in_production(self) -> Settings:
        if self.production and (self.argon2_memory_kib < 19_456 or self.argon2_time_cost < 2):
            raise ConfigurationError(
                "production mode refuses argon2 parameters below OWASP's minimum "
                "(19456 KiB, 2 passes)",
                fields={"argon2_memory_kib": "too weak for production"},
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with the SQLite default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'haven.db').resolve()}"

    @property
    def map_tile_origins(self) -> tuple[str, ...]:
        """The origin of ``map_tile_url`` (for the Content-Security-Policy), if one is set."""
        if not self.map_tile_url:
            return ()
        scheme, _, rest = self.map_tile_url.partition("://")
        return (f"{scheme}://{rest.split('/', 1)[0]}",)

    @property
    def resolved_master_key_file(self) -> Path:
        """The master key file, with the default filled in."""
        return self.master_key_file or self.data_dir / "keys" / "master-keys.json"

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.resolved_database_url.startswith("sqlite")
