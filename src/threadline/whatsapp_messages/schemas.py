"""The boundary of the messages API: the reference's ``WhatsappMessage``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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


MessageType = Literal[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "template",
    "location",
    "interactive",
    "reaction",
    "contacts",
]
TemplateParams = list[str] | dict[str, str] | dict[str, dict[str, str]]


class ButtonIn(BaseModel):
    """A reply button of an interactive ``button`` message."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str


class MessageIn(BaseModel):
    """A message to send, in the reference's flat shape (the fields its type needs)."""

    model_config = ConfigDict(extra="forbid")

    phone_number: str | None = Field(default=None, max_length=32)
    content: str | None = None
    message_type: MessageType = "text"
    media_url: str | None = Field(default=None, max_length=2048)
    media_id: str | None = Field(default=None, max_length=256)
    caption: str | None = None
    filename: str | None = Field(default=None, max_length=240)
    latitude: float | None = None
    longitude: float | None = None
    location_name: str | None = Field(default=None, max_length=1000)
    location_address: str | None = Field(default=None, max_length=1000)
    interactive_type: Literal["button", "list"] | None = None
    body_text: str | None = None
    header_text: str | None = None
    footer_text: str | None = None
    buttons: list[ButtonIn] | None = None
    sections: list[dict[str, Any]] | None = None
    list_button_text: str | None = None
    template_name: str | None = Field(default=None, max_length=512)
    template_language: str | None = Field(default=None, max_length=15)
    template_params: TemplateParams | None = None
    reaction_emoji: str | None = Field(default=None, max_length=16)
    reacted_to_message_id: str | None = Field(default=None, max_length=256)
    contacts: list[dict[str, Any]] | None = None


class MessageCreate(BaseModel):
    """``{"message": {...}}``."""

    model_config = ConfigDict(extra="forbid")

    message: MessageIn
