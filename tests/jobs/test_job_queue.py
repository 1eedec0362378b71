"""The database job queue: retries, giving up, dedupe and per-key serialisation."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs.queue import enqueue
from threadline.jobs.registry import Registry
from threadline.jobs.retry import RetryLater, RetryPolicy
from threadline.jobs.worker import JobContext, Worker
from threadline.kit.resources import Resources
from threadline.models import Job

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01, jitter=0)


async def jobs(resources: Resources) -> list[Job]:
    async with resources.db.session() as session:
        return list((await session.execute(select(Job).order_by(Job.id))).scalars())


async def add(resources: Resources, task: str, payload: dict[str, Any], **keys: Any) -> None:
    async with resources.db.transaction() as session:
        await enqueue(session, task, payload, **keys)


async def test_a_failing_job_is_retried_then_given_up(resources: Resources) -> None:
    tasks, calls, gave_up = Registry(), [], []

    async def always_fails(ctx: JobContext) -> None:
        calls.append(ctx.job.attempts)
        raise RuntimeError("boom")

    async def on_give_up(session: AsyncSession, payload: dict[str, Any], error: str) -> None:
        gave_up.append((payload, error))
        # Runs inside the transaction that marks the job failed.
        assert (await session.execute(select(func.count()).select_from(Job))).scalar_one() == 1

    tasks.task("test.fails", policy=FAST, on_give_up=on_give_up)(always_fails)
    await add(resources, "test.fails", {"n": 1}, max_attempts=FAST.max_attempts)
    for _ in range(100):  # retries fall due 10 ms apart
        await Worker(resources, tasks=tasks).run_until_idle(timeout=10)
        if len(calls) == 3 and gave_up:
            break
        await asyncio.sleep(0.02)
    [job] = await jobs(resources)
    assert calls == [1, 2, 3]
    assert (job.status, job.attempts) == ("failed", 3)
    assert job.last_error == "RuntimeError: boom"
    assert gave_up == [({"n": 1}, "RuntimeError: boom")]


async def test_retry_later_does_not_use_up_attempts(resources: Resources) -> None:
    tasks, seen = Registry(), []

    async def not_yet(ctx: JobContext) -> None:
        seen.append(ctx.job.attempts)
        if len(seen) < 4:
            raise RetryLater(0)

    tasks.task("test.later", policy=FAST)(not_yet)
    await add(resources, "test.later", {}, max_attempts=FAST.max_attempts)
    while len(seen) < 4:
        await Worker(resources, tasks=tasks).run_until_idle(timeout=10)
    assert seen == [1, 2, 3, 4]  # more runs than FAST allows, none counted as a failure
    assert await jobs(resources) == []


async def test_one_queued_job_per_dedupe_key(resources: Resources) -> None:
    for n in range(3):
        await add(resources, "test.dedupe", {"n": n}, dedupe_key="k")
    await add(resources, "test.dedupe", {"n": 9}, dedupe_key="other")
    assert [job.payload["n"] for job in await jobs(resources)] == [0, 9]


async def test_jobs_sharing_a_lock_key_never_overlap(resources: Resources) -> None:
    tasks, running, overlaps, done = Registry(), set(), [], []

    async def slow(ctx: JobContext) -> None:
        key = ctx.job.payload["key"]
        if key in running:
            overlaps.append(key)
        running.add(key)
        await asyncio.sleep(0.02)
        running.discard(key)
        done.append(ctx.job.payload["n"])

    tasks.task("test.locked")(slow)
    for n in range(6):
        await add(resources, "test.locked", {"key": "a", "n": n}, lock_key="a")
    await add(resources, "test.locked", {"key": "b", "n": 100}, lock_key="b")
    await Worker(resources, tasks=tasks).run_until_idle(timeout=20)
    assert overlaps == []
    assert sorted(done) == [0, 1, 2, 3, 4, 5, 100]
    assert [n for n in done if n < 100] == [0, 1, 2, 3, 4, 5]
