"""SQL for API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import ApiKey, Project


async def key_for_digest(
    session: AsyncSession, digest: str
) -> tuple[Project, uuid.UUID | None] | None:
    """The project owning the unrevoked key with this digest, and the key's user."""
    statement = (
        select(Project, ApiKey.user_id)
        .join(ApiKey, ApiKey.project_id == Project.id)
        .where(ApiKey.key_digest == digest, ApiKey.revoked_at.is_(None))
    )
    found = (await session.execute(statement)).first()
    return None if found is None else (found[0], found[1])


def add_key(session: AsyncSession, key: ApiKey) -> None:
    """Stage a new API key row."""
    session.add(key)


async def revoke_user_keys(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> int:
    """Revoke every live key of the project's user; how many there were."""
    statement = (
        update(ApiKey)
        .where(
            ApiKey.project_id == project_id,
            ApiKey.user_id == user_id,
            ApiKey.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return int((await session.execute(statement)).rowcount or 0)  # type: ignore[attr-defined]
