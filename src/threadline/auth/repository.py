"""SQL for API keys."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import ApiKey, Project


async def project_for_digest(session: AsyncSession, digest: str) -> Project | None:
    """The project owning the unrevoked key with this digest."""
    statement = (
        select(Project)
        .join(ApiKey, ApiKey.project_id == Project.id)
        .where(ApiKey.key_digest == digest, ApiKey.revoked_at.is_(None))
    )
    return (await session.execute(statement)).scalar_one_or_none()


def add_key(session: AsyncSession, key: ApiKey) -> None:
    """Stage a new API key row."""
    session.add(key)
