"""Meta's webhook deliveries as received, and the message statuses they carried."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import BigId, Json, UtcDateTime


class InboundWebhook(Base):
    """One POST from Meta, stored (signature checked) before it is acknowledged.

    ``body`` is the exact text received; a job parses it later. ``status`` is
    pending | processed; ``errors`` lists items that could not be processed.
    ``project_id`` is the config's when Meta called a config's own URL; a delivery to
    the app-wide URL has none, since its items may be for numbers of several projects.
    """

    __tablename__ = "inbound_webhooks"
    # The retention deletes processed deliveries by age.
    __table_args__ = (Index("ix_inbound_webhooks_status_received_at", "status", "received_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    whatsapp_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(Json, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class MessageStatusEvent(Base):
    """A delivery status Meta reported for an outbound message (wamid).

    Stored once per (config, wamid, status); a status that arrives before its message
    has its wamid stays here with ``applied_at`` empty and is applied when it does.
    """

    __tablename__ = "message_status_events"
    __table_args__ = (
        UniqueConstraint("whatsapp_config_id", "wamid", "status"),
        Index("ix_message_status_events_wamid", "wamid"),
        # The retention deletes statuses by age.
        Index("ix_message_status_events_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: The config's project (copied, like every child table's).
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    wamid: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    meta_timestamp: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
