"""The append-only event log of each execution."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import BigId, Json, UtcDateTime


class ExecutionEvent(Base):
    """One thing that happened to an execution.

    Rows are inserted, never changed, until the retention compacts the log of an
    execution that ended long enough ago (``executions/retention.py``): its oldest row
    then becomes one ``events_pruned`` summary and the rest but the last few are deleted.
    ``project_id`` is the execution's (no foreign key: the execution's already says it,
    and a second check on every insert would cost the hot path).
    """

    __tablename__ = "execution_events"
    __table_args__ = (
        # The events page and the retention read one execution's events in id order.
        Index("ix_execution_events_execution_id_id", "execution_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    execution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("flow_executions.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    node_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
