"""The outbox: every WhatsApp message a flow sends, written with the step that sends it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import BigId, Json, UtcDateTime


class OutboundMessage(Base):
    """A message to deliver. ``status`` moves queued → sending → sent | failed | unknown.

    ``sending`` is written and committed before the HTTP call, so a row found in
    ``sending`` by a later attempt is an attempt of unknown outcome.
    """

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    execution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("flow_executions.id", ondelete="CASCADE"), index=True
    )
    whatsapp_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    node_id: Mapped[str] = mapped_column(String(200))
    to_phone: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    wamid: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
