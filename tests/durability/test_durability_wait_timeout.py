"""A wait_for_response timeout fires on time, driven by nothing but its own timer job.

The only thing running is one embedded worker whose poll interval is far longer than
the wait (60 s against 10 s), so the timer can only fire on time if the worker sleeps
until the earliest job's ``run_at`` and is woken by the jobs the flow enqueues.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import httpx
import pytest
from durability_support import event_kinds, eventually, execution_row, sandbox_bodies

from builders import create_active_flow, create_project, edge, node, start_execution
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

TIMEOUT_SECONDS = 10  # the smallest a wait_for_response allows
ON_TIME = timedelta(seconds=1)


def wait_with_timeout_branch() -> dict[str, object]:
    return {
        "nodes": [
            node("start", "start"),
            node("ask", "send_text", message="Question?"),
            node(
                "wait",
                "wait_for_response",
                save_response_to="answer",
                timeout_seconds=TIMEOUT_SECONDS,
            ),
            node("reply", "send_text", message="You said {{vars.answer}}"),
            node("late", "send_text", message="Timed out"),
        ],
        "edges": [
            edge("start", "ask"),
            edge("ask", "wait"),
            edge("wait", "reply"),
            edge("wait", "late", "timeout"),
        ],
    }


@pytest.mark.slow
async def test_wait_timeout_fires_within_a_second_of_its_deadline(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, wait_with_timeout_branch())
    worker = Worker(resources)
    worker.poll_seconds = 60.0  # no polling luck: the timer must wake the worker itself
    running = asyncio.create_task(worker.run())
    try:
        execution_id = str((await start_execution(client, project, flow_id))["id"])
        deadline = (await execution_row(resources, execution_id)).wait_until
        assert deadline is not None

        async def timed_out() -> bool:
            return sandbox_bodies(sandbox)["Timed out"] == 1

        await eventually(
            timed_out, timeout=TIMEOUT_SECONDS + 5, what="the timeout branch's message"
        )
        (late,) = [e for e in sandbox.outbox if e.payload["text"]["body"] == "Timed out"]
        assert deadline <= late.received_at <= deadline + ON_TIME, (
            f"deadline {deadline.isoformat()}, message at {late.received_at.isoformat()}"
        )

        async def ended() -> bool:
            return (await execution_row(resources, execution_id)).status == "ended"

        await eventually(ended, timeout=5, what="the execution to end")
    finally:
        worker.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 10)

    row = await execution_row(resources, execution_id)
    assert row.system["last_resume"] == {"reason": "timeout"}
    assert row.current_node_id == "late"
    assert "answer" not in row.variables
    assert sandbox_bodies(sandbox) == {"Question?": 1, "Timed out": 1}
    kinds = await event_kinds(resources, execution_id)
    assert kinds.count("resumed") == 1
