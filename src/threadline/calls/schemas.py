"""The boundary of the calls API: the reference's ``WhatsappCall`` and
``WhatsappContactCallPermission``."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class CallOut(BaseModel):
    """A call as the reference shows it (no voice agents yet: those are null)."""

    id: uuid.UUID
    project_id: uuid.UUID
    whatsapp_config_id: uuid.UUID
    config_display_name: str
    config_display_phone_number: str
    voice_agent_id: uuid.UUID | None
    voice_agent_name: str | None
    call_id: str
    direction: str
    status: str
    duration_seconds: int | None
    started_at: datetime | None
    ended_at: datetime | None
    session_started_at: datetime | None
    user_wa_id: str
    whatsapp_contact_id: uuid.UUID | None
    whatsapp_conversation_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class CallPermissionOut(BaseModel):
    """Whether the contact lets the number call it (``allowed`` weighs the expiry)."""

    id: uuid.UUID
    whatsapp_contact_id: uuid.UUID
    whatsapp_config_id: uuid.UUID
    config_display_name: str
    status: str
    source: str | None
    expires_at: datetime | None
    last_event_message_id: str | None
    last_event_at: datetime | None
    allowed: bool
    created_at: datetime
    updated_at: datetime
