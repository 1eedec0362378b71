"""Cross-process wake-ups on PostgreSQL: ``LISTEN`` for the ``NOTIFY`` of the ``jobs`` trigger.

Every inserted job due now notifies (migration 0020) with its task's name, once per task
and transaction, at commit: the worker claims that task's jobs without a probe first,
and ignores a task it does not run. A notification sent by one of this worker's own
connections is ignored too: its commit told the worker already, in-process (jobs.queue).

Without it a worker in another process than the one that enqueued finds new jobs by
polling (every ``worker_poll_seconds``); with it, within milliseconds of the commit.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from threadline.jobs.repository import NOTIFY_CHANNEL
from threadline.jobs.wakeups import Wakeups
from threadline.kit.db import Database

log = logging.getLogger("threadline.worker")


class JobListener:
    """Tells ``wakeups`` whenever a transaction that enqueued a job commits, in any process."""

    def __init__(self, db: Database, wakeups: Wakeups) -> None:
        url = make_url(db.url)
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._enabled = url.get_backend_name() == "postgresql"
        self._engines = [db.engine.sync_engine, db.priority_engine.sync_engine]
        self._wakeups = wakeups
        self._connection: Any = None
        self._own: set[int] = set()  # the server pids of this worker's own connections

    async def start(self) -> None:
        """Open the listening connection; polling still works if this fails."""
        if not self._enabled:
            return
        for engine in self._engines:
            event.listen(engine, "checkout", self._checked_out)
            event.listen(engine, "close", self._closed)
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

    def _checked_out(self, dbapi_connection: Any, *_args: Any) -> None:
        self._own.add(dbapi_connection.driver_connection.get_server_pid())

    def _closed(self, dbapi_connection: Any, *_args: Any) -> None:
        self._own.discard(dbapi_connection.driver_connection.get_server_pid())

    def _notified(self, _connection: Any, pid: int, _channel: str, task: str) -> None:
        if pid in self._own:
            return
        if task:
            self._wakeups.due([task])
        else:  # a notification of an older trigger, or sent by hand
            self._wakeups.probe()

    async def stop(self) -> None:
        """Close the listening connection."""
        if self._enabled:
            for engine in self._engines:
                event.remove(engine, "checkout", self._checked_out)
                event.remove(engine, "close", self._closed)
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
