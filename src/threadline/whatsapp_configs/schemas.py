"""WhatsApp config resources as the API reads and shows them.

The access token, the webhook verify token and the app secret are write-only: they are
accepted here, stored encrypted, and never part of :class:`WhatsappConfigOut` (which
says only whether a verify token and an app secret are set).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Kind = Literal["production", "sandbox"]

#: Meta's object ids (phone number, WhatsApp Business Account) are digits.
GraphId = Annotated[str, Field(pattern=r"^[0-9]{1,64}$")]
DisplayNumber = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ().-]{3,30}$")]
Secret = Annotated[str, Field(min_length=1, max_length=4096, pattern=r"^\S+$")]


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or len(value.split("//", 1)[1]) == 0:
        raise ValueError("must be an http:// or https:// URL, like https://graph.facebook.com")
    return value.rstrip("/")


GraphUrl = Annotated[str, Field(max_length=500), AfterValidator(_http_url)]


class WhatsappConfigFields(BaseModel):
    """The writable fields of a config (``PATCH`` changes only those sent).

    ``webhook_verify_token`` and ``app_secret`` sent as null remove them.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Kind | None = None
    phone_number_id: GraphId | None = None
    business_account_id: GraphId | None = None
    display_phone_number: DisplayNumber | None = None
    access_token: Secret | None = None
    webhook_verify_token: Secret | None = None
    app_secret: Secret | None = None
    graph_url: GraphUrl | None = None
    inbound_processing_enabled: bool | None = None
    calls_enabled: bool | None = None
    is_default: Literal[True] | None = Field(
        default=None,
        description="true makes this the project's default config (flows started without one)",
    )


class WhatsappConfigCreateFields(WhatsappConfigFields):
    """A new config: ``name``; for ``production`` also the ids and the access token."""

    name: str = Field(min_length=1, max_length=200)
    kind: Kind = "production"


class WhatsappConfigCreate(BaseModel):
    """``POST /customers/{id}/whatsapp_configs`` body."""

    whatsapp_config: WhatsappConfigCreateFields


class WhatsappConfigUpdate(BaseModel):
    """``PATCH /whatsapp_configs/{id}`` body."""

    whatsapp_config: WhatsappConfigFields


class WhatsappConfigFilters(BaseModel):
    """The filters of the config lists (``business_account_id`` and its ``q[..._eq]`` alike)."""

    business_account_id: str | None = None
    business_account_id_eq: str | None = None
    name_cont: str | None = None
    customer_id: uuid.UUID | None = None


class WhatsappConfigOut(BaseModel):
    """A config as shown: the reference's fields, where to point Meta, and which secrets are set."""

    id: uuid.UUID
    name: str
    display_name: str
    kind: Kind
    phone_number_id: str
    business_account_id: str
    display_phone_number: str
    display_phone_number_normalized: str
    is_coexistence: bool
    webhook_verified_at: datetime | None
    customer_id: uuid.UUID | None
    inbound_processing_enabled: bool
    calls_enabled: bool
    is_default: bool
    api_version: str
    graph_url: str = Field(description="The Graph API base URL this number's requests go to")
    webhook_url: str = Field(description="The URL to give Meta as this number's callback URL")
    webhook_verify_token_set: bool
    app_secret_set: bool
    created_at: datetime
    updated_at: datetime


HealthStatus = Literal["healthy", "degraded", "unhealthy", "error"]


class HealthCheck(BaseModel):
    """One check: whether it passed, what Meta said, and (failed) why, with Meta's error."""

    passed: bool
    details: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    graph_error: dict[str, Any] | None = Field(
        default=None, description="Meta's error as the Graph API answered it (code, type, ...)"
    )


class MessagingHealthCheck(HealthCheck):
    """Whether the number can send: Meta's ``health_status.can_send_message``."""

    overall_status: str


class HealthChecks(BaseModel):
    """The checks of a health report (critical: the phone number and the WABA)."""

    phone_number_access: HealthCheck
    business_account_access: HealthCheck
    messaging_health: MessagingHealthCheck
    webhook_subscription: HealthCheck
    webhook_verified: HealthCheck


class HealthReport(BaseModel):
    """``GET /whatsapp_configs/{id}/health``: overall status, each check, when it ran."""

    status: HealthStatus
    checks: HealthChecks
    timestamp: datetime
    error: str | None = Field(default=None, description="Why it is not healthy, in one line")
