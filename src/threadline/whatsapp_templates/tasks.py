"""The sync job: every page of a WABA's templates, each committed as it arrives."""

from __future__ import annotations

import uuid

from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.kit.clock import utcnow
from threadline.whatsapp.errors import GraphError, WhatsAppError
from threadline.whatsapp_templates import sync
from threadline.whatsapp_templates.graph import Account

_MAX_PAGES = 1000


@registry.task(sync.SYNC_TASK, policy=RetryPolicy(max_attempts=5, base_delay=1, max_delay=60))
async def sync_templates(ctx: JobContext) -> None:
    """Pull the run's WABA templates; reads are safe to repeat, so transient errors retry
    (the run keeps the last one) and a refusal for good, or the last attempt, fails it."""
    db, run_id = ctx.resources.db, uuid.UUID(ctx.job.payload["run_id"])
    settings, cipher = ctx.resources.settings, ctx.resources.cipher
    async with db.transaction() as session:
        account = await sync.begin(session, run_id, settings, cipher, utcnow())
    try:
        if account is not None:
            await _pull(ctx, run_id, account)
    except WhatsAppError as error:
        retry = not isinstance(error, GraphError) or error.retryable
        if retry and ctx.job.attempts < ctx.job.max_attempts:
            async with db.transaction() as session:
                await sync.note_retry(session, run_id, error)
            raise
        async with db.transaction() as session:
            await sync.fail(session, run_id, error, utcnow())
    async with db.transaction() as session:
        await ctx.finish(session)


async def _pull(ctx: JobContext, run_id: uuid.UUID, account: Account) -> None:
    client, db = account.client(ctx.resources.http), ctx.resources.db
    seen: set[str] = set()
    after: str | None = None
    for _ in range(_MAX_PAGES):
        page, after = await client.list_templates_page(account.waba_id, after)
        seen.update(str(t.get("id")) for t in page)
        async with db.transaction() as session:
            await sync.apply_page(session, run_id, page, utcnow())
        if after is None:
            async with db.transaction() as session:
                await sync.finish(session, run_id, seen, utcnow())
            return
    raise WhatsAppError(f"the template listing went past {_MAX_PAGES} pages")
