"""Jobs of the outbox."""

from __future__ import annotations

from datetime import timedelta

from threadline.jobs.context import BatchContext, JobContext
from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.kit.clock import utcnow
from threadline.messaging import settle
from threadline.messaging.delivery import deliver_batch
from threadline.messaging.hooks import give_up
from threadline.messaging.service import DELIVER_TASK, wake_delivery

#: Scopes delivered by one batch: one claim, and a few statements per round for all.
DELIVERY_BATCH = 32


@registry.batch_task(
    DELIVER_TASK,
    batch_size=DELIVERY_BATCH,
    policy=RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=60),
    on_give_up=give_up,
)
async def deliver(batch: BatchContext) -> None:
    """Deliver conversations' (or executions') queued messages, each scope in order."""
    await deliver_batch(batch)


@registry.task(settle.SETTLE_TASK, policy=RetryPolicy(max_attempts=20, base_delay=1, max_delay=60))
async def settle_unknown(ctx: JobContext) -> None:
    """Settle a send of unknown outcome after its grace period, as the policy says."""
    settings = ctx.resources.settings
    grace = timedelta(seconds=settings.unknown_outcome_grace_seconds)
    message_id = int(ctx.job.payload["message_id"])
    async with ctx.resources.db.transaction() as session:
        queued = await settle.settle(
            session, message_id, utcnow(), policy=settings.unknown_outcome_policy, grace=grace
        )
        if queued is not None:
            await wake_delivery(session, queued)
        await ctx.finish(session)
