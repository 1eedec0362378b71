"""SQL for WhatsApp configs."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import WhatsappConfig


async def get(
    session: AsyncSession, project_id: uuid.UUID, config_id: uuid.UUID
) -> WhatsappConfig | None:
    """A config of the project, or None."""
    statement = select(WhatsappConfig).where(
        WhatsappConfig.id == config_id, WhatsappConfig.project_id == project_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def default_for(session: AsyncSession, project_id: uuid.UUID) -> WhatsappConfig | None:
    """The project's default config, or None."""
    statement = select(WhatsappConfig).where(
        WhatsappConfig.project_id == project_id, WhatsappConfig.is_default.is_(True)
    )
    return (await session.execute(statement.limit(1))).scalar_one_or_none()


async def list_for(session: AsyncSession, project_id: uuid.UUID) -> list[WhatsappConfig]:
    """Every config of the project."""
    statement = select(WhatsappConfig).where(WhatsappConfig.project_id == project_id)
    return list((await session.execute(statement)).scalars())


async def by_phone_number_id(session: AsyncSession, phone_number_id: str) -> list[WhatsappConfig]:
    """Every config of every project on that number (sandbox configs share one)."""
    statement = select(WhatsappConfig).where(WhatsappConfig.phone_number_id == phone_number_id)
    return list((await session.execute(statement.order_by(WhatsappConfig.created_at))).scalars())


async def by_id(session: AsyncSession, config_id: uuid.UUID) -> WhatsappConfig | None:
    """A config by id, whatever its project (for its own webhook URL)."""
    return await session.get(WhatsappConfig, config_id)


def add(session: AsyncSession, config: WhatsappConfig) -> None:
    """Stage a new config row."""
    session.add(config)
