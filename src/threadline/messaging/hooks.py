"""What messaging tells the execution side about a delivery, through registered hooks.

Imports run one way: ``executions`` imports ``messaging``, never the reverse. What must
happen to an execution when WhatsApp refuses its message for good, or when its delivery
job runs out of retries, is therefore registered here by the executions side when its
job handlers are imported (``threadline.tasks.load_tasks``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.messaging import repository
from threadline.messaging.metrics import THROTTLED
from threadline.models import WhatsappMessage

#: Fail an execution with an error (``session, execution_id, error, now``).
FailExecution = Callable[[AsyncSession, uuid.UUID, dict[str, Any], datetime], Awaitable[object]]
#: A job of an execution gave up (``session, job payload, error text``).
GiveUp = Callable[[AsyncSession, dict[str, Any], str], Awaitable[None]]


@dataclass(frozen=True)
class ExecutionHooks:
    """The execution side's answers to delivery outcomes; both run in the caller's transaction."""

    fail_execution: FailExecution
    give_up: GiveUp


_registered: list[ExecutionHooks] = []


def register(hooks: ExecutionHooks) -> None:
    """Install the execution side's hooks (the last registration wins)."""
    _registered[:] = [hooks]


def execution_hooks() -> ExecutionHooks:
    """The registered hooks; a delivery outcome must never be dropped silently."""
    if not _registered:
        raise RuntimeError(
            "no execution hooks registered: call threadline.tasks.load_tasks() first"
        )
    return _registered[0]


async def give_up(session: AsyncSession, payload: dict[str, Any], error: str) -> None:
    """A delivery job ran out of retries: the executions it served fail, its messages too.

    An execution's job hands over to the execution side. A conversation's job fails each
    execution with messages still pending there, then the API's messages left queued.
    """
    if "conversation_id" not in payload:
        await execution_hooks().give_up(session, payload, error)
        return
    conversation_id = uuid.UUID(payload["conversation_id"])
    for execution_id in await repository.pending_executions(session, conversation_id):
        await execution_hooks().give_up(session, {"execution_id": str(execution_id)}, error)
    failure = {"message": f"delivery gave up: {error}".replace("\x00", "")}
    await repository.fail_pending(session, conversation_id, failure)


#: Graph API codes that mean "too fast": the number's throughput, or one user's pair rate.
THROTTLE_CODES = frozenset({130429, 131056})
#: Told, in the delivery's transaction, that the Graph API throttled ``message`` (``code``).
Throttled = Callable[[AsyncSession, WhatsappMessage, int], Awaitable[None]]
_throttle_listeners: list[Throttled] = []


def on_throttled(listener: Throttled) -> None:
    """Register a listener of throttled sends (once; a pacer above ``messaging``)."""
    if listener not in _throttle_listeners:
        _throttle_listeners.append(listener)


async def throttled(session: AsyncSession, message: WhatsappMessage, error: dict[str, Any]) -> None:
    """Tell the listeners if ``error`` is a throttling one (counted in the metrics too)."""
    code = error.get("code")
    if code not in THROTTLE_CODES:
        return
    THROTTLED.labels(str(code)).inc()
    for listener in _throttle_listeners:
        await listener(session, message, int(code))
