"""Jobs of the messages API: Meta's read receipts, sent outside the request."""

from __future__ import annotations

from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.messaging.outcomes import error_dict
from threadline.whatsapp.errors import GraphError
from threadline.whatsapp_messages import service


@registry.task(service.READ_TASK, policy=RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=60))
async def mark_read(ctx: JobContext) -> None:
    """Send the read receipt of an inbound message; a refusal for good is recorded on it.

    A receipt sent twice is harmless, so a transient error, a connection that failed or
    an unknown outcome all retry.
    """
    resources, payload = ctx.resources, ctx.job.payload
    async with resources.db.transaction() as session:
        receipt = await service.read_receipt(
            session,
            resources.cipher,
            int(payload["message_id"]),
            sandbox_url=resources.settings.sandbox_graph_url(),
        )
    if receipt is not None:
        try:
            await _send(ctx, receipt, typing_indicator=bool(payload.get("typing_indicator")))
        except GraphError as error:
            if error.retryable:
                raise
            async with resources.db.transaction() as session:
                await service.record_receipt_error(session, receipt.message_id, error_dict(error))
    async with resources.db.transaction() as session:
        await ctx.finish(session)


async def _send(ctx: JobContext, receipt: service.ReadReceipt, *, typing_indicator: bool) -> None:
    target = receipt.target
    client = target.client(ctx.resources.http)
    await client.mark_read(receipt.wamid, typing_indicator=typing_indicator)
