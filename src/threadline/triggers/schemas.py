"""Flow trigger resources as the API reads and shows them."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

TriggerType = Literal["inbound_message", "api_call"]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class TriggerCreateFields(BaseModel):
    """Fields of a new trigger.

    ``inbound_message`` triggers name their ``whatsapp_config_id``; ``keywords`` (the whole
    message, case-insensitive) and ``pattern`` (a regular expression searched in the text)
    narrow which messages start the flow; with neither, any message does.
    """

    model_config = ConfigDict(extra="ignore")

    trigger_type: TriggerType
    active: bool = True
    whatsapp_config_id: uuid.UUID | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=50)
    pattern: str | None = Field(default=None, min_length=1, max_length=500)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class TriggerCreate(BaseModel):
    """``POST /flows/{id}/triggers`` body."""

    trigger: TriggerCreateFields


class TriggerUpdateFields(BaseModel):
    """The one writable field of an existing trigger."""

    model_config = ConfigDict(extra="ignore")

    active: bool | None = None


class TriggerUpdate(BaseModel):
    """``PATCH /triggers/{id}`` body."""

    trigger: TriggerUpdateFields


class Triggerable(BaseModel):
    """Details of the trigger's kind."""

    id: uuid.UUID
    whatsapp_config_id: uuid.UUID | None = None
    keywords: list[str] | None = None
    pattern: str | None = None


class TriggerOut(BaseModel):
    """A flow trigger."""

    id: uuid.UUID
    flow_id: uuid.UUID
    trigger_type: TriggerType
    active: bool
    display_name: str
    triggerable: Triggerable
    created_at: datetime
    updated_at: datetime
