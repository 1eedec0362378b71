"""Event webhooks: a config's subscriptions to its events, and the deliveries made to them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import BigId, Json, UtcDateTime


class WhatsappWebhook(Base):
    """A URL of the user's that receives a config's events, signed with ``secret_key``.

    The secret is Fernet-encrypted at rest; ``headers`` are sent with every delivery.
    """

    __tablename__ = "whatsapp_webhooks"
    # Every event looks up the active webhooks of its config.
    __table_args__ = (Index("ix_whatsapp_webhooks_config_active", "whatsapp_config_id", "active"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("whatsapp_configs.id"))
    url: Mapped[str] = mapped_column(String(2000))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(Json)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    headers: Mapped[dict[str, str] | None] = mapped_column(Json, nullable=True)
    buffer_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    buffer_window_seconds: Mapped[int] = mapped_column(Integer, default=5)
    max_buffer_size: Mapped[int] = mapped_column(Integer, default=50)
    buffer_events: Mapped[list[str]] = mapped_column(Json)
    inactivity_minutes: Mapped[int] = mapped_column(Integer, default=60)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookDelivery(Base):
    """One event for one webhook: the outbox row, then the log of its delivery.

    ``status``: ``buffered`` (waiting for its batch), ``batched`` (sent inside the
    delivery ``batch_id``), ``pending`` (a job is delivering it), ``delivered``,
    ``failed`` (retries ran out; it can be redelivered). ``body`` is the exact JSON
    sent; ``event_id`` is sent as ``X-Idempotency-Key`` for the receiver's de-duplication.
    """

    __tablename__ = "whatsapp_webhook_deliveries"
    __table_args__ = (
        Index("ix_whatsapp_webhook_deliveries_webhook_id", "webhook_id", "id"),
        # A buffer's flush reads its conversation's buffered events.
        Index("ix_whatsapp_webhook_deliveries_buffer", "webhook_id", "conversation_id", "status"),
        Index("ix_whatsapp_webhook_deliveries_batch_id", "batch_id"),
        # The retention deletes settled deliveries by age.
        Index("ix_whatsapp_webhook_deliveries_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: The webhook's project (copied).
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    webhook_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    event: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    batch_size: Mapped[int] = mapped_column(Integer, default=1)
    batch_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
