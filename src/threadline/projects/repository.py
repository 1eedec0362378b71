"""SQL for projects."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import Project


async def get(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    """A project by id."""
    return await session.get(Project, project_id)


async def lock_bootstrap(session: AsyncSession) -> None:
    """Serialise first-start bootstraps until the transaction ends.

    SQLite's ``BEGIN IMMEDIATE`` already does; PostgreSQL needs an advisory lock so two
    servers starting at once on an empty database create one default project.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(_BOOTSTRAP_LOCK)))


_BOOTSTRAP_LOCK = 0x7468_7264  # "thrd": any constant shared by every Threadline process


async def count(session: AsyncSession) -> int:
    """How many projects exist."""
    return int((await session.execute(select(func.count()).select_from(Project))).scalar_one())


def add(session: AsyncSession, project: Project) -> None:
    """Stage a new project row."""
    session.add(project)
