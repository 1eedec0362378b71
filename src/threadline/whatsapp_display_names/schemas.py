"""The boundary of display name requests: the reference's ``WhatsappDisplayNameRequest``."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class NewDisplayName(BaseModel):
    """``display_name_request``: the name to ask Meta for."""

    model_config = ConfigDict(extra="forbid")

    new_display_name: str = Field(min_length=1, max_length=200, pattern=r"\S")


class DisplayNameRequestCreate(BaseModel):
    """``POST .../display_name_requests`` body."""

    display_name_request: NewDisplayName


class DisplayNameRequestOut(BaseModel):
    """A request as the reference shows it."""

    id: uuid.UUID
    whatsapp_config_id: uuid.UUID
    requested_display_name: str
    previous_display_name: str | None
    status: str
    meta_error_code: int | None
    meta_error_subcode: int | None
    meta_error_type: str | None
    meta_error_message: str | None
    submitted_at: datetime
    reviewed_at: datetime | None
    applied_at: datetime | None
    #: Not in the reference: Meta's ``rejection_reason`` for a declined name.
    rejection_reason: str | None
