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


def conversation_outbox_key(conversation_id: uuid.UUID | str) -> str:
    """Dedupe and lock key of a conversation's delivery job."""
    return f"outbox:conversation:{conversation_id}"


@dataclass(frozen=True)
class Scope:
    """Whose messages one delivery job sends, in order: a conversation's, else an execution's.

    A message with a ``conversation_id`` is delivered by its conversation's job, whoever
    queued it (a flow or the API), so one conversation's messages leave in one line.
    """

    id: uuid.UUID
    conversation: bool

    @classmethod
    def of_execution(cls, execution: FlowExecution) -> Scope:
        """The scope of an execution's messages."""
        if execution.conversation_id is not None:
            return cls(execution.conversation_id, conversation=True)
        return cls(execution.id, conversation=False)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Scope:
        """The scope a delivery job's payload names."""
        if "conversation_id" in payload:
            return cls(uuid.UUID(payload["conversation_id"]), conversation=True)
        return cls(uuid.UUID(payload["execution_id"]), conversation=False)

    @property
    def key(self) -> str:
        """The job's dedupe and lock key."""
        return conversation_outbox_key(self.id) if self.conversation else outbox_key(self.id)

    @property
    def payload(self) -> dict[str, str]:
        """The job's payload."""
        return {("conversation_id" if self.conversation else "execution_id"): str(self.id)}


async def schedule_delivery(session: AsyncSession, scope: Scope) -> None:
    """Make sure a delivery job will send the scope's queued messages.

    The caller holds the scope's lock (the conversation's row, or the execution's): a
    queued job makes this a no-op, and that job's "nothing left" decision waits for the
    lock (see :meth:`_Delivery.finish_or_next`).
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
    for this lock (see :meth:`_Delivery.finish_or_next`). An execution inside a
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


async def wake_delivery(session: AsyncSession, message: WhatsappMessage) -> None:
    """A message was queued again: make sure its delivery job will see it.

    The caller holds the lock the delivery job decides "nothing left" under (the
    conversation's row for a conversation's message, else the execution's).
    """
    if message.conversation_id is not None:
        await schedule_delivery(session, Scope(message.conversation_id, conversation=True))
    elif message.execution_id is not None:
        await schedule_delivery(session, Scope(message.execution_id, conversation=False))


Finish = Callable[[AsyncSession], Awaitable[None]]
Ready = tuple[WhatsappMessage, DeliveryTarget]


@dataclass(frozen=True)
class _Settlement:
    """How to record a call's outcome: an ``outcomes`` function and its argument."""

    how: Callable[[AsyncSession, WhatsappMessage, Any], Awaitable[None]]
    detail: Any


async def deliver_all(
    resources: Resources, scope: Scope | uuid.UUID, *, last_try: bool, finish: Finish
) -> None:
    """Send a scope's pending messages in order, one Graph call at a time (an id: an execution).

    Recording a result and claiming the next message share one transaction: two
    transactions per message, and one more to end the job (:meth:`_Delivery.finish_or_next`).
    """
    if isinstance(scope, uuid.UUID):
        scope = Scope(scope, conversation=False)
    delivery = _Delivery(resources, scope, last_try)
    ready = await delivery.settle_and_continue(None, finish)
    while ready is not None:
        message, target = ready
        crash_point("deliver.after_attempt_recorded")
        settlement = await delivery.call(message, target)
        ready = await delivery.settle_and_continue((message, settlement), finish)


@dataclass
class _Delivery:
    resources: Resources
    scope: Scope
    last_try: bool
    targets: dict[uuid.UUID | None, DeliveryTarget | None] = field(default_factory=dict)

    async def finish_or_next(self, finish: Finish) -> Ready | None:
        """End the job, unless a message turned up: decided under the queuers' row locks.

        Every step that queues messages holds its execution's lock, every API send its
        conversation's, and their enqueue folds into this job while the job is queued.
        So a queuer still open makes this wait, and its messages are then seen; one that
        comes after the job ended enqueues a new one. A conversation's job locks the
        conversation, then its running and waiting executions in id order: the order the
        inbound processor takes them in, and no one locks an execution then its
        conversation, so there is no deadlock. The locks come first, in a transaction of
        their own, so that no deliverer holds a message row while waiting for them.
        """
        async with self.resources.db.transaction() as session:
            await self._lock_queuers(session)
            ready = await self.next_ready(session)
            if ready is None:
                await finish(session)
            return ready

    async def _lock_queuers(self, session: AsyncSession) -> None:
        if self.scope.conversation:
            await repository.lock_conversation(session, self.scope.id)
            await repository.lock_active_executions(session, self.scope.id)
        else:
            await repository.lock_execution(session, self.scope.id)

    async def _next_pending(self, session: AsyncSession) -> WhatsappMessage | None:
        return await repository.next_pending(
            session, self.scope.id, by_conversation=self.scope.conversation
        )

    async def next_ready(self, session: AsyncSession) -> Ready | None:
        """The next message, its attempt recorded; settles the ones that cannot be sent."""
        while (message := await self._next_pending(session)) is not None:
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
