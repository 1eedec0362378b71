"""Agent snapshots: an agent's graph, prompt and settings frozen at one moment."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import Json, UtcDateTime


class AgentSnapshot(Base):
    """A frozen copy of an agent, never updated: later edits of the agent leave it as is.

    ``updated_at`` exists because the reference shows it; it always equals ``created_at``.
    """

    __tablename__ = "agent_snapshots"
    __table_args__ = (Index("ix_agent_snapshots_agent_created", "agent_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    system_prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    graph: Mapped[dict[str, Any]] = mapped_column(Json)
    agent_version: Mapped[int] = mapped_column(Integer)
    message_debounce_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
