"""The sender job of a broadcast: ticks of one transaction each, at the broadcast's pace.

Each tick takes whole tokens from the bucket (:mod:`.pacing`) and turns that many
recipients into outbox messages in one transaction, which also locks the job's row as
this worker's (a job taken over queues nothing) and marks the recipients. A recipient
is therefore queued at most once, whatever dies when: a worker killed mid-send leaves
its job's lease to expire, and the next worker carries on from the recipients not yet
marked. The job runs in slices of :data:`SLICE_SECONDS` and then hands itself back to
the queue (an uncounted retry), so a worker stopping waits one slice at most.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from threadline.jobs.context import BatchContext, JobContext
from threadline.jobs.retry import LeaseLost, RetryLater
from threadline.kit.clock import utcnow
from threadline.whatsapp_broadcasts import service
from threadline.whatsapp_broadcasts.pacing import Pace

log = logging.getLogger("threadline.whatsapp_broadcasts")

SLICE_SECONDS = 10.0
#: How often a broadcast whose recipients are all queued looks for its last outcomes.
SETTLE_POLL_SECONDS = 0.5


@dataclass
class Sender:
    """One slice of one broadcast's sending, by one worker."""

    context: JobContext
    broadcast_id: uuid.UUID
    pace: Pace | None = None
    throttled_at: datetime | None = None

    @property
    def inactivity(self) -> timedelta:
        """When a conversation opened for a recipient ends without messages."""
        minutes = self.context.resources.settings.conversation_inactivity_minutes
        return timedelta(minutes=minutes)

    async def run(self) -> None:
        """Queue recipients at the pace until none is left or the slice is over."""
        deadline = time.monotonic() + SLICE_SECONDS
        while time.monotonic() < deadline:
            step = await self._tick()
            if step.status != "sending":
                await self._finish()
                return
            if step.queued == 0 and self.pace is not None and self.pace.tokens >= 1:
                if await self._settled():
                    return
                await asyncio.sleep(SETTLE_POLL_SECONDS)
                continue
            await asyncio.sleep(self.pace.wait() if self.pace else 0)
        raise RetryLater(0, "the next slice of the broadcast")

    async def _tick(self) -> service.Step:
        batch = BatchContext(jobs=[self.context], resources=self.context.resources)
        async with batch.transaction() as tx:
            if not tx.held:
                raise LeaseLost(f"job {self.context.job.id} was taken over")
            limit = 0 if self.pace is None else self.pace.take(time.monotonic())
            step = await service.queue_next(
                tx.session, self.broadcast_id, limit, utcnow(), inactivity=self.inactivity
            )
        self._follow(step, limit)
        return step

    def _follow(self, step: service.Step, limit: int) -> None:
        """Start the pace on the first tick; slow down on a new throttling."""
        now = time.monotonic()
        if self.pace is None:
            rate = self._rate(step.rate)
            self.pace = Pace(rate, now)
            self.throttled_at = step.throttled_at
            return
        self.pace.give_back(limit - step.queued)
        if step.throttled_at is not None and step.throttled_at != self.throttled_at:
            self.throttled_at = step.throttled_at
            self.pace.throttled(now)
            log.warning("broadcast %s throttled: now %s/s", self.broadcast_id, self.pace.current)

    def _rate(self, asked: float | None) -> float | None:
        if asked is None:
            return self.context.resources.settings.broadcast_rate_per_second
        return None if asked == 0 else asked

    async def _settled(self) -> bool:
        async with self.context.resources.db.transaction() as session:
            self.context.check_lease()
            done = await service.finish_if_done(session, self.broadcast_id, utcnow())
            if done:
                await self.context.finish(session)
        return done

    async def _finish(self) -> None:
        async with self.context.resources.db.transaction() as session:
            await self.context.finish(session)
