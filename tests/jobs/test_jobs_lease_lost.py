"""A worker that lost its lease: no give-up, no further side effects, no failed execution."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from builders import ask_and_reply, create_active_flow, create_project, run_jobs, start_execution
from threadline.executions.tasks import give_up
from threadline.jobs import repository
from threadline.jobs.queue import enqueue
from threadline.jobs.registry import Registry
from threadline.jobs.retry import PermanentJobError
from threadline.jobs.worker import JobContext, Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import FlowExecution, Job


async def _job(resources: Resources, job_id: int) -> Job:
    async with resources.db.session() as session:
        statement = select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
        return (await session.execute(statement)).scalar_one()


async def _take_over(resources: Resources, job_id: int) -> None:
    """What another worker does once this one's lease has run out (a partition, a stall).

    The lease runs out and B claims in one transaction: otherwise the holder's own poll
    could win its expired job back in between.
    """
    async with resources.db.transaction() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=past))
        (taken,) = await repository.claim(session, now=utcnow(), limit=10, lease_seconds=60)
    assert taken.id == job_id and taken.attempts == 2


async def _until(check: Any, *, timeout: float, what: str) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)
    assert check(), what


async def _stop(worker: Worker, running: asyncio.Task[None]) -> None:
    worker.stop()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(running, 10)


async def test_a_stale_holder_that_gives_up_does_not_run_the_give_up_hook(
    resources: Resources,
) -> None:
    """A gives up on a job B has taken over meanwhile: the job is B's, the hook never runs."""
    tasks, gave_up, gate = Registry(), [], asyncio.Event()

    async def on_give_up(_session: AsyncSession, payload: dict[str, Any], error: str) -> None:
        gave_up.append(error)

    @tasks.task("test.stale", on_give_up=on_give_up)
    async def stale(ctx: JobContext) -> None:
        await gate.wait()
        raise PermanentJobError("A gives up")

    async with resources.db.transaction() as session:
        await enqueue(session, "test.stale", {}, max_attempts=5)
    a = Worker(resources, tasks=tasks)
    a.lease_seconds = 600  # no heartbeat before the end of the test
    running = asyncio.create_task(a.run())
    try:
        await _until(lambda: a._running, timeout=5, what="A to hold the job")
        (job_id,) = a._running
        await _take_over(resources, job_id)
        gate.set()
        await _until(lambda: not a._running, timeout=5, what="A to be done")
    finally:
        gate.set()
        await _stop(a, running)

    row = await _job(resources, job_id)
    assert (row.status, row.attempts) == ("running", 2), "B still holds the job"
    assert gave_up == [], "the stale holder ran the give-up hook"


async def test_the_heartbeat_stops_a_job_another_worker_took_over(
    resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    """A's next heartbeat finds the job gone to B and stops A's handler mid-work."""
    tasks, gate, effects, cancelled = Registry(), asyncio.Event(), [], []

    @tasks.task("test.partitioned")
    async def partitioned(ctx: JobContext) -> None:
        try:
            await gate.wait()
        except asyncio.CancelledError:
            cancelled.append(ctx.job.attempts)
            raise
        effects.append(ctx.job.attempts)  # a side effect outside any transaction (HTTP)

    async with resources.db.transaction() as session:
        await enqueue(session, "test.partitioned", {})
    a = Worker(resources, tasks=tasks)
    a.lease_seconds = 0.8  # a heartbeat every 0.2 s
    caplog.set_level(logging.INFO, logger="threadline.worker")
    running = asyncio.create_task(a.run())
    try:
        await _until(lambda: a._running, timeout=5, what="A to hold the job")
        (job_id,) = a._running
        await _take_over(resources, job_id)
        await _until(lambda: cancelled, timeout=3, what="A's heartbeat to stop the handler")
        gate.set()
        await _until(lambda: not a._running, timeout=5, what="A to let go of the job")
    finally:
        gate.set()
        await _stop(a, running)

    assert cancelled == [1]
    assert effects == []
    done = [r for r in caplog.records if r.getMessage() == "job done"]
    assert [r.outcome for r in done] == ["lease_lost"]  # type: ignore[attr-defined]
    row = await _job(resources, job_id)
    assert (row.status, row.attempts) == ("running", 2), "B's lease is untouched"


async def _execution(resources: Resources, execution_id: str) -> FlowExecution:
    async with resources.db.session() as session:
        statement = (
            select(FlowExecution)
            .where(FlowExecution.id == uuid.UUID(execution_id))
            .execution_options(populate_existing=True)
        )
        return (await session.execute(statement)).scalar_one()


async def test_giving_up_never_fails_an_ended_execution(
    client: Any, resources: Resources, sandbox: Any, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply(timeout_seconds=None))
    execution_id = str((await start_execution(client, project, flow_id))["id"])
    await run_jobs(resources)
    resumed = await client.post(
        f"/api/v1/flow_executions/{execution_id}/resume",
        headers=project.headers,
        json={"input": "blue"},
    )
    assert resumed.status_code == 200, resumed.text
    await run_jobs(resources)
    ended = await _execution(resources, execution_id)
    assert ended.status == "ended"

    async with resources.db.transaction() as session:  # a delivery job gives up late
        await give_up(session, {"execution_id": execution_id}, "late")

    row = await _execution(resources, execution_id)
    assert (row.status, row.error, row.step_seq) == ("ended", None, ended.step_seq)


async def test_giving_up_on_a_past_step_leaves_the_execution_alone(
    client: Any, resources: Resources, sandbox: Any, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    execution_id = str((await start_execution(client, project, flow_id))["id"])
    await run_jobs(resources)
    waiting = await _execution(resources, execution_id)
    assert waiting.status == "waiting"

    stale = {"execution_id": execution_id, "seq": waiting.step_seq - 1}
    async with resources.db.transaction() as session:
        await give_up(session, stale, "a job of an earlier step")
    assert (await _execution(resources, execution_id)).status == "waiting"

    current = {"execution_id": execution_id, "seq": waiting.step_seq}
    async with resources.db.transaction() as session:
        await give_up(session, current, "a job of this step")
    assert (await _execution(resources, execution_id)).status == "failed"
