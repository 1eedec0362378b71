"""The provider-neutral shape of a model call: what the runtime asks, what a model answers.

Every provider (OpenAI-compatible chat completions, Anthropic messages) is translated to
and from these types at its edge, so the agent runtime, AI fields and AI decisions never
see a vendor's wire format. The local model server (``model_server``) speaks the same
types on its side: a script answers a :class:`ModelRequest` with a :class:`ModelReply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

Role = Literal["user", "assistant", "tool"]
ProviderKind = Literal["openai", "anthropic"]
ReasoningEffort = Literal["low", "medium", "high"]
StopReason = Literal["end", "tool_calls", "max_tokens", "other"]
ToolChoice = Literal["auto", "required", "none"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool the model asked for.

    ``arguments`` is the parsed JSON object; when the model's arguments were not a JSON
    object, ``arguments`` is empty and ``arguments_error`` says why (the runtime feeds
    that back to the model as the tool's error rather than running the tool).
    ``raw_arguments`` is the text the model sent, kept for the event log.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str = ""
    arguments_error: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of the transcript (the system prompt travels apart, in the request).

    ``assistant`` turns may carry ``tool_calls``; a ``tool`` turn answers one of them by
    ``tool_call_id``, with ``is_error`` when the tool failed.
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool offered to the model: ``parameters`` is a JSON Schema object."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Sampling settings; ``None`` leaves the provider's default."""

    temperature: float | None = None
    max_tokens: int | None = None
    reasoning_effort: ReasoningEffort | None = None


@dataclass(frozen=True, slots=True)
class Pricing:
    """What a million tokens cost, in US dollars (``None``: unknown, cost not computed)."""

    input_per_million: Decimal | None = None
    output_per_million: Decimal | None = None


#: What the SDKs are given as the key of a keyless server (a self-hosted one): they
#: insist on a key, such servers ignore it.
KEYLESS = "keyless"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Everything needed to call one model: resolved from a project's registry.

    ``api_key`` is decrypted and must never be logged or returned by the API;
    ``name`` is the project's name for it (``provider_model_name`` in flows and agents),
    ``model`` the provider's.
    """

    name: str
    provider: ProviderKind
    model: str
    api_key: str
    base_url: str | None = None
    settings: ModelSettings = field(default_factory=ModelSettings)
    pricing: Pricing = field(default_factory=Pricing)
    timeout_seconds: float = 60.0
    max_retries: int = 2

    def with_settings(self, overrides: ModelSettings) -> ModelSpec:
        """This spec with the settings ``overrides`` gives (not ``None``) over its own
        (a flow node's temperature over the registry's, say)."""
        own = self.settings
        merged = ModelSettings(
            temperature=_given(overrides.temperature, own.temperature),
            max_tokens=_given(overrides.max_tokens, own.max_tokens),
            reasoning_effort=_given(overrides.reasoning_effort, own.reasoning_effort),
        )
        return replace(self, settings=merged)


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """What the runtime asks one model."""

    system: str
    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = "auto"


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one call used, as the provider counted them."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input and output together."""
        return self.input_tokens + self.output_tokens

    def cost(self, pricing: Pricing) -> Decimal | None:
        """US dollars under ``pricing``; ``None`` when a price is unknown."""
        if pricing.input_per_million is None or pricing.output_per_million is None:
            return None
        million = Decimal(1_000_000)
        return (
            Decimal(self.input_tokens) * pricing.input_per_million
            + Decimal(self.output_tokens) * pricing.output_per_million
        ) / million


@dataclass(frozen=True, slots=True)
class ModelReply:
    """What the model answered: text, tool calls, or both."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    model: str
    stop_reason: StopReason = "end"
    request_id: str | None = None
