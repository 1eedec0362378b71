"""Settings: the only place that reads the environment (prefix ``THREADLINE_``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as ``THREADLINE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="THREADLINE_", extra="ignore")

    data_dir: Path = Path(".threadline")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    secret_key: str = ""
    max_body_bytes: int = 1_000_000

    worker_concurrency: int = 16
    api_connections: int = 24
    worker_poll_seconds: float = 0.2
    job_lease_seconds: float = 8.0
    http_timeout_seconds: float = 15.0

    sandbox_enabled: bool = True
    embedded_worker: bool = True
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"
    metrics_enabled: bool = True
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)

    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)

    # Flow calls (webhook, function, decide): see "Egress policy" in docs/architecture.md.
    egress_allow: str = ""
    call_max_response_bytes: int = Field(default=262_144, ge=1)
    # The slow lane's slots (external calls), apart from ``worker_concurrency`` (the fast
    # lane: timers, inbox turns, deliveries), so slow calls never make timers late.
    worker_slow_concurrency: int = Field(default=8, ge=1)
    # The model lane's slots: agents' model calls wait seconds on a provider and use no
    # CPU meanwhile, so one worker runs many (each holds a connection only briefly).
    worker_model_concurrency: int = Field(default=128, ge=1)
    # A job whose task this worker does not know is left to workers that do (a rolling
    # deploy) for this long after it was created, then failed.
    unknown_task_grace_seconds: float = Field(default=600.0, ge=0)
    #: Graph base URL that sandbox WhatsApp configs send to; empty: this server's own.
    sandbox_url: str = ""
    #: Meta's Graph API, where production WhatsApp configs send unless they name another.
    graph_url: str = "https://graph.facebook.com"
    #: Serve the local model server (both wire protocols, scripted answers) in-process, and
    #: answer a project with no model of its own from it.
    model_server_enabled: bool = True
    #: Where the local model server is reached; empty: this server's own mount.
    model_server_url: str = ""

    # The WhatsApp channel (see "Inbound messages" in docs/architecture.md).
    #: The Meta app's secret, which signs every webhook delivery (a config may override it).
    meta_app_secret: str | None = None
    #: The token Meta's webhook handshake must present on ``/webhooks/whatsapp``.
    meta_verify_token: str | None = None
    # Embedded signup, the Meta side of setup links (see "Setup links" in the README).
    #: The Meta app's id (with ``meta_app_secret``, setup pages offer Facebook's signup).
    meta_app_id: str | None = None
    #: The embedded signup configuration (Facebook Login for Business ``config_id``).
    meta_signup_config_id: str | None = None
    #: Where the signup dialog is served: Facebook, or a sandbox playing it.
    signup_dialog_url: str = "https://www.facebook.com"
    #: Meta's own cap on a webhook delivery.
    webhook_max_body_bytes: int = Field(default=3 * 1024 * 1024, ge=1)
    #: The body cap under ``/meta/whatsapp`` (the proxy's media uploads: Meta's 16 MB for
    #: audio and video, plus the multipart framing).
    meta_proxy_max_body_bytes: int = Field(default=16 * 1024 * 1024 + 64 * 1024, ge=1)
    #: A conversation with no message for this long is ended.
    conversation_inactivity_minutes: float = Field(default=1440, gt=0)
    #: Messages of one user this close together resume a flow once, combined (0: off).
    inbound_debounce_ms: int = Field(default=0, ge=0)
    # Group commit of webhook deliveries (see "Group commit" in docs/architecture.md).
    #: How long the writer waits for more deliveries before it stores a group (0: none).
    ingest_group_window_ms: float = Field(default=2.0, ge=0)
    #: The most deliveries stored in one transaction.
    ingest_group_max: int = Field(default=64, ge=1)
    #: Deliveries waiting to be stored at most; one more is answered 503 (Meta retries).
    ingest_queue_limit: int = Field(default=2000, ge=1)
    #: A delivery not stored within this long is answered 503 (it may still be stored).
    ingest_timeout_seconds: float = Field(default=10.0, gt=0)
    #: How long the receiver's config lookups are cached (0: off); see whatsapp_configs/cache.py.
    config_cache_seconds: float = Field(default=5.0, ge=0)
    #: Event webhooks: the first retry's delay (doubling, with jitter, up to the maximum),
    #: the attempts before a delivery is recorded as failed, and each POST's timeout.
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=600.0, gt=0)
    webhook_max_attempts: int = Field(default=10, ge=1)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    #: A send of unknown outcome: ``never`` resent, or ``resend`` once after the grace
    #: period when Meta reported no status for it but did for later messages to the
    #: same number (see "The unknown-outcome window" in docs/architecture.md).
    unknown_outcome_policy: Literal["never", "resend"] = "resend"
    unknown_outcome_grace_seconds: float = Field(default=60.0, ge=0)

    # Broadcasts (see "Broadcasts" in docs/architecture.md).
    #: The pace of a broadcast that names none: messages per second handed to the Graph
    #: API (Meta's base tier is 80/s; a number upgraded to a higher tier, up to 1000/s).
    broadcast_rate_per_second: float = Field(default=80.0, gt=0, le=1000)
    #: The most recipients one broadcast may hold.
    broadcast_max_recipients: int = Field(default=100_000, ge=1)

    # Retention (see "Retention" in docs/architecture.md); 0 days keeps that kind forever.
    #: An ended or failed execution's event log is compacted this long after it ended.
    event_retention_days: int = Field(default=30, ge=0)
    #: Failed jobs are kept this long for inspection.
    failed_job_retention_days: int = Field(default=30, ge=0)
    #: Processed webhook deliveries and delivery statuses are kept this long (at least a
    #: day, the horizon over which the settling of unknown outcomes reads statuses).
    webhook_retention_days: int = Field(default=30, ge=0)
    #: Rows one retention transaction compacts or deletes, at most, of each kind.
    retention_batch_size: int = Field(default=500, ge=1)
    #: How often the retention runs once it has caught up.
    retention_interval_seconds: float = Field(default=3600.0, gt=0)

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory.

        ``postgresql://``, ``postgres://`` and ``sqlite:///`` get the async drivers.
        """
        if self.database_url:
            return async_driver_url(self.database_url)
        return f"sqlite+aiosqlite:///{self.data_dir / 'threadline.db'}"

    def base_url(self) -> str:
        """Where this server is reached; the sandbox WhatsApp config points here."""
        return self.public_url or f"http://{self.host}:{self.port}"

    def webhook_url(self) -> str:
        """The app-wide URL Meta's webhooks are pointed at (``/{config_id}`` names one number)."""
        return self.base_url().rstrip("/") + WEBHOOK_PATH

    def sandbox_graph_url(self) -> str:
        """Where sandbox configs send, resolved by each process (server or worker) at send time."""
        return (self.sandbox_url or self.base_url() + SANDBOX_MOUNT).rstrip("/")

    def local_model_url(self, provider: Literal["openai", "anthropic"]) -> str:
        """The local model server's base URL for one wire protocol, as that vendor's SDK
        takes it (``.../openai/v1`` for chat completions, ``.../anthropic`` for messages)."""
        root = (self.model_server_url or self.base_url() + MODEL_SERVER_MOUNT).rstrip("/")
        return root + ("/openai/v1" if provider == "openai" else "/anthropic")

    def is_local_model_url(self, url: str | None) -> bool:
        """Whether ``url`` is one of the local model server's own base URLs."""
        if not url:
            return False
        kinds: tuple[Literal["openai", "anthropic"], ...] = ("openai", "anthropic")
        return url.rstrip("/") in {self.local_model_url(kind) for kind in kinds}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


