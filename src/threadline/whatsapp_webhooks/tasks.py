"""Jobs of WhatsApp webhooks: delivering outbox rows (events, or buffered batches of them)
in batches of jobs, and the per-webhook inactivity timer."""

from __future__ import annotations

import uuid

from threadline.jobs.context import BatchContext, JobContext
from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.kit.clock import utcnow
from threadline.whatsapp_webhooks import dispatch, emitters
from threadline.whatsapp_webhooks.events import DELIVER_TASK

#: Deliveries made by one batch: one claim, one transaction to prepare them, one to record.
DELIVERY_BATCH = 32


# The delivery counts its own attempts (RetryLater); this policy covers crashes only.
@registry.batch_task(
    DELIVER_TASK,
    batch_size=DELIVERY_BATCH,
    policy=RetryPolicy(max_attempts=20, base_delay=1, max_delay=60),
    lane="slow",
)
async def deliver(batch: BatchContext) -> None:
    """POST a batch of deliveries to their webhooks and record the answers."""
    await dispatch.deliver_batch(batch)


@registry.task(emitters.INACTIVE_TASK, policy=RetryPolicy(max_attempts=20, base_delay=0.5))
async def inactive(ctx: JobContext) -> None:
    """A webhook's inactivity timer fired for a conversation."""
    payload = ctx.job.payload
    webhook_id, conversation_id = (uuid.UUID(payload[k]) for k in ("webhook_id", "conversation_id"))
    async with ctx.resources.db.transaction() as session:
        await emitters.check_inactive(session, webhook_id, conversation_id, utcnow())
        await ctx.finish(session)
