"""Many steps queuing messages on one execution while several workers deliver them.

Every step takes the execution's row lock (as the engine's steps do), queues one to three
messages and holds its transaction open for a random moment; four workers run meanwhile,
and the sandbox answers one send per round with a 429.
The steps come in rounds: a message lost by a round's last step would be rescued by the
next step's job, so after each round, once no delivery job is left, no message may be
pending. In the end every message reached the sandbox exactly once.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections import Counter

import httpx
from sqlalchemy import select

from builders import (
    ask_and_reply,
    create_active_flow,
    create_project,
    run_jobs,
    start_execution,
)
from threadline.engine.state import SendMessage
from threadline.executions import repository as executions
from threadline.jobs.worker import Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.messaging.service import DELIVER_TASK, queue_messages
from threadline.models import Job, WhatsappMessage
from threadline.sandbox.state import FailureRule, SandboxState
from threadline.whatsapp import payloads

ROUNDS = 10
STEPS_PER_ROUND = 5
WORKERS = 4


async def _step(
    resources: Resources, execution_id: uuid.UUID, number: int, rng: random.Random
) -> list[str]:
    """One step: lock the execution, queue its messages, hold the transaction a moment."""
    await asyncio.sleep(rng.uniform(0, 0.8))
    bodies = [f"step {number} message {i}" for i in range(rng.randint(1, 3))]
    hold = rng.uniform(0, 0.15)
    async with resources.db.transaction() as session:
        execution = await executions.get_for_update(session, execution_id)
        assert execution is not None
        sends = [
            SendMessage(
                node_id=f"n{number}", payload=payloads.text_message(execution.phone_number, b)
            )
            for b in bodies
        ]
        await queue_messages(session, execution, sends, utcnow())
        await asyncio.sleep(hold)
    return bodies


async def _delivery_jobs(resources: Resources) -> int:
    async with resources.db.session() as session:
        return len((await session.execute(select(Job.id).where(Job.task == DELIVER_TASK))).all())


async def _pending_once_no_job_is_left(resources: Resources) -> int:
    """Wait until no delivery job exists; then how many messages are still unsettled."""
    async with asyncio.timeout(30):
        while await _delivery_jobs(resources):
            await asyncio.sleep(0.02)
    async with resources.db.session() as session:
        pending = WhatsappMessage.status.in_(("queued", "sending"))
        return len((await session.execute(select(WhatsappMessage.id).where(pending))).all())


async def test_every_message_of_concurrent_steps_is_sent_exactly_once(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    seed = int(os.environ.get("THREADLINE_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    execution_id = uuid.UUID((await start_execution(client, project, flow_id))["id"])
    await run_jobs(resources)
    sandbox.reset()

    workers = [Worker(resources) for _ in range(WORKERS)]
    running = [asyncio.create_task(worker.run()) for worker in workers]
    gate = asyncio.Semaphore(8)  # steps wait on one row lock: do not hold the whole pool

    async def step(number: int) -> list[str]:
        async with gate:
            return await _step(resources, execution_id, number, rng)

    queued: list[list[str]] = []
    try:
        for round_ in range(ROUNDS):
            # A 429 puts the job in backoff: steps meanwhile find it queued (enqueue no-op).
            sandbox.failures.append(FailureRule(remaining=1, code=130429, http_status=429))
            numbers = range(round_ * STEPS_PER_ROUND, (round_ + 1) * STEPS_PER_ROUND)
            queued += await asyncio.gather(*(step(n) for n in numbers))
            pending = await _pending_once_no_job_is_left(resources)
            assert pending == 0, f"round {round_}: {pending} messages without a job (seed {seed})"
    finally:
        for worker in workers:
            worker.stop()
        await asyncio.gather(*running)

    async with resources.db.session() as session:
        statuses = Counter((await session.execute(select(WhatsappMessage.status))).scalars())
    assert set(statuses) == {"sent"}, f"{statuses} (seed {seed})"
    expected = Counter(body for bodies in queued for body in bodies)
    received = Counter(m.payload["text"]["body"] for m in sandbox.outbox)
    assert received == expected, f"seed {seed}"
    assert all(count == 1 for count in received.values()), f"seed {seed}"
