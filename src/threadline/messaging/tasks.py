"""Jobs of the outbox."""

from __future__ import annotations

from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.messaging.hooks import give_up
from threadline.messaging.service import DELIVER_TASK, Scope, deliver_all


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
