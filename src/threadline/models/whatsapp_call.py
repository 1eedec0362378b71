"""WhatsApp calls and the call permissions contacts gave, as Meta's webhooks report them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import UtcDateTime


class WhatsappCall(Base):
    """One call on a number (Meta's ``wacid`` is ``call_id``), from its ``calls`` webhooks.

    ``status``: ``ringing`` (a user's call offered), ``connected`` (a business call
    answered), then ``completed`` or ``failed``; a late ``connect`` never undoes an end.
    """

    __tablename__ = "whatsapp_calls"
    __table_args__ = (
        UniqueConstraint("whatsapp_config_id", "call_id", name="uq_whatsapp_calls_config_call"),
        Index("ix_whatsapp_calls_project_created", "project_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("whatsapp_configs.id", ondelete="CASCADE")
    )
    call_id: Mapped[str] = mapped_column(String(200))
    direction: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    session_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    user_wa_id: Mapped[str] = mapped_column(String(20))
    whatsapp_contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    whatsapp_conversation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WhatsappCallPermission(Base):
    """Whether a contact lets a number call it: its latest answer, and until when."""

    __tablename__ = "whatsapp_call_permissions"
    __table_args__ = (
        UniqueConstraint(
            "whatsapp_contact_id", "whatsapp_config_id", name="uq_call_permissions_contact_config"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    whatsapp_contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("whatsapp_contacts.id", ondelete="CASCADE")
    )
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("whatsapp_configs.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_event_message_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_event_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
