"""The boundary of broadcasts: the reference's ``WhatsappBroadcast`` and its recipients."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: The reference's cap on one ``POST .../recipients``.
BATCH_MAX = 1000
#: Meta's highest throughput tier, in messages per second.
RATE_MAX = 1000.0


class BroadcastFields(BaseModel):
    """``whatsapp_broadcast``: its name, number and template (and, ours, its pace)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    whatsapp_config_id: uuid.UUID
    whatsapp_template_id: uuid.UUID
    #: Not in the reference: messages per second (omitted: the server's setting; 0: as fast
    #: as the platform goes, for benchmarks).
    rate_per_second: float | None = Field(default=None, ge=0, le=RATE_MAX)


class BroadcastCreate(BaseModel):
    """``POST /whatsapp_broadcasts`` body."""

    whatsapp_broadcast: BroadcastFields


class RecipientIn(BaseModel):
    """One row of ``POST .../recipients`` (checked row by row by the service)."""

    model_config = ConfigDict(extra="forbid")

    phone_number: str | None = None
    whatsapp_contact_id: uuid.UUID | None = None
    template_parameters: list[str] | dict[str, Any] | None = None


class RecipientsAdd(BaseModel):
    """``POST .../recipients`` body: rows are checked by the service, every problem listed."""

    recipients: Any = None


class BasicTemplateOut(BaseModel):
    """The reference's ``BasicWhatsappTemplate``."""

    id: uuid.UUID
    name: str
    language_code: str
    category: str
    status: str


class StatsOut(BaseModel):
    """The reference's ``WhatsappBroadcastStats``."""

    total: int
    sent: int
    failed: int
    delivered: int
    read: int
    responded: int
    pending: int


class BroadcastOut(BaseModel):
    """A broadcast as the reference shows it."""

    id: uuid.UUID
    name: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    whatsapp_config_id: uuid.UUID
    whatsapp_template: BasicTemplateOut
    total_recipients: int
    sent_count: int
    failed_count: int
    delivered_count: int
    read_count: int
    responded_count: int
    pending_count: int
    response_rate: float
    stats: StatsOut
    #: Not in the reference: the pace it is sent at (messages per second; 0: unlimited).
    rate_per_second: float


class RecipientOut(BaseModel):
    """The reference's ``WhatsappBroadcastRecipient``."""

    id: uuid.UUID
    phone_number: str
    status: str
    sent_at: datetime | None
    failed_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    responded_at: datetime | None
    error_message: str | None
    error_details: dict[str, Any] | None
    template_parameters: list[str] | dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    #: Not in the reference: the outbox message the recipient became.
    whatsapp_message_id: str | None


class BatchOut(BaseModel):
    """The reference's ``RecipientBatchResponse`` (``errors`` is always empty here: a batch
    with a problem is refused whole, with a 422 listing every one)."""

    added: int
    duplicates: int
    errors: list[str]


class SendOut(BaseModel):
    """``POST .../send``'s answer."""

    id: uuid.UUID
    status: str
    started_at: datetime
