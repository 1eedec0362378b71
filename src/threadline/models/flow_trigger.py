"""Flow triggers: what may start a flow (an API call now, inbound messages later)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import Json, UtcDateTime


class FlowTrigger(Base):
    """A trigger of one flow; ``trigger_type`` is ``api_call`` or ``inbound_message``."""

    __tablename__ = "flow_triggers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    flow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("flows.id"), index=True)
    trigger_type: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    whatsapp_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # inbound_message only: start on any message (both empty), on one of ``keywords``
    # (the whole message, case-insensitive) or on a match of the regular expression.
    keywords: Mapped[list[str] | None] = mapped_column(Json, nullable=True)
    pattern: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
