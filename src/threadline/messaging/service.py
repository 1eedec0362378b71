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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.engine.state import SendMessage
from threadline.jobs.queue import enqueue
from threadline.kit.faults import crash_point
from threadline.kit.resources import Resources
from threadline.messaging import outcomes, repository
from threadline.messaging.outcomes import DeliveryTarget
from threadline.models import FlowExecution, WhatsappMessage
from threadline.whatsapp.client import WhatsAppClient
from threadline.whatsapp.content import describe
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
    """Write outbox rows and make sure a delivery job will pick them up.

    The caller holds the execution's row lock (or has just inserted the row): a queued
    delivery job makes the enqueue a no-op, and that job's "nothing left" decision waits
    for this lock (see :meth:`_Delivery.finish_or_next`).
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
    await _enqueue_delivery(session, execution.id)


async def wake_delivery(session: AsyncSession, message: WhatsappMessage) -> None:
    """A message was queued again: make sure its delivery job will see it.

    The caller holds the lock the delivery job decides "nothing left" under.
    """
    if message.execution_id is not None:
        await _enqueue_delivery(session, message.execution_id)


async def _enqueue_delivery(session: AsyncSession, execution_id: uuid.UUID) -> None:
    key = outbox_key(execution_id)
    await enqueue(
        session, DELIVER_TASK, {"execution_id": str(execution_id)}, dedupe_key=key, lock_key=key
    )


Finish = Callable[[AsyncSession], Awaitable[None]]
Ready = tuple[WhatsappMessage, DeliveryTarget]


@dataclass(frozen=True)
class _Settlement:
    """How to record a call's outcome: an ``outcomes`` function and its argument."""

    how: Callable[[AsyncSession, WhatsappMessage, Any], Awaitable[None]]
    detail: Any


async def deliver_all(
    resources: Resources, execution_id: uuid.UUID, *, last_try: bool, finish: Finish
) -> None:
    """Send an execution's pending messages in order, one Graph call at a time.

    Recording a result and claiming the next message share one transaction: two
    transactions per message, and one more to end the job (:meth:`_Delivery.finish_or_next`).
    """
    delivery = _Delivery(resources, execution_id, last_try)
    ready = await delivery.settle_and_continue(None, finish)
    while ready is not None:
        message, target = ready
        crash_point("deliver.after_attempt_recorded")
        settlement = await delivery.call(message, target)
        ready = await delivery.settle_and_continue((message, settlement), finish)


@dataclass
class _Delivery:
    resources: Resources
    execution_id: uuid.UUID
    last_try: bool
    targets: dict[uuid.UUID | None, DeliveryTarget | None] = field(default_factory=dict)

    async def finish_or_next(self, finish: Finish) -> Ready | None:
        """End the job, unless a message turned up: decided under the execution's row lock.

        Every step that queues messages holds that lock, and its enqueue folds into this
        job while the job is queued. So a step still open makes this wait, and its
        messages are then seen; a step that comes after the job ended enqueues a new one.
        The lock is taken first, in a transaction of its own, so that no deliverer ever
        holds a message row while waiting for it (no deadlock with another deliverer).
        """
        async with self.resources.db.transaction() as session:
            await repository.lock_execution(session, self.execution_id)
            ready = await self.next_ready(session)
            if ready is None:
                await finish(session)
            return ready

    async def next_ready(self, session: AsyncSession) -> Ready | None:
        """The next message, its attempt recorded; settles the ones that cannot be sent."""
        while (message := await repository.next_pending(session, self.execution_id)) is not None:
            if message.status == "sending":
                await outcomes.unknown(session, message, "a previous attempt did not report back")
                continue
            target = await self._target(session, message)
            if target is None:
                await outcomes.failed(session, message, {"message": "WhatsApp config not found"})
                continue
            if await outcomes.start_attempt(session, message):
                return message, target
        return None

    async def _target(
        self, session: AsyncSession, message: WhatsappMessage
    ) -> DeliveryTarget | None:
        key = message.whatsapp_config_id
        if key not in self.targets:
            self.targets[key] = await outcomes.target(
                session,
                self.resources.cipher,
                message,
                sandbox_url=self.resources.settings.sandbox_graph_url(),
            )
        return self.targets[key]

    async def call(self, message: WhatsappMessage, target: DeliveryTarget) -> _Settlement:
        """Send one message; how to record what happened (transient errors raise)."""
        client = WhatsAppClient(
            self.resources.http,
            base_url=target.base_url,
            phone_number_id=target.phone_number_id,
            access_token=target.access_token,
            api_version=target.api_version,
        )
        try:
            result = await client.send_message(_with_callback(message))
        except DeliveryOutcomeUnknown as error:
            return _Settlement(outcomes.unknown, str(error))
        except (DeliveryNotAttempted, GraphError) as error:
            return await self._not_sent(message, error)
        crash_point("deliver.after_send")
        return _Settlement(outcomes.sent, result.message_id)

    async def _not_sent(self, message: WhatsappMessage, error: Exception) -> _Settlement:
        retryable = isinstance(error, DeliveryNotAttempted) or (
            isinstance(error, GraphError) and error.retryable
        )
        if retryable and not self.last_try:
            async with self.resources.db.transaction() as session:
                await outcomes.requeue(session, message, outcomes.error_dict(error))
            raise TransientDeliveryError(str(error)) from error
        return _Settlement(outcomes.failed, outcomes.error_dict(error))

    async def settle_and_continue(
        self, outcome: tuple[WhatsappMessage, _Settlement] | None, finish: Finish
    ) -> Ready | None:
        """Record a call's outcome and claim the next message; none left: end the job."""
        async with self.resources.db.transaction() as session:
            if outcome is not None:
                message, settlement = outcome
                await settlement.how(session, message, settlement.detail)
            ready = await self.next_ready(session)
        return ready if ready is not None else await self.finish_or_next(finish)


def _with_callback(message: WhatsappMessage) -> dict[str, Any]:
    # Echoed by Meta in status webhooks: lets a later status settle an unknown outcome.
    return {**message.payload, "biz_opaque_callback_data": f"tl:{message.id}"}
