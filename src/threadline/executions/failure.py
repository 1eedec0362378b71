"""Failing an execution from outside the engine (a refused message, a job that gave up)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.conversations import service as conversations
from threadline.executions import repository
from threadline.executions.keys import timer_key
from threadline.jobs.queue import cancel
from threadline.messaging import repository as outbox
from threadline.whatsapp_webhooks import emitters as webhook_events
from threadline.whatsapp_webhooks import names


async def fail_execution(
    session: AsyncSession,
    execution_id: uuid.UUID,
    error: dict[str, Any],
    now: datetime,
    *,
    expected_seq: int | None = None,
    fail_ended: bool = True,
) -> bool:
    """Mark the execution failed with ``error``; stop what it waits on.

    A compare-and-set: a ``failed`` execution is left alone, and so is one that moved past
    ``expected_seq`` (when given) since the failing job was made for it. An ``ended`` one
    is failed only with ``fail_ended``: a message WhatsApp refuses after the engine
    reached the end still fails its execution (sending it was part of the work), while a
    job giving up (``fail_ended=False``) never turns ``ended`` into ``failed``.
    Bumping ``step_seq`` turns any job still queued for it into a no-op. Returns whether
    it failed the execution.
    """
    execution = await repository.get_for_update(session, execution_id)
    if execution is None or execution.status == "failed":
        return False
    if execution.status == "ended" and not fail_ended:
        return False
    if expected_seq is not None and execution.step_seq != expected_seq:
        return False
    execution.status, execution.error = "failed", error
    execution.ended_at = execution.last_event_at = now
    execution.wait_reason = execution.wait_until = None
    execution.step_seq += 1
    await cancel(session, timer_key(execution.id))
    await outbox.cancel_pending(session, execution.id, now)
    event = {
        "project_id": execution.project_id,
        "execution_id": execution.id,
        "kind": "error",
        "node_id": execution.current_node_id,
        "at": now,
        "duration_ms": None,
        "data": error,
    }
    await repository.add_events(session, [event])
    await webhook_events.execution_event(session, names.EXECUTION_FAILED, execution)
    if execution.conversation_id is not None:
        await conversations.wake_inbox_if_pending(session, execution.conversation_id)
    return True
