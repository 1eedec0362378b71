"""Configuration of the WhatsApp sandbox: identities, seeded templates and switchable behaviour."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from threadline.config import SANDBOX_IDENTITY

TemplateCategory = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
TemplateStatus = Literal["APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"]
ReviewOutcome = Literal["APPROVED", "PENDING", "REJECTED"]
NameReviewOutcome = Literal["APPROVED", "DEFERRED", "PENDING", "REJECTED"]
ParameterFormat = Literal["POSITIONAL", "NAMED"]
WindowMode = Literal["async", "sync", "off"]


class StatusDelays(BaseModel):
    """Milliseconds from an accepted send to each status webhook; ``None``: never by itself.

    ``read: None`` means the message is read only when the phone reads it (the chat page,
    or ``POST /_sandbox/thread/read``).
    """

    model_config = ConfigDict(extra="forbid")

    sent: int | None = Field(default=0, ge=0, le=600_000)
    delivered: int | None = Field(default=50, ge=0, le=600_000)
    read: int | None = Field(default=None, ge=0, le=600_000)


class TemplateSpec(BaseModel):
    """A message template as stored by the sandbox (Graph create-request shape)."""

    name: str
    language: str
    category: TemplateCategory = "UTILITY"
    parameter_format: ParameterFormat = "POSITIONAL"
    components: list[dict[str, Any]]
    status: TemplateStatus = "APPROVED"


class SandboxSettings(BaseModel):
    """Behaviour that the control plane can switch at runtime (``POST /_sandbox/config``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    pair_rate_limit: bool = False
    pair_interval_s: float = Field(default=6.0, gt=0)
    throughput_limit: bool = False
    throughput_mps: int = Field(default=80, ge=1)
    latency_ms: int = Field(default=0, ge=0, le=120_000)
    template_review: ReviewOutcome = "APPROVED"
    #: Milliseconds a new template stays PENDING before ``template_review`` decides it and
    #: the status webhook goes out; ``None``: decided as it is created (webhook at once).
    template_review_delay_ms: int | None = Field(default=None, ge=0, le=600_000)
    #: The ``reason`` a rejection by ``template_review`` gives.
    template_rejection_reason: str = "INVALID_FORMAT"

    #: Meta's decision on a requested display name (``PENDING``: left to the control plane).
    name_review: NameReviewOutcome = "APPROVED"
    #: Milliseconds a requested display name stays under review before ``name_review``
    #: decides it; ``None``: decided as it is requested.
    name_review_delay_ms: int | None = Field(default=None, ge=0, le=600_000)
    #: The ``rejection_reason`` a rejection by ``name_review`` gives.
    name_rejection_reason: str = "DISPLAY_NAME_GUIDELINES"

    #: Where webhooks are POSTed; ``None``: the sandbox sends none.
    webhook_url: str | None = None
    #: The Meta app secret that signs each delivery (``X-Hub-Signature-256``).
    app_secret: str = SANDBOX_IDENTITY.app_secret
    #: Waits before each retry of a delivery that failed; its length bounds the retries.
    webhook_retry_delays_ms: list[int] = Field(
        default_factory=lambda: [200, 400, 800, 1600, 3200], max_length=20
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    #: Each delivery is POSTed this many times, concurrently (at-least-once delivery).
    webhook_duplicates: int = Field(default=1, ge=1, le=20)
    #: Deliveries are shuffled in groups of this size (1: in the order they were made).
    webhook_reorder_window: int = Field(default=1, ge=1, le=100)
    #: Up to this many messages (or statuses) of one kind share one delivery.
    webhook_batch_size: int = Field(default=1, ge=1, le=100)
    #: How long reorder and batch modes wait for more items before sending.
    webhook_linger_ms: int = Field(default=50, ge=0, le=10_000)
    #: Seeds the reorder mode's shuffle, for repeatable tests.
    webhook_seed: int | None = None

    status_delays_ms: StatusDelays = Field(default_factory=StatusDelays)
    #: Meta skips ``delivered`` when a message is delivered and read at once.
    skip_delivered: bool = False
    #: The 24-hour window: ``async`` fails late with 131047 like Meta, ``sync`` answers 400.
    window_mode: WindowMode = "async"
    window_hours: float = Field(default=24.0, gt=0)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("webhook_url must be an http:// or https:// URL (or null: none)")
        return value


class SandboxConfig(SandboxSettings):
    """Everything a sandbox starts with; :meth:`SandboxState.reset` returns to it."""

    phone_number_id: str = SANDBOX_IDENTITY.phone_number_id
    display_phone_number: str = SANDBOX_IDENTITY.display_phone_number
    verified_name: str = "Threadline Sandbox"
    waba_id: str = SANDBOX_IDENTITY.waba_id
    access_token: str = SANDBOX_IDENTITY.access_token
    templates: list[TemplateSpec] = Field(default_factory=lambda: default_templates())

    def initial_settings(self) -> SandboxSettings:
        """The switchable part of this configuration, as a fresh mutable copy."""
        return SandboxSettings.model_validate(
            self.model_dump(include=set(SandboxSettings.model_fields))
        )


def default_templates() -> list[TemplateSpec]:
    """The approved templates every sandbox is seeded with."""
    return [
        _template("hello_world", "en_US", "Hello from Threadline! Your sandbox is working."),
        _template(
            "order_update",
            "en_US",
            "Hi {{1}}, your order {{2}} is on its way.",
            [["Ana", "A-1001"]],
        ),
        _template(
            "appointment_reminder",
            "en_US",
            "Reminder: you have an appointment on {{1}}.",
            [["Monday at 10:00"]],
        ),
        _template(
            "appointment_reminder",
            "es",
            "Recordatorio: tienes una cita el {{1}}.",
            [["lunes a las 10:00"]],
        ),
    ]


def _template(
    name: str, language: str, body: str, examples: list[list[str]] | None = None
) -> TemplateSpec:
    component: dict[str, Any] = {"type": "BODY", "text": body}
    if examples:
        component["example"] = {"body_text": examples}
    return TemplateSpec(name=name, language=language, components=[component])
