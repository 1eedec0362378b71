"""Agent executions as the API reads and shows them (the reference's Agent Executions)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threadline.executions.schemas import E164

AgentExecutionStatus = Literal[
    "started", "running", "paused", "ended", "handoff", "failed", "stopped"
]
#: The statuses ``PUT`` may set; the others are the runtime's to reach.
SETTABLE = ("ended", "stopped", "failed", "handoff", "paused")


class MessageIn(BaseModel):
    """The reference's structured message: ``{type, content: {text, ...}}``."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["user_input", "payload"] = "user_input"
    content: dict[str, Any] = Field(default_factory=dict)

    @property
    def text(self) -> str | None:
        """What the user said: the text, or the payload as JSON for ``payload`` messages."""
        text = self.content.get("text")
        if isinstance(text, str) and text:
            return text
        if self.type == "payload" and self.content:
            return json.dumps(self.content, ensure_ascii=False)
        return None


class AgentExecutionCreate(BaseModel):
    """``POST /agents/{id}/executions`` body (flat, no root key)."""

    model_config = ConfigDict(extra="ignore")

    message: str | MessageIn | None = None
    phone_number: str | None = Field(default=None, pattern=E164)

    @property
    def text(self) -> str | None:
        """The first message's text, in either of the reference's formats."""
        if isinstance(self.message, MessageIn):
            return self.message.text
        return self.message or None


class StatusChange(BaseModel):
    """``{"status": ...}`` inside ``agent_execution``."""

    model_config = ConfigDict(extra="ignore")

    status: AgentExecutionStatus


class AgentExecutionUpdate(BaseModel):
    """``PUT /agents/{id}/executions/{execution_id}`` body."""

    model_config = ConfigDict(extra="ignore")

    agent_execution: StatusChange


class AgentResumeIn(BaseModel):
    """``POST .../resume`` body."""

    model_config = ConfigDict(extra="ignore")

    message: MessageIn | None = None


class AgentExecutionOut(BaseModel):
    """An agent execution: the reference's fields, then Threadline's additions."""

    id: uuid.UUID
    agent_id: uuid.UUID
    thread_id: str
    status: AgentExecutionStatus
    started_at: datetime
    ended_at: datetime | None
    duration: int | None
    agent_snapshot_id: uuid.UUID | None
    phone_number: str
    whatsapp_config_id: uuid.UUID | None
    whatsapp_conversation_id: uuid.UUID | None
    current_node: str | None
    last_event_at: datetime | None
    error: dict[str, Any] | None
    conversation: list[dict[str, str]]


class ConversationAgentExecutionOut(BaseModel):
    """One of a conversation's agent executions: whether it is live, why it handed off."""

    id: uuid.UUID
    active: bool
    handoff_reason: str | None
    created_at: datetime
    updated_at: datetime
    agent_execution: AgentExecutionOut


class AgentExecutionFilters(BaseModel):
    """``q[status_eq]``, ``q[started_at_gteq|lteq]``, ``q[ended_at_gteq|lteq]``."""

    status: AgentExecutionStatus | None = None
    started_at_gteq: datetime | None = None
    started_at_lteq: datetime | None = None
    ended_at_gteq: datetime | None = None
    ended_at_lteq: datetime | None = None
