"""Jobs nobody should run again: attempts used up by dead workers, tasks nobody here knows."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs import repository
from threadline.jobs.queue import enqueue
from threadline.jobs.registry import Registry
from threadline.jobs.worker import JobContext, Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Job


async def _only_job(resources: Resources) -> Job:
    async with resources.db.session() as session:
        statement = select(Job).execution_options(populate_existing=True)
        (job,) = (await session.execute(statement)).scalars()
        return job


async def _crash_while_holding(resources: Resources) -> None:
    """A worker claims the job and dies (its lease runs out)."""
    async with resources.db.transaction() as session:
        (_job,) = await repository.claim(session, now=utcnow(), limit=10, lease_seconds=0.05)
    await asyncio.sleep(0.1)


async def test_a_job_whose_last_attempt_killed_its_worker_is_failed_not_rerun(
    resources: Resources,
) -> None:
    tasks, runs, gave_up = Registry(), [], []

    async def on_give_up(_session: AsyncSession, payload: dict[str, Any], error: str) -> None:
        gave_up.append((payload, error))

    @tasks.task("test.crashy", on_give_up=on_give_up)
    async def crashy(ctx: JobContext) -> None:
        runs.append(ctx.job.attempts)

    async with resources.db.transaction() as session:
        await enqueue(session, "test.crashy", {"n": 1}, max_attempts=2)
    await _crash_while_holding(resources)
    await _crash_while_holding(resources)  # both allowed attempts died with their worker

    await Worker(resources, tasks=tasks).run_until_idle(timeout=10)

    job = await _only_job(resources)
    assert runs == [], "an exhausted job ran a third time"
    assert (job.status, job.attempts) == ("failed", 2)
    assert job.last_error is not None and "last of 2 attempts" in job.last_error
    assert [payload for payload, _error in gave_up] == [{"n": 1}]


async def test_a_worker_leaves_a_task_it_does_not_know_to_workers_that_do(
    resources: Resources,
) -> None:
    async with resources.db.transaction() as session:
        await enqueue(session, "test.newer_release", {}, max_attempts=2)

    await Worker(resources, tasks=Registry()).run_until_idle(timeout=10)

    job = await _only_job(resources)
    assert (job.status, job.attempts) == ("queued", 0), "claimed by a worker that cannot run it"
    runs = []
    knows_it = Registry()
    knows_it.task("test.newer_release")(lambda ctx: _record(runs, ctx))
    await Worker(resources, tasks=knows_it).run_until_idle(timeout=10)
    assert runs == [1]


async def _record(runs: list[int], ctx: JobContext) -> None:
    runs.append(ctx.job.attempts)


@pytest.mark.parametrize("status", ["queued", "running"])
async def test_an_unknown_task_is_failed_with_a_reason_after_the_grace_period(
    resources: Resources, caplog: pytest.LogCaptureFixture, status: str
) -> None:
    """Past the grace period (counted from ``created_at``) nobody will come for it."""
    async with resources.db.transaction() as session:
        await enqueue(session, "test.retired_task", {"execution_id": "x"}, max_attempts=2)
    if status == "running":  # a worker of an older release claimed it and died
        await _crash_while_holding(resources)
    worker = Worker(resources, tasks=Registry())
    worker.unknown_task_grace = 60  # THREADLINE_UNKNOWN_TASK_GRACE_SECONDS
    await worker.run_until_idle(timeout=10)
    assert (await _only_job(resources)).status == status, "still within the grace period"

    async with resources.db.transaction() as session:
        old = utcnow() - timedelta(seconds=61)
        await session.execute(update(Job).values(created_at=old))
    with caplog.at_level(logging.INFO, logger="threadline.worker"):
        await worker.run_until_idle(timeout=10)

    job = await _only_job(resources)
    assert job.status == "failed"
    assert job.last_error is not None and "unknown task 'test.retired_task'" in job.last_error
    assert any("unknown task 'test.retired_task'" in r.getMessage() for r in caplog.records)


async def test_an_exhausted_job_whose_give_up_hook_raises_is_still_failed(
    resources: Resources,
) -> None:
    tasks = Registry()

    async def broken(_session: AsyncSession, _payload: dict[str, Any], _error: str) -> None:
        raise RuntimeError("the hook is broken")

    tasks.task("test.broken_hook", on_give_up=broken)(lambda ctx: _record([], ctx))
    async with resources.db.transaction() as session:
        await enqueue(session, "test.broken_hook", {}, max_attempts=1)
    await _crash_while_holding(resources)

    await Worker(resources, tasks=tasks).run_until_idle(timeout=10)

    assert (await _only_job(resources)).status == "failed"
