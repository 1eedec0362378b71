"""Which enqueues wake other processes' workers on PostgreSQL (the ``jobs`` insert trigger)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from threadline.jobs import queue
from threadline.jobs.repository import NOTIFY_CHANNEL
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources


class Heard:
    """Notifications on the workers' channel, as a listening worker receives them."""

    def __init__(self) -> None:
        self.count = 0
        self.arrived = asyncio.Event()

    def __call__(self, *_args: Any) -> None:
        self.count += 1
        self.arrived.set()

    async def settle(self) -> int:
        """How many arrived, after giving a late one time to come in."""
        await asyncio.sleep(0.3)
        return self.count


@pytest.fixture
async def heard(resources: Resources, database_url: str) -> Any:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no cross-process notifications: workers poll")
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    listener = Heard()
    await connection.add_listener(NOTIFY_CHANNEL, listener)
    yield listener
    await connection.close()


async def test_a_transaction_that_enqueues_jobs_due_now_notifies_once_at_commit(
    resources: Resources, heard: Heard
) -> None:
    async with resources.db.transaction() as session:
        for index in range(3):
            await queue.enqueue(session, "tests.noop", {"i": index})
        await asyncio.sleep(0.2)
        assert heard.count == 0  # nothing before the commit
    await asyncio.wait_for(heard.arrived.wait(), 5)
    assert await heard.settle() == 1


async def test_jobs_due_later_and_conflicting_inserts_notify_no_one(
    resources: Resources, heard: Heard
) -> None:
    async with resources.db.transaction() as session:
        await queue.enqueue(session, "tests.noop", {}, dedupe_key="k")
    await asyncio.wait_for(heard.arrived.wait(), 5)
    assert await heard.settle() == 1

    async with resources.db.transaction() as session:
        await queue.enqueue(session, "tests.noop", {}, dedupe_key="k")  # already queued
        later = utcnow() + timedelta(minutes=5)
        await queue.enqueue(session, "tests.timer", {}, run_at=later)
        await queue.enqueue(session, "tests.timer", {}, run_at=later, dedupe_key="t", replace=True)
    assert await heard.settle() == 1
