"""The SQL of conversation assignments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.schemas import PageParams
from threadline.models import ConversationAssignment


async def page(
    session: AsyncSession, conversation_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[ConversationAssignment], int]:
    """One page of the conversation's assignments, newest first, and how many there are."""
    where = ConversationAssignment.conversation_id == conversation_id
    statement = (
        select(ConversationAssignment)
        .where(where)
        .order_by(ConversationAssignment.created_at.desc(), ConversationAssignment.id.desc())
        .offset(params.offset)
        .limit(params.per_page)
    )
    rows = (await session.execute(statement)).scalars().all()
    total = (await session.execute(select(func.count()).where(where))).scalar_one()
    return rows, int(total)


async def get(
    session: AsyncSession, conversation_id: uuid.UUID, assignment_id: uuid.UUID
) -> ConversationAssignment | None:
    """The conversation's assignment with this id."""
    statement = select(ConversationAssignment).where(
        ConversationAssignment.conversation_id == conversation_id,
        ConversationAssignment.id == assignment_id,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def active(
    session: AsyncSession, conversation_id: uuid.UUID
) -> ConversationAssignment | None:
    """The conversation's active assignment, if any."""
    statement = select(ConversationAssignment).where(
        ConversationAssignment.conversation_id == conversation_id,
        ConversationAssignment.active.is_(True),
    )
    return (await session.execute(statement)).scalar_one_or_none()
