"""Settling sends of unknown outcome, after a grace period, as the policy says.

A message is ``unknown`` when its worker died, or its connection dropped, after the
attempt was recorded: the request may never have left, or Meta may have accepted it.
Status webhooks settle most of them (``statuses``: the echoed callback data finds the
message). What is still ``unknown`` after ``THREADLINE_UNKNOWN_OUTCOME_GRACE_SECONDS``:

* policy ``never``: stays ``unknown`` (never sent twice, possibly never sent);
* policy ``resend`` (the default): if Meta reported statuses for later messages to the
  same number, Meta is answering for that number and this one was not accepted, so it
  is queued again, once (``resent_at``); until such statuses come, it is looked at
  again every grace period, for a day.

The trade-off is in docs/architecture.md ("The unknown-outcome window").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs.queue import enqueue
from threadline.messaging import repository
from threadline.models import WhatsappMessage

SETTLE_TASK = "messaging.settle_unknown"
#: How long an unsettled message is looked at again (once per grace period): the
#: customer-service window, after which a resend could not be free-form anyway.
HORIZON = timedelta(hours=24)


async def schedule(session: AsyncSession, message: WhatsappMessage) -> None:
    """Look at an ``unknown`` message again once its grace period has passed."""
    await enqueue(session, SETTLE_TASK, {"message_id": message.id}, project_id=message.project_id)


async def settle(
    session: AsyncSession, message_id: int, now: datetime, *, policy: str, grace: timedelta
) -> WhatsappMessage | None:
    """Apply the policy to a message still ``unknown``; the message if it was queued again.

    The locks its delivery job decides "nothing left" under are taken first, in the
    order every holder takes them (the conversation's row, then the execution's), so a
    message queued again here is seen by its delivery job (see ``service``).
    """
    found = await repository.load_message(session, message_id)
    if found is None or found.status != "unknown":
        return None
    if found.conversation_id is not None:
        await repository.lock_conversation(session, found.conversation_id)
    if found.execution_id is not None:
        await repository.lock_execution(session, found.execution_id)
    message = await repository.lock_message(session, message_id)
    if message is None or message.status != "unknown":
        return None
    due = (message.attempted_at or message.created_at) + grace
    if now < due:
        await enqueue(
            session,
            SETTLE_TASK,
            {"message_id": message.id},
            run_at=due,
            project_id=message.project_id,
        )
        return None
    if policy != "resend" or message.resent_at is not None:
        return None
    if not await repository.later_statuses_exist(session, message):
        if now < due + HORIZON:  # no evidence either way yet: look again later
            await enqueue(
                session,
                SETTLE_TASK,
                {"message_id": message.id},
                run_at=now + grace,
                project_id=message.project_id,
            )
        return None
    if not await repository.requeue_unknown(session, message, now):
        return None
    reason = "Meta reported no status for it, but did for later messages to the number"
    await repository.add_event_for(session, message, "message_resent", {"reason": reason})
    return message
