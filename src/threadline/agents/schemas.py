"""The boundary of agents: the reference's ``Agent``, ``AgentWithGraph``, ``AgentSnapshot``
and ``AgentWhatsappConfig``, and the bodies the builder SDK's CLI sends."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threadline.agents.graph import GraphDoc
from threadline.kit.openapi import DocumentedAs
from threadline.whatsapp_configs.schemas import WhatsappConfigOut

#: A graph as sent: stored verbatim, checked by ``agents.validation``; the docs show
#: the builder SDK's shape (``agents.graph``).
GraphJson = Annotated[dict[str, Any], DocumentedAs(GraphDoc)]


class AgentFields(BaseModel):
    """``agent`` of ``PATCH /agents/{id}``: every field optional. Unknown keys (the
    deprecated ``deploy`` command's ``environment``) are ignored."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    description: str | None = Field(default=None, max_length=10_000)
    system_prompt: str | None = Field(default=None, max_length=200_000)
    message_debounce_seconds: int | None = Field(default=None, ge=0, le=3600)
    #: Kapso's runtime version: 1 messages the user through tools, 2 sends plain text.
    agent_version: Literal[1, 2] | None = None
    graph: GraphJson | None = None


class AgentCreateFields(AgentFields):
    """``agent`` of ``POST /agents``: ``name`` is required."""

    name: str = Field(min_length=1, max_length=200, pattern=r"\S")


class AgentCreate(BaseModel):
    """``POST /agents`` body."""

    agent: AgentCreateFields


class AgentUpdate(BaseModel):
    """``PATCH /agents/{id}`` body."""

    agent: AgentFields


class AgentOut(BaseModel):
    """The reference's ``Agent`` (plus, ours, its prompt and runtime settings)."""

    id: uuid.UUID
    name: str
    description: str | None
    project_id: uuid.UUID
    system_prompt: str | None
    agent_version: int
    message_debounce_seconds: int | None
    created_at: datetime
    updated_at: datetime


class AgentWithGraphOut(AgentOut):
    """The reference's ``AgentWithGraph``: the graph exactly as it was last sent."""

    graph: GraphJson


class SnapshotCreate(BaseModel):
    """``POST /agents/{id}/agent_snapshots`` body: a graph to freeze instead of the
    agent's current one (the CLI sends ``{}`` for the current one)."""

    model_config = ConfigDict(extra="ignore")

    graph: GraphJson | None = None


class SnapshotOut(BaseModel):
    """The reference's ``AgentSnapshot`` (plus, ours, the prompt and settings it froze)."""

    id: uuid.UUID
    agent_id: uuid.UUID
    name: str
    graph: GraphJson
    system_prompt: str | None
    agent_version: int
    message_debounce_seconds: int | None
    created_at: datetime
    updated_at: datetime


class AgentWhatsappConfigFields(BaseModel):
    """``agent_whatsapp_config`` of a create: the number, and whether it is the primary."""

    model_config = ConfigDict(extra="forbid")

    whatsapp_config_id: uuid.UUID
    is_primary: bool | None = None


class AgentWhatsappConfigCreate(BaseModel):
    """``POST /agents/{id}/agent_whatsapp_configs`` body."""

    agent_whatsapp_config: AgentWhatsappConfigFields


class AgentWhatsappConfigUpdateFields(BaseModel):
    """``agent_whatsapp_config`` of a ``PUT``: only ``is_primary`` changes."""

    model_config = ConfigDict(extra="forbid")

    is_primary: bool | None = None


class AgentWhatsappConfigUpdate(BaseModel):
    """``PUT /agents/{id}/agent_whatsapp_configs/{id}`` body."""

    agent_whatsapp_config: AgentWhatsappConfigUpdateFields


class AgentWhatsappConfigOut(BaseModel):
    """The reference's ``AgentWhatsappConfig`` (plus, ours, both ids)."""

    id: uuid.UUID
    agent_id: uuid.UUID
    whatsapp_config_id: uuid.UUID
    is_primary: bool
    created_at: datetime
    updated_at: datetime
    whatsapp_config: WhatsappConfigOut
