"""SQL for the messages API (the rows are the one ``whatsapp_messages`` store)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import WhatsappConfig, WhatsappMessage


@dataclass(frozen=True)
class MessageFilters:
    """The ``q[...]`` filters of a conversation's message list."""

    direction: str | None = None
    status: str | None = None
    message_type: str | None = None


def _conditions(conversation_id: uuid.UUID, filters: MessageFilters) -> list[ColumnElement[bool]]:
    conditions = [WhatsappMessage.conversation_id == conversation_id]
    if filters.direction is not None:
        conditions.append(WhatsappMessage.direction == filters.direction)
    if filters.status is not None:
        conditions.append(WhatsappMessage.status == filters.status)
    if filters.message_type is not None:
        conditions.append(WhatsappMessage.message_type == filters.message_type)
    return conditions


async def list_for_conversation(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    filters: MessageFilters,
    *,
    offset: int,
    limit: int,
) -> tuple[list[WhatsappMessage], int]:
    """A page of a conversation's messages of both directions, newest first, and the total."""
    conditions = _conditions(conversation_id, filters)
    count = select(func.count()).select_from(WhatsappMessage).where(*conditions)
    total = (await session.execute(count)).scalar_one()
    statement = (
        select(WhatsappMessage)
        .where(*conditions)
        .order_by(WhatsappMessage.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars()), total


async def get(
    session: AsyncSession, project_id: uuid.UUID, message_id: int, *, for_update: bool = False
) -> WhatsappMessage | None:
    """A message of the project."""
    statement = select(WhatsappMessage).where(
        WhatsappMessage.project_id == project_id, WhatsappMessage.id == message_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def get_by_id(session: AsyncSession, message_id: int) -> WhatsappMessage | None:
    """A message by id (a job names it)."""
    return await session.get(WhatsappMessage, message_id, populate_existing=True)


async def remove(session: AsyncSession, message_id: int) -> None:
    """Delete a message row."""
    await session.execute(delete(WhatsappMessage).where(WhatsappMessage.id == message_id))


async def config_of_customer(
    session: AsyncSession, project_id: uuid.UUID, customer_id: uuid.UUID
) -> WhatsappConfig | None:
    """The customer's WhatsApp config in the project (the oldest, if it has several)."""
    statement = (
        select(WhatsappConfig)
        .where(WhatsappConfig.project_id == project_id, WhatsappConfig.customer_id == customer_id)
        .order_by(WhatsappConfig.created_at, WhatsappConfig.id)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()
