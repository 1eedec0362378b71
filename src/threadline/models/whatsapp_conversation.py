"""WhatsApp conversations: one active thread per (WhatsApp config, contact)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import UtcDateTime

_ACTIVE = text("status = 'active'")


class WhatsappConversation(Base):
    """A thread between a business number and a contact; ``status`` is active | ended.

    A partial unique index makes "one active conversation per number and contact" a
    database rule, so two concurrent first messages cannot open two.
    ``last_inbound_at`` opens the 24-hour customer-service window.
    """

    __tablename__ = "whatsapp_conversations"
    __table_args__ = (
        Index(
            "uq_whatsapp_conversations_one_active",
            "whatsapp_config_id",
            "contact_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index(
            "ix_whatsapp_conversations_project_id_last_active_at", "project_id", "last_active_at"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("whatsapp_configs.id", ondelete="CASCADE")
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("whatsapp_contacts.id", ondelete="CASCADE"), index=True
    )
    phone_number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="active")
    last_active_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
