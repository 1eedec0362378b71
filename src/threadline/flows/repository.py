"""SQL for flows and their versions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.sql import page_of
from threadline.models import Flow, FlowVersion


async def get(
    session: AsyncSession, project_id: uuid.UUID, flow_id: uuid.UUID, *, for_update: bool = False
) -> Flow | None:
    """A flow of the project, or None; ``for_update`` row-locks it until the transaction ends.

    The lock is what makes concurrent edits number their versions one after another.
    """
    statement = select(Flow).where(Flow.id == flow_id, Flow.project_id == project_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_for(
    session: AsyncSession, project_id: uuid.UUID, status: str | None, *, offset: int, limit: int
) -> tuple[list[Flow], int]:
    """A page of the project's flows, newest first, optionally with one status; and how
    many match in all."""
    statement = select(Flow).where(Flow.project_id == project_id)
    if status is not None:
        statement = statement.where(Flow.status == status)
    statement = statement.order_by(Flow.created_at.desc(), Flow.id)
    return await page_of(session, statement, offset=offset, limit=limit)


async def get_version(session: AsyncSession, version_id: uuid.UUID) -> FlowVersion | None:
    """A flow version by id."""
    return await session.get(FlowVersion, version_id)


async def next_version_number(session: AsyncSession, flow_id: uuid.UUID) -> int:
    """The number the flow's next version gets (the caller holds the flow's row lock)."""
    statement = select(func.max(FlowVersion.number)).where(FlowVersion.flow_id == flow_id)
    return int((await session.execute(statement)).scalar_one() or 0) + 1


async def record_execution(session: AsyncSession, flow_id: uuid.UUID, now: datetime) -> None:
    """Count one more execution of the flow (an atomic increment, safe under concurrency)."""
    await session.execute(
        update(Flow)
        .where(Flow.id == flow_id)
        .values(execution_count=Flow.execution_count + 1, last_executed_at=now)
        .execution_options(synchronize_session=False)
    )


def add(session: AsyncSession, row: Flow | FlowVersion) -> None:
    """Stage a new flow or version row."""
    session.add(row)
