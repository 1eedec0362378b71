"""WhatsApp webhook resources as the API reads and shows them.

``secret_key`` is write-only: stored encrypted, never shown again (the reference's
``WhatsappWebhook`` lists it, but no property is required there).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from threadline.whatsapp_webhooks.names import BufferableEvent, EventName

#: Header names a receiver may get from us; custom headers must not replace them.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "x-webhook-signature",
        "x-webhook-event",
        "x-idempotency-key",
        "x-webhook-batch",
        "x-batch-size",
    }
)


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or not value.split("//", 1)[1]:
        raise ValueError("must be an http:// or https:// URL")
    return value


def _headers(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise ValueError(f"{name!r} is not a valid header name")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"{name!r} is set by Threadline and cannot be replaced")
    return value


def _unique(value: list[str]) -> list[str]:
    return list(dict.fromkeys(value))


Url = Annotated[str, Field(max_length=2000), AfterValidator(_http_url)]
Events = Annotated[list[EventName], Field(min_length=1, max_length=20), AfterValidator(_unique)]
BufferEvents = Annotated[list[BufferableEvent], Field(max_length=5), AfterValidator(_unique)]
Headers = Annotated[dict[str, Annotated[str, Field(max_length=2000)]], AfterValidator(_headers)]


class WhatsappWebhookFields(BaseModel):
    """The writable fields of a webhook (``PATCH`` changes only those sent)."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    secret_key: str | None = Field(default=None, min_length=1, max_length=500)
    events: Events | None = None
    active: bool | None = None
    headers: Headers | None = Field(default=None, max_length=20)
    buffer_enabled: bool | None = None
    buffer_window_seconds: int | None = Field(default=None, ge=1, le=60)
    max_buffer_size: int | None = Field(default=None, ge=1, le=100)
    buffer_events: BufferEvents | None = None
    inactivity_minutes: int | None = Field(default=None, ge=1, le=1440)


class WhatsappWebhookCreateFields(WhatsappWebhookFields):
    """A new webhook: ``url``, ``secret_key`` and ``events`` are required."""

    url: Url
    secret_key: str = Field(min_length=1, max_length=500)
    events: Events


class WhatsappWebhookCreate(BaseModel):
    """``POST /whatsapp_configs/{id}/whatsapp_webhooks`` body."""

    whatsapp_webhook: WhatsappWebhookCreateFields


class WhatsappWebhookUpdate(BaseModel):
    """``PATCH /whatsapp_configs/{id}/whatsapp_webhooks/{webhook_id}`` body."""

    whatsapp_webhook: WhatsappWebhookFields


class WhatsappWebhookFilters(BaseModel):
    """``q[url_cont]`` and ``q[active_eq]``."""

    url_cont: str | None = None
    active_eq: bool | None = None


class WhatsappWebhookOut(BaseModel):
    """A webhook (its secret never shown)."""

    id: uuid.UUID
    whatsapp_config_id: uuid.UUID
    url: str
    events: list[str]
    active: bool
    headers: dict[str, str] | None
    buffer_enabled: bool
    buffer_window_seconds: int
    max_buffer_size: int
    buffer_events: list[str]
    inactivity_minutes: int
    created_at: datetime
    updated_at: datetime


class WebhookDeliveryOut(BaseModel):
    """One delivery of an event (or a batch of received messages) to a webhook."""

    id: int
    webhook_id: uuid.UUID
    event: str
    event_id: str
    conversation_id: uuid.UUID | None
    status: str
    batch_size: int
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
