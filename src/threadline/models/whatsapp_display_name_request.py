"""Requests to change a number's WhatsApp display name, and Meta's review of each."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import UtcDateTime

#: The statuses a request is still waiting in; at most one per config.
ACTIVE_STATUSES = ("submitted", "pending_review")
_ACTIVE = text("status IN ('submitted', 'pending_review')")


class WhatsappDisplayNameRequest(Base):
    """One display name change asked of Meta for a config's number.

    ``status``: ``submitted`` while the Graph call is in flight, ``pending_review`` once Meta
    took it, ``failed`` when Meta refused it (its error in the ``meta_error_*`` columns),
    then ``approved``, ``deferred`` or ``declined`` from Meta's ``phone_number_name_update``.
    """

    __tablename__ = "whatsapp_display_name_requests"
    __table_args__ = (
        Index(
            "uq_display_name_requests_one_active",
            "whatsapp_config_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_display_name_requests_config_created", "whatsapp_config_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("whatsapp_configs.id", ondelete="CASCADE")
    )
    requested_display_name: Mapped[str] = mapped_column(String(200))
    previous_display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(30))
    meta_error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    meta_error_subcode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    meta_error_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    meta_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
