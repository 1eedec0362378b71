"""Per-key order (head of line); lanes (slow calls never delay timers)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select, update
from starlette.types import Receive, Scope, Send

from builders import chain, create_active_flow, create_project, edge, node, start_execution
from support import free_port
from threadline.executions.keys import CALL_TASK, TIMEOUT_TASK
from threadline.jobs.queue import enqueue
from threadline.jobs.registry import Registry
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import JobContext, Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import ExecutionEvent, FlowExecution, Job
from threadline.sandbox.state import SandboxState

BACKOFF = RetryPolicy(max_attempts=5, base_delay=0.3, max_delay=0.3, jitter=0)


async def test_a_newer_job_never_overtakes_an_older_one_of_its_key_in_backoff(
    resources: Resources,
) -> None:
    tasks, done, failed_once = Registry(), [], set()

    @tasks.task("test.ordered", policy=BACKOFF)
    async def ordered(ctx: JobContext) -> None:
        n = ctx.job.payload["n"]
        if n == 1 and n not in failed_once:
            failed_once.add(n)
            raise RuntimeError("the head job fails once, then waits out its backoff")
        done.append(n)

    async with resources.db.transaction() as session:
        await enqueue(session, "test.ordered", {"n": 1}, lock_key="conversation")
    worker = Worker(resources, tasks=tasks)
    await worker.run_until_idle(timeout=10)  # job 1 fails: queued again, run_at in 0.3 s
    async with resources.db.transaction() as session:
        await enqueue(session, "test.ordered", {"n": 2}, lock_key="conversation")
        await enqueue(session, "test.ordered", {"n": 3}, lock_key="other")

    await worker.run_until_idle(timeout=10)
    assert done == [3], "job 2 ran while job 1 of its key waited out its backoff"
    async with asyncio.timeout(10):
        while len(done) < 3:
            await asyncio.sleep(0.05)
            await worker.run_until_idle(timeout=10)
    assert done == [3, 1, 2]


# -- lanes --------------------------------------------------------------------------------


class StallingServer:
    """A real HTTP server whose every answer waits until the test releases it."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.waiting = 0
        self.base_url = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.waiting += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})


@pytest.fixture
async def stalling_server() -> AsyncIterator[StallingServer]:
    app = StallingServer()
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    app.base_url = f"http://127.0.0.1:{port}"
    yield app
    app.release.set()
    server.should_exit = True
    await task


def slow_call(url: str) -> dict[str, Any]:
    return chain(
        node("start", "start"),
        node("call", "webhook", url=url, method="GET", retries=0),
        node("done", "send_text", message="Call done"),
    )


def timer() -> dict[str, Any]:
    return {
        "nodes": [
            node("start", "start"),
            node("wait", "wait_for_response", timeout_seconds=3600),
            node("late", "send_text", message="Timed out"),
        ],
        "edges": [edge("start", "wait"), edge("wait", "late", "timeout")],
    }


async def _count(resources: Resources, task: str, status: str) -> int:
    async with resources.db.session() as session:
        statement = select(Job).where(Job.task == task, Job.status == status)
        return len(list((await session.execute(statement)).scalars()))


async def _make_timer_due_in(resources: Resources, seconds: float) -> Any:
    due = utcnow() + timedelta(seconds=seconds)
    async with resources.db.transaction() as session:
        moved = await session.execute(
            update(Job).where(Job.task == TIMEOUT_TASK, Job.status == "queued").values(run_at=due)
        )
    assert moved.rowcount == 1  # type: ignore[attr-defined]
    return due


async def _resumed_at(resources: Resources) -> Any:
    async with resources.db.session() as session:
        statement = (
            select(ExecutionEvent.at)
            .join(FlowExecution, FlowExecution.id == ExecutionEvent.execution_id)
            .where(ExecutionEvent.kind == "resumed", FlowExecution.current_node_id == "late")
        )
        return (await session.execute(statement)).scalar_one_or_none()


@pytest.mark.slow
async def test_a_saturated_slow_lane_does_not_delay_a_timer(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    stalling_server: StallingServer,
) -> None:
    project = await create_project(resources, sandbox_url)
    calls = await create_active_flow(client, project, slow_call(stalling_server.base_url + "/"))
    timers = await create_active_flow(client, project, timer(), name="Timer")
    worker = Worker(resources)
    worker.concurrency, worker.slow_concurrency, worker.poll_seconds = 2, 2, 0.2
    running = asyncio.create_task(worker.run())
    try:
        for n in range(4):  # twice as many calls as the slow lane has slots
            await start_execution(client, project, calls, phone=f"+1555000{n:04d}")
        async with asyncio.timeout(10):
            while stalling_server.waiting < 2 or await _count(resources, CALL_TASK, "queued") < 2:
                await asyncio.sleep(0.02)
        await start_execution(client, project, timers, phone="+15559990000")
        async with asyncio.timeout(10):
            while await _count(resources, TIMEOUT_TASK, "queued") < 1:
                await asyncio.sleep(0.02)
        due = await _make_timer_due_in(resources, 0.5)

        started = time.monotonic()
        while (fired := await _resumed_at(resources)) is None:
            assert time.monotonic() - started < 5, "the timer did not fire behind the slow calls"
            await asyncio.sleep(0.02)
        lateness = (fired - due).total_seconds()
        print(f"timer lateness behind a full slow lane: {lateness * 1000:.0f} ms")
        # The poll interval, plus room for a busy test machine (typically ~10 ms late).
        assert lateness <= worker.poll_seconds + 0.3, f"timer {lateness:.3f}s late"
        assert stalling_server.waiting == 2, "the slow lane ran more calls than its slots"
    finally:
        stalling_server.release.set()
        worker.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 15)
