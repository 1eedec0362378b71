"""The boundary of the conversations API: the reference's ``WhatsappConversation``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ConversationOut(BaseModel):
    """A conversation as the reference shows it, plus what a client needs to act on it."""

    id: uuid.UUID
    phone_number: str
    status: str
    last_active_at: datetime
    contact_name: str = Field(description="The contact's WhatsApp profile name, else the number")
    whatsapp_config_id: uuid.UUID
    contact_id: uuid.UUID
    last_inbound_at: datetime | None = Field(
        description="When the contact last wrote: the 24-hour customer-service window opens here"
    )
    ended_at: datetime | None
    ended_reason: str | None
    created_at: datetime
    updated_at: datetime


class ConversationChange(BaseModel):
    """The fields a PATCH may change."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["active", "ended"]


class ConversationUpdate(BaseModel):
    """``{"whatsapp_conversation": {"status": "ended"}}``."""

    model_config = ConfigDict(extra="forbid")

    whatsapp_conversation: ConversationChange
