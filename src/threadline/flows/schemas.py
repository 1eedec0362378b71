"""Flow resources as the API reads and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threadline.flows.definition_schema import FlowDefinitionDoc
from threadline.kit.openapi import DocumentedAs

FlowStatus = Literal["draft", "active", "archived"]

#: A definition as JSON; ``validate_definition`` checks it, the docs show its full shape.
DefinitionJson = Annotated[dict[str, Any], DocumentedAs(FlowDefinitionDoc)]


class FlowFields(BaseModel):
    """The writable fields of a flow."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    definition: DefinitionJson | None = None
    status: FlowStatus | None = None


class FlowCreateFields(FlowFields):
    """Fields of a new flow; ``name`` is required."""

    name: str = Field(min_length=1, max_length=200)


class FlowCreate(BaseModel):
    """``POST /flows`` body."""

    flow: FlowCreateFields


class FlowUpdate(BaseModel):
    """``PATCH /flows/{id}`` body."""

    flow: FlowFields


class CreatedBy(BaseModel):
    """Who created a flow (always null: API keys belong to projects, not people)."""

    id: uuid.UUID
    name: str


class FlowOut(BaseModel):
    """A flow."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    status: FlowStatus
    project_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    created_by: CreatedBy | None = None
    last_executed_at: datetime | None
    execution_count: int


class WhatsappConfigBrief(BaseModel):
    """A WhatsApp config a flow can send from."""

    id: uuid.UUID
    name: str
    phone_number: str


class FlowWithDefinitionOut(FlowOut):
    """A flow with its current definition."""

    definition: DefinitionJson
    version: int | None
    whatsapp_configs: list[WhatsappConfigBrief]
