"""WhatsApp messages of both directions: the flows' outbox and what users send in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import BigId, Json, UtcDateTime

#: Outbound messages not settled yet (a delivery job's to-do list), and inbound ones not
#: processed yet (an inbox job's). Queries say these literally, as the partial indexes
#: do: with a bound parameter PostgreSQL's generic plan could not use the index.
OUTBOX_PENDING = text("status IN ('queued', 'sending')")
INBOX_PENDING = text("processing_status = 'pending'")


class WhatsappMessage(Base):
    """One message of a conversation, outbound (to deliver) or inbound (received).

    Outbound ``status`` moves queued → sending → sent → delivered → read, or to
    failed | unknown. ``sending`` is written and committed before the HTTP call, so a
    row found in ``sending`` by a later attempt is an attempt of unknown outcome.
    Inbound rows are ``received``; ``processing_status`` says whether they drove
    their conversation's flow yet (``pending`` → ``processed``).

    A wamid is stored once per WhatsApp config: a redelivered webhook hits the unique
    constraint instead of making a second row.
    """

    __tablename__ = "whatsapp_messages"
    __table_args__ = (
        UniqueConstraint("whatsapp_config_id", "wamid"),
        Index("ix_whatsapp_messages_wamid", "wamid"),
        Index("ix_whatsapp_messages_conversation_id_id", "conversation_id", "id"),
        # Small: only the rows still to deliver or to process, so finding the next one
        # reads that row, not the conversation's whole history.
        Index(
            "ix_whatsapp_messages_outbox_conversation",
            "conversation_id",
            "id",
            sqlite_where=OUTBOX_PENDING,
            postgresql_where=OUTBOX_PENDING,
        ),
        Index(
            "ix_whatsapp_messages_outbox_execution",
            "execution_id",
            "id",
            sqlite_where=OUTBOX_PENDING,
            postgresql_where=OUTBOX_PENDING,
        ),
        Index(
            "ix_whatsapp_messages_inbox",
            "conversation_id",
            "meta_timestamp",
            "id",
            sqlite_where=INBOX_PENDING,
            postgresql_where=INBOX_PENDING,
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    direction: Mapped[str] = mapped_column(String(8), default="outbound")
    execution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("flow_executions.id", ondelete="SET NULL"), index=True, nullable=True
    )
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("whatsapp_conversations.id", ondelete="CASCADE"), nullable=True
    )
    whatsapp_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    node_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone_number: Mapped[str] = mapped_column(String(20))
    message_type: Mapped[str] = mapped_column(String(20), default="text")
    content: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(10))
    processing_status: Mapped[str | None] = mapped_column(String(10), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    wamid: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    meta_timestamp: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    attempted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: A send of unknown outcome resent after the grace period (at most once).
    resent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
