"""The outbox: queue messages with the step that sends them, deliver them exactly once.

Delivery policy (see docs/architecture.md, "Sending exactly once"):

* a message is marked ``sending`` and committed *before* the Graph call;
* Graph errors that mean "not accepted" (transient ones, or a connection that never
  opened) put it back to ``queued`` and the job retries with backoff;
* permanent Graph errors mark it ``failed`` and fail the execution;
* a message found in ``sending`` by a later attempt, or whose call died after the
  request left (a read timeout), is marked ``unknown`` and is **never resent
  automatically**: Meta has no idempotency key, so resending could send it twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.engine.state import SendMessage
from threadline.jobs.queue import NewJob, enqueue, enqueue_many
from threadline.messaging import repository
from threadline.messaging.delivery import deliver_all
from threadline.messaging.scopes import (
    DELIVER_TASK,
    Scope,
    TransientDeliveryError,
    conversation_outbox_key,
    outbox_key,
)
from threadline.models import FlowExecution, WhatsappMessage
from threadline.whatsapp.content import describe

__all__ = [  # the outbox's API: where the delivery engine and scopes live is a detail
    "DELIVER_TASK",
    "Scope",
    "TransientDeliveryError",
    "conversation_outbox_key",
    "deliver_all",
    "outbox_key",
    "queue_messages",
    "queue_outbound",
    "schedule_delivery",
    "wake_delivery",
]


async def schedule_delivery(session: AsyncSession, scope: Scope) -> None:
    """Make sure a delivery job will send the scope's queued messages.

    The caller holds the scope's lock (the conversation's row, or the execution's): a
    queued job makes this a no-op, and that job's "nothing left" decision waits for the
    lock (see ``delivery._Run.transaction``).
    """
    key = scope.key
    await enqueue(session, DELIVER_TASK, scope.payload, dedupe_key=key, lock_key=key)


def _config_id(send: SendMessage, execution: FlowExecution) -> uuid.UUID | None:
    if send.whatsapp_config_id:
        try:
            return uuid.UUID(send.whatsapp_config_id)
        except ValueError:
            pass
    return execution.whatsapp_config_id


async def queue_messages(
    session: AsyncSession, execution: FlowExecution, sends: Sequence[SendMessage], now: datetime
) -> None:
    """Write outbox rows and make sure a delivery job will pick them up.

    The caller holds the execution's row lock (or has just inserted the row): a queued
    delivery job makes the enqueue a no-op, and that job's "nothing left" decision waits
    for this lock (see ``delivery._Run.transaction``). An execution inside a
    conversation queues them to the conversation's job, which waits for it too.
    """
    if not sends:
        return
    rows: list[dict[str, Any]] = [
        {
            "project_id": execution.project_id,
            "direction": "outbound",
            "execution_id": execution.id,
            "conversation_id": execution.conversation_id,
            "whatsapp_config_id": _config_id(send, execution),
            "node_id": send.node_id,
            "phone_number": execution.phone_number,
            "message_type": str(send.payload.get("type", "text")),
            "content": describe(send.payload),
            "payload": send.payload,
            "status": "queued",
            "attempts": 0,
            "created_at": now,
        }
        for send in sends
    ]
    await repository.add_many(session, rows)
    await schedule_delivery(session, Scope.of_execution(execution))


async def queue_outbound(session: AsyncSession, message: WhatsappMessage) -> None:
    """Queue one message sent through the API to its conversation's delivery job.

    The caller holds the conversation's row lock (``message`` names the conversation).
    """
    assert message.conversation_id is not None, "an API message belongs to a conversation"
    message.status = "queued"
    message.attempts = 0
    session.add(message)
    await session.flush()
    await schedule_delivery(session, Scope(message.conversation_id, conversation=True))


async def queue_outbound_many(session: AsyncSession, messages: Sequence[WhatsappMessage]) -> None:
    """:func:`queue_outbound` for several messages: one flush, one enqueue for all their
    conversations' delivery jobs. The caller holds those conversations' row locks."""
    for message in messages:
        assert message.conversation_id is not None, "an API message belongs to a conversation"
        message.status, message.attempts = "queued", 0
    session.add_all(messages)
    await session.flush()
    scopes = {
        m.conversation_id: Scope(m.conversation_id, conversation=True)
        for m in messages
        if m.conversation_id
    }
    jobs = [
        NewJob(DELIVER_TASK, scope.payload, dedupe_key=scope.key, lock_key=scope.key)
        for scope in scopes.values()
    ]
    await enqueue_many(session, jobs)


async def wake_delivery(session: AsyncSession, message: WhatsappMessage) -> None:
    """A message was queued again: make sure its delivery job will see it.

    The caller holds the lock the delivery job decides "nothing left" under (the
    conversation's row for a conversation's message, else the execution's).
    """
    if message.conversation_id is not None:
        await schedule_delivery(session, Scope(message.conversation_id, conversation=True))
    elif message.execution_id is not None:
        await schedule_delivery(session, Scope(message.execution_id, conversation=False))
