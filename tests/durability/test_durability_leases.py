"""The job queue under stalls: leases, takeovers, lock keys, dedupe keys."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from durability_support import (
    event_kinds,
    eventually,
    execution_row,
    jobs,
    outbox_rows,
    sandbox_bodies,
)

from builders import (
    ask_and_reply,
    chain,
    create_active_flow,
    create_project,
    make_wait_timers_due,
    node,
    start_execution,
)
from threadline.executions.keys import TIMEOUT_TASK
from threadline.jobs import queue
from threadline.jobs import repository as job_queue
from threadline.jobs.registry import Registry, registry
from threadline.jobs.repository import ClaimedJob
from threadline.jobs.retry import LeaseLost
from threadline.jobs.worker import JobContext, Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.messaging.service import DELIVER_TASK, deliver_all, outbox_key
from threadline.sandbox.state import SandboxState


async def _claim(resources: Resources, *, lease_seconds: float) -> list[ClaimedJob]:
    async with resources.db.transaction() as session:
        return await job_queue.claim(session, now=utcnow(), limit=100, lease_seconds=lease_seconds)


async def _lease_expired(resources: Resources, job_id: int) -> bool:
    (row,) = [j for j in await jobs(resources) if j.id == job_id]
    return row.lease_expires_at is not None and row.lease_expires_at < utcnow()


@pytest.mark.slow
async def test_stalled_step_is_taken_over_and_applied_exactly_once(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """A worker's step (a wait's timeout: an API resume runs in its own request) stalls."""
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    started = await start_execution(client, project, flow_id, variables={"answer": "blue"})
    execution_id = str(started["id"])
    await Worker(resources).run_until_idle()
    await make_wait_timers_due(resources)

    # Worker A claims the timeout job, then stalls (no heartbeat, no progress).
    (stalled,) = await _claim(resources, lease_seconds=1.0)
    assert stalled.task == TIMEOUT_TASK
    # While A's lease is live nobody else may run the job.
    assert await _claim(resources, lease_seconds=5) == []

    await eventually(
        lambda: _lease_expired(resources, stalled.id), timeout=5, what="A's lease to run out"
    )
    await Worker(resources).run_until_idle()  # worker B takes over

    # A comes back and runs the job it thinks it holds: it must not apply anything.
    with pytest.raises(LeaseLost):
        await registry.get(stalled.task).handler(JobContext(job=stalled, resources=resources))
    await Worker(resources).run_until_idle()

    row = await execution_row(resources, execution_id)
    assert row.status == "ended"
    assert (await event_kinds(resources, execution_id)).count("resumed") == 1
    assert [m.status for m in await outbox_rows(resources, execution_id)] == ["sent", "sent"]
    assert sandbox_bodies(sandbox) == {"Question?": 1, "You said blue": 1}
    assert await jobs(resources) == []


class HeartbeatlessWorker(Worker):
    """A worker whose heartbeats never reach the database (a partition, a frozen host)."""

    async def _heartbeat(self) -> None:
        await asyncio.Event().wait()


@pytest.mark.slow
@pytest.mark.parametrize("stale_move", ["apply", "fail"])
async def test_a_stalled_holder_can_neither_apply_nor_disturb_the_new_holder(
    resources: Resources, stale_move: str
) -> None:
    """Worker A stalls mid-job with no heartbeat; B takes the job over and is still at
    work when A wakes up. A's attempt to apply its effects (or its failure, which would
    requeue the job) must change nothing; B's effects are applied, once.

    The effect (a follow-up job row) is written in the transaction that finishes the
    job, as every real task does.
    """
    tasks = Registry()
    gates = {1: asyncio.Event(), 2: asyncio.Event()}
    stale_outcome: list[BaseException] = []
    later = utcnow() + timedelta(days=1)

    @tasks.task("durability.effect")
    async def effect(ctx: JobContext) -> None:
        await gates[ctx.job.attempts].wait()  # each holder stalls in the middle of its work
        if ctx.job.attempts == 1 and stale_move == "fail":
            raise RuntimeError("the stale holder fails")
        try:
            async with ctx.resources.db.transaction() as session:
                await queue.enqueue(
                    session, "durability.applied", {"by": ctx.job.attempts}, run_at=later
                )
                await ctx.finish(session)
        except LeaseLost as lost:
            stale_outcome.append(lost)
            raise

    async with resources.db.transaction() as session:
        await queue.enqueue(session, "durability.effect", {})
    a = HeartbeatlessWorker(resources, tasks=tasks)
    a.lease_seconds = 1.0
    a.concurrency = 1  # A holds this one job and claims nothing else
    b = Worker(resources, tasks=tasks)
    running = [asyncio.create_task(a.run())]
    try:
        await eventually(lambda: _held(a), timeout=5, what="A to hold the job")
        (job_id,) = a._running
        running.append(asyncio.create_task(b.run()))
        await eventually(lambda: _held(b), timeout=5, what="B to take the job over")
        assert await _job(resources, job_id) == ("running", 2)

        gates[1].set()  # A wakes up, still believing it holds the job
        await eventually(lambda: _idle(a), timeout=5, what="A to be done with its attempt")
        if stale_move == "apply":
            assert len(stale_outcome) == 1, "A's finish must find its lease gone"
        assert await _applied(resources) == []
        assert await _job(resources, job_id) == ("running", 2), "B still holds the job"
        assert await _claim(resources, lease_seconds=5) == [], "and nobody else may take it"

        gates[2].set()
        await eventually(lambda: _idle(b), timeout=5, what="B to finish")
    finally:
        for gate in gates.values():
            gate.set()
        a.stop()
        b.stop()
        for task in running:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)

    assert await _applied(resources) == [{"by": 2}]
    assert [j.task for j in await jobs(resources)] == ["durability.applied"]


async def _job(resources: Resources, job_id: int) -> tuple[str, int]:
    (row,) = [j for j in await jobs(resources) if j.id == job_id]
    return row.status, row.attempts


async def _applied(resources: Resources) -> list[dict[str, Any]]:
    return [j.payload for j in await jobs(resources) if j.task == "durability.applied"]


async def _held(worker: Worker) -> bool:
    return bool(worker._running)


async def _idle(worker: Worker) -> bool:
    return not worker._running


async def test_jobs_sharing_a_lock_key_are_never_claimed_together(
    resources: Resources,
) -> None:
    """A dead worker's delivery job and a newer one of the same execution run one at a time."""
    key = outbox_key(uuid.uuid4())
    async with resources.db.transaction() as session:
        await queue.enqueue(session, DELIVER_TASK, {"n": 1}, dedupe_key=key, lock_key=key)
    (dead,) = await _claim(resources, lease_seconds=0.3)  # its worker then dies
    async with resources.db.transaction() as session:  # the execution moves on meanwhile
        await queue.enqueue(session, DELIVER_TASK, {"n": 2}, dedupe_key=key, lock_key=key)
    assert await _claim(resources, lease_seconds=5) == [], "the dead worker's lease is live"
    await eventually(
        lambda: _lease_expired(resources, dead.id), timeout=5, what="the lease to run out"
    )

    claimed = await _claim(resources, lease_seconds=5)

    assert [job.payload["n"] for job in claimed] == [1], claimed
    assert await _claim(resources, lease_seconds=5) == []
    async with resources.db.transaction() as session:
        assert await job_queue.finish(session, claimed[0])
    (second,) = await _claim(resources, lease_seconds=5)
    assert second.payload["n"] == 2


