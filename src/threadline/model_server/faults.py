"""Injected faults: what the next N calls (of a model, of a protocol) suffer.

``rate_limited`` answers 429 with ``retry-after``; ``overloaded`` 529 on the Anthropic
protocol and 503 on OpenAI's; ``unavailable`` 503; ``server_error`` 500; ``delay``
waits ``seconds`` before answering normally (longer than the caller's timeout, it is a
timeout); ``malformed_tool_call`` answers one tool call whose arguments are not JSON;
``empty`` answers no text and no tool call.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Protocol = Literal["openai", "anthropic"]
FaultKind = Literal[
    "rate_limited",
    "overloaded",
    "unavailable",
    "server_error",
    "delay",
    "malformed_tool_call",
    "empty",
]
#: Faults answered with an HTTP error instead of a model's answer.
ERROR_KINDS: frozenset[FaultKind] = frozenset(
    {"rate_limited", "overloaded", "unavailable", "server_error"}
)


class Fault(BaseModel):
    """Body of ``POST /_control/faults``: ``kind`` for the next ``times`` matching calls.

    ``model`` and ``protocol`` narrow which calls it hits (``None``: any).
    """

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    times: int = Field(default=1, ge=1, le=10_000)
    model: str | None = None
    protocol: Protocol | None = None
    #: The ``retry-after`` hint of ``rate_limited`` and ``overloaded`` (seconds).
    retry_after: float | None = Field(default=None, ge=0, le=3600)
    #: How long ``delay`` waits.
    seconds: float = Field(default=30.0, ge=0, le=600)
    message: str | None = None

    def hits(self, protocol: Protocol, model: str) -> bool:
        """Whether a call of ``model`` over ``protocol`` suffers this fault."""
        return self.protocol in (None, protocol) and self.model in (None, model)

    def status(self, protocol: Protocol) -> int:
        """The HTTP status of an error fault."""
        if self.kind == "rate_limited":
            return 429
        if self.kind == "overloaded":
            return 529 if protocol == "anthropic" else 503
        return 503 if self.kind == "unavailable" else 500

    def headers(self) -> dict[str, str]:
        """``retry-after`` (whole seconds) and ``retry-after-ms`` when a hint is set."""
        if self.retry_after is None:
            return {}
        seconds = self.retry_after
        return {
            "retry-after": str(max(int(seconds + 0.999), 0)),
            "retry-after-ms": str(int(seconds * 1000)),
        }
