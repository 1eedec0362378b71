"""SQL for functions."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import Function


async def find(
    session: AsyncSession, project_id: uuid.UUID, ref: str, *, for_update: bool = False
) -> Function | None:
    """A function of the project by id or slug; ``for_update`` row-locks it (so of
    concurrent deletes one finds it and the others, after it commits, find nothing)."""
    try:
        by_id = Function.id == uuid.UUID(ref)
    except ValueError:
        by_id = None
    match = or_(Function.slug == ref, by_id) if by_id is not None else Function.slug == ref
    statement = select(Function).where(Function.project_id == project_id, match)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement.limit(1))).scalar_one_or_none()


async def list_for(session: AsyncSession, project_id: uuid.UUID) -> list[Function]:
    """The project's functions."""
    statement = select(Function).where(Function.project_id == project_id).order_by(Function.name)
    return list((await session.execute(statement)).scalars())


async def insert_unless_taken(session: AsyncSession, function: Function) -> bool:
    """Insert a function row; False (and nothing written) if its slug is already taken.

    A savepoint around the INSERT: of concurrent creates with one slug, the unique
    constraint lets one win and the others learn it without aborting their transaction.
    """
    try:
        async with session.begin_nested():
            session.add(function)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def delete(session: AsyncSession, function: Function) -> None:
    """Delete a function row."""
    await session.delete(function)
