"""The boundary of the messages API: the reference's ``WhatsappMessage``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


def public_id(message_id: int) -> str:
    """The API id of a message row: its integer key written as a UUID (stable, reversible)."""
    return str(uuid.UUID(int=message_id))


def row_id(value: str) -> int | None:
    """The row key an API message id names, or None if it names none."""
    try:
        number = uuid.UUID(value).int
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


class MessageOut(BaseModel):
    """A message of either direction, as the reference shows it, plus its delivery facts."""

    id: str = Field(description="The message's id (a UUID)")
    phone_number: str
    message_type: str
    content: str
    direction: str
    status: str
    processing_status: str | None = Field(description="Inbound only: pending | processed")
    whatsapp_message_id: str | None = Field(description="Meta's wamid, once it is known")
    metadata: dict[str, Any]
    media_url: str | None = Field(description="Where to download the message's media, if any")
    message_type_data: dict[str, Any]
    conversation_id: uuid.UUID | None
    whatsapp_config_id: uuid.UUID | None
    execution_id: uuid.UUID | None = Field(description="The flow execution that sent it, if any")
    error: dict[str, Any] | None = Field(description="Why the last delivery attempt failed")
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    created_at: datetime
    updated_at: datetime
