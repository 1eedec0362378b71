"""The retention job: one bounded batch per kind, then it queues its next run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs.queue import enqueue
from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.kit.clock import utcnow
from threadline.retention import service


async def _give_up(session: AsyncSession, payload: dict[str, Any], error: str) -> None:
    """A run that keeps failing still leaves a next one queued: the chain never breaks."""
    run_at = utcnow() + timedelta(seconds=float(payload["interval_seconds"]))
    await enqueue(
        session,
        service.RETENTION_TASK,
        payload,
        run_at=run_at,
        dedupe_key=service.RETENTION_KEY,
        lock_key=service.RETENTION_KEY,
    )


@registry.task(
    service.RETENTION_TASK, policy=RetryPolicy(max_attempts=5, base_delay=5.0), on_give_up=_give_up
)
async def prune(ctx: JobContext) -> None:
    """Compact old event logs and delete what else has aged out, each in its own short
    transaction (on SQLite every transaction holds the one write lock)."""
    settings = ctx.resources.settings
    now = utcnow()
    async with ctx.resources.db.transaction() as session:
        more = await service.compact_due(session, settings, now)
    async with ctx.resources.db.transaction() as session:
        more |= await service.prune_rest(session, settings, now)
        await service.schedule_next(session, settings, now, more=more)
        await ctx.finish(session)
