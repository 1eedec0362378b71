"""The SQL of the proxy's one read no other domain has: a number's message history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import WhatsappContact, WhatsappConversation, WhatsappMessage


@dataclass(frozen=True)
class HistoryFilters:
    """``GET {phone_number_id}/messages`` filters; ``since``/``until`` bound ``created_at``."""

    direction: str | None = None
    status: str | None = None
    conversation_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(
    project_id: uuid.UUID, config_id: uuid.UUID, filters: HistoryFilters
) -> list[ColumnElement[bool]]:
    message = WhatsappMessage
    conditions = [message.project_id == project_id, message.whatsapp_config_id == config_id]
    pairs = [
        (filters.direction, message.direction),
        (filters.status, message.status),
        (filters.conversation_id, message.conversation_id),
    ]
    conditions += [column == value for value, column in pairs if value is not None]
    if filters.since is not None:
        conditions.append(message.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(message.created_at <= filters.until)
    return conditions


async def history(
    session: AsyncSession,
    project_id: uuid.UUID,
    config_id: uuid.UUID,
    filters: HistoryFilters,
    *,
    offset: int,
    limit: int,
) -> list[tuple[WhatsappMessage, str | None]]:
    """The number's messages, newest first, each with its contact's profile name."""
    statement = (
        select(WhatsappMessage, WhatsappContact.profile_name)
        .outerjoin(WhatsappConversation, WhatsappConversation.id == WhatsappMessage.conversation_id)
        .outerjoin(WhatsappContact, WhatsappContact.id == WhatsappConversation.contact_id)
        .where(*_conditions(project_id, config_id, filters))
        .order_by(WhatsappMessage.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def by_wamid(
    session: AsyncSession, project_id: uuid.UUID, config_id: uuid.UUID, wamid: str
) -> WhatsappMessage | None:
    """The number's message Meta knows as ``wamid``."""
    statement = select(WhatsappMessage).where(
        WhatsappMessage.project_id == project_id,
        WhatsappMessage.whatsapp_config_id == config_id,
        WhatsappMessage.wamid == wamid,
    )
    return (await session.execute(statement)).scalars().first()


async def conversation_tallies(
    session: AsyncSession, project_id: uuid.UUID, conversation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, WhatsappMessage]]:
    """Each conversation's message count and its latest message (one page's, two queries)."""
    message = WhatsappMessage
    grouped = (
        select(message.conversation_id, func.count(), func.max(message.id))
        .where(message.project_id == project_id, message.conversation_id.in_(conversation_ids))
        .group_by(message.conversation_id)
    )
    rows = (await session.execute(grouped)).all()
    counts = {row[0]: (int(row[1]), int(row[2])) for row in rows if row[0] is not None}
    last_ids = [last for _count, last in counts.values()]
    found = await session.execute(select(message).where(message.id.in_(last_ids)))
    latest = {row.id: row for row in found.scalars()}
    return {key: (count, latest[last]) for key, (count, last) in counts.items() if last in latest}
