"""Contacts: created by a user's first message, renamed when WhatsApp reports a new name."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.contacts import repository
from threadline.models import WhatsappContact


async def for_inbound(
    session: AsyncSession, project_id: uuid.UUID, wa_id: str, name: str | None, now: datetime
) -> WhatsappContact:
    """The contact a message from ``wa_id`` belongs to, made or renamed as needed."""
    contact = await repository.by_wa_id(session, project_id, wa_id)
    if contact is None:
        await repository.insert_if_absent(session, project_id, wa_id, name, now)
        contact = await repository.by_wa_id(session, project_id, wa_id)
        assert contact is not None  # inserted now, or by a concurrent message
    if name and contact.profile_name != name:
        contact.profile_name = name
        contact.updated_at = now
    return contact


async def for_phone(
    session: AsyncSession, project_id: uuid.UUID, wa_id: str, now: datetime
) -> WhatsappContact:
    """The contact of a phone the project writes to first (no profile name known yet)."""
    return await for_inbound(session, project_id, wa_id, None, now)
