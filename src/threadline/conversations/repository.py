"""SQL for conversations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.sql import insert_ignoring_conflict
from threadline.models import WhatsappConversation, WhatsappMessage


async def active(
    session: AsyncSession, config_id: uuid.UUID, contact_id: uuid.UUID
) -> WhatsappConversation | None:
    """The active conversation of a number and a contact, if there is one."""
    statement = select(WhatsappConversation).where(
        WhatsappConversation.whatsapp_config_id == config_id,
        WhatsappConversation.contact_id == contact_id,
        WhatsappConversation.status == "active",
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def open_if_none(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    config_id: uuid.UUID,
    contact_id: uuid.UUID,
    phone_number: str,
    now: datetime,
) -> None:
    """Open a conversation unless one is active (the partial unique index decides)."""
    values = {
        "id": uuid.uuid4(),
        "project_id": project_id,
        "whatsapp_config_id": config_id,
        "contact_id": contact_id,
        "phone_number": phone_number,
        "status": "active",
        "last_active_at": now,
        "created_at": now,
        "updated_at": now,
    }
    await insert_ignoring_conflict(
        session,
        WhatsappConversation,
        values,
        conflict_on=("whatsapp_config_id", "contact_id"),
        conflict_where=text("status = 'active'"),
    )


async def lock(session: AsyncSession, conversation_id: uuid.UUID) -> WhatsappConversation | None:
    """Wait for, then hold, the conversation's row lock; the row, fresh.

    ``FOR NO KEY UPDATE``: a step that holds its execution's lock and inserts a message
    of this conversation takes a key-share lock on the row (the foreign key); a plain
    ``FOR UPDATE`` here would wait on it while it waits on us (a deadlock).
    On SQLite the statement is a plain read: the transaction already holds the write lock.
    """
    statement = (
        select(WhatsappConversation)
        .where(WhatsappConversation.id == conversation_id)
        .with_for_update(key_share=True)  # PostgreSQL: FOR NO KEY UPDATE
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def _pending_inbound(conversation_id: uuid.UUID) -> Select[WhatsappMessage]:
    return select(WhatsappMessage).where(
        WhatsappMessage.conversation_id == conversation_id,
        WhatsappMessage.direction == "inbound",
        WhatsappMessage.processing_status == "pending",
    )


async def next_pending_inbound(
    session: AsyncSession, conversation_id: uuid.UUID
) -> WhatsappMessage | None:
    """The conversation's oldest unprocessed inbound message, in Meta's order."""
    statement = (
        _pending_inbound(conversation_id)
        .order_by(WhatsappMessage.meta_timestamp, WhatsappMessage.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def pending_inbound_after(
    session: AsyncSession, first: WhatsappMessage, until: datetime
) -> list[WhatsappMessage]:
    """Unprocessed inbound messages after ``first`` stamped no later than ``until``."""
    assert first.conversation_id is not None
    statement = (
        _pending_inbound(first.conversation_id)
        .where(WhatsappMessage.id != first.id, WhatsappMessage.meta_timestamp <= until)
        .order_by(WhatsappMessage.meta_timestamp, WhatsappMessage.id)
    )
    return list((await session.execute(statement)).scalars())


async def has_pending_inbound(session: AsyncSession, conversation_id: uuid.UUID) -> bool:
    """Whether an inbound message of the conversation waits to be processed."""
    statement = select(exists(_pending_inbound(conversation_id)))
    return bool((await session.execute(statement)).scalar_one())
