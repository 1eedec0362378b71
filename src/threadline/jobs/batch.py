"""Running a batch task: one handler call for up to ``batch_size`` jobs, in one slot.

The worker claims the jobs in one claim statement (the head-of-line rule of lock keys
is the claim's, unchanged) and keeps every job's lease alive in its one heartbeat
statement; a job found taken over is marked lost, and the batch skips it at its next
ownership check (:meth:`BatchContext.transaction`) instead of being cancelled.
"""

from __future__ import annotations

import logging

from threadline.jobs.context import BatchContext, JobContext
from threadline.jobs.registry import BatchHandler

log = logging.getLogger("threadline.worker")


async def run_batch(handler: BatchHandler, batch: BatchContext) -> None:
    """Run ``handler`` on ``batch``, then finish the jobs it left unsettled in one statement.

    If the handler raises, every job it left unsettled is retried or failed by its
    policy, one by one; the jobs it settled stay settled.
    """
    try:
        await handler(batch)
        if batch.live():
            async with batch.transaction() as tx:
                await tx.finish(tx.held)
    except Exception as error:
        await _fail_live(batch, error)


async def _fail_live(batch: BatchContext, error: Exception) -> None:
    for context in batch.live():
        try:
            await batch.fail(context, error)
        except Exception:
            # Left running: its lease runs out and another attempt (or the reaper) settles it.
            log.exception("could not record the failure of job %s", context.job.id)


def outcome(context: JobContext) -> str | None:
    """How a batch member ended, for the log; None if its end could not be recorded."""
    if context.finished:
        return "finished"
    if context.lease_lost:
        return "lease_lost"
    return context.outcome
