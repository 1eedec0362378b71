"""SQL for stored webhook deliveries, and the set-based writes of a group of them."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.sql import is_postgres
from threadline.models import InboundWebhook, WhatsappConversation, WhatsappMessage


async def lock_webhook(session: AsyncSession, webhook_id: int) -> InboundWebhook | None:
    """A stored delivery, row-locked."""
    statement = select(InboundWebhook).where(InboundWebhook.id == webhook_id).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def insert_webhooks(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert deliveries in one statement; their ids, in the order of ``rows``."""
    statement = insert(InboundWebhook).returning(InboundWebhook.id, sort_by_parameter_order=True)
    return list((await session.execute(statement, rows)).scalars())


async def lock_conversations(
    session: AsyncSession, conversation_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, WhatsappConversation]:
    """Row-lock conversations as their inbox does (``FOR NO KEY UPDATE``), in id order.

    One statement for a group's conversations, in id order: two groups (of two
    processes) that share conversations wait for each other instead of deadlocking.
    """
    statement = (
        select(WhatsappConversation)
        .where(WhatsappConversation.id.in_(list(conversation_ids)))
        .order_by(WhatsappConversation.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in (await session.execute(statement)).scalars()}


async def insert_messages(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> set[tuple[uuid.UUID, str]]:
    """Insert inbound messages in one statement, skipping a (number, wamid) already stored;
    the (config id, wamid) of those inserted."""
    if not rows:
        return set()
    dialect = postgresql if is_postgres(session) else sqlite
    statement = (
        dialect.insert(WhatsappMessage)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["whatsapp_config_id", "wamid"])
        .returning(WhatsappMessage.whatsapp_config_id, WhatsappMessage.wamid)
    )
    result = await session.execute(statement)
    return {(config_id, wamid) for config_id, wamid in result.all()}
