"""Jobs of the outbox."""

from __future__ import annotations

from datetime import timedelta

from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.kit.clock import utcnow
from threadline.messaging import settle
from threadline.messaging.hooks import give_up
from threadline.messaging.service import DELIVER_TASK, Scope, deliver_all, wake_delivery


@registry.task(
    DELIVER_TASK,
    policy=RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=60),
    on_give_up=give_up,
)
async def deliver(ctx: JobContext) -> None:
    """Deliver a conversation's (or an execution's) queued messages, in order."""
    last_try = ctx.job.attempts >= ctx.job.max_attempts
    scope = Scope.from_payload(ctx.job.payload)
    await deliver_all(ctx.resources, scope, last_try=last_try, finish=ctx.finish)


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
