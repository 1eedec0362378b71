"""WhatsApp configs: a business phone number and how to reach its Graph API."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import UtcDateTime

_PRODUCTION = text("kind = 'production'")


class WhatsappConfig(Base):
    """A phone number of a project; the access token and secrets are encrypted at rest.

    A real number belongs to one config (a partial unique index); sandbox configs of
    every project share the sandbox's number, and inbound messages on it are routed
    by sandbox session.
    """

    __tablename__ = "whatsapp_configs"
    __table_args__ = (
        Index(
            "uq_whatsapp_configs_production_phone_number_id",
            "phone_number_id",
            unique=True,
            sqlite_where=_PRODUCTION,
            postgresql_where=_PRODUCTION,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    phone_number_id: Mapped[str] = mapped_column(String(64))
    display_phone_number: Mapped[str] = mapped_column(String(32))
    waba_id: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(String(500))
    api_version: Mapped[str] = mapped_column(String(16))
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id"), nullable=True, index=True
    )
    webhook_verify_token_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    app_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    inbound_processing_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_coexistence: Mapped[bool] = mapped_column(Boolean, default=False)
    calls_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
