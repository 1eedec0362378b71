"""SQL for stored webhook deliveries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import InboundWebhook


async def lock_webhook(session: AsyncSession, webhook_id: int) -> InboundWebhook | None:
    """A stored delivery, row-locked."""
    statement = select(InboundWebhook).where(InboundWebhook.id == webhook_id).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()
