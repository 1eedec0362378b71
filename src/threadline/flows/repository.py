"""SQL for flows and their versions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import Flow, FlowExecution, FlowVersion


async def get(session: AsyncSession, project_id: uuid.UUID, flow_id: uuid.UUID) -> Flow | None:
    """A flow of the project, or None."""
    statement = select(Flow).where(Flow.id == flow_id, Flow.project_id == project_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_for(session: AsyncSession, project_id: uuid.UUID, status: str | None) -> list[Flow]:
    """The project's flows, newest first, optionally with one status."""
    statement = select(Flow).where(Flow.project_id == project_id)
    if status is not None:
        statement = statement.where(Flow.status == status)
    statement = statement.order_by(Flow.created_at.desc())
    return list((await session.execute(statement)).scalars())


async def get_version(session: AsyncSession, version_id: uuid.UUID) -> FlowVersion | None:
    """A flow version by id."""
    return await session.get(FlowVersion, version_id)


async def next_version_number(session: AsyncSession, flow_id: uuid.UUID) -> int:
    """The number the flow's next version gets."""
    statement = select(func.max(FlowVersion.number)).where(FlowVersion.flow_id == flow_id)
    return int((await session.execute(statement)).scalar_one() or 0) + 1


async def execution_stats(
    session: AsyncSession, flow_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, datetime | None]]:
    """Per flow: how many executions it has had and when the last one started."""
    statement = (
        select(FlowExecution.flow_id, func.count(), func.max(FlowExecution.started_at))
        .where(FlowExecution.flow_id.in_(flow_ids))
        .group_by(FlowExecution.flow_id)
    )
    rows = (await session.execute(statement)).all()
    return {flow_id: (count, _aware(last)) for flow_id, count, last in rows}


def _aware(value: datetime | str | None) -> datetime | None:
    # MAX() over SQLite text loses the column type; parse it back to a UTC datetime.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def add(session: AsyncSession, row: Flow | FlowVersion) -> None:
    """Stage a new flow or version row."""
    session.add(row)
