"""The SQL of test chats (agent executions with ``test`` set)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import FlowExecution


async def get(
    session: AsyncSession, project_id: uuid.UUID, chat_id: uuid.UUID
) -> FlowExecution | None:
    """The project's test chat, freshly read, or None."""
    statement = (
        select(FlowExecution)
        .where(
            FlowExecution.id == chat_id,
            FlowExecution.project_id == project_id,
            FlowExecution.kind == "agent",
            FlowExecution.test.is_(True),
        )
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()
