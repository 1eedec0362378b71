"""Jobs of broadcasts: the paced sender, and the listener of throttled sends."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs.context import JobContext
from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.kit.clock import utcnow
from threadline.messaging import hooks
from threadline.models import WhatsappMessage
from threadline.whatsapp_broadcasts import service
from threadline.whatsapp_broadcasts.sender import Sender


@registry.task(
    service.SEND_TASK,
    policy=RetryPolicy(max_attempts=20, base_delay=1, max_delay=30),
    lane="slow",  # it runs for a whole slice: never in the slots of deliveries and timers
)
async def send(ctx: JobContext) -> None:
    """Send a broadcast's next recipients at its pace, for one slice."""
    await Sender(ctx, uuid.UUID(ctx.job.payload["broadcast_id"])).run()


async def _throttled(session: AsyncSession, message: WhatsappMessage, code: int) -> None:
    await service.record_throttle(session, message.whatsapp_config_id, code, utcnow())


hooks.on_throttled(_throttled)
