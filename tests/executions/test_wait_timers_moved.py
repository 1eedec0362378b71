"""A resume runs the flow in its own transaction; the wait timer is moved, never doubled."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from builders import (
    create_active_flow,
    create_project,
    edge,
    fire_wait_timers,
    get_execution,
    node,
    resume,
    run_jobs,
    start_execution,
)
from threadline.executions.keys import TIMEOUT_TASK
from threadline.kit.resources import Resources
from threadline.models import Job
from threadline.sandbox.state import SandboxState


def echo_loop() -> dict[str, Any]:
    """start → "hi" → wait (timeout) → "got {{vars.x}}" → back to the same wait."""
    return {
        "nodes": [
            node("start", "start"),
            node("hi", "send_text", message="hi"),
            node("wait", "wait_for_response", save_response_to="x", timeout_seconds=3600),
            node("got", "send_text", message="got {{vars.x}}"),
            node("bye", "send_text", message="bye"),
        ],
        "edges": [
            edge("start", "hi"),
            edge("hi", "wait"),
            edge("wait", "got"),
            edge("got", "wait"),
            edge("wait", "bye", "timeout"),
        ],
    }


async def _timers(resources: Resources) -> list[tuple[str, dict[str, Any]]]:
    async with resources.db.session() as session:
        rows = await session.execute(
            select(Job.status, Job.payload).where(Job.task == TIMEOUT_TASK).order_by(Job.id)
        )
        return [(status, payload) for status, payload in rows]


async def test_each_resume_moves_the_one_timer_to_the_new_wait(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, echo_loop())
    execution = await start_execution(client, project, flow_id)
    (first,) = await _timers(resources)

    for answer in ("a", "b", "c"):
        resumed = await resume(client, project, execution["id"], {"input": answer})
        assert resumed.status_code == 200, resumed.text
        data = resumed.json()["data"]
        # The answer shows the run already back at its wait, the reply queued.
        assert (data["status"], data["variables"]["x"]) == ("waiting", answer)

    timers = await _timers(resources)
    assert len(timers) == 1, timers
    (status, payload), seq = timers[0], first[1]["seq"]
    assert status == "queued"
    assert payload == {"execution_id": execution["id"], "seq": seq + 6}  # 2 steps per resume

    await run_jobs(resources)
    await fire_wait_timers(resources)  # the moved timer fires for the current wait
    final = await get_execution(client, project, execution["id"])
    assert final["status"] == "ended"
    bodies = [m.payload["text"]["body"] for m in sandbox.outbox]
    assert bodies == ["hi", "got a", "got b", "got c", "bye"]
    assert await _timers(resources) == []


async def test_a_stale_timer_that_fires_changes_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """The timer of a wait that was resumed may still fire (it is moved, not deleted, when
    the next wait has a timeout; a worker may hold it already): it must do nothing."""
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, echo_loop())
    execution = await start_execution(client, project, flow_id)
    async with resources.db.transaction() as session:
        timer = select(Job.id).where(Job.task == TIMEOUT_TASK)
        timer_id = (await session.execute(timer)).scalar_one()
        job = await session.get(Job, timer_id)
        assert job is not None
        job.status = "running"  # a worker holds the first wait's timer when the resume comes
        stale_payload = dict(job.payload)

    resumed = await resume(client, project, execution["id"], {"input": "a"})
    assert resumed.status_code == 200, resumed.text
    timers = await _timers(resources)
    assert timers == [
        ("running", stale_payload),
        ("queued", {"execution_id": execution["id"], "seq": stale_payload["seq"] + 2}),
    ]

    from threadline.executions.tasks import timeout
    from threadline.jobs.context import JobContext
    from threadline.jobs.repository import ClaimedJob

    held = ClaimedJob(timer_id, TIMEOUT_TASK, stale_payload, attempts=0, max_attempts=20)
    await timeout(JobContext(job=held, resources=resources))
    after = await get_execution(client, project, execution["id"])
    assert (after["status"], after["variables"]["x"]) == ("waiting", "a")
    assert [status for status, _ in await _timers(resources)] == ["queued"]
