"""Every model call made for a project: what it cost and whom it served."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import BigId, UtcDateTime


class ModelCall(Base):
    """One call of a model, ok or failed, written after the call returned.

    ``model_name`` is the project's name of the model (kept as text: the model may be
    deleted later, its usage stays); ``model`` is the provider's id. ``subject_kind`` and
    ``subject_id`` say what the call served (``flow_execution``, ``agent_execution``,
    ``test_chat``...). ``cost`` is US dollars, empty when the model has no prices.
    """

    __tablename__ = "model_calls"
    __table_args__ = (
        Index("ix_model_calls_project_created", "project_id", "created_at"),
        Index("ix_model_calls_project_subject", "project_id", "subject_kind", "subject_id"),
        Index("ix_model_calls_project_model", "project_id", "model_name", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    model_name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(200))
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(10))
    error_class: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(18, 10), nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
