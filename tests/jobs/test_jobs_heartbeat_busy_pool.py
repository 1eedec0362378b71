"""The heartbeat keeps a running job's lease alive, and the worker claims a job falling
due, while every pooled connection is busy.

Under a thousand model calls the pool (PostgreSQL) or SQLite's queue of writers is full of
jobs recording their answers; a heartbeat that waited its turn there let leases run out,
and other workers took over jobs that were still running (duplicate model calls); claims
waiting there fired timers seconds late.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from threadline.jobs.queue import enqueue
from threadline.jobs.registry import Registry
from threadline.jobs.worker import JobContext, Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Job

LEASE = 1.0  # a beat every 0.25 s
BUSY_SECONDS = 3.0  # three leases


async def _hold_busy(resources: Resources, release: asyncio.Event) -> list[asyncio.Task[None]]:
    """Real write transactions, held open: on PostgreSQL every pooled connection, plus
    more waiting for one; on SQLite a queue of writers each holding the write lock."""
    db = resources.db

    async def hold(seconds: float) -> None:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(release.wait(), seconds)

    if db.is_sqlite:
        count, seconds = int(BUSY_SECONDS / 0.15), 0.15
    else:
        count, seconds = db.engine.pool.size() + 5, BUSY_SECONDS  # type: ignore[attr-defined]
    return [asyncio.create_task(hold(seconds)) for _ in range(count)]


async def _lease_samples(url: str, job_id: int, seconds: float) -> list[tuple[datetime, datetime]]:
    """(now, the job's lease) every 0.05 s, read on a connection outside the app's pool."""
    engine = create_async_engine(url, poolclass=NullPool)
    samples: list[tuple[datetime, datetime]] = []
    try:
        async with engine.connect() as connection:
            deadline = asyncio.get_running_loop().time() + seconds
            while asyncio.get_running_loop().time() < deadline:
                query = select(Job.lease_expires_at).where(Job.id == job_id)
                lease = (await connection.execute(query)).scalar_one()
                samples.append((utcnow(), lease))
                await connection.rollback()
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    return samples


async def _enqueue_outside_the_pool(url: str, task: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with async_sessionmaker(engine)() as session:
            await enqueue(session, task, {})
            await session.commit()
    finally:
        await engine.dispose()


async def test_leases_are_extended_and_jobs_claimed_while_the_pool_is_busy(
    resources: Resources,
) -> None:
    tasks, gate, claimed_at = Registry(), asyncio.Event(), []

    @tasks.task("test.long")
    async def long(ctx: JobContext) -> None:
        await gate.wait()

    @tasks.task("test.due")
    async def due(ctx: JobContext) -> None:
        claimed_at.append(asyncio.get_running_loop().time())

    async with resources.db.transaction() as session:
        await enqueue(session, "test.long", {})
    worker = Worker(resources, tasks=tasks)
    worker.lease_seconds = LEASE
    running = asyncio.create_task(worker.run())
    release = asyncio.Event()
    holders: list[asyncio.Task[None]] = []
    try:
        async with asyncio.timeout(5):
            while not worker._running:
                await asyncio.sleep(0.01)
        (job_id,) = worker._running
        holders = await _hold_busy(resources, release)
        await asyncio.sleep(0.2)  # the holders have their connections (or their place)
        sampling = asyncio.create_task(_lease_samples(resources.db.url, job_id, BUSY_SECONDS))
        await _enqueue_outside_the_pool(resources.db.url, "test.due")
        enqueued_at = asyncio.get_running_loop().time()
        samples = await sampling
        lost = worker._contexts[job_id].lease_lost
    finally:
        release.set()
        gate.set()
        await asyncio.gather(*holders, return_exceptions=True)
        worker.stop()
        await asyncio.wait_for(running, 10)

    expired = [(now, lease) for now, lease in samples if lease <= now]
    assert expired == [], f"the lease ran out while the pool was busy: {expired[:3]}"
    assert samples[-1][1] > samples[0][1], "the lease was not extended"
    assert not lost
    # Claimed within a few polls (0.2 s each), not after the busy connections let go.
    assert claimed_at and claimed_at[0] - enqueued_at < 1.0, claimed_at
