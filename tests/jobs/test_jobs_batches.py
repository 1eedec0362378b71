"""Batch tasks: one claim for many jobs, per-job isolation, per-job leases."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from builders import ask_and_reply, create_active_flow, create_project, run_jobs, start_execution
from support import eventually
from threadline.executions import repository as executions
from threadline.jobs import repository
from threadline.jobs.context import BatchContext
from threadline.jobs.queue import enqueue
from threadline.jobs.registry import Registry
from threadline.jobs.retry import RetryLater, RetryPolicy
from threadline.jobs.worker import Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import FlowExecution, Job
from threadline.sandbox.state import SandboxState

LATER = timedelta(days=1)


async def _rows(resources: Resources, task: str | None = None) -> list[Job]:
    async with resources.db.session() as session:
        statement = select(Job).order_by(Job.id).execution_options(populate_existing=True)
        if task is not None:
            statement = statement.where(Job.task == task)
        return list((await session.execute(statement)).scalars())


async def _applied(resources: Resources) -> list[Any]:
    return sorted(j.payload["n"] for j in await _rows(resources, "test.applied"))


async def _enqueue(
    resources: Resources, task: str, payloads: list[dict[str, Any]], *, max_attempts: int = 10
) -> None:
    # ``max_attempts`` explicitly: enqueue reads the policy from the global registry.
    async with resources.db.transaction() as session:
        for payload in payloads:
            await enqueue(session, task, payload, max_attempts=max_attempts)


async def test_a_poison_job_is_retried_then_failed_alone_while_the_rest_commit(
    resources: Resources,
) -> None:
    tasks, sizes = Registry(), []

    @tasks.batch_task("test.batch", batch_size=10, policy=RetryPolicy(max_attempts=3, base_delay=0))
    async def handler(batch: BatchContext) -> None:
        sizes.append(len(batch.jobs))
        async with batch.transaction() as tx:
            for context in tx.held:
                async with tx.each(context) as session:
                    n = context.job.payload["n"]
                    await enqueue(session, "test.applied", {"n": n}, run_at=utcnow() + LATER)
                    if n == 3:
                        raise ValueError("poison")
            await tx.finish(tx.held)  # not the poison job: its effects raised

    await _enqueue(resources, "test.batch", [{"n": n} for n in range(6)], max_attempts=3)
    worker = Worker(resources, tasks=tasks)
    async with asyncio.timeout(20):
        while [j.status for j in await _rows(resources, "test.batch")] != ["failed"]:
            await worker.run_until_idle()

    assert sizes[0] == 6, f"the six jobs were not claimed in one batch: {sizes}"
    assert sizes[1:] == [1, 1], "the poison job alone is run again, twice"
    assert await _applied(resources) == [0, 1, 2, 4, 5], "the poison job's effects rolled back"
    (poison,) = await _rows(resources, "test.batch")
    assert (poison.payload, poison.attempts) == ({"n": 3}, 3)
    assert poison.last_error is not None and "poison" in poison.last_error


async def test_a_job_taken_over_mid_batch_is_skipped_and_applied_once(
    resources: Resources,
) -> None:
    """The heartbeat finds one job taken over: the batch goes on for the others."""
    tasks, gate, held_later = Registry(), asyncio.Event(), []

    @tasks.batch_task("test.batch", batch_size=10)
    async def handler(batch: BatchContext) -> None:
        await gate.wait()  # mid-batch, outside any transaction (an HTTP call, say)
        async with batch.transaction() as tx:
            held_later.extend(c.job.payload["n"] for c in tx.held)
            for context in tx.held:
                n = context.job.payload["n"]
                await enqueue(tx.session, "test.applied", {"n": n}, run_at=utcnow() + LATER)
            await tx.finish(tx.held)

    await _enqueue(resources, "test.batch", [{"n": n} for n in range(4)])
    a = Worker(resources, tasks=tasks)
    # A heartbeat every 0.5 s: with 0.2 s, a loaded machine let the lease lapse before the
    # take-over (A claimed its own job again: attempts 3, not 2).
    a.lease_seconds = 2.0
    running = asyncio.create_task(a.run())
    try:
        await eventually(lambda: _holds(a, 4), timeout=5, what="A to hold the batch")
        taken = await _take_over(resources, n=2)
        await eventually(
            lambda: _lost(a, taken), timeout=5, what="A's heartbeat to find the job lost"
        )
        assert not running.done() and len(a._running) == 4, "the batch was stopped"
        gate.set()
        await eventually(lambda: _holds(a, 0), timeout=5, what="A to end the batch")
    finally:
        gate.set()
        a.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 10)

    assert sorted(held_later) == [0, 1, 3]
    assert await _applied(resources) == [0, 1, 3]
    (left,) = await _rows(resources, "test.batch")
    assert (left.id, left.status, left.attempts) == (taken, "running", 2), "B's job untouched"


async def _holds(worker: Worker, count: int) -> bool:
    return len(worker._running) == count


async def _lost(worker: Worker, job_id: int) -> bool:
    context = worker._contexts.get(job_id)
    return context is not None and context.lease_lost


async def _take_over(resources: Resources, *, n: int) -> int:
    """What another worker does once this one's lease on job ``n`` has run out."""
    (job_id,) = [j.id for j in await _rows(resources, "test.batch") if j.payload["n"] == n]
    async with resources.db.transaction() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=past))
        (taken,) = await repository.claim(session, now=utcnow(), limit=10, lease_seconds=60)
    assert (taken.id, taken.attempts) == (job_id, 2)
    return job_id


