"""Jobs of the outbox."""

from __future__ import annotations

import uuid

from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.messaging.hooks import give_up
from threadline.messaging.service import DELIVER_TASK, deliver_all


@registry.task(
    DELIVER_TASK,
    policy=RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=60),
    on_give_up=give_up,
)
async def deliver(ctx: JobContext) -> None:
    """Deliver an execution's queued messages, in order."""
    last_try = ctx.job.attempts >= ctx.job.max_attempts
    execution_id = uuid.UUID(ctx.job.payload["execution_id"])
    await deliver_all(ctx.resources, execution_id, last_try=last_try, finish=ctx.finish)
