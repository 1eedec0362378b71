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
from threadline.jobs.queue import enqueue
from threadline.kit.clock import utcnow
from threadline.kit.faults import crash_point
from threadline.kit.resources import Resources
from threadline.messaging import outcomes, repository
from threadline.messaging.outcomes import DeliveryTarget
from threadline.models import FlowExecution, OutboundMessage
from threadline.whatsapp.client import WhatsAppClient
from threadline.whatsapp.errors import (
    DeliveryNotAttempted,
    DeliveryOutcomeUnknown,
    GraphError,
)

DELIVER_TASK = "messaging.deliver"


class TransientDeliveryError(Exception):
    """The Graph API did not accept the message this time; the job retries later."""


def outbox_key(execution_id: uuid.UUID | str) -> str:
    """Dedupe and lock key of an execution's delivery job."""
    return f"outbox:{execution_id}"


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
    """Write outbox rows and make sure a delivery job will pick them up."""
    if not sends:
        return
    rows: list[dict[str, Any]] = [
        {
            "project_id": execution.project_id,
            "execution_id": execution.id,
            "whatsapp_config_id": _config_id(send, execution),
            "node_id": send.node_id,
            "to_phone": execution.phone_number,
            "payload": send.payload,
            "status": "queued",
            "attempts": 0,
            "created_at": now,
        }
        for send in sends
    ]
    await repository.add_many(session, rows)
    key = outbox_key(execution.id)
    await enqueue(
        session, DELIVER_TASK, {"execution_id": str(execution.id)}, dedupe_key=key, lock_key=key
    )


async def deliver_all(resources: Resources, execution_id: uuid.UUID, *, last_try: bool) -> None:
    """Send an execution's pending messages in order, one Graph call at a time."""
    while await _deliver_next(resources, execution_id, last_try=last_try):
        pass


async def _deliver_next(resources: Resources, execution_id: uuid.UUID, *, last_try: bool) -> bool:
    async with resources.db.transaction() as session:
        message = await repository.next_pending(session, execution_id)
        if message is None:
            return False
        if message.status == "sending":
            await outcomes.unknown(session, message, "a previous attempt did not report back")
            return True
        target = await outcomes.target(session, resources.cipher, message)
        if target is None:
            await outcomes.failed(session, message, {"message": "WhatsApp config not found"})
            return True
        if not await outcomes.start_attempt(session, message):
            return True  # another deliverer claimed it first: never call for it here
    crash_point("deliver.after_attempt_recorded")
    await _call(resources, message, target, last_try=last_try)
    return True


def _with_callback(message: OutboundMessage) -> dict[str, Any]:
    # Echoed by Meta in status webhooks: lets a later status settle an unknown outcome.
    return {**message.payload, "biz_opaque_callback_data": f"tl:{message.id}"}


async def _call(
    resources: Resources, message: OutboundMessage, target: DeliveryTarget, *, last_try: bool
) -> None:
    client = WhatsAppClient(
        resources.http,
        base_url=target.base_url,
        phone_number_id=target.phone_number_id,
        access_token=target.access_token,
        api_version=target.api_version,
    )
    try:
        result = await client.send_message(_with_callback(message))
    except DeliveryOutcomeUnknown as error:
        await _settle(resources, outcomes.unknown, message, str(error))
        return
    except (DeliveryNotAttempted, GraphError) as error:
        await _not_sent(resources, message, error, last_try=last_try)
        return
    crash_point("deliver.after_send")
    await _settle(resources, outcomes.sent, message, result.message_id)


async def _not_sent(
    resources: Resources, message: OutboundMessage, error: Exception, *, last_try: bool
) -> None:
    retryable = isinstance(error, DeliveryNotAttempted) or (
        isinstance(error, GraphError) and error.retryable
    )
    if retryable and not last_try:
        await _settle(resources, outcomes.requeue, message, outcomes.error_dict(error))
        raise TransientDeliveryError(str(error)) from error
    await _settle(resources, outcomes.failed, message, outcomes.error_dict(error))


async def _settle(resources: Resources, how: Any, message: OutboundMessage, detail: Any) -> None:
    async with resources.db.transaction() as session:
        await how(session, message, detail)


async def messages_of(session: AsyncSession, execution_id: uuid.UUID) -> list[OutboundMessage]:
    """Every outbox row of an execution (for tests, the demo and the API)."""
    return await repository.list_for_execution(session, execution_id)


__all__ = ["DELIVER_TASK", "deliver_all", "messages_of", "outbox_key", "queue_messages", "utcnow"]
