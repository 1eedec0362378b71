"""Sandbox sessions as the API reads and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SandboxSessionCreateFields(BaseModel):
    """A new session: the test phone that will send the code.

    ``agent_id`` is kept for Kapso compatibility: Threadline has flows, not agents, and
    the session's inbound messages drive the project's ``inbound_message`` triggers.
    """

    model_config = ConfigDict(extra="forbid")

    phone_number: str = Field(min_length=1, max_length=40, examples=["+15550102030"])
    agent_id: uuid.UUID | None = None


class SandboxSessionCreate(BaseModel):
    """``POST /sandbox_sessions`` body."""

    whatsapp_sandbox_session: SandboxSessionCreateFields


class SandboxSessionOut(BaseModel):
    """A sandbox session: pending until its phone sends the code, then active.

    ``expires_at`` is when it stops working: 24 hours after creation for a pending code,
    the moment its phone joined another session for an active one (unset until then).
    """

    id: uuid.UUID
    phone_number: str
    status: Literal["pending_activation", "active"]
    activation_code: str
    activation_message: str
    activation_link: str
    activated_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    agent_id: uuid.UUID | None
    whatsapp_config_id: uuid.UUID
