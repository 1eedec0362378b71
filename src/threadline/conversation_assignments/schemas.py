"""The boundary of the assignments API: the reference's ``ConversationAssignment``."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

NOTES = Field(default=None, max_length=5000)


class AssignmentOut(BaseModel):
    """An assignment as the reference shows it, plus when it ended."""

    id: uuid.UUID
    user_id: uuid.UUID
    active: bool
    notes: str | None
    created_at: datetime
    created_by_user_id: uuid.UUID | None
    ended_at: datetime | None


class AssignmentFields(BaseModel):
    """What a POST sets: the user to assign, and notes."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
    notes: str | None = NOTES


class AssignmentCreate(BaseModel):
    """``{"conversation_assignment": {"user_id": ..., "notes": ...}}``."""

    model_config = ConfigDict(extra="forbid")

    conversation_assignment: AssignmentFields


class AssignmentChange(BaseModel):
    """What a PATCH may change: hand over to another user, notes, or end it (``active``
    false; an ended assignment cannot be made active again: create a new one)."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID | None = None
    notes: str | None = NOTES
    active: bool | None = None


class AssignmentUpdate(BaseModel):
    """``{"conversation_assignment": {"active": false}}``."""

    model_config = ConfigDict(extra="forbid")

    conversation_assignment: AssignmentChange
