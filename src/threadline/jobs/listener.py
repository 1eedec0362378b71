"""Cross-process wake-ups on PostgreSQL: ``LISTEN`` for the ``NOTIFY`` of the ``jobs`` trigger.

Every inserted job due now notifies (migration 0006), once per transaction, at commit.

Without it a worker in another process than the one that enqueued finds new jobs by
polling (every ``worker_poll_seconds``); with it, within milliseconds of the commit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from threadline.jobs.repository import NOTIFY_CHANNEL

log = logging.getLogger("threadline.worker")


class JobListener:
    """Sets ``waker`` whenever a transaction that enqueued a job commits, in any process."""

    def __init__(self, database_url: str, waker: asyncio.Event) -> None:
        url = make_url(database_url)
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._enabled = url.get_backend_name() == "postgresql"
        self._waker = waker
        self._connection: Any = None

    async def start(self) -> None:
        """Open the listening connection; polling still works if this fails."""
        if not self._enabled:
            return
        try:
            self._connection = await asyncpg.connect(self._dsn)
            await self._connection.add_listener(NOTIFY_CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("no cross-process wake-ups (LISTEN failed: %s); polling only", error)
            self._connection = None

    @property
    def listening(self) -> bool:
        """Whether commits in other processes wake this one (else it polls)."""
        return self._connection is not None

    def _notified(self, *_args: Any) -> None:
        self._waker.set()

    async def stop(self) -> None:
        """Close the listening connection."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
