"""The long-lived resources a process shares: database, HTTP client, settings."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from threadline.config import Settings
from threadline.kit.crypto import Cipher
from threadline.kit.db import Database
from threadline.kit.egress import EgressPolicy, calls_client, no_cookies
from threadline.kit.tls import shared_ssl_context

#: Connections a worker keeps for its model lane, however many slots it has.
MODEL_LANE_CONNECTIONS = 8


@dataclass
class Resources:
    """Created once per process (API server or worker) and passed to services and jobs.

    ``http`` serves Threadline's own integrations (the WhatsApp Graph API); ``calls``
    serves flow-authored calls (webhook, function, decide) under the egress policy.
    Neither keeps cookies.
    """

    settings: Settings
    db: Database
    http: httpx.AsyncClient
    cipher: Cipher
    calls: httpx.AsyncClient
    #: The policy ``calls`` connects under (also checked when a user URL is saved).
    egress: EgressPolicy = field(default_factory=EgressPolicy)

    @classmethod
    def create(cls, settings: Settings, *, api: bool = True, worker: bool = True) -> Resources:
        """Open the database engine and the HTTP client for ``settings``.

        The connection pool is sized for what this process runs (API requests, worker
        jobs, or both), so a fleet of processes stays within PostgreSQL's limit.
        """
        # Model calls hold a connection only to read before and record after the call.
        model_slots = min(settings.worker_model_concurrency, MODEL_LANE_CONNECTIONS)
        worker_slots = settings.worker_concurrency + settings.worker_slow_concurrency + model_slots
        pool_size = (settings.api_connections if api else 2) + (worker_slots if worker else 0)
        db = Database(
            settings.resolved_database_url(),
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            pool_size=pool_size,
        )
        # Each model-lane slot waits on one HTTP request: never fewer connections than slots.
        model_requests = settings.worker_model_concurrency if worker else 0
        limits = httpx.Limits(max_connections=200 + model_requests, max_keepalive_connections=50)
        http = httpx.AsyncClient(
            timeout=settings.http_timeout_seconds,
            limits=limits,
            cookies=no_cookies(),
            verify=shared_ssl_context(),
        )
        policy = EgressPolicy.build(
            settings.egress_allow,
            host=settings.host,
            port=settings.port,
            public_url=settings.public_url,
        )
        calls = calls_client(policy, timeout=settings.http_timeout_seconds, limits=limits)
        cipher = Cipher.from_settings(settings)
        return cls(settings=settings, db=db, http=http, cipher=cipher, calls=calls, egress=policy)

    async def close(self) -> None:
        """Close the HTTP clients and the database pool."""
        await self.http.aclose()
        await self.calls.aclose()
        await self.db.dispose()
