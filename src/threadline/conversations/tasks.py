"""Jobs of conversations: the inactivity timer."""

from __future__ import annotations

import uuid
from datetime import timedelta

from threadline.conversations import service
from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.kit.clock import utcnow


@registry.task(service.EXPIRE_TASK, policy=RetryPolicy(max_attempts=20, base_delay=0.5))
async def expire(ctx: JobContext) -> None:
    """End a conversation that has been silent for the inactivity period."""
    inactivity = timedelta(minutes=ctx.resources.settings.conversation_inactivity_minutes)
    conversation_id = uuid.UUID(ctx.job.payload["conversation_id"])
    async with ctx.resources.db.transaction() as session:
        await service.expire(session, conversation_id, utcnow(), inactivity)
        await ctx.finish(session)
