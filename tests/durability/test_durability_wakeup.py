"""A worker in another process picks up new work at once on PostgreSQL (LISTEN/NOTIFY)
and within its poll interval on SQLite, which has no cross-process notifications."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from durability_support import Proc, Processes, eventually

from builders import chain, create_active_flow, create_project, node, start_execution
from threadline.config import Settings
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState


@pytest.mark.slow
async def test_a_separate_worker_is_woken_by_the_commit(
    client: httpx.AsyncClient,
    settings: Settings,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    processes: Processes,
    database_url: str,
) -> None:
    on_postgres = database_url.startswith("postgresql")
    poll = 30.0 if on_postgres else 1.0
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(
        client, project, chain(node("start", "start"), node("hi", "send_text", message="Hi"))
    )
    # At info: "worker ready" is an info line, and the other processes log at warning.
    worker = await processes.worker(
        settings, THREADLINE_WORKER_POLL_SECONDS=str(poll), THREADLINE_LOG_LEVEL="info"
    )
    await eventually(lambda: _ready(worker), timeout=30, what="the worker to be ready")
    await asyncio.sleep(0.5)  # let it find nothing and go to sleep for a poll
    assert worker.returncode is None, worker.output()

    started = time.monotonic()
    await start_execution(client, project, flow_id)
    await eventually(lambda: _sent(sandbox), timeout=poll + 5, what="the message to be sent")
    elapsed = time.monotonic() - started
    # PostgreSQL: woken by NOTIFY, far sooner than the 30 s poll. SQLite: by its poll.
    assert elapsed < (2.0 if on_postgres else poll + 1.5), elapsed


async def _ready(worker: Proc) -> bool:
    return "worker ready" in worker.output()


async def _sent(sandbox: SandboxState) -> bool:
    return len(sandbox.outbox) == 1
