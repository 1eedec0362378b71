"""Group commit: deliveries that arrive together are stored in one transaction.

One durable commit per delivery bounds the receiver at the commit rate of one
connection. Instead, each process has one :class:`GroupCommit`: a request whose
signature checked out joins its queue and waits; a writer takes what has queued (after
``THREADLINE_INGEST_GROUP_WINDOW_MS``, or at once when ``THREADLINE_INGEST_GROUP_MAX``
are waiting) and stores the group in one transaction: with set-based statements
(``inbound/bulk.py``), or, should that fail, each delivery in a savepoint of its own, so
a delivery that fails is rolled back alone. Every request is answered only once that
transaction committed: a 200 still means stored.

Should the group's transaction itself fail (its commit, a lost connection, a deadlock),
nothing of it was stored and each delivery is stored again in a transaction of its own,
answered by its own outcome; a delivery that failed in the group is retried alone the
same way. So one failure costs only its own delivery a 500, and Meta retries that one.

Bounded: past ``THREADLINE_INGEST_QUEUE_LIMIT`` waiting deliveries, or when a delivery
is not stored within ``THREADLINE_INGEST_TIMEOUT_SECONDS``, the answer is a 503 (Meta
retries; a delivery stored after its 503 is stored twice as a delivery, once as
messages, like any retried delivery). A process shutting down stops taking new
deliveries and stores the ones waiting (:meth:`GroupCommit.close`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.errors import AppError
from threadline.inbound import bulk, receiver
from threadline.kit.db import Database
from threadline.kit.faults import crash_point

log = logging.getLogger("threadline.inbound")

#: A delivery's outcome: the stored row's id, or why it was not stored.
Outcome = int | Exception


class ReceiverBusy(AppError):
    """Too many webhook deliveries are waiting to be stored: retry later (Meta does)."""

    status_code = 503
    error = "Webhook receiver busy"


class DeliveryNotStored(AppError):
    """The delivery could not be stored (the error is logged): Meta retries it."""

    error = "Delivery not stored"


class StoreTimeout(ReceiverBusy):
    """The delivery was not stored in time: retry it (Meta does)."""


class ShuttingDown(ReceiverBusy):
    """The server is shutting down: retry the delivery (Meta does)."""


@dataclass(eq=False)  # each waiting request is itself, whatever it carries
class _Waiting:
    delivery: receiver.Accepted
    done: asyncio.Future[int] = field(default_factory=lambda: _future())


def _future() -> asyncio.Future[int]:
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    # An answer nobody waits for any more (the request timed out) is not an error.
    done.add_done_callback(lambda f: f.cancelled() or f.exception())
    return done


class GroupCommit:
    """The process's queue of deliveries to store, and its one writer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.window = settings.ingest_group_window_ms / 1000
        self.most = settings.ingest_group_max
        self._queue: deque[_Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._full: asyncio.Event | None = None
        self._closed = False
        self.groups = 0  # transactions that stored a group (for tests and metrics)

    @property
    def waiting(self) -> int:
        """Deliveries queued for the next group."""
        return len(self._queue)

    async def store(self, db: Database, delivery: receiver.Accepted) -> int:
        """Store ``delivery`` with whatever else is waiting; its row's id once committed."""
        if self._closed:
            raise ShuttingDown()
        if len(self._queue) >= self.settings.ingest_queue_limit:
            raise ReceiverBusy()
        waiting = _Waiting(delivery)
        self._queue.append(waiting)
        self._wake(db)
        try:
            async with asyncio.timeout(self.settings.ingest_timeout_seconds):
                return await asyncio.shield(waiting.done)
        except TimeoutError:
            if waiting in self._queue:
                self._queue.remove(waiting)
            log.error(
                "a webhook delivery was not stored within %ss (answered 503); the writer is at %s",
                self.settings.ingest_timeout_seconds,
                self.writer_at(),
            )
            raise StoreTimeout() from None

    def writer_at(self) -> str:
        """Where the writer is waiting (its chain of awaits, outermost first), for the log."""
        writer = self._writer
        if writer is None or writer.done():
            return "nowhere (no writer running)"
        return " > ".join(_awaits(writer.get_coro()))

    async def close(self) -> None:
        """Take no more deliveries; return once the waiting ones are stored."""
        self._closed = True
        if self._writer is not None:
            await asyncio.shield(self._writer)

    def _wake(self, db: Database) -> None:
        if self._writer is None or self._writer.done():
            self._full = asyncio.Event()
            self._writer = asyncio.get_running_loop().create_task(self._drain(db))
        elif len(self._queue) >= self.most and self._full is not None:
            self._full.set()

    async def _drain(self, db: Database) -> None:
        """Store groups until nothing waits (the writer then ends; the next request starts one)."""
        while self._queue:
            await self._gather()
            group = [self._queue.popleft() for _ in range(min(self.most, len(self._queue)))]
            try:
                outcomes = await self._commit(db, [w.delivery for w in group])
            except BaseException:  # cancelled (the loop is closing): answer everyone waiting
                for waiting in [*group, *self._queue]:
                    if not waiting.done.done():
                        waiting.done.set_exception(ShuttingDown())
                self._queue.clear()
                raise
            for waiting, outcome in zip(group, outcomes, strict=True):
                _settle(waiting.done, outcome)

    async def _gather(self) -> None:
        """Give the group the window to fill (no wait when it is full already)."""
        if self.window <= 0 or len(self._queue) >= self.most or self._full is None:
            return
        self._full.clear()
        try:
            async with asyncio.timeout(self.window):
                await self._full.wait()
        except TimeoutError:
            pass

    async def _commit(self, db: Database, deliveries: list[receiver.Accepted]) -> list[Outcome]:
        """Store the group in one transaction; alone, each one the group could not store."""
        try:
            async with db.transaction() as session:
                outcomes = await store_group(session, deliveries, self.settings)
                crash_point("inbound.group_before_commit")
        except Exception:
            log.exception("a group of deliveries was not stored; storing each alone")
            outcomes = [RuntimeError("the group was not stored")] * len(deliveries)
        else:
            self.groups += 1
            crash_point("inbound.group_after_commit")
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, Exception):
                outcomes[index] = await self._alone(db, deliveries[index])
        return outcomes

    async def _alone(self, db: Database, delivery: receiver.Accepted) -> Outcome:
        try:
            async with db.transaction() as session:
                return await receiver.store(session, delivery, self.settings)
        except AppError as error:
            return error
        except Exception:
            log.exception("a webhook delivery was not stored: Meta retries it")
            return DeliveryNotStored()


