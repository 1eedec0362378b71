"""Flow executions: all of a run's state, so a waiting run costs only this row."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Uuid, false, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import Json, UtcDateTime

_COMPACTION_DUE = text("ended_at IS NOT NULL AND events_compacted_at IS NULL")


class FlowExecution(Base):
    """One run of a flow version, or one conversation of an agent (``kind``).

    ``step_seq`` is the compare-and-set token: every transition bumps it, and every
    job or resume names the value it expects, so a stale or duplicate one is a no-op.
    A flow's run names its flow and version; an agent's names its agent, the snapshot it
    is pinned to (an immutable version), and keeps the interpreter's state in
    ``agent_state``. ``test`` runs (an agent's test chats) send nothing to WhatsApp.
    """

    __tablename__ = "flow_executions"
    __table_args__ = (
        Index("ix_flow_executions_flow_started", "flow_id", "started_at"),
        Index("ix_flow_executions_agent_started", "agent_id", "started_at"),
        Index("ix_flow_executions_conversation_id_status", "conversation_id", "status"),
        # The retention's to-do list: ended executions whose event log is not compacted yet.
        Index(
            "ix_flow_executions_compaction_due",
            "ended_at",
            sqlite_where=_COMPACTION_DUE,
            postgresql_where=_COMPACTION_DUE,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="flow", server_default="flow")
    flow_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("flows.id"), nullable=True)
    flow_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("flow_versions.id"), nullable=True
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), nullable=True
    )
    agent_snapshot_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agent_snapshots.id"), nullable=True
    )
    agent_state: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    whatsapp_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("whatsapp_conversations.id", ondelete="SET NULL"), nullable=True
    )
    tracking_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    phone_number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    current_node_id: Mapped[str] = mapped_column(String(200))
    step_seq: Mapped[int] = mapped_column(Integer, default=0)
    wait_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    wait_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    variables: Mapped[dict[str, Any]] = mapped_column(Json)
    context: Mapped[dict[str, Any]] = mapped_column(Json)
    system: Mapped[dict[str, Any]] = mapped_column(Json)
    error: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_event_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: An inbox found the run busy and left a message pending for it: the step that stops
    #: the run wakes the inbox (read back by that step's compare-and-set, under the row's
    #: lock, see ``executions.repository.write_state_if_current``); a claim clears it.
    holds_inbound: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: When the retention compacted the event log (set once; never again after).
    events_compacted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    def flow_refs(self) -> tuple[uuid.UUID, uuid.UUID]:
        """A flow's run's flow and version ids (an agent's run has neither)."""
        if self.flow_id is None or self.flow_version_id is None:
            raise ValueError(f"execution {self.id} is an agent's, not a flow's")
        return self.flow_id, self.flow_version_id
