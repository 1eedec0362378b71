"""Flows and their immutable definition versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import Json, UtcDateTime


class Flow(Base):
    """A flow; ``current_version_id`` names the definition new executions start on."""

    __tablename__ = "flows"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    current_version_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # Kept by the start of each execution: counting rows would grow with the executions.
    execution_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_executed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FlowVersion(Base):
    """One saved definition of a flow. Never updated: executions are pinned to it."""

    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: The flow's project (copied, like every child table's).
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    flow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("flows.id"))
    number: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