def five_texts() -> dict[str, Any]:
    texts = [node(f"t{i}", "send_text", message=f"Text {i}") for i in range(5)]
    return chain(node("start", "start"), *texts, node("wait", "wait_for_response"))


async def test_overlapping_deliverers_never_send_a_message_twice(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """A stale holder of a delivery job and the worker that took it over, at the same time."""
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, five_texts())
    execution_id = uuid.UUID(str((await start_execution(client, project, flow_id))["id"]))

    async def no_job(_session: object) -> None:
        """These deliverers run outside any job: there is nothing to finish."""

    await asyncio.gather(
        *(deliver_all(resources, execution_id, last_try=False, finish=no_job) for _ in range(3))
    )

    bodies = sandbox_bodies(sandbox)
    assert bodies == {f"Text {i}": 1 for i in range(5)}, f"lost or sent twice: {bodies}"
    # A deliverer that finds another's attempt in flight may flag it unknown; the
    # attempt's own answer then settles it: every row ends sent.
    rows = await outbox_rows(resources, execution_id)
    assert [m.status for m in rows] == ["sent"] * 5


async def test_dedupe_keys_keep_working_on_a_reused_connection(resources: Resources) -> None:
    """PostgreSQL plans a prepared statement generically after 5 runs; enqueue must survive it."""
    async with resources.db.transaction() as session:
        for i in range(12):
            await queue.enqueue(session, "executions.timeout", {"i": i}, dedupe_key=f"k{i}")
            await queue.enqueue(session, "executions.timeout", {"i": -i}, dedupe_key=f"k{i}")
    rows = await jobs(resources)
    assert sorted(j.payload["i"] for j in rows) == list(range(12))