async def test_two_resumes_of_one_execution_in_one_batch_one_wins(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """Compare-and-set on ``step_seq`` inside one batch transaction: exactly one wins."""
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    execution_id = uuid.UUID((await start_execution(client, project, flow_id))["id"])
    await run_jobs(resources)
    async with resources.db.session() as session:
        waiting = (
            await session.execute(select(FlowExecution).where(FlowExecution.id == execution_id))
        ).scalar_one()
    seq, reason = waiting.step_seq, waiting.wait_reason
    assert waiting.status == "waiting" and reason is not None
    tasks, winners, sizes = Registry(), [], []

    @tasks.batch_task("test.resume", batch_size=10)
    async def resume(batch: BatchContext) -> None:
        sizes.append(len(batch.jobs))
        async with batch.transaction() as tx:
            for context in tx.held:
                async with tx.each(context) as session:
                    won = await executions.claim_waiting(
                        session, execution_id, reasons=[reason], now=utcnow(), expected_seq=seq
                    )
                    if won is not None:
                        winners.append(context.job.payload["by"])
            await tx.finish(tx.held)

    payload = {"execution_id": str(execution_id), "seq": seq}
    await _enqueue(resources, "test.resume", [{**payload, "by": "a"}, {**payload, "by": "b"}])
    await Worker(resources, tasks=tasks).run_until_idle()

    assert sizes == [2], "both resumes ran in one batch"
    assert len(winners) == 1, winners
    async with resources.db.session() as session:
        row = (
            await session.execute(
                select(FlowExecution)
                .where(FlowExecution.id == execution_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
    assert (row.status, row.step_seq) == ("running", seq + 1)
    assert await _rows(resources, "test.resume") == []


async def test_the_heartbeat_never_waits_for_a_locked_job_row(
    resources: Resources, database_url: str
) -> None:
    """A batch holds its jobs' rows while it waits for queuers' locks; the heartbeat must
    not wait for them (it could close a lock cycle): the locked job keeps its lease and
    is not lost, the others are extended."""
    if not database_url.startswith("postgresql"):
        return  # SQLite has no row locks: one writer at a time
    await _enqueue(resources, "test.batch", [{"n": n} for n in range(2)])
    async with resources.db.transaction() as session:
        held = await repository.claim(session, now=utcnow(), limit=10, lease_seconds=5)
    locked, free = sorted(held, key=lambda job: job.id)
    until = utcnow() + timedelta(seconds=60)
    async with resources.db.transaction() as batch:
        await repository.lock_held(batch, [locked])
        async with asyncio.timeout(5), resources.db.transaction() as beat:
            lost = await repository.extend_leases(beat, held, until=until)
    assert lost == []
    leases = {j.id: j.lease_expires_at for j in await _rows(resources, "test.batch")}
    assert leases[free.id] == until
    assert leases[locked.id] is not None and leases[locked.id] < until


async def test_a_member_retried_early_stays_held_by_its_new_batch_when_the_first_ends(
    resources: Resources,
) -> None:
    """A job retried while its batch goes on is claimed again, in a second batch; the
    first batch's end must not make the worker forget it (nor stop its heartbeat)."""
    tasks, gates, runs = Registry(), [asyncio.Event(), asyncio.Event()], []

    @tasks.batch_task("test.batch", batch_size=10)
    async def handler(batch: BatchContext) -> None:
        runs.append(sorted(c.job.payload["n"] for c in batch.jobs))
        if len(runs) == 1:
            (early,) = [c for c in batch.jobs if c.job.payload["n"] == 0]
            await batch.fail(early, RetryLater(0))
        await gates[len(runs) - 1].wait()

    await _enqueue(resources, "test.batch", [{"n": 0}, {"n": 1}])
    a = Worker(resources, tasks=tasks)
    running = asyncio.create_task(a.run())
    try:
        await eventually(lambda: _runs(runs, 2), timeout=5, what="job 0 to run again")
        (again,) = [j for j in await _rows(resources, "test.batch") if j.payload["n"] == 0]
        gates[0].set()
        await eventually(lambda: _rows_left(resources, 1), timeout=5, what="the first batch to end")
        held = a._running.get(again.id)
        assert held is not None and held.attempts == 2, "the worker forgot the job it runs"
        assert a._free("fast") == a.concurrency - 1, "the second batch's slot was freed"
        gates[1].set()
        await eventually(lambda: _rows_left(resources, 0), timeout=5, what="the second end")
    finally:
        for gate in gates:
            gate.set()
        a.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 10)
    assert runs == [[0, 1], [0]]


async def _runs(runs: list[Any], count: int) -> bool:
    return len(runs) == count


async def _rows_left(resources: Resources, count: int) -> bool:
    return len(await _rows(resources, "test.batch")) == count