async def store_group(
    session: AsyncSession, deliveries: list[receiver.Accepted], settings: Settings
) -> list[Outcome]:
    """Store the group with set-based statements; failing that, delivery by delivery."""
    try:
        async with session.begin_nested():
            return list(await bulk.store_all(session, deliveries, settings))
    except Exception:
        log.warning(
            "the group was not stored at once; storing it delivery by delivery", exc_info=True
        )
    return await store_each(session, deliveries, settings)


async def store_each(
    session: AsyncSession, deliveries: list[receiver.Accepted], settings: Settings
) -> list[Outcome]:
    """Store each delivery in a savepoint of its own: a failure rolls back only its own."""
    outcomes: list[Outcome] = []
    for delivery in deliveries:
        try:
            async with session.begin_nested():
                outcomes.append(await receiver.store(session, delivery, settings))
        except Exception as error:
            log.warning("a delivery of a group was not stored; it is retried alone", exc_info=True)
            outcomes.append(error)
    return outcomes


def _awaits(awaitable: object) -> list[str]:
    """The functions a suspended coroutine is in, following what each one awaits."""
    found = []
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is None:
            found.append(type(awaitable).__name__)
            break
        where = "/".join(Path(frame.f_code.co_filename).parts[-2:])
        found.append(f"{frame.f_code.co_name} ({where}:{frame.f_lineno})")
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
    return found


def _settle(done: asyncio.Future[int], outcome: Outcome) -> None:
    if done.done():
        return
    if isinstance(outcome, Exception):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
