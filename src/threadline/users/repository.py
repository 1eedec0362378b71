"""The SQL of a project's users."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import ConversationAssignment, User


async def by_email(session: AsyncSession, project_id: uuid.UUID, email: str) -> User | None:
    """The project's user with this email (removed ones too)."""
    statement = select(User).where(User.project_id == project_id, User.email == email)
    return (await session.execute(statement)).scalar_one_or_none()


async def by_id(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    """The project's user with this id (removed ones too)."""
    statement = select(User).where(User.project_id == project_id, User.id == user_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def listed(session: AsyncSession, project_id: uuid.UUID) -> Sequence[User]:
    """The project's current users, by email."""
    statement = (
        select(User)
        .where(User.project_id == project_id, User.removed_at.is_(None))
        .order_by(User.email)
    )
    return (await session.execute(statement)).scalars().all()


async def active_assignments(session: AsyncSession, user: User) -> int:
    """How many conversations the user holds now."""
    statement = select(func.count()).where(
        ConversationAssignment.project_id == user.project_id,
        ConversationAssignment.user_id == user.id,
        ConversationAssignment.active.is_(True),
    )
    return int((await session.execute(statement)).scalar_one())
