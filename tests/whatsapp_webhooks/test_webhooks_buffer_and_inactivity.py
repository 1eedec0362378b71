"""Buffered received messages go as one batch; silence past ``inactivity_minutes`` is told."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from test_webhooks_crud import create_webhook

from builders import (
    create_project,
    default_config_id,
    delivery,
    inbound_text,
    post_webhook,
    run_jobs,
)
from threadline.jobs.worker import Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Job, WhatsappConversation
from threadline.whatsapp_webhooks import names
from threadline.whatsapp_webhooks.emitters import INACTIVE_TASK
from threadline.whatsapp_webhooks.signing import verify
from whatsapp_webhooks.conftest import Receiver


async def test_received_messages_are_batched_up_to_the_buffer_size(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    await create_webhook(
        client,
        project,
        config_id,
        url=receiver.url,
        secret_key="buf",
        events=[names.MESSAGE_RECEIVED],
        buffer_enabled=True,
        buffer_window_seconds=60,
        max_buffer_size=3,
    )
    for n in range(4):
        await post_webhook(client, delivery(messages=[inbound_text(f"wamid.B{n}", f"m{n}")]))
    await Worker(resources).run_until_idle()
    # The full batch went at once; the fourth message waits for its window.
    (batch,) = receiver.received
    assert verify("buf", batch.body, batch.headers["x-webhook-signature"])
    assert batch.headers["x-webhook-batch"] == "true" and batch.headers["x-batch-size"] == "3"
    body = json.loads(batch.body)
    assert body["event"] == names.MESSAGE_RECEIVED and body["batch"] is True
    assert [item["message"]["text"]["body"] for item in body["data"]] == ["m0", "m1", "m2"]
    await run_jobs(resources)  # makes the window's end due now
    alone = json.loads(receiver.received[1].body)
    assert alone["message"]["text"]["body"] == "m3" and "x-webhook-batch" not in (
        receiver.received[1].headers
    )


async def _make_inactive_timers_due(resources: Resources, *, silent_for: timedelta) -> None:
    async with resources.db.transaction() as session:
        await session.execute(
            update(WhatsappConversation).values(last_active_at=utcnow() - silent_for)
        )
        await session.execute(update(Job).where(Job.task == INACTIVE_TASK).values(run_at=utcnow()))


async def _inactive_timers(resources: Resources) -> list[Job]:
    async with resources.db.session() as session:
        statement = select(Job).where(Job.task == INACTIVE_TASK, Job.status == "queued")
        return list((await session.execute(statement)).scalars())


async def test_a_silent_conversation_is_told_inactive_after_the_webhooks_minutes(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    hook = await create_webhook(
        client,
        project,
        config_id,
        url=receiver.url,
        events=[names.CONVERSATION_INACTIVE],
        inactivity_minutes=5,
    )
    await post_webhook(client, delivery(messages=[inbound_text("wamid.S", "hello")]))
    await Worker(resources).run_until_idle()
    (timer,) = await _inactive_timers(resources)
    assert timer.payload["webhook_id"] == hook["id"]
    assert timedelta(minutes=4) < timer.run_at - utcnow() <= timedelta(minutes=5)

    await _make_inactive_timers_due(resources, silent_for=timedelta(minutes=2))
    await Worker(resources).run_until_idle()
    assert receiver.received == []  # it spoke 2 minutes ago: the timer is re-armed
    (again,) = await _inactive_timers(resources)
    assert again.run_at > utcnow() + timedelta(minutes=2)

    await _make_inactive_timers_due(resources, silent_for=timedelta(minutes=6))
    await Worker(resources).run_until_idle()
    (told,) = receiver.received
    body = json.loads(told.body)
    assert body["event"] == names.CONVERSATION_INACTIVE
    uuid.UUID(body["conversation"]["id"])
    assert await _inactive_timers(resources) == []


async def test_a_conversation_ended_by_its_expiry_timer_is_told_ended(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    from threadline.conversations.service import EXPIRE_TASK

    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    await create_webhook(
        client, project, config_id, url=receiver.url, events=[names.CONVERSATION_ENDED]
    )
    await post_webhook(client, delivery(messages=[inbound_text("wamid.E", "bye")]))
    await run_jobs(resources)
    silent = timedelta(minutes=resources.settings.conversation_inactivity_minutes + 1)
    async with resources.db.transaction() as session:
        await session.execute(update(WhatsappConversation).values(last_active_at=utcnow() - silent))
        await session.execute(update(Job).where(Job.task == EXPIRE_TASK).values(run_at=utcnow()))
    await Worker(resources).run_until_idle()
    (told,) = [json.loads(body) for body in receiver.bodies()]
    assert told["event"] == names.CONVERSATION_ENDED
    assert told["conversation"]["ended_reason"] == "inactivity"
