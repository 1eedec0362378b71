"""Jobs of the inbound channel: apply a stored delivery, and work through a conversation's inbox."""

from __future__ import annotations

import uuid
from datetime import timedelta

from threadline.conversations.service import INBOX_TASK
from threadline.inbound import ingest, repository
from threadline.inbound.inbox import Step, process_next
from threadline.inbound.receiver import PROCESS_TASK
from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.kit.clock import utcnow
from threadline.kit.faults import crash_point


@registry.task(PROCESS_TASK, policy=RetryPolicy(max_attempts=20, base_delay=0.2, max_delay=30))
async def process(ctx: JobContext) -> None:
    """Store the items of a delivery the request could not (see ``receiver``)."""
    webhook_id = int(ctx.job.payload["webhook_id"])
    async with ctx.resources.db.transaction() as session:
        webhook = await repository.lock_webhook(session, webhook_id)
        if webhook is not None and webhook.status == "pending":
            now = utcnow()
            report = await ingest.process(session, webhook, ctx.resources.settings, now)
            ingest.finish(webhook, report, now)
        crash_point("inbound.before_commit")
        await ctx.finish(session)


@registry.task(INBOX_TASK, policy=RetryPolicy(max_attempts=20, base_delay=0.2, max_delay=30))
async def inbox(ctx: JobContext) -> None:
    """Process a conversation's pending messages in order, one transaction each."""
    conversation_id = uuid.UUID(ctx.job.payload["conversation_id"])
    debounce = timedelta(milliseconds=ctx.resources.settings.inbound_debounce_ms)
    while True:
        async with ctx.resources.db.transaction() as session:
            step = await process_next(session, conversation_id, utcnow(), debounce=debounce)
            if step is not Step.HANDLED:
                await ctx.finish(session)
            crash_point("inbox.before_commit")
        if step is not Step.HANDLED:
            return