#: Where Meta's webhooks are received (``inbound/endpoints.py`` serves it).
WEBHOOK_PATH = "/webhooks/whatsapp"

#: Where ``create_app`` mounts the embedded WhatsApp sandbox.
SANDBOX_MOUNT = "/sandbox"

#: Where ``create_app`` mounts the local model server.
MODEL_SERVER_MOUNT = "/model-server"


@dataclass(frozen=True)
class SandboxIdentity:
    """The business number the sandbox is seeded with; sandbox WhatsApp configs use it."""

    phone_number_id: str = "100000000000001"
    display_phone_number: str = "+15550000001"
    waba_id: str = "200000000000001"
    access_token: str = "sandbox-token"
    api_version: str = "v23.0"
    app_secret: str = "sandbox-app-secret"
    #: The Meta app the sandbox plays: embedded signup's ``client_id``.
    app_id: str = "300000000000001"


SANDBOX_IDENTITY = SandboxIdentity()


#: The driver each backend runs on, whatever driver a URL names.
ASYNC_DRIVERS = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
ASYNC_DRIVERS["sqlite"] = "sqlite+aiosqlite"


def async_driver_url(url: str) -> str:
    """``url`` with its scheme's driver replaced by the async one Threadline uses."""
    scheme, separator, rest = url.partition("://")
    backend = scheme.split("+", 1)[0].lower()
    if not separator or backend not in ASYNC_DRIVERS:
        return url
    return f"{ASYNC_DRIVERS[backend]}://{rest}"
