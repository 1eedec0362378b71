"""Flow trigger resources as the API reads and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

TriggerType = Literal["inbound_message", "api_call"]


class TriggerCreateFields(BaseModel):
    """Fields of a new trigger."""

    model_config = ConfigDict(extra="ignore")

    trigger_type: TriggerType
    active: bool = True
    whatsapp_config_id: uuid.UUID | None = None


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
