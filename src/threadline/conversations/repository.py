"""SQL for conversations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.sql import insert_many_ignoring_conflict, insert_returning_unless_conflict
from threadline.models import WhatsappConfig, WhatsappContact, WhatsappConversation, WhatsappMessage
from threadline.models.whatsapp_message import INBOX_PENDING


@dataclass(frozen=True)
class ConversationFilters:
    """The ``q[...]`` filters of the conversation list, parsed."""

    status: str | None = None
    last_active_at_gteq: datetime | None = None
    last_active_at_lteq: datetime | None = None
    whatsapp_config_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    phone_number: str | None = None


_ACTIVE = select(WhatsappConversation).where(
    WhatsappConversation.whatsapp_config_id == bindparam("config_id"),
    WhatsappConversation.contact_id == bindparam("contact_id"),
    WhatsappConversation.status == "active",
)
_ACTIVE_LOCKED = _ACTIVE.with_for_update(key_share=True).execution_options(populate_existing=True)


async def active(
    session: AsyncSession, config_id: uuid.UUID, contact_id: uuid.UUID, *, lock: bool = False
) -> WhatsappConversation | None:
    """The active conversation of a number and a contact, if there is one; with ``lock``
    row-locked and fresh, as :func:`lock` takes it."""
    statement = _ACTIVE_LOCKED if lock else _ACTIVE
    params = {"config_id": config_id, "contact_id": contact_id}
    return (await session.execute(statement, params)).scalar_one_or_none()


async def open_one(session: AsyncSession, values: dict[str, Any]) -> WhatsappConversation | None:
    """Open this conversation (:func:`new_values`) unless its contact has an active one on
    the number; the new conversation, or None."""
    conversation: WhatsappConversation | None = await insert_returning_unless_conflict(
        session,
        WhatsappConversation,
        values,
        conflict_on=("whatsapp_config_id", "contact_id"),
        conflict_where="status = 'active'",
    )
    return conversation


def new_values(
    project_id: uuid.UUID,
    config_id: uuid.UUID,
    contact_id: uuid.UUID,
    phone_number: str,
    now: datetime,
) -> dict[str, Any]:
    """The columns of a new active conversation, ready for :func:`open_many`."""
    return {
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


async def open_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Open these conversations (one call), each unless its contact has an active one on
    the number."""
    await insert_many_ignoring_conflict(
        session,
        WhatsappConversation,
        rows,
        conflict_on=("whatsapp_config_id", "contact_id"),
        conflict_where="status = 'active'",
    )


async def lock_many(
    session: AsyncSession, conversation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, WhatsappConversation]:
    """:func:`lock` for several conversations, in id order (the order deliverers take)."""
    statement = (
        select(WhatsappConversation)
        .where(WhatsappConversation.id.in_(sorted(conversation_ids)))
        .order_by(WhatsappConversation.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in (await session.execute(statement)).scalars()}


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


async def get(
    session: AsyncSession, project_id: uuid.UUID, conversation_id: uuid.UUID
) -> tuple[WhatsappConversation, WhatsappContact] | None:
    """A conversation of the project, with its contact."""
    statement = (
        select(WhatsappConversation, WhatsappContact)
        .join(WhatsappContact, WhatsappContact.id == WhatsappConversation.contact_id)
        .where(
            WhatsappConversation.project_id == project_id,
            WhatsappConversation.id == conversation_id,
        )
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else (row[0], row[1])


def _conditions(project_id: uuid.UUID, filters: ConversationFilters) -> list[ColumnElement[bool]]:
    conversation = WhatsappConversation
    conditions = [conversation.project_id == project_id]
    if filters.status is not None:
        conditions.append(conversation.status == filters.status)
    if filters.last_active_at_gteq is not None:
        conditions.append(conversation.last_active_at >= filters.last_active_at_gteq)
    if filters.last_active_at_lteq is not None:
        conditions.append(conversation.last_active_at <= filters.last_active_at_lteq)
    if filters.whatsapp_config_id is not None:
        conditions.append(conversation.whatsapp_config_id == filters.whatsapp_config_id)
    if filters.phone_number is not None:
        conditions.append(conversation.phone_number == filters.phone_number)
    if filters.customer_id is not None:
        configs = select(WhatsappConfig.id).where(WhatsappConfig.customer_id == filters.customer_id)
        conditions.append(conversation.whatsapp_config_id.in_(configs))
    return conditions


async def list_for(
    session: AsyncSession,
    project_id: uuid.UUID,
    filters: ConversationFilters,
    *,
    offset: int,
    limit: int,
) -> tuple[list[tuple[WhatsappConversation, WhatsappContact]], int]:
    """A page of the project's conversations, most recently active first, and the total."""
    conditions = _conditions(project_id, filters)
    count = select(func.count()).select_from(WhatsappConversation).where(*conditions)
    total = (await session.execute(count)).scalar_one()
    statement = (
        select(WhatsappConversation, WhatsappContact)
        .join(WhatsappContact, WhatsappContact.id == WhatsappConversation.contact_id)
        .where(*conditions)
        .order_by(WhatsappConversation.last_active_at.desc(), WhatsappConversation.id)
        .offset(offset)
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    return [(row[0], row[1]) for row in rows], total


async def last_inbound_at(
    session: AsyncSession, config_id: uuid.UUID, contact_id: uuid.UUID
) -> datetime | None:
    """When the contact last wrote to the number, over all their conversations."""
    statement = select(func.max(WhatsappConversation.last_inbound_at)).where(
        WhatsappConversation.whatsapp_config_id == config_id,
        WhatsappConversation.contact_id == contact_id,
    )
    latest: datetime | None = (await session.execute(statement)).scalar_one()
    return latest


def _pending_inbound(conversation_id: uuid.UUID | ColumnElement[Any]) -> Select[WhatsappMessage]:
    return select(WhatsappMessage).where(
        WhatsappMessage.conversation_id == conversation_id,
        WhatsappMessage.direction == "inbound",
        INBOX_PENDING,
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


#: Asked after every step of an execution in a conversation: built once.
_HAS_PENDING_INBOUND = select(exists(_pending_inbound(bindparam("conversation_id"))))


async def has_pending_inbound(session: AsyncSession, conversation_id: uuid.UUID) -> bool:
    """Whether an inbound message of the conversation waits to be processed."""
    rows = await session.execute(_HAS_PENDING_INBOUND, {"conversation_id": conversation_id})
    return bool(rows.scalar_one())


async def active_of(
    session: AsyncSession, config_id: uuid.UUID, contact_ids: list[uuid.UUID]
) -> dict[uuid.UUID, WhatsappConversation]:
    """:func:`active` for several contacts of one number (one statement), by contact id."""
    if not contact_ids:
        return {}
    statement = select(WhatsappConversation).where(
        WhatsappConversation.whatsapp_config_id == config_id,
        WhatsappConversation.contact_id.in_(contact_ids),
        WhatsappConversation.status == "active",
    )
    return {row.contact_id: row for row in (await session.execute(statement)).scalars()}
