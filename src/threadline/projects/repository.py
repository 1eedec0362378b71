"""SQL for projects."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import Project


async def get(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    """A project by id."""
    return await session.get(Project, project_id)


async def count(session: AsyncSession) -> int:
    """How many projects exist."""
    return int((await session.execute(select(func.count()).select_from(Project))).scalar_one())


def add(session: AsyncSession, project: Project) -> None:
    """Stage a new project row."""
    session.add(project)
