"""WhatsApp templates as the API reads and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threadline.whatsapp_configs.schemas import WhatsappConfigOut

Category = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
ParameterFormat = Literal["NAMED", "POSITIONAL"]
Status = Literal["draft", "submitted", "approved", "rejected", "disabled", "removed"]


class TemplateFields(BaseModel):
    """A new template. Every field is checked against Meta's rules by the service, so a
    422 lists every problem as a sentence (the reference's ``errors``); only the JSON
    shape is declared here."""

    name: Any = Field(default=None, examples=["appointment_reminder"])
    language_code: Any = Field(default=None, examples=["en_US"])
    category: Any = Field(default=None, examples=["UTILITY"])
    parameter_format: Any = Field(default="POSITIONAL", examples=["POSITIONAL"])
    components: Any = Field(default=None, examples=[[{"type": "BODY", "text": "Hello!"}]])


class TemplateCreate(BaseModel):
    """``POST /whatsapp_templates`` body."""

    template: TemplateFields = Field(default_factory=TemplateFields)
    whatsapp_config_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None


class TemplateChanges(BaseModel):
    """What ``PATCH /whatsapp_templates/{id}`` may change on a draft; the result is checked
    as a whole by the service, like a new template (every problem listed)."""

    name: Any = None
    language_code: Any = None
    category: Any = None
    parameter_format: Any = None
    components: Any = None


class TemplateUpdate(BaseModel):
    """``PATCH /whatsapp_templates/{id}`` body."""

    template: TemplateChanges = Field(default_factory=TemplateChanges)


class MetaChanges(BaseModel):
    """What ``PATCH /whatsapp_templates/{id}/meta`` edits on Meta."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=20)
    time_to_live: int | None = Field(default=None, ge=0, le=2_592_000)
    components: list[dict[str, Any]] | None = Field(default=None, max_length=10)


class MetaUpdate(BaseModel):
    """``PATCH /whatsapp_templates/{id}/meta`` body."""

    template: MetaChanges


class SubmitRequest(BaseModel):
    """``POST /whatsapp_templates/{id}/submit`` body (optional)."""

    model_config = ConfigDict(extra="forbid")

    whatsapp_config_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None


class SendFields(BaseModel):
    """``POST /whatsapp_templates/{id}/send_template``'s ``template`` object."""

    model_config = ConfigDict(extra="forbid")

    phone_number: str = Field(min_length=1, max_length=40, examples=["+15550102030"])
    template_parameters: list[str] | dict[str, str] | None = None
    header_type: str | None = Field(default=None, max_length=20)
    header_params: str | None = Field(default=None, max_length=2000)
    header_filename: str | None = Field(default=None, max_length=240)
    whatsapp_config_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    button_url_params: dict[str, str] | None = None


class SendRequest(BaseModel):
    """``POST /whatsapp_templates/{id}/send_template`` body."""

    template: SendFields


class TemplateOut(BaseModel):
    """A template as the reference's ``WhatsappTemplate`` shows it."""

    id: uuid.UUID
    name: str
    language_code: str
    category: str
    status: Status
    content: str
    parameter_count: int
    business_account_id: str | None
    whatsapp_config_ids: list[uuid.UUID]
    components: list[dict[str, Any]]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class SubmitOut(BaseModel):
    """The answer of a submission: Meta's template id and the template."""

    status: str = "success"
    message: str = "Template submitted successfully"
    template_id: uuid.UUID
    template_name: str
    submission_id: str
    data: TemplateOut


class SendOut(BaseModel):
    """The answer of a send: it is queued in the outbox; ``response`` names the message."""

    status: str = "success"
    message: str = "Template message queued for delivery"
    template_id: uuid.UUID
    template_name: str
    response: dict[str, Any]


class SyncRequest(BaseModel):
    """``POST /whatsapp_templates/sync`` body (optional)."""

    model_config = ConfigDict(extra="forbid")

    whatsapp_config_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None


class SyncRunOut(BaseModel):
    """A sync run as the reference's ``WhatsappTemplateSyncRun`` shows it."""

    id: uuid.UUID
    business_account_id: str
    anchor_whatsapp_config_id: uuid.UUID | None
    status: Literal["queued", "running", "succeeded", "failed"]
    templates_synced: int
    templates_created: int
    templates_updated: int
    templates_removed: int
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    job_id: str | None
    error_class: str | None
    error_message: str | None
    results: dict[str, dict[str, int]]
    affected_whatsapp_config_ids: list[uuid.UUID]
    anchor_whatsapp_config: WhatsappConfigOut | None


class SyncSummary(BaseModel):
    """Counts of ``POST /whatsapp_templates/sync``."""

    total_requests: int
    jobs_enqueued: int
    already_in_progress: int


class SyncOut(BaseModel):
    """``POST /whatsapp_templates/sync``'s answer (202)."""

    status: str = "queued"
    sync_requests: list[SyncRunOut]
    summary: SyncSummary


class SyncStatusOut(BaseModel):
    """``GET /whatsapp_templates/sync_status``'s answer."""

    sync_requests: list[SyncRunOut]
    summary: dict[str, Any]
