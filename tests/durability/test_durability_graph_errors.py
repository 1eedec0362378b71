"""Graph API errors: transient ones are retried with backoff, permanent ones fail the run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from durability_support import (
    PENDING,
    events,
    eventually,
    execution_row,
    jobs,
    outbox_rows,
    sandbox_bodies,
    sandbox_control,
)

from builders import (
    TestProject,
    ask_and_reply,
    create_active_flow,
    create_project,
    get_execution,
    start_execution,
)
from threadline.config import Settings
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

# A long lease, so "promptly" has room on a loaded machine and still cannot mean "after
# the lease ran out".
LEASE_SECONDS = 30


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with a job lease far longer than any retry here."""
    return settings.model_copy(update={"job_lease_seconds": LEASE_SECONDS})


@pytest.fixture
async def worker(resources: Resources) -> AsyncIterator[Worker]:
    """An embedded worker running for the whole test."""
    running = Worker(resources)
    task = asyncio.create_task(running.run())
    try:
        yield running
    finally:
        running.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


async def _started(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> tuple[TestProject, str]:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    return project, str((await start_execution(client, project, flow_id))["id"])


async def test_transient_graph_error_is_retried_with_backoff_and_sent_once(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    worker: Worker,
) -> None:
    await sandbox_control(sandbox_url, "failures", {"times": 2, "code": 131000, "http_status": 500})
    _project, execution_id = await _started(client, resources, sandbox_url)

    async def sent() -> bool:
        rows = await outbox_rows(resources, execution_id)
        return bool(rows) and rows[0].status == "sent"

    await eventually(sent, timeout=10, what="the message to be sent after two failures")
    (row,) = await outbox_rows(resources, execution_id)
    assert row.attempts == 3
    assert sandbox_bodies(sandbox) == {"Question?": 1}
    assert sandbox.failures == []
    outcomes = ("message_retry", "message_sent", "message_failed", "message_outcome_unknown")
    log = [e for e in await events(resources, execution_id) if e.kind in outcomes]
    assert [e.kind for e in log] == ["message_retry", "message_retry", "message_sent"]
    assert all(e.data["error"]["code"] == 131000 for e in log[:2])
    # RetryPolicy(base_delay=0.5, jitter=0.2) of messaging.deliver: ~0.5 s, then ~1 s.
    first_gap = (log[1].at - log[0].at).total_seconds()
    second_gap = (log[2].at - log[1].at).total_seconds()
    assert 0.4 <= first_gap <= 1.5, first_gap
    assert 0.8 <= second_gap <= 2.5, second_gap
    execution = await execution_row(resources, execution_id)
    assert (execution.status, execution.error) == ("waiting", None)


async def test_permanent_graph_error_fails_the_execution_without_retry(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    worker: Worker,
) -> None:
    await sandbox_control(sandbox_url, "failures", {"times": 1, "code": 131026, "http_status": 400})
    project, execution_id = await _started(client, resources, sandbox_url)

    async def failed() -> bool:
        return (await execution_row(resources, execution_id)).status == "failed"

    await eventually(failed, timeout=10, what="the execution to fail")

    async def queue_empty() -> bool:
        return not await jobs(resources)

    # Nothing left to retry: the delivery job is gone and the wait's timer cancelled.
    await eventually(queue_empty, timeout=5, what="the job queue to drain")
    shown = await get_execution(client, project, execution_id)
    assert shown["status"] == "failed"
    # The execution's error records the Graph error (its exact nesting is not the point).
    recorded = json.dumps(shown["error"])
    assert "131026" in recorded and "Message undeliverable" in recorded, recorded
    (row,) = await outbox_rows(resources, execution_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error is not None and row.last_error["code"] == 131026
    kinds = [e.kind for e in await events(resources, execution_id)]
    assert kinds.count("message_failed") == 1
    assert "message_retry" not in kinds
    assert sandbox.outbox == []
    resumed = await client.post(
        f"/api/v1/flow_executions/{execution_id}/resume", headers=project.headers, json={}
    )
    assert resumed.status_code == 422


async def test_transient_error_while_the_execution_moves_on_is_retried_promptly(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    worker: Worker,
) -> None:
    """The user answers while "Question?" is failing in flight: a second delivery job of
    the execution is queued beside the running one when that one is rescheduled."""
    await sandbox_control(sandbox_url, "config", {"latency_ms": 700})
    await sandbox_control(sandbox_url, "failures", {"times": 1, "code": 131000, "http_status": 500})
    project, execution_id = await _started(client, resources, sandbox_url)

    async def in_flight() -> bool:
        rows = await outbox_rows(resources, execution_id)
        return bool(rows) and rows[0].status == "sending"

    await eventually(in_flight, timeout=5, what="the first attempt to be in flight")
    resumed = await client.post(
        f"/api/v1/flow_executions/{execution_id}/resume",
        headers=project.headers,
        json={"input": "blue"},
    )
    assert resumed.status_code == 200, resumed.text
    started = time.monotonic()

    async def all_sent() -> bool:
        rows = await outbox_rows(resources, execution_id)
        return len(rows) == 2 and all(m.status not in PENDING for m in rows)

    # Well inside the job lease: nothing may wait for a lease to run out.
    await eventually(all_sent, timeout=LEASE_SECONDS / 3, what="both messages to be delivered")
    assert time.monotonic() - started < LEASE_SECONDS / 3
    rows = await outbox_rows(resources, execution_id)
    assert [m.status for m in rows] == ["sent", "sent"]
    assert [e.payload["text"]["body"] for e in sandbox.outbox] == ["Question?", "You said blue"]

    async def queue_empty() -> bool:
        return not await jobs(resources)

    await eventually(queue_empty, timeout=5, what="the job queue to drain")
    assert (await execution_row(resources, execution_id)).status == "ended"
