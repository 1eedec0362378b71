"""Which WhatsApp numbers an agent answers on."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import UtcDateTime


class AgentWhatsappConfig(Base):
    """An agent attached to a WhatsApp config of its project.

    A number routes its inbound messages to one agent, so a config is attached to at
    most one agent at a time (the unique constraint); an agent may answer on several
    numbers, one of them ``is_primary`` (the number it sends from by default).
    """

    __tablename__ = "agent_whatsapp_configs"
    __table_args__ = (
        UniqueConstraint("whatsapp_config_id", name="uq_agent_whatsapp_configs_config"),
        Index("ix_agent_whatsapp_configs_agent", "agent_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    whatsapp_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("whatsapp_configs.id", ondelete="CASCADE")
    )
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
