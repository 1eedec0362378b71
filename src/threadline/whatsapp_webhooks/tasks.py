"""Jobs of WhatsApp webhooks: delivering one outbox row (an event or a batch), and the
per-webhook inactivity timer."""

from __future__ import annotations

import uuid

from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryLater, RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.kit.clock import utcnow
from threadline.whatsapp_webhooks import delivery, emitters
from threadline.whatsapp_webhooks.events import DELIVER_TASK


# The delivery counts its own attempts (RetryLater); this policy covers crashes only.
@registry.task(
    DELIVER_TASK, policy=RetryPolicy(max_attempts=20, base_delay=1, max_delay=60), lane="slow"
)
async def deliver(ctx: JobContext) -> None:
    """POST one delivery to its webhook and record the answer."""
    resources, delivery_id = ctx.resources, int(ctx.job.payload["delivery_id"])
    async with resources.db.transaction() as session:
        outgoing = await delivery.prepare(session, resources.cipher, delivery_id)
        if outgoing is None:
            await ctx.finish(session)
            return
    answer = await delivery.post(
        resources.calls, outgoing, resources.settings.webhook_timeout_seconds
    )
    async with resources.db.transaction() as session:
        delay = await delivery.record(session, resources.settings, delivery_id, answer)
        if delay is None:
            await ctx.finish(session)
    if delay is not None:
        raise RetryLater(delay, f"webhook answered {answer.status or answer.error}")


@registry.task(emitters.INACTIVE_TASK, policy=RetryPolicy(max_attempts=20, base_delay=0.5))
async def inactive(ctx: JobContext) -> None:
    """A webhook's inactivity timer fired for a conversation."""
    payload = ctx.job.payload
    webhook_id, conversation_id = (uuid.UUID(payload[k]) for k in ("webhook_id", "conversation_id"))
    async with ctx.resources.db.transaction() as session:
        await emitters.check_inactive(session, webhook_id, conversation_id, utcnow())
        await ctx.finish(session)
