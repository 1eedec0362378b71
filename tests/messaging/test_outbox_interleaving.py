"""A message queued while its execution's delivery job decides to finish is still sent.

The interleaving of issue 5, item 1: a delivery job is queued (so a step's enqueue is a
no-op under ``ON CONFLICT DO NOTHING``), the step's transaction is held open with a new
outbox row, a worker claims the job meanwhile, finds nothing it can see and would delete
itself; then the step commits. PostgreSQL only: SQLite has one writer at a time, so a
worker cannot run while a step's transaction is open.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import select

from builders import ask_and_reply, create_active_flow, create_project, run_jobs, start_execution
from threadline.engine.state import SendMessage
from threadline.executions import repository as executions
from threadline.jobs.queue import enqueue
from threadline.jobs.worker import Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.messaging.service import DELIVER_TASK, Scope, queue_messages
from threadline.models import Job, WhatsappMessage
from threadline.sandbox.state import SandboxState
from threadline.whatsapp import payloads


def _text(phone: str, body: str) -> SendMessage:
    return SendMessage(node_id="late", payload=payloads.text_message(phone, body))


async def _job_statuses(resources: Resources) -> list[str]:
    async with resources.db.session() as session:
        rows = await session.execute(select(Job.status).where(Job.task == DELIVER_TASK))
        return list(rows.scalars())


async def _queue_delivery_job(resources: Resources, execution_id: uuid.UUID) -> None:
    """A committed, queued delivery job: as just enqueued, or waiting out a 429 backoff.

    The job of the execution's scope: its conversation's, since API-started executions
    join the phone's conversation, else its own.
    """
    async with resources.db.transaction() as session:
        execution = await executions.get_for_update(session, execution_id)
        assert execution is not None
        scope = Scope.of_execution(execution)
        key = scope.key
        await enqueue(session, DELIVER_TASK, scope.payload, dedupe_key=key, lock_key=key)


async def test_a_message_queued_while_the_delivery_job_finishes_is_sent(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: on SQLite a worker cannot run while a step's write is open")
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    started = await start_execution(client, project, flow_id)
    await run_jobs(resources)
    execution_id = uuid.UUID(started["id"])
    await _queue_delivery_job(resources, execution_id)

    async with resources.db.transaction() as step:
        execution = await executions.get_for_update(step, execution_id)
        assert execution is not None
        await queue_messages(step, execution, [_text(execution.phone_number, "late")], utcnow())
        worker = asyncio.create_task(Worker(resources).run_until_idle(timeout=20))
        async with asyncio.timeout(10):
            while await _job_statuses(resources) == ["queued"]:
                await asyncio.sleep(0.01)
        # Let the worker reach its decision (on today's main: delete the job) first.
        await asyncio.sleep(0.5)
    await worker
    await run_jobs(resources)

    async with resources.db.session() as session:
        statuses = (await session.execute(select(WhatsappMessage.status))).scalars().all()
    assert sorted(statuses) == ["sent", "sent"]
    assert [m.payload["text"]["body"] for m in sandbox.outbox] == ["Question?", "late"]
