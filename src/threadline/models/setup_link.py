"""Setup links: a page a customer opens to connect its own WhatsApp number."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import Json, UtcDateTime

_ACTIVE = text("status = 'active'")


class SetupLink(Base):
    """One onboarding link of a customer; at most one is ``active`` per customer.

    ``status`` as stored is ``active``, ``used``, ``revoked`` or ``expired``; an active
    link past ``expires_at`` reads as expired. The link's token is kept twice: its
    SHA-256 digest (how an opened URL finds the row) and Fernet-encrypted (the API shows
    the link's ``url`` on every read); the plain token is never stored.
    """

    __tablename__ = "setup_links"
    __table_args__ = (
        Index(
            "uq_setup_links_one_active_per_customer",
            "customer_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_setup_links_customer_created", "customer_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    success_redirect_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure_redirect_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    allowed_connection_types: Mapped[list[str]] = mapped_column(Json)
    provision_phone_number: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_number_area_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    phone_number_country_isos: Mapped[list[str]] = mapped_column(Json)
    theme_config: Mapped[dict[str, Any]] = mapped_column(Json)
    whatsapp_config_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("whatsapp_configs.id", ondelete="SET NULL"), nullable=True
    )
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
