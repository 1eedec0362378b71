"""WhatsApp broadcasts: one approved template sent to many numbers, each with its parameters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import Json, UtcDateTime

_UNQUEUED = text("queued_at IS NULL")


class WhatsappBroadcast(Base):
    """A campaign: ``draft`` while recipients are added, ``sending`` once sent (paced by
    its sender job), then ``completed`` (or ``failed`` when every recipient failed).

    ``rate_per_second`` is the pace asked for (None: the setting's; 0: unlimited);
    ``throttled_at`` is when the Graph API last answered 130429/131056 to one of its sends,
    which the sender slows down for.
    """

    __tablename__ = "whatsapp_broadcasts"
    __table_args__ = (Index("ix_whatsapp_broadcasts_project_created", "project_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("whatsapp_configs.id", ondelete="CASCADE")
    )
    whatsapp_template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("whatsapp_templates.id"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))
    rate_per_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    total_recipients: Mapped[int] = mapped_column(Integer, default=0)
    throttled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    throttle_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WhatsappBroadcastRecipient(Base):
    """One number of a broadcast, added once, with its template parameters.

    ``queued_at``/``message_id`` are set in the transaction that queues its outbox message:
    a recipient becomes a message at most once. Its sent/delivered/read/failed state is the
    message's; ``failed_at``/``error`` are set only when no message could be queued.
    ``responded_at`` is the first reply from the number after the message was queued.
    """

    __tablename__ = "whatsapp_broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "phone_number", name="uq_broadcast_recipients_phone"),
        Index("ix_broadcast_recipients_order", "broadcast_id", "position"),
        Index(
            "ix_broadcast_recipients_unqueued",
            "broadcast_id",
            "position",
            sqlite_where=_UNQUEUED,
            postgresql_where=_UNQUEUED,
        ),
        Index("ix_broadcast_recipients_replies", "whatsapp_config_id", "phone_number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    broadcast_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("whatsapp_broadcasts.id", ondelete="CASCADE")
    )
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column()
    position: Mapped[int] = mapped_column(Integer)
    phone_number: Mapped[str] = mapped_column(String(20))
    whatsapp_contact_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    template_parameters: Mapped[Any] = mapped_column(Json, nullable=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
