"""Flow execution resources as the API reads and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threadline.flows.schemas import FlowOut

ExecutionStatus = Literal["running", "waiting", "ended", "failed"]

#: The integer codes of ``q[status_eq]``.
STATUS_CODES: dict[int, ExecutionStatus] = {0: "running", 1: "waiting", 2: "ended", 3: "failed"}

#: ``[0-9]``, not ``\d``: the pattern engine's ``\d`` also matches other scripts' digits.
E164 = r"^\+[1-9][0-9]{1,14}$"


class ExecutionCreate(BaseModel):
    """``POST /flows/{id}/executions`` body (flat, no root key)."""

    model_config = ConfigDict(extra="ignore")

    phone_number: str = Field(pattern=E164, description="E.164, e.g. +15551234567")
    whatsapp_config_id: uuid.UUID | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    initial_data: dict[str, Any] = Field(default_factory=dict)


class ExecutionAccepted(BaseModel):
    """The 202 answer to a create: find the execution by ``tracking_id``."""

    flow_id: uuid.UUID
    tracking_id: uuid.UUID
    message: str = "Flow execution queued"


class ResumeIn(BaseModel):
    """``POST /flow_executions/{id}/resume`` body."""

    model_config = ConfigDict(extra="ignore")

    input: str | None = Field(default=None, max_length=4096)
    message: dict[str, Any] | None = None


class CurrentStep(BaseModel):
    """The node an execution is at."""

    id: uuid.UUID
    name: str
    step_type: str
    node_id: str


class ExecutionOut(BaseModel):
    """A flow execution."""

    id: uuid.UUID
    flow_id: uuid.UUID
    status: ExecutionStatus
    started_at: datetime
    ended_at: datetime | None
    last_event_at: datetime | None
    tracking_id: uuid.UUID | None
    current_step: CurrentStep | None
    execution_context: dict[str, Any]
    variables: dict[str, Any]
    flow: FlowOut
    phone_number: str
    wait_reason: str | None
    wait_until: datetime | None
    error: dict[str, Any] | None


class EventOut(BaseModel):
    """One entry of an execution's event log."""

    id: int
    kind: str
    node_id: str | None
    at: datetime
    duration_ms: int | None
    data: dict[str, Any] | None


class ExecutionFilters(BaseModel):
    """List filters, in the reference's Ransack spelling."""

    status: ExecutionStatus | None = None
    started_at_gteq: datetime | None = None
    started_at_lteq: datetime | None = None
    tracking_id: uuid.UUID | None = None
