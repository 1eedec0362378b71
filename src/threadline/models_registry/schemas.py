"""The model registry's boundary: providers, project models, calls and usage.

Additive endpoints (the reference has none for them), written like the reference's:
bodies wrap the resource (``{"model_provider": {...}}``), answers are ``{"data": ...}``.
``api_key`` is write-only: stored encrypted, shown as ``api_key_set`` and a last-four hint.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from threadline.llm.types import ProviderKind, ReasoningEffort


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or not value.split("//", 1)[1]:
        raise ValueError("must be an http:// or https:// URL")
    return value


def _trimmed(value: str) -> str:
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


Url = Annotated[str, Field(max_length=2000), AfterValidator(_http_url)]
ProviderName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_trimmed)]
ModelName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_trimmed)]
ApiKey = Annotated[str, Field(min_length=1, max_length=4000)]
Price = Annotated[Decimal, Field(ge=0, le=999_999, decimal_places=8)]
CallStatus = Literal["ok", "error"]


class ModelProviderFields(BaseModel):
    """The writable fields of a provider (``PATCH`` changes only those sent).

    ``base_url`` and ``api_key`` may be sent as ``null`` to clear them.
    """

    model_config = ConfigDict(extra="forbid")

    name: ProviderName | None = None
    kind: ProviderKind | None = None
    base_url: Url | None = None
    api_key: ApiKey | None = None
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)
    max_retries: int | None = Field(default=None, ge=0, le=10)


class ModelProviderCreateFields(ModelProviderFields):
    """A new provider: ``name`` and ``kind`` are required."""

    name: ProviderName
    kind: ProviderKind


class ModelProviderCreate(BaseModel):
    """``POST /model_providers`` body."""

    model_provider: ModelProviderCreateFields


class ModelProviderUpdate(BaseModel):
    """``PATCH /model_providers/{id}`` body."""

    model_provider: ModelProviderFields


class ModelProviderOut(BaseModel):
    """A provider; its key never shown, only whether one is set and its last four."""

    id: uuid.UUID
    name: str
    kind: str
    base_url: str | None
    api_key_set: bool
    api_key_hint: str | None
    timeout_seconds: float
    max_retries: int
    created_at: datetime
    updated_at: datetime


class ProjectModelFields(BaseModel):
    """The writable fields of a project model (``PATCH`` changes only those sent).

    The sampling settings and prices may be sent as ``null`` to clear them.
    """

    model_config = ConfigDict(extra="forbid")

    name: ModelName | None = None
    provider_id: uuid.UUID | None = None
    model: ModelName | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    reasoning_effort: ReasoningEffort | None = None
    input_price_per_million: Price | None = None
    output_price_per_million: Price | None = None
    is_default: bool | None = None


class ProjectModelCreateFields(ProjectModelFields):
    """A new model: ``name``, ``provider_id`` and ``model`` are required."""

    name: ModelName
    provider_id: uuid.UUID
    model: ModelName


class ProjectModelCreate(BaseModel):
    """``POST /project_models`` body."""

    project_model: ProjectModelCreateFields


class ProjectModelUpdate(BaseModel):
    """``PATCH /project_models/{id}`` body."""

    project_model: ProjectModelFields


class ProjectModelOut(BaseModel):
    """A project model: the name flows and agents use, and how it is called."""

    id: uuid.UUID
    name: str
    provider_id: uuid.UUID
    model: str
    temperature: float | None
    max_tokens: int | None
    reasoning_effort: str | None
    input_price_per_million: float | None
    output_price_per_million: float | None
    is_default: bool
    created_at: datetime
    updated_at: datetime


class ProviderFilters(BaseModel):
    """``q[name_cont]`` and ``q[kind_eq]``."""

    name_cont: str | None = None
    kind_eq: ProviderKind | None = None


class ProjectModelFilters(BaseModel):
    """``q[name_cont]``, ``q[provider_id_eq]`` and ``q[is_default_eq]``."""

    name_cont: str | None = None
    provider_id_eq: uuid.UUID | None = None
    is_default_eq: bool | None = None


class ModelCallFilters(BaseModel):
    """Which calls a usage total or a call list covers; every filter is optional."""

    subject_kind: str | None = None
    subject_id: str | None = None
    model_name: str | None = None
    model: str | None = None
    status: CallStatus | None = None
    created_gteq: datetime | None = None
    created_lteq: datetime | None = None


class ModelCallOut(BaseModel):
    """One recorded model call."""

    id: int
    model_name: str
    provider: str
    model: str
    subject_kind: str
    subject_id: str | None
    status: str
    error_class: str | None
    error_message: str | None
    input_tokens: int
    output_tokens: int
    cost: float | None
    duration_ms: int
    created_at: datetime


class UsageTotals(BaseModel):
    """Calls, tokens and cost of a set of calls.

    ``cost`` adds up the priced calls only (US dollars; ``null`` when none was priced);
    ``unpriced_calls`` says how many calls it leaves out.
    """

    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float | None
    unpriced_calls: int


class ModelUsageLine(UsageTotals):
    """The totals of one model name."""

    model_name: str


class ModelUsageOut(UsageTotals):
    """``GET /model_usage``: the totals, and the same per model name."""

    by_model: list[ModelUsageLine]
