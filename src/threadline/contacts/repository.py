"""SQL for contacts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.sql import insert_ignoring_conflict
from threadline.models import WhatsappContact


async def by_wa_id(
    session: AsyncSession, project_id: uuid.UUID, wa_id: str
) -> WhatsappContact | None:
    """The project's contact with this WhatsApp id."""
    statement = select(WhatsappContact).where(
        WhatsappContact.project_id == project_id, WhatsappContact.wa_id == wa_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def insert_if_absent(
    session: AsyncSession, project_id: uuid.UUID, wa_id: str, name: str | None, now: datetime
) -> None:
    """Create the contact unless it exists (concurrent first messages make one row)."""
    values = {
        "id": uuid.uuid4(),
        "project_id": project_id,
        "wa_id": wa_id,
        "profile_name": name,
        "metadata": {},
        "created_at": now,
        "updated_at": now,
    }
    await insert_ignoring_conflict(
        session, WhatsappContact, values, conflict_on=("project_id", "wa_id")
    )
