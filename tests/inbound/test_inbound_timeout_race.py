"""A wait that times out while the user's reply is processed resolves one way only."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select, update

from builders import (
    ask_and_reply,
    create_active_flow,
    create_project,
    delivery,
    execution_events,
    inbound_text,
    post_webhook,
    run_jobs,
    start_execution,
)
from threadline.executions.keys import TIMEOUT_TASK
from threadline.jobs.worker import Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Job
from threadline.sandbox.state import SandboxState

ROUNDS = 5


async def test_reply_and_timeout_racing_resume_exactly_once(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply(timeout_seconds=3600))
    for round_ in range(ROUNDS):
        phone = f"+1555000{round_:04d}"
        started = await start_execution(client, project, flow_id, phone=phone)
        await run_jobs(resources)
        reply = inbound_text(f"wamid.{round_}", "blue", sender=phone.lstrip("+"))
        await post_webhook(client, delivery(messages=[reply]))
        async with resources.db.transaction() as session:  # the timer is due now too
            await session.execute(
                update(Job).where(Job.task == TIMEOUT_TASK).values(run_at=utcnow())
            )
        await asyncio.gather(*(Worker(resources).run_until_idle() for _ in range(3)))
        await run_jobs(resources)

        events = await execution_events(client, project, started["id"])
        resumed = [e for e in events if e["kind"] == "resumed"]
        assert len(resumed) == 1, events
        assert resumed[0]["data"]["reason"] in ("user_input", "timeout")
    async with resources.db.session() as session:
        left = (await session.execute(select(Job).where(Job.task == TIMEOUT_TASK))).scalars()
        # A deadlock (retried) would leave a timer job queued with its error.
        assert [(j.status, j.last_error) for j in left] == []
    replies = [
        e.payload["text"]["body"]
        for e in sandbox.outbox
        if e.payload["text"]["body"] != "Question?"
    ]
    assert len(replies) == ROUNDS  # one reply per run, whichever way it resolved
