"""Settings: the only place that reads the environment (prefix ``THREADLINE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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
    job_lease_seconds: float = 30.0
    http_timeout_seconds: float = 15.0

    sandbox_enabled: bool = True
    embedded_worker: bool = True
    log_level: str = "info"

    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


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
