"""Sandbox sessions: a test phone joins a project by texting a code to the sandbox number."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import UtcDateTime


class SandboxSession(Base):
    """``status`` is pending_activation until the phone sends ``activation_code``, then active."""

    __tablename__ = "sandbox_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("whatsapp_configs.id", ondelete="CASCADE")
    )
    phone_number: Mapped[str] = mapped_column(String(20), index=True)
    activation_code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending_activation")
    agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
