"""Agents: LLM graph agents, stored as Kapso's builder SDK sends them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import Json, UtcDateTime


class Agent(Base):
    """An agent of a project: its prompt, settings and graph JSON, kept verbatim.

    ``agent_version`` is Kapso's runtime version (1 messages the user through tools,
    2 sends plain text), not a revision counter: frozen revisions are snapshots.
    ``pinned_snapshot_id`` is a snapshot equal to the agent as it is now (None: not
    known), the one a new execution runs.
    """

    __tablename__ = "agents"
    __table_args__ = (Index("ix_agents_project_created", "project_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    system_prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    graph: Mapped[dict[str, Any]] = mapped_column(Json)
    agent_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    message_debounce_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pinned_snapshot_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
