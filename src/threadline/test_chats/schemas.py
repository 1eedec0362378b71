"""Agent test chats as the API reads and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threadline.agent_executions.schemas import MessageIn

TestChatStatus = Literal["processing", "completed", "error"]


class TestChatCreate(BaseModel):
    """``POST /agents/{id}/test_chats`` (or a snapshot's) body: a message, and the chat to
    continue if it is not a new one."""

    model_config = ConfigDict(extra="ignore")

    message: str = Field(min_length=1, max_length=4096)
    agent_test_chat_id: uuid.UUID | None = None


class TestChatResumeIn(BaseModel):
    """``POST /test_chats/{id}/resume`` body: an optional payload for the agent."""

    model_config = ConfigDict(extra="ignore")

    message: MessageIn | None = None


class TestChatMessage(BaseModel):
    """One turn of the conversation as the person saw it."""

    role: Literal["user", "assistant"]
    content: str


class TestChatOut(BaseModel):
    """A test chat: the reference's fields, then the execution behind it."""

    id: uuid.UUID
    agent_id: uuid.UUID
    agent_snapshot_id: uuid.UUID | None
    status: TestChatStatus
    conversation: list[TestChatMessage]
    error: str | None
    created_at: datetime
    updated_at: datetime
    current_node: str | None
    waiting_for: Literal["user", "people"] | None
    details: dict[str, Any] | None = None
